"""Keys cached per circuit and capacity under a user cache directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from circuits.circuit import AnyCircuit
from cli.output import CliError, write_atomic, write_json
from zkmargin.backends import CurveBackend
from zkmargin.groth16 import ProvingKey, VerifyingKey, setup
from zkmargin.groth16.serialization import (
    pk_from_bytes,
    pk_to_bytes,
    vk_from_json,
    vk_to_json,
)

PROVING_KEY_FILE = "proving_key.bin"
VERIFICATION_KEY_FILE = "verification_key.json"


def default_cache_dir() -> Path:
    """$ZKMARGIN_CACHE_DIR, else $XDG_CACHE_HOME/zkmargin, else ~/.cache/zkmargin."""
    if os.environ.get("ZKMARGIN_CACHE_DIR"):
        return Path(os.environ["ZKMARGIN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zkmargin"


@dataclass(frozen=True)
class KeyStore:
    """Where one circuit's keys live: <cache>/<circuit_id>/."""

    root: Path
    circuit: AnyCircuit

    @property
    def directory(self) -> Path:
        """This circuit's key directory."""
        return self.root / self.circuit.circuit_id

    @property
    def proving_key_path(self) -> Path:
        """Binary proving key."""
        return self.directory / PROVING_KEY_FILE

    @property
    def verification_key_path(self) -> Path:
        """snarkjs-format verification key."""
        return self.directory / VERIFICATION_KEY_FILE

    def exists(self) -> bool:
        """True when both keys are cached."""
        return self.proving_key_path.exists() and self.verification_key_path.exists()

    def generate(self, backend: CurveBackend) -> ProvingKey:
        """Run setup and cache both keys (the toxic waste is discarded inside setup)."""
        pk = setup(self.circuit.compile(), backend=backend)
        write_atomic(self.proving_key_path, pk_to_bytes(pk, backend), mode=0o600)
        write_json(self.verification_key_path, vk_to_json(pk.vk, backend))
        return pk

    def load_proving_key(self, backend: CurveBackend) -> ProvingKey:
        """The cached proving key."""
        return pk_from_bytes(self.proving_key_path.read_bytes(), backend)


def read_verifying_key(path: Path, backend: CurveBackend) -> VerifyingKey:
    """A snarkjs verification_key.json, checked (unsafe keys are refused)."""
    try:
        return vk_from_json(path.read_bytes(), backend)
    except FileNotFoundError:
        raise CliError(f"verification key not found: {path}") from None
