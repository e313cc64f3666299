"""A phase-2 transcript as JSON: the public records of a .zkey's contributions, checkable without the key.

A verifier that only holds a verification key (the service) can still check, from this
document alone, every contribution's proof of knowledge, the delta chain from the
generator to the last contribution, the contribution hashes snarkjs prints, the beacon,
and that the key's delta_g2 is the transcript's last delta. What it cannot check without
the circuit and the ptau is that the other key points come from them: that is
`zkmargin zkey verify`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.errors import CeremonyError
from zkmargin.groth16.data_structures import VerifyingKey
from zkmargin.groth16.serialization import g1_from_json, g1_to_json, g2_from_json, g2_to_json
from zkmargin.groth16.zkey import (
    BEACON,
    CONTRIBUTION,
    MAX_NAME_BYTES,
    Contribution,
    ZKey,
    _check_contributions,
    check_beacon_params,
    transcript_entries,
)

TRANSCRIPT_FORMAT = "zkmargin-zkey-transcript/1"
KINDS = {"contribution": CONTRIBUTION, "beacon": BEACON}
MAX_CONTRIBUTIONS = 256
MAX_CHECKED_BEACON_EXP = 22
"""A beacon is replayed by 2^exp SHA-256 rounds: past 2^22 (seconds) a server would stall on it."""


@dataclass
class _Chain:
    """The part of a ZKey the contribution checks read."""

    cs_hash: bytes
    contributions: list[Contribution] = field(default_factory=list)


def transcript_to_json(zk: ZKey, backend: CurveBackend | None = None) -> dict[str, Any]:
    """The transcript of a .zkey: circuit hash and every contribution's public record and hash."""
    backend = backend or get_backend()
    contributions = []
    for c in zk.contributions:
        entry: dict[str, Any] = {
            "name": c.name or "", "type": "beacon" if c.kind == BEACON else "contribution",
            "contribution_hash": c.contribution_hash(backend).hex(),
            "delta_after": g1_to_json(c.delta_after, backend), "g1_s": g1_to_json(c.g1_s, backend),
            "g1_sx": g1_to_json(c.g1_sx, backend), "g2_spx": g2_to_json(c.g2_spx, backend),
            "transcript": c.transcript.hex(),
        }
        if c.kind == BEACON:
            entry["beacon_hash"] = (c.beacon_hash or b"").hex()
            entry["iterations_exp"] = c.num_iterations_exp
        contributions.append(entry)
    return {"format": TRANSCRIPT_FORMAT, "circuit_hash": zk.cs_hash.hex(), "contributions": contributions}


def _hex(value: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise CeremonyError(f"{what}: expected a hex string")
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise CeremonyError(f"{what}: {value[:40]!r} is not hexadecimal") from None
    if size is not None and len(data) != size:
        raise CeremonyError(f"{what}: expected {size} bytes, got {len(data)}")
    return data


def _contribution(obj: Any, backend: CurveBackend, what: str) -> tuple[Contribution, bytes]:
    if not isinstance(obj, dict):
        raise CeremonyError(f"{what}: expected an object")
    kind = KINDS.get(obj.get("type"))  # type: ignore[arg-type]
    if kind is None:
        raise CeremonyError(f"{what}: type must be 'contribution' or 'beacon'")
    name = obj.get("name", "")
    if not isinstance(name, str) or len(name.encode()) > MAX_NAME_BYTES:
        raise CeremonyError(f"{what}: name must be a string of at most {MAX_NAME_BYTES} bytes")
    beacon_hash, exp = None, None
    if kind == BEACON:
        exp = obj.get("iterations_exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise CeremonyError(f"{what}: iterations_exp must be an integer")
        if not isinstance(obj.get("beacon_hash"), str):
            raise CeremonyError(f"{what}: beacon_hash must be a hex string")
        beacon_hash = check_beacon_params(obj["beacon_hash"], exp)
        if exp > MAX_CHECKED_BEACON_EXP:
            raise CeremonyError(f"{what}: a beacon of 2^{exp} iterations is too slow to replay here (at most "
                                f"2^{MAX_CHECKED_BEACON_EXP}); check it with `zkmargin zkey verify`")
    contribution = Contribution(
        delta_after=g1_from_json(obj.get("delta_after"), backend, f"{what}.delta_after", CeremonyError),
        g1_s=g1_from_json(obj.get("g1_s"), backend, f"{what}.g1_s", CeremonyError),
        g1_sx=g1_from_json(obj.get("g1_sx"), backend, f"{what}.g1_sx", CeremonyError),
        g2_spx=g2_from_json(obj.get("g2_spx"), backend, f"{what}.g2_spx", CeremonyError),
        transcript=_hex(obj.get("transcript"), f"{what}.transcript", 64),
        kind=kind, name=name or None, num_iterations_exp=exp, beacon_hash=beacon_hash,
    )
    return contribution, _hex(obj.get("contribution_hash"), f"{what}.contribution_hash", 64)


def check_transcript(doc: Any, vk: VerifyingKey, backend: CurveBackend | None = None) -> list[dict[str, Any]]:
    """The transcript's entries (as transcript_entries gives them) once it checks and ends in vk's delta.

    Raises CeremonyError naming the first problem: a malformed record, a broken proof of
    knowledge or delta chain, a stated hash that is not the record's, or a last delta that
    is not the key's.
    """
    backend = backend or get_backend()
    if not isinstance(doc, dict) or doc.get("format") != TRANSCRIPT_FORMAT:
        raise CeremonyError(f"transcript: expected an object with format {TRANSCRIPT_FORMAT!r}")
    records = doc.get("contributions")
    if not isinstance(records, list) or not 0 < len(records) <= MAX_CONTRIBUTIONS:
        # No contribution means delta = 1: whoever made the initial key can forge.
        raise CeremonyError(f"transcript: expected 1 to {MAX_CONTRIBUTIONS} contributions")
    chain = _Chain(_hex(doc.get("circuit_hash"), "transcript.circuit_hash", 64))
    stated = []
    for i, record in enumerate(records):
        contribution, digest = _contribution(record, backend, f"transcript.contributions[{i}]")
        chain.contributions.append(contribution)
        stated.append(digest)
    problem, last_delta_g1, hashes = _check_contributions(chain, backend)  # type: ignore[arg-type]
    if problem is not None:
        raise CeremonyError(f"transcript: {problem}")
    for i, (ours, theirs) in enumerate(zip(hashes, stated)):
        if ours != theirs:
            raise CeremonyError(f"transcript: contribution #{i + 1}: its contribution_hash is not its record's hash")
    # e(delta_1, g2) == e(g1, delta_2): the key's delta is the one the last contribution produced.
    if not backend.pairing_check([(last_delta_g1, backend.g2_generator()),
                                  (backend.g1_neg(backend.g1_generator()), vk.delta_g2)]):
        raise CeremonyError("transcript: its last delta is not the verification key's delta_g2 "
                            "(the transcript belongs to another key)")
    return transcript_entries(chain.contributions, hashes)
