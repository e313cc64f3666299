"""Key bundles: a circuit's proving key, verification key and the verification key's digest, in one directory.

A verifier (the venue) makes a bundle with `zkmargin setup` and hands the directory
out; a trader proves with it and never makes keys. The digest is what a venue pins
(in its snapshot or attestation), so a trader and a verifier can check that they
use the venue's keys and not keys somebody else made.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from zkmargin.backends import CurveBackend
from zkmargin.circuits.circuit import AnyCircuit
from zkmargin.circuits.layout import StatementPublic
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.output import CliError, note, read_bytes, step, write_atomic, write_json
from zkmargin.errors import EncodingError
from zkmargin.groth16 import Proof, ProvingKey, VerifyingKey, setup
from zkmargin.groth16.serialization import (
    pk_from_bytes,
    pk_to_bytes,
    remember_subgroup_checked,
    vk_digest,
    vk_from_json,
    vk_to_json,
)
from zkmargin.groth16.zkey import verifying_key, zkey_from_bytes

PROVING_KEY_FILE = "proving_key.bin"
VERIFICATION_KEY_FILE = "verification_key.json"
DIGEST_FILE = "verification_key.sha256"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


digest_option = click.option(
    "--vk-digest", "vk_digest_text", default=None, metavar="SHA256",
    help="The verification key digest the venue pinned (64 hex digits); keys with another digest are refused.")


SUBGROUP_CHECKED_DIR = "subgroup-checked"


def recall_subgroup_check(cache_dir: Path, digest: bytes) -> Path:
    """The marker of a key (by digest) whose query points passed the subgroup check; tells the library if present.

    Markers live in the prover's own cache, never beside a key: whoever hands out a key
    cannot vouch for its points.
    """
    marker = cache_dir / SUBGROUP_CHECKED_DIR / digest.hex()
    if marker.is_file():
        remember_subgroup_checked(digest)
    return marker


def record_subgroup_check(marker: Path) -> None:
    """Write a marker after a key's points passed (an unwritable cache only costs a recheck next time)."""
    if marker.is_file():
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(marker, b"")
    except (OSError, CliError):
        pass


