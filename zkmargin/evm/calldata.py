"""Calldata for the generated contracts: snarkjs-style argument text and complete ABI-encoded calls.

The ABI encoding is written out for the few argument types the contracts take (bytes32, address,
uint64, uint256[], bytes). Function selectors are the first 4 bytes of keccak256 of the signature; they are listed here
(the standard library has no keccak) and the EVM tests check them against solc's own output.
Every value is checked before it is encoded: public inputs in [0, r), snapshot ids of 32 bytes,
addresses of 20 bytes, epochs below 2^64, a proof that decoded with every check (curve, subgroup,
not the identity).
"""

from __future__ import annotations

from collections.abc import Sequence

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.errors import EncodingError, PublicInputError
from zkmargin.evm.context import address_bytes, check_epoch
from zkmargin.evm.eip2537 import proof_to_eip2537
from zkmargin.field import R
from zkmargin.groth16.data_structures import Proof

SELECTORS = {
    "verifyProof(bytes,uint256[])": bytes.fromhex("1e8e1e13"),
    "registerSnapshot(bytes32,uint256[])": bytes.fromhex("76d0c88e"),
    "registerAttested(bytes32,uint256[])": bytes.fromhex("5f82c1a4"),
    "verifyMargin(bytes32,address,uint64,uint256[],bytes)": bytes.fromhex("b8e00c0e"),
    "checkMargin(bytes32,address,uint64,uint256[],bytes)": bytes.fromhex("87164e9d"),
    "contextFor(address,uint64)": bytes.fromhex("088cac1d"),
    "scopeFor(uint64)": bytes.fromhex("272eb802"),
    "isAttested(bytes32,uint256)": bytes.fromhex("6e0b5263"),
    "isNullifierUsed(uint256,uint256)": bytes.fromhex("85c74296"),
}
VERIFY_MARGIN = "verifyMargin(bytes32,address,uint64,uint256[],bytes)"
CHECK_MARGIN = "checkMargin(bytes32,address,uint64,uint256[],bytes)"
WORD_BYTES = 32


def _word(value: int) -> bytes:
    return value.to_bytes(WORD_BYTES, "big")


def _field_elements(values: Sequence[int], what: str, first_index: int = 0) -> list[int]:
    checked = []
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < R:
            raise PublicInputError(f"{what} {first_index + i} is not an integer in [0, r)")
        checked.append(value)
    return checked


def snapshot_id_bytes(snapshot_id: bytes | str) -> bytes:
    """A bytes32 snapshot id from 32 bytes or their hex (with or without 0x)."""
    if isinstance(snapshot_id, str):
        text = snapshot_id[2:] if snapshot_id.lower().startswith("0x") else snapshot_id
        try:
            snapshot_id = bytes.fromhex(text)
        except ValueError:
            raise EncodingError(f"snapshot id {snapshot_id[:80]!r} is not hexadecimal") from None
    if len(snapshot_id) != WORD_BYTES:
        raise EncodingError(f"a snapshot id is 32 bytes (64 hex digits), got {len(snapshot_id)} bytes")
    return bytes(snapshot_id)


Argument = tuple[str, "bytes | int | Sequence[int]"]


def _encode(arguments: Sequence[Argument]) -> bytes:
    """ABI-encode a tuple of (type, value) with type one of bytes32, address, uint64, uint256, uint256[], bytes."""
    head: list[bytes] = []
    tail: list[bytes] = []
    tail_offset = WORD_BYTES * len(arguments)
    for kind, value in arguments:
        if kind == "bytes32" and isinstance(value, bytes):
            head.append(value)
            continue
        if kind == "address" and isinstance(value, bytes):
            head.append(bytes(12) + value)
            continue
        if kind in ("uint64", "uint256") and isinstance(value, int):
            head.append(_word(value))
            continue
        if kind == "uint256[]" and isinstance(value, Sequence) and not isinstance(value, bytes):
            encoded = _word(len(value)) + b"".join(_word(v) for v in value)
        elif kind == "bytes" and isinstance(value, bytes):
            encoded = _word(len(value)) + value + bytes(-len(value) % WORD_BYTES)
        else:
            raise TypeError(f"cannot encode {type(value).__name__} as {kind}")  # a bug in this module
        head.append(_word(tail_offset + sum(len(t) for t in tail)))
        tail.append(encoded)
    return b"".join(head) + b"".join(tail)


def encode_call(signature: str, arguments: Sequence[Argument]) -> bytes:
    """Selector and ABI-encoded arguments, values unchecked: for tools and tests that build calls by hand."""
    return SELECTORS[signature] + _encode(arguments)


def verify_proof_calldata(public_inputs: Sequence[int], proof: Proof, backend: CurveBackend | None = None) -> bytes:
    """The complete calldata of verifyProof(proof, publicInputs) on a generated Groth16Verifier."""
    backend = backend or get_backend()
    inputs = _field_elements(public_inputs, "public input")
    return encode_call("verifyProof(bytes,uint256[])", [("bytes", proof_to_eip2537(proof, backend)), ("uint256[]", inputs)])


