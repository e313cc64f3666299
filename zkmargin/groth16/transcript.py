"""A phase-2 transcript as JSON: the public records of a .zkey's contributions, checkable without the key.

A verifier that holds a verification key, our own R1CS of the circuit and the phase-1
ptau it trusts (the service) checks, from this document: that its circuit hash is the one
snarkjs computes for that circuit and ptau (BLAKE2b-512 over the initial key's header and
sections), every contribution's proof of knowledge, the delta chain from the generator to
the last contribution, the contribution hashes snarkjs prints, the beacon, and that every
point of the key follows from the ceremony: alpha, beta, gamma and IC are the initial key's
(contributions never change them) and delta_g2 is the last contribution's delta. The L and
H sections only serve the prover; `zkmargin zkey verify` checks them from the .zkey.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.binfile import g1_list_from_lem
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
    secret_contribution_problem,
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


def check_transcript(doc: Any, vk: VerifyingKey, initial: ZKey,
                     backend: CurveBackend | None = None) -> list[dict[str, Any]]:
    """The transcript's entries (as transcript_entries gives them) once it ties vk to initial's circuit.

    initial is the key `new_zkey` computes from our own R1CS of the circuit and the ptau the
    verifier trusts. Raises CeremonyError naming the first problem: a malformed record, a
    circuit hash that is not initial's (another circuit or another phase 1), a broken proof
    of knowledge or delta chain, a stated hash that is not the record's, a last delta that
    is not the key's, or a key point that is not the initial key's.
    """
    backend = backend or get_backend()
    if not isinstance(initial, ZKey):
        raise TypeError("check_transcript needs the circuit's initial ZKey (new_zkey from our R1CS and the trusted ptau)")
    if initial.contributions:
        raise CeremonyError("transcript: the reference key must be the initial key (no contribution)")
    if not isinstance(doc, dict) or doc.get("format") != TRANSCRIPT_FORMAT:
        raise CeremonyError(f"transcript: expected an object with format {TRANSCRIPT_FORMAT!r}")
    records = doc.get("contributions")
    if not isinstance(records, list) or not 0 < len(records) <= MAX_CONTRIBUTIONS:
        # No contribution means delta = 1: whoever made the initial key can forge.
        raise CeremonyError(f"transcript: expected 1 to {MAX_CONTRIBUTIONS} contributions")
    chain = _Chain(_hex(doc.get("circuit_hash"), "transcript.circuit_hash", 64))
    # The chain below is checked relative to this hash: a genuine transcript of another
    # circuit (or of this circuit over another ptau) checks just as well on its own.
    if chain.cs_hash != initial.cs_hash:
        raise CeremonyError("transcript: its circuit hash is not the one computed from this circuit's R1CS and "
                            "the service's ptau (the transcript is of another circuit or another phase 1)")
    stated = []
    for i, record in enumerate(records):
        contribution, digest = _contribution(record, backend, f"transcript.contributions[{i}]")
        chain.contributions.append(contribution)
        stated.append(digest)
    public_delta = secret_contribution_problem(chain.contributions)
    if public_delta is not None:
        raise CeremonyError(f"transcript: {public_delta}")
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
    _check_key_points(vk, initial, backend)
    return transcript_entries(chain.contributions, hashes)


def _check_key_points(vk: VerifyingKey, initial: ZKey, backend: CurveBackend) -> None:
    """CeremonyError unless alpha, beta, gamma and every IC point of vk are the initial key's."""
    ic = g1_list_from_lem(initial.sections[3], backend, "initial key IC section", subgroup_check=False)
    if len(ic) != len(vk.gamma_abc_g1):
        raise CeremonyError(f"verification key: it has {len(vk.gamma_abc_g1)} IC points; the circuit's initial key "
                            f"has {len(ic)}")
    for name, ours, theirs, eq in (("vk_alpha_1", vk.alpha_g1, initial.alpha_g1, backend.g1_eq),
                                   ("vk_beta_2", vk.beta_g2, initial.beta_g2, backend.g2_eq),
                                   ("vk_gamma_2", vk.gamma_g2, initial.gamma_g2, backend.g2_eq)):
        if not eq(ours, theirs):
            raise CeremonyError(f"verification key: its {name} is not the ceremony's (not from this circuit's "
                                "initial key)")
    for i, (ours, theirs) in enumerate(zip(vk.gamma_abc_g1, ic)):
        if not backend.g1_eq(ours, theirs):
            raise CeremonyError(f"verification key: its IC[{i}] is not the ceremony's (not from this circuit's "
                                "initial key)")