def default_cache_dir() -> Path:
    """$ZKMARGIN_CACHE_DIR, else $XDG_CACHE_HOME/zkmargin, else ~/.cache/zkmargin."""
    if os.environ.get("ZKMARGIN_CACHE_DIR"):
        return Path(os.environ["ZKMARGIN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zkmargin"


def parse_digest(text: str, what: str) -> str:
    """A SHA-256 digest as 64 hex digits (case-insensitive); CliError otherwise."""
    digest = text.strip().lower()
    if not _HEX_DIGEST.fullmatch(digest):
        raise CliError(f"{what}: {text!r} is not a SHA-256 digest (64 hex digits)")
    return digest


@dataclass(frozen=True)
class KeyStore:
    """One circuit's key bundle: <cache>/<circuit_id>/ by default, or a directory a venue handed out."""

    root: Path
    circuit: AnyCircuit
    bundle_dir: Path | None = None

    @property
    def directory(self) -> Path:
        """This circuit's bundle directory."""
        return self.bundle_dir if self.bundle_dir is not None else self.root / self.circuit.circuit_id

    @property
    def proving_key_path(self) -> Path:
        """Binary proving key."""
        return self.directory / PROVING_KEY_FILE

    @property
    def verification_key_path(self) -> Path:
        """snarkjs-format verification key."""
        return self.directory / VERIFICATION_KEY_FILE

    @property
    def digest_path(self) -> Path:
        """The verification key's SHA-256 (hex), one line."""
        return self.directory / DIGEST_FILE

    def exists(self) -> bool:
        """True when the whole bundle is there."""
        return all(p.exists() for p in (self.proving_key_path, self.verification_key_path, self.digest_path))

    def generate(self, backend: CurveBackend) -> ProvingKey:
        """Run setup and write the bundle (the toxic waste is discarded inside setup)."""
        pk = setup(self.circuit.compile(), backend=backend)
        write_atomic(self.proving_key_path, pk_to_bytes(pk, backend), mode=0o600)
        write_json(self.verification_key_path, vk_to_json(pk.vk, backend))
        write_atomic(self.digest_path, (vk_digest(pk.vk, backend) + "\n").encode())
        return pk

    def record_digest(self, backend: CurveBackend) -> str:
        """Write the digest file of the bundle's verification key (for caches made before bundles had one)."""
        digest = vk_digest(read_verifying_key(self.verification_key_path, backend), backend)
        write_atomic(self.digest_path, (digest + "\n").encode())
        return digest

    def recorded_digest(self) -> str:
        """The digest written in the bundle."""
        try:
            return parse_digest(self.digest_path.read_text(errors="replace"), str(self.digest_path))
        except FileNotFoundError:
            raise CliError(f"key bundle {self.directory} has no {DIGEST_FILE}") from None

    def missing_keys_error(self) -> CliError:
        """Missing keys: name the circuit and how to get its bundle."""
        circuit_id = self.circuit.circuit_id
        missing = [p.name for p in (self.proving_key_path, self.verification_key_path, self.digest_path)
                   if not p.exists()]
        return CliError(
            f"no key bundle for {circuit_id} in {self.directory} (missing {', '.join(missing)}). "
            f"Keys come from the verifier: ask the venue for its {circuit_id} key bundle "
            f"({PROVING_KEY_FILE}, {VERIFICATION_KEY_FILE}, {DIGEST_FILE}) and pass its directory with --keys "
            f"or copy it there; a verifier makes one with `zkmargin setup --circuit {circuit_id}`. "
            "`prove` never makes keys: a proof under keys the prover made shows nothing."
        )

    def load_proving_key(self, backend: CurveBackend, expected_digest: str | None = None) -> ProvingKey:
        """The bundle's proving key, after checking that the three files belong together and to this circuit."""
        return self.load_proving_key_and_bytes(backend, expected_digest)[0]

    def load_proving_key_and_bytes(self, backend: CurveBackend,
                                   expected_digest: str | None = None) -> tuple[ProvingKey, bytes]:
        """The checked proving key and the very bytes it was decoded from (load_proving_key's checks).

        Whoever hands these bytes on (venue run, to workers that decode them unchecked) must use them, never
        read the file again: a file replaced after the check would reach the workers unchecked.
        """
        if not self.exists():
            raise self.missing_keys_error()
        circuit_id = self.circuit.circuit_id
        recorded = self.recorded_digest()
        if expected_digest is not None and recorded != expected_digest:
            raise CliError(f"key bundle {self.directory} has verification key digest {recorded}, "
                           f"not the pinned {expected_digest}: these are not the venue's keys for {circuit_id}")
        vk = read_verifying_key(self.verification_key_path, backend, recorded)
        data = self.proving_key_path.read_bytes()
        marker = recall_subgroup_check(self.root, hashlib.sha256(data).digest())
        try:
            pk = pk_from_bytes(data, backend)
        except EncodingError as exc:
            raise CliError(f"proving key {self.proving_key_path}: {exc}") from None
        record_subgroup_check(marker)
        if pk.circuit_digest != self.circuit.compile().digest():
            raise CliError(f"proving key {self.proving_key_path} was made for another circuit than {circuit_id}; "
                           f"get the {circuit_id} key bundle from the venue")
        if vk_digest(pk.vk, backend) != vk_digest(vk, backend):
            raise CliError(f"proving key {self.proving_key_path} does not belong to {self.verification_key_path}: "
                           "use the proving and verification keys of one bundle")
        return pk, data


def read_verifying_key(path: Path, backend: CurveBackend, expected_digest: str | None = None) -> VerifyingKey:
    """A snarkjs verification_key.json, checked, and compared with a pinned digest when one is given."""
    data = read_bytes(path, "verification key")
    try:
        vk = vk_from_json(data, backend)
    except EncodingError as exc:
        raise CliError(f"verification key {path}: {exc}") from None
    if expected_digest is not None:
        actual = vk_digest(vk, backend)
        if actual != expected_digest:
            raise CliError(f"verification key {path} has digest {actual}, not the pinned {expected_digest}")
    return vk


def keystore(ctx: click.Context, circuit_id: str, bundle_dir: Path | None = None) -> KeyStore:
    """The key bundle of this circuit: a given directory, or the one under the global cache directory."""
    return KeyStore(ctx.obj.cache_dir, circuit_from_id(circuit_id), bundle_dir)


def ensure_keys(ctx: click.Context, store: KeyStore, force: bool = False) -> bool:
    """Run setup for the store's circuit unless its bundle exists; True when keys were made (verifier side only)."""
    backend = ctx.obj.backend
    if not force:
        if store.exists():
            return False
        if store.proving_key_path.exists() and store.verification_key_path.exists() and not store.digest_path.exists():
            store.record_digest(backend)  # a cache from before bundles carried their digest
            return False
        if store.proving_key_path.exists():
            # Somebody's keys are there (maybe a venue's proving key without the rest): never replace them silently.
            raise CliError(f"{store.directory} holds an incomplete key bundle; complete it with the venue's files "
                           "or pass --force to replace it with new keys")
    with step(f"setting up keys for {store.circuit.circuit_id}: compiling the circuit"):
        compiled = store.circuit.compile()
    note(f"  {compiled.num_constraints} constraints, {compiled.num_public} public inputs")
    with step(f"setting up keys for {store.circuit.circuit_id}: generating keys (toxic waste is discarded)"):
        store.generate(backend)
    return True


def proving_message(circuit_id: str) -> str:
    """What the prove step says on stderr; warns when the NTTs run without the compiled kernel."""
    from zkmargin import ntt

    if not ntt.NATIVE:
        return (f"proving {circuit_id} (no compiled NTT kernel in this install: pure-Python NTTs, several times "
                f"slower; reinstall where a C compiler is available)")
    return f"proving {circuit_id}"


def read_zkey(path: Path, backend: CurveBackend) -> Any:
    """A .zkey file, parsed and checked."""
    return zkey_from_bytes(read_bytes(path, "zkey"), backend, str(path))


def prove_account_with_zkey(circuit: AnyCircuit, zkey_path: Path, public: StatementPublic, witness: Any,
                            backend: CurveBackend, expected_digest: str | None = None,
                            cache_dir: Path | None = None) -> tuple[Proof, dict[str, float], str]:
    """`zkmargin prove --zkey`: (proof, timing, vk digest) with the ceremony's key (snarkjs's H).

    public and witness come from circuits.proving.prepare_proof (health and opening already checked). With
    cache_dir, a key whose query points passed the subgroup check is remembered there (by the
    SHA-256 of its query sections), so the next `prove` with it does not check them again.
    """
    from zkmargin.groth16.prover import prove_zkey
    from zkmargin.groth16.zkey import proving_key, query_sections_digest

    compiled = circuit.compile()
    with step(f"loading {zkey_path}"):
        zk = read_zkey(zkey_path, backend)
        digest = vk_digest(verifying_key(zk, backend), backend)
        # A pinned digest names the verifier's key: a ceremony key is held to it like a key bundle is.
        if expected_digest is not None and digest != expected_digest:
            raise CliError(f"{zkey_path}: its verification key's digest is not the pinned --vk-digest "
                           f"{expected_digest}; ask the venue for its final .zkey")
        # The marker lives in the prover's own cache, never beside the key: whoever hands out a
        # key cannot vouch for its points.
        marker = None if cache_dir is None else recall_subgroup_check(cache_dir, query_sections_digest(zk))
        pk = proving_key(zk, compiled, backend)
        if marker is not None:
            record_subgroup_check(marker)
    with step(f"proving {circuit.circuit_id} (zkey, snarkjs H convention)") as elapsed:
        proof = prove_zkey(pk, compiled, circuit.witness_assignment(public, witness), backend=backend)
    return proof, elapsed, digest
