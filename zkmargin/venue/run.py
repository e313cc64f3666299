"""A venue run at scale: every account of a snapshot committed, attested and proved on a Dask cluster.

The statement-specific steps (commit one account, prove one account) are passed in by the
caller; this module holds what does not depend on the statement:
- reading accounts (JSON Lines or a directory of .json files), each labelled with its line;
- the run plan (DIR/plan.jsonl): every account's salt, commitment and identity, written once,
  before any proof, so that a restarted run keeps the same commitments, root and attestations;
  it ends with an HMAC-SHA256 under a key derived from the venue's signing key, so that a plan
  planted or edited in the output directory (which could choose salts, or add a leaf for an
  account that does not exist) is refused before anything is signed;
- bundles (DIR/bundles/<account>.json), each written whole or not at all (tmp + os.replace),
  and the test that a bundle on disk is whole and belongs to this plan (what a rerun skips);
The Dask side (cluster, proving key per worker, chunked tasks) is zkmargin.venue.cluster,
kept apart so that importing this module (and starting the CLI) does not load Dask.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from zkmargin.errors import EncodingError, RunStateError
from zkmargin.field import R
from zkmargin.files import write_atomic
from zkmargin.gadgets.merkle import check_identity
from zkmargin.groth16.serialization import parse_decimal
from zkmargin.jsontext import decode_json
from zkmargin.venue.attestation import VenueSigningKey

PLAN_FORMAT = "zkmargin-venue-plan/1"
BUNDLE_FORMAT = "zkmargin-venue-bundle/1"
SUMMARY_FORMAT = "zkmargin-venue-summary/1"
CONTEXT_LABEL = b"zkmargin/venue-run-context/v1\x00"
PLAN_MAC_LABEL = b"zkmargin/venue-run-plan-mac/v1\x00"
_SAFE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
MAX_NAME_LENGTH = 200


# ----- files ------------------------------------------------------------------------------
def bundle_file_name(account_id: str) -> str:
    """A file name unique to account_id: safe characters kept, every other byte as %XX, hashed if too long."""
    name = "".join(c if c in _SAFE_NAME_CHARS else "".join(f"%{b:02X}" for b in c.encode()) for c in account_id)
    if len(name) > MAX_NAME_LENGTH:
        # "%%" never comes out of the escaping above, so hashed names cannot collide with escaped ones.
        name = "%%" + hashlib.sha256(account_id.encode()).hexdigest()
    return name + ".json"


@dataclass(frozen=True)
class BundleStore:
    """DIR/bundles: one bundle per proved account (mode 0600: it holds the account's opening)."""

    directory: Path

    def path(self, account_id: str) -> Path:
        """Where account_id's bundle lives."""
        return self.directory / bundle_file_name(account_id)

    def write(self, account_id: str, bundle: dict) -> None:
        """Write the bundle whole (tmp + rename): a crash leaves the old state or the new one, never half."""
        # No fsync: it would cost more than the rest of the driver's work per account, and a bundle
        # a power cut left empty or garbled fails is_whole, so the rerun simply proves it again.
        write_atomic(self.path(account_id), json.dumps(bundle).encode() + b"\n", mode=0o600, durable=False)

    def remove_stale_temporaries(self) -> None:
        """Delete the temporaries of writes a killed run left behind (one run per directory at a time)."""
        if self.directory.is_dir():
            for stale in self.directory.glob(".*.tmp"):
                stale.unlink(missing_ok=True)

    def is_whole(self, account_id: str, commitment: int, root: int, expected: dict | None = None) -> bool:
        """True when the account's bundle exists, parses, and belongs to this plan (commitment and root).

        expected: the bundle this plan makes, without its proof; every other field on disk must equal it,
        so that an altered opening, attestation, path or context is made again rather than shipped.
        """
        try:
            doc = decode_json(self.path(account_id).read_bytes())
        except (OSError, ValueError):
            return False
        if expected is not None and (not isinstance(doc, dict)
                                     or {k: v for k, v in doc.items() if k != "proof"} != expected):
            return False
        return (isinstance(doc, dict) and doc.get("format") == BUNDLE_FORMAT and doc.get("account_id") == account_id
                and doc.get("commitment") == str(commitment)
                and isinstance(doc.get("merkle_path"), dict) and doc["merkle_path"].get("root") == str(root)
                and isinstance(doc.get("proof"), dict))


# ----- accounts ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountDocument:
    """One input account: where it came from (file:line or file name) and its JSON, or why it did not decode."""

    source: str
    document: Any = None
    error: str | None = None


def read_account_documents(path: Path) -> tuple[list[AccountDocument], str]:
    """Every account of a JSON Lines file or a directory of .json files, and SHA-256 (hex) of all the input.

    A line that is not JSON comes back with its error, never stopping the read; blank lines are skipped.
    """
    digest = hashlib.sha256()
    out: list[AccountDocument] = []
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        for file in files:
            data = file.read_bytes()
            digest.update(len(file.name).to_bytes(4, "big") + file.name.encode())
            digest.update(len(data).to_bytes(8, "big") + data)
            out.append(_decoded(file.name, data))
        return out, digest.hexdigest()
    if not path.exists():
        raise EncodingError(f"accounts file not found: {path}")
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            digest.update(line)
            if line.strip():
                out.append(_decoded(f"{path.name}:{number}", line))
    return out, digest.hexdigest()


def _decoded(source: str, data: bytes) -> AccountDocument:
    try:
        return AccountDocument(source, decode_json(data))
    except ValueError as exc:
        return AccountDocument(source, error=f"not valid JSON: {exc}")


def split_identity(document: Any) -> tuple[Any, int]:
    """(the account document without its identity field, the identity); EncodingError when it is missing or bad.

    A venue-run account line carries the identity its trader handed over once
    (`zkmargin account new-identity`): the tree leaf binds the account's commitment to it.
    """
    if not isinstance(document, dict):
        return document, 0  # parse_account names what is wrong with it
    if "identity" not in document:
        raise EncodingError("identity: missing (the trader's identity, from `zkmargin account new-identity`; "
                            "the account's tree leaf binds its commitment to it)")
    identity = check_identity(parse_decimal(document["identity"], "identity"))
    return {k: v for k, v in document.items() if k != "identity"}, identity


def chunks(items: Sequence, size: int) -> list[list]:
    """items cut into lists of at most size (the last may be shorter)."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def default_context(snapshot_digest: bytes) -> int:
    """The context a run proves under when none is given: SHA-256(label, snapshot digest) mod r (the snapshot is the epoch)."""
    return int.from_bytes(hashlib.sha256(CONTEXT_LABEL + snapshot_digest).digest(), "big") % R


# ----- the plan ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedAccount:
    """An account of the run as committed: its salt, commitment and identity are fixed for every rerun."""

    index: int
    source: str
    account_id: str
    salt: int
    commitment: int
    healthy: bool
    equity: str
    maintenance: str
    identity: int = 0


@dataclass(frozen=True)
class Plan:
    """What a run commits to before proving: its parameters, its accounts and the inputs it skipped."""

    header: dict
    accounts: list[PlannedAccount]
    malformed: list[dict]


def plan_header(**fields: Any) -> dict:
    """The plan's first line: the format plus every parameter a rerun must repeat exactly."""
    return {"format": PLAN_FORMAT, **fields}


def plan_mac_key(signing_key: VenueSigningKey) -> bytes:
    """The plan's HMAC key: HMAC-SHA256(venue private key, label), so only the signing key's holder can make one."""
    raw = signing_key.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                serialization.NoEncryption())
    return hmac.new(raw, PLAN_MAC_LABEL, hashlib.sha256).digest()