def register_snapshot_calldata(snapshot_id: bytes | str, values: Sequence[int], first_index: int = 0) -> bytes:
    """The complete calldata of registerSnapshot(snapshotId, values) on a generated MarginVerifier.

    values must come from the circuit's own snapshot encoding (e.g. circuits.circuit.Circuit.snapshot_inputs),
    which checks the value ranges the circuit's overflow argument assumes; neither this function nor
    the contract can (they only check < r). first_index numbers the values in error messages.
    """
    checked = _field_elements(values, "public input", first_index)
    return encode_call("registerSnapshot(bytes32,uint256[])", [("bytes32", snapshot_id_bytes(snapshot_id)),
                                                         ("uint256[]", checked)])


def register_attested_calldata(snapshot_id: bytes | str, values: Sequence[int]) -> bytes:
    """The complete calldata of registerAttested(snapshotId, values): commitments (named) or roots (membership).

    values must be ones the venue signed for this snapshot (the CLI's `export register --attestation /
    --signed-root` checks each signature against the venue's key first); the contract takes the venue's word.
    """
    checked = _field_elements(values, "attested value")
    return encode_call("registerAttested(bytes32,uint256[])", [("bytes32", snapshot_id_bytes(snapshot_id)),
                                                               ("uint256[]", checked)])


def _margin_arguments(snapshot_id: bytes | str, beneficiary: bytes | str, epoch: int,
                      per_proof_inputs: Sequence[int], proof: Proof, backend: CurveBackend | None) -> list[Argument]:
    backend = backend or get_backend()
    return [
        ("bytes32", snapshot_id_bytes(snapshot_id)),
        ("address", address_bytes(beneficiary, "beneficiary")),
        ("uint64", check_epoch(epoch)),
        ("uint256[]", _field_elements(per_proof_inputs, "public input")),
        ("bytes", proof_to_eip2537(proof, backend)),
    ]


def verify_margin_calldata(snapshot_id: bytes | str, beneficiary: bytes | str, epoch: int,
                           per_proof_inputs: Sequence[int], proof: Proof, backend: CurveBackend | None = None) -> bytes:
    """The complete calldata of verifyMargin(snapshotId, beneficiary, epoch, perProofInputs, proof)."""
    return encode_call(VERIFY_MARGIN, _margin_arguments(snapshot_id, beneficiary, epoch, per_proof_inputs, proof, backend))


def check_margin_calldata(snapshot_id: bytes | str, beneficiary: bytes | str, epoch: int,
                          per_proof_inputs: Sequence[int], proof: Proof, backend: CurveBackend | None = None) -> bytes:
    """The complete calldata of the view function checkMargin (same arguments as verifyMargin)."""
    return encode_call(CHECK_MARGIN, _margin_arguments(snapshot_id, beneficiary, epoch, per_proof_inputs, proof, backend))


def _hex_words(values: Sequence[int]) -> str:
    return "[" + ",".join(f'"0x{v:064x}"' for v in values) + "]"


def solidity_calldata(public_inputs: Sequence[int], proof: Proof, backend: CurveBackend | None = None,
                      per_proof_inputs: int | None = None, snapshot_id: bytes | str | None = None,
                      beneficiary: bytes | str | None = None, epoch: int | None = None) -> str:
    """Arguments as text to paste into a call, like snarkjs's `zkey export soliditycalldata`.

    Without per_proof_inputs: `"0x<proof>",[inputs]` for verifyProof. With it (and the snapshot id,
    beneficiary and epoch the proof was made for): `"0x<id>","0x<beneficiary>",<epoch>,[first
    per_proof_inputs inputs],"0x<proof>"` for verifyMargin / checkMargin.
    """
    backend = backend or get_backend()
    inputs = _field_elements(public_inputs, "public input")
    proof_hex = '"0x' + proof_to_eip2537(proof, backend).hex() + '"'
    if per_proof_inputs is None:
        return f"{proof_hex},{_hex_words(inputs)}"
    if snapshot_id is None or beneficiary is None or epoch is None:
        raise EncodingError("margin calldata needs the snapshot id the venue registered, the beneficiary and the epoch")
    per_proof, _ = split_margin_inputs(inputs, per_proof_inputs)
    return (f'"0x{snapshot_id_bytes(snapshot_id).hex()}","0x{address_bytes(beneficiary, "beneficiary").hex()}",'
            f"{check_epoch(epoch)},{_hex_words(per_proof)},{proof_hex}")


def split_margin_inputs(public_inputs: Sequence[int], per_proof_inputs: int) -> tuple[list[int], list[int]]:
    """(per-proof inputs, snapshot inputs) of a full public-input list, for a margin verifier."""
    if isinstance(per_proof_inputs, bool) or not isinstance(per_proof_inputs, int) \
            or not 0 <= per_proof_inputs <= len(public_inputs):
        raise PublicInputError(
            f"per-proof input count must be between 0 and {len(public_inputs)}, got {per_proof_inputs}"
        )
    return list(public_inputs[:per_proof_inputs]), list(public_inputs[per_proof_inputs:])