def write_plan(path: Path, plan: Plan, mac_key: bytes) -> None:
    """plan.jsonl, mode 0600 (it holds salts): header, one line per account, one per malformed input, the MAC."""
    lines = [json.dumps(plan.header, sort_keys=True)]
    lines += [json.dumps({"kind": "account", "index": a.index, "source": a.source, "account_id": a.account_id,
                          "salt": str(a.salt), "commitment": str(a.commitment), "identity": str(a.identity),
                          "healthy": a.healthy, "equity": a.equity, "maintenance": a.maintenance}, sort_keys=True)
              for a in plan.accounts]
    lines += [json.dumps({"kind": "malformed", **m}, sort_keys=True) for m in plan.malformed]
    body = ("\n".join(lines) + "\n").encode()
    mac = hmac.new(mac_key, body, hashlib.sha256).hexdigest()
    write_atomic(path, body + json.dumps({"kind": "mac", "hmac_sha256": mac}).encode() + b"\n", mode=0o600)


def read_plan(path: Path, mac_key: bytes) -> Plan | None:
    """The plan at path, or None when there is none; a damaged or unauthenticated plan raises RunStateError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    body, _, last = data.rstrip(b"\n").rpartition(b"\n")
    try:
        row = json.loads(last)
    except ValueError:
        row = None
    mac = row.get("hmac_sha256") if isinstance(row, dict) and row.get("kind") == "mac" else None
    expected = hmac.new(mac_key, body + b"\n", hashlib.sha256).hexdigest()
    if not isinstance(mac, str) or not hmac.compare_digest(mac, expected):
        # Everything in a plan but the MAC can be recomputed from the accounts file, and the plan chooses the
        # salts and leaves the venue signs: one this venue's key did not make is never resumed.
        raise RunStateError(f"{path} is not authenticated by this venue's signing key (planted, altered, or from "
                            "another key); nothing was signed: move it away and start the run again")
    try:
        rows = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = rows[0]
        if header.get("format") != PLAN_FORMAT:
            raise ValueError(f"format is not {PLAN_FORMAT}")
        accounts = [PlannedAccount(r["index"], r["source"], r["account_id"], int(r["salt"]), int(r["commitment"]),
                                   bool(r["healthy"]), r["equity"], r["maintenance"], int(r["identity"]))
                    for r in rows[1:] if r["kind"] == "account"]
        malformed = [{"source": r["source"], "error": r["error"]} for r in rows[1:] if r["kind"] == "malformed"]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise RunStateError(f"{path} is damaged ({exc}); move it away and start the run again") from None
    return Plan(header, accounts, malformed)


def check_plan_matches(plan: Plan, header: dict, path: Path) -> None:
    """Raise RunStateError unless plan was made by the same command over the same inputs."""
    differing = sorted(k for k in set(header) | set(plan.header) if header.get(k) != plan.header.get(k))
    if differing:
        raise RunStateError(
            f"{path.parent} holds a run of other inputs (different {', '.join(differing)}); "
            "resuming would mix two runs: use another --out, or remove that directory to start over")
