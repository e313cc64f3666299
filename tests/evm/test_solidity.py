"""Exported Solidity verifiers in a real Prague EVM (solc + ethereumjs in node), and their encodings.

The EVM tests compile the generated sources with solc, deploy them and call them through
tests/evm/harness.mjs; they skip with a reason only where node or the npm packages are missing.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from tests.evm.node_evm import NodeEvm, transaction_gas, unavailable_reason
from tests.groth16.circuits import compiled_cube, cube_witness
from zkmargin.backends import get_backend
from zkmargin.backends.base import P, fp2_sqrt, fp_sqrt, g2_rhs
from zkmargin.errors import EncodingError, MalformedKeyError, PublicInputError, ZkMarginError
from zkmargin.evm import (
    check_margin_calldata,
    margin_verifier_source,
    onchain_context,
    onchain_scope,
    proof_to_eip2537,
    register_attested_calldata,
    register_snapshot_calldata,
    solidity_calldata,
    verifier_source,
    verify_margin_calldata,
    verify_proof_calldata,
)
from zkmargin.evm.calldata import SELECTORS, encode_call
from zkmargin.evm.eip2537 import g1_to_eip2537, g2_to_eip2537
from zkmargin.field import R
from zkmargin.groth16 import Proof, VerifyingKey, prove, setup, verify
from zkmargin.groth16.serialization import proof_from_json, public_inputs_from_json, vk_from_json
from zkmargin.venue.attestation import snapshot_digest

SNARKJS_FIXTURES = Path(__file__).resolve().parents[1] / "groth16" / "fixtures" / "snarkjs"
VENUE = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
MARGIN_GAS_TARGET = 300_000
VERIFY_MARGIN_SIGNATURE = "verifyMargin(bytes32,address,uint64,uint256[],bytes)"


@pytest.fixture(scope="module")
def backend():
    return get_backend("arkworks")


@pytest.fixture(scope="module")
def cube(backend):
    """(vk, public inputs, proof) of the 2-input cube circuit."""
    compiled = compiled_cube()
    pk = setup(compiled, random.Random(1), backend)
    z, public = cube_witness(3)
    proof = prove(pk, compiled, z, random.Random(2), backend)
    assert verify(pk.vk, public, proof, backend)
    return pk.vk, public, proof


@pytest.fixture(scope="module")
def evm():
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    node = NodeEvm()
    yield node
    node.close()


@pytest.fixture(scope="module")
def cube_verifier(evm, cube, backend):
    vk, _, _ = cube
    evm.compile({"CubeVerifier.sol": verifier_source(vk, backend, "CubeVerifier")})
    address, _ = evm.deploy("CubeVerifier")
    return address


def _raw_verify(public, proof_bytes: bytes) -> bytes:
    """verifyProof calldata with a raw proof argument, unchecked, so tests can tamper with it."""
    return encode_call("verifyProof(bytes,uint256[])", [("bytes", proof_bytes), ("uint256[]", public)])


def _call_verify(evm, address, public, proof_bytes: bytes):
    return evm.call(address, _raw_verify(public, proof_bytes))


def _off_curve_g1() -> bytes:
    x = 5
    while fp_sqrt((x**3 + 4) % P) is not None:  # pick an x with no point above it, then use y = 1
        x += 1
    return x.to_bytes(64, "big") + (1).to_bytes(64, "big")


def _on_curve_outside_subgroup(backend) -> bytes:
    """A point of E(Fp) outside the order-r subgroup (the G1 cofactor is large, so most points are)."""
    x = 1
    while True:
        x += 1
        y = fp_sqrt((x**3 + 4) % P)
        if y is None:
            continue
        try:
            backend.g1_from_affine(x, y)
        except ZkMarginError:
            return x.to_bytes(64, "big") + y.to_bytes(64, "big")


def _g2_outside_subgroup(backend) -> bytes:
    """A point of the twist E'(Fp2) outside the order-r subgroup."""
    x0 = 0
    while True:
        x0 += 1
        y = fp2_sqrt(g2_rhs((x0, 1)))
        if y is None:
            continue
        try:
            backend.g2_from_affine((x0, 1), y)
        except ZkMarginError:
            return b"".join(v.to_bytes(64, "big") for v in (x0, 1, *y))


# ----- encodings, without an EVM ------------------------------------------------------
def test_eip2537_points_are_padded_big_endian_and_the_identity_is_zero(backend):
    g1 = backend.g1_generator()
    encoded = g1_to_eip2537(g1, backend)
    x, y = backend.g1_to_affine(g1)
    assert len(encoded) == 128
    assert encoded[:16] == bytes(16) and encoded[64:80] == bytes(16)
    assert int.from_bytes(encoded[:64], "big") == x and int.from_bytes(encoded[64:], "big") == y
    assert g1_to_eip2537(backend.g1_identity(), backend) == bytes(128)
    (x0, x1), (y0, y1) = backend.g2_to_affine(backend.g2_generator())
    g2 = g2_to_eip2537(backend.g2_generator(), backend)
    assert [int.from_bytes(g2[i : i + 64], "big") for i in range(0, 256, 64)] == [x0, x1, y0, y1]
    assert g2_to_eip2537(backend.g2_identity(), backend) == bytes(256)


def test_verify_proof_calldata_layout(cube, backend):
    vk, public, proof = cube
    data = verify_proof_calldata(public, proof, backend)
    words = [int.from_bytes(data[4 + i : 36 + i], "big") for i in range(0, len(data) - 4, 32)]
    assert data[:4] == SELECTORS["verifyProof(bytes,uint256[])"]
    assert words[0] == 64 and words[1] == 64 + 32 + 512  # offsets of proof and inputs
    assert words[2] == 512 and data[4 + 96 : 4 + 96 + 512] == proof_to_eip2537(proof, backend)
    assert words[2 + 1 + 16 :] == [len(public), *public]


def test_calldata_refuses_inputs_outside_the_field_and_bad_ids(cube, backend):
    _, public, proof = cube
    with pytest.raises(PublicInputError, match=r"public input 1 .*\[0, r\)"):
        verify_proof_calldata([public[0], R], proof, backend)
    with pytest.raises(PublicInputError):
        register_snapshot_calldata(b"\x01" * 32, [-1])
    with pytest.raises(EncodingError, match="32 bytes"):
        register_snapshot_calldata("0x1234", [1])
    with pytest.raises(EncodingError, match="hexadecimal"):
        verify_margin_calldata("zz" * 32, BENEFICIARY, EPOCH, [1], proof, backend)
    with pytest.raises(EncodingError, match="20 bytes"):
        verify_margin_calldata("ab" * 32, "0x1234", EPOCH, [1], proof, backend)
    with pytest.raises(EncodingError, match="epoch"):
        check_margin_calldata("ab" * 32, BENEFICIARY, -1, [1], proof, backend)
    with pytest.raises(PublicInputError, match="attested value 0"):
        register_attested_calldata("ab" * 32, [R])
    with pytest.raises(EncodingError, match="snapshot id"):
        solidity_calldata(public, proof, backend, per_proof_inputs=1)


def test_solidity_calldata_text_is_the_call_arguments(cube, backend):
    _, public, proof = cube
    text = solidity_calldata(public, proof, backend)
    proof_hex, inputs = json.loads(f"[{text}]")
    assert bytes.fromhex(proof_hex[2:]) == proof_to_eip2537(proof, backend)
    assert [int(v, 16) for v in inputs] == public
    margin = json.loads("[" + solidity_calldata(public, proof, backend, 1, "ab" * 32, BENEFICIARY, EPOCH) + "]")
    assert margin[:3] == ["0x" + "ab" * 32, BENEFICIARY, EPOCH] and [int(v, 16) for v in margin[3]] == public[:1]


def test_export_refuses_unsafe_keys_bad_names_and_bad_splits(cube, backend):
    vk, _, _ = cube
    forgeable = dataclasses.replace(vk, delta_g2=vk.gamma_g2)
    with pytest.raises(MalformedKeyError, match="delta == gamma"):
        verifier_source(forgeable, backend)
    with pytest.raises(ZkMarginError, match="contract name"):
        verifier_source(vk, backend, "not a name")
    for bad in ("plain", 2, None):
        with pytest.raises(ZkMarginError, match="margin mode"):
            margin_verifier_source(vk, bad, backend)
    with pytest.raises(PublicInputError, match="at least 4 public inputs"):
        margin_verifier_source(vk, "membership", backend)


# ----- the plain verifier in the EVM ------------------------------------------------------
def test_function_selectors_match_solc(evm, cube, backend):
    vk, _, _ = cube
    compiled = evm.compile({
        "S1.sol": verifier_source(vk, backend, "SelectorsPlain"),
        "S2.sol": margin_verifier_source(vk, "membership" if vk.num_public >= 4 else "named", backend,
                                         "SelectorsMargin"),
    })
    identifiers = {**compiled["SelectorsPlain"]["methodIdentifiers"], **compiled["SelectorsMargin"]["methodIdentifiers"]}
    for signature, selector in SELECTORS.items():
        assert identifiers[signature] == selector.hex(), signature


def test_plain_verifier_accepts_our_proof(evm, cube_verifier, cube, backend):
    _, public, proof = cube
    result = evm.call(cube_verifier, verify_proof_calldata(public, proof, backend))
    assert result.returned_true, result


@pytest.mark.parametrize("which", [0, 1])
def test_plain_verifier_rejects_a_changed_input(evm, cube_verifier, cube, backend, which):
    _, public, proof = cube
    changed = list(public)
    changed[which] = (changed[which] + 1) % R
    assert evm.call(cube_verifier, verify_proof_calldata(changed, proof, backend)).returned_false


@pytest.mark.parametrize("which", [0, 1])
def test_plain_verifier_refuses_an_input_not_below_r(evm, cube_verifier, cube, backend, which):
    """x + r would satisfy the same pairing equation: the contract must refuse it, not verify it."""
    _, public, proof = cube
    for value in (public[which] + R, R, 2**256 - 1):
        aliased = list(public)
        aliased[which] = value
        result = _call_verify(evm, cube_verifier, aliased, proof_to_eip2537(proof, backend))
        assert not result.success and result.error == "PublicInputNotInField", (value, result)
        assert int.from_bytes(result.return_data[4:], "big") == which


def test_plain_verifier_rejects_changed_proof_points(evm, cube_verifier, cube, backend):
    _, public, proof = cube
    g1, g2 = backend.g1_generator(), backend.g2_generator()
    for tampered in (
        Proof(backend.g1_add(proof.a, g1), proof.b, proof.c),
        Proof(proof.a, backend.g2_add(proof.b, g2), proof.c),
        Proof(proof.a, proof.b, backend.g1_add(proof.c, g1)),
        Proof(proof.c, proof.b, proof.a),
    ):
        assert evm.call(cube_verifier, verify_proof_calldata(public, tampered, backend)).returned_false


def test_plain_verifier_refuses_points_off_the_curve_or_outside_the_subgroup(evm, cube_verifier, cube, backend):
    _, public, proof = cube
    good = proof_to_eip2537(proof, backend)
    y_plus_one = bytearray(good)
    y_plus_one[127] ^= 1  # A's y coordinate changed: off the curve
    padding = bytearray(good)
    padding[0] = 1  # A's x with a non-zero padding byte
    x_plus_p = bytearray(good)
    x_plus_p[384:448] = (int.from_bytes(good[384:448], "big") + P).to_bytes(64, "big")  # C's x not reduced
    b_off = bytearray(good)
    b_off[128 + 255] ^= 1  # B's y.c1 changed
    cases = {
        "A off the curve": bytes(y_plus_one),
        "A padding": bytes(padding),
        "C x >= p": bytes(x_plus_p),
        "B off the curve": bytes(b_off),
        "A not on the curve at all": _off_curve_g1() + good[128:],
        "C outside the subgroup": good[:384] + _on_curve_outside_subgroup(backend),
        "B outside the subgroup": good[:128] + _g2_outside_subgroup(backend) + good[384:],
    }
    for name, data in cases.items():
        result = _call_verify(evm, cube_verifier, public, data)
        assert not result.success and result.error == "ProofPointInvalid", (name, result)


def test_a_failed_precompile_still_reverts_with_its_reason_on_a_tight_gas_budget(evm, cube_verifier, cube, backend):
    """The precompile burns the gas it gets; the 1/64 kept back must pay for the named revert."""
    _, public, proof = cube
    data = _off_curve_g1() + proof_to_eip2537(proof, backend)[128:]
    result = evm.call(cube_verifier, _raw_verify(public, data), gas=MARGIN_GAS_TARGET)
    assert not result.success and result.error == "ProofPointInvalid", result


def test_plain_verifier_refuses_malformed_calldata_with_named_errors(evm, cube_verifier, cube, backend):
    _, public, proof = cube
    good = proof_to_eip2537(proof, backend)
    cases = [
        (public, good[:-32], "ProofLengthInvalid"),
        (public, good + bytes(32), "ProofLengthInvalid"),
        (public, b"", "ProofLengthInvalid"),
        (public[:1], good, "PublicInputCountInvalid"),
        ([*public, 1], good, "PublicInputCountInvalid"),
        (public, bytes(128) + good[128:], "ProofPointAtInfinity"),
        (public, good[:128] + bytes(256) + good[384:], "ProofPointAtInfinity"),
        (public, good[:384] + bytes(128), "ProofPointAtInfinity"),
    ]
    for inputs, data, error in cases:
        result = _call_verify(evm, cube_verifier, inputs, data)
        assert not result.success and result.error == error, (error, result)
    truncated = verify_proof_calldata(public, proof, backend)[:-40]
    assert not evm.call(cube_verifier, truncated).success


def test_exported_verifier_accepts_the_snarkjs_proof(evm, backend):
    """Interop: a proof and key made by snarkjs itself verify on chain through our export."""
    if not SNARKJS_FIXTURES.exists():
        pytest.skip(f"snarkjs fixtures not present at {SNARKJS_FIXTURES}")
    vk = vk_from_json((SNARKJS_FIXTURES / "verification_key.json").read_text(), backend)
    proof = proof_from_json((SNARKJS_FIXTURES / "proof.json").read_text(), backend)
    public = public_inputs_from_json((SNARKJS_FIXTURES / "public.json").read_text())
    evm.compile({"SnarkjsVerifier.sol": verifier_source(vk, backend, "SnarkjsVerifier")})
    address, _ = evm.deploy("SnarkjsVerifier")
    assert evm.call(address, verify_proof_calldata(public, proof, backend)).returned_true
    changed = [public[0] + 1, *public[1:]]
    assert evm.call(address, verify_proof_calldata(changed, proof, backend)).returned_false


# ----- the margin verifier in the EVM ------------------------------------------------------
CHAIN_ID = 1  # the harness runs ethereumjs's Mainnet rules (Prague)
BENEFICIARY = "0x" + "be" * 20
EPOCH = 5


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def _deploy_margin(evm, vk: VerifyingKey, mode: str, backend, name: str) -> str:
    evm.compile({f"{name}.sol": margin_verifier_source(vk, mode, backend, name)})
    address, _ = evm.deploy(name, _address_word(VENUE))
    return address


def _word_result(result) -> int:
    assert result.success, result
    return int.from_bytes(result.return_data, "big")


def _cube_proof(cube_pk, x: int, context: int, backend):
    """A named-mode cube proof: public inputs (x^3 + x + 5 as the 'commitment', context)."""
    compiled, pk = cube_pk
    z, public = cube_witness(x, context)
    return public, prove(pk, compiled, z, random.Random(x), backend)


@pytest.fixture(scope="module")
def cube_pk(backend):
    compiled = compiled_cube()
    return compiled, setup(compiled, random.Random(1), backend)


@pytest.fixture(scope="module")
def cube_margin(evm, cube_pk, backend):
    """A named-mode margin verifier for the cube key (no snapshot values), with snapshot 0x01.. registered."""
    address = _deploy_margin(evm, cube_pk[1].vk, "named", backend, "CubeMargin")
    assert evm.call(address, register_snapshot_calldata(b"\x01" * 32, [], 2), sender=VENUE).success
    return address


def test_onchain_context_and_scope_are_the_contracts(evm, cube_margin):
    """The prover's context and scope (zkmargin.evm.context) are the values the contract recomputes."""
    for beneficiary, epoch in ((BENEFICIARY, EPOCH), (OTHER, EPOCH), (BENEFICIARY, 2**64 - 1)):
        data = encode_call("contextFor(address,uint64)", [("address", _address_word(beneficiary)[12:]), ("uint64", epoch)])
        assert _word_result(evm.call(cube_margin, data)) == onchain_context(CHAIN_ID, cube_margin, beneficiary, epoch)
    data = encode_call("scopeFor(uint64)", [("uint64", EPOCH)])
    assert _word_result(evm.call(cube_margin, data)) == onchain_scope(CHAIN_ID, cube_margin, EPOCH)
    assert onchain_context(CHAIN_ID, cube_margin, BENEFICIARY, EPOCH) != onchain_context(2, cube_margin, BENEFICIARY, EPOCH)
    with pytest.raises(EncodingError, match="zero address"):
        onchain_context(CHAIN_ID, cube_margin, "0x" + "00" * 20, EPOCH)
    with pytest.raises(EncodingError, match="epoch"):
        onchain_context(CHAIN_ID, cube_margin, BENEFICIARY, 2**64)


def test_only_the_venue_registers_snapshots_and_attested_values(evm, cube_pk, backend):
    address = _deploy_margin(evm, cube_pk[1].vk, "named", backend, "CubeMarginRegister")
    snapshot = b"\x01" * 32
    venue_call = bytes.fromhex(evm.compiled["CubeMarginRegister"]["methodIdentifiers"]["venue()"])
    assert _word_result(evm.call(address, venue_call)) == int(VENUE, 16)  # immutable: no setter, no transfer
    abi = evm.compiled["CubeMarginRegister"]["abi"]
    changing = {f["name"] for f in abi if f["type"] == "function" and f["stateMutability"] not in ("view", "pure")}
    assert changing == {"registerSnapshot", "registerAttested", "verifyMargin"}
    with pytest.raises(RuntimeError, match="VenueIsZero"):
        evm.deploy("CubeMarginRegister", bytes(32))
    attested = register_attested_calldata(snapshot, [1234])
    early = evm.call(address, attested, sender=VENUE)
    assert not early.success and early.error == "SnapshotUnknown"
    by_stranger = evm.call(address, register_snapshot_calldata(snapshot, [], 2), sender=OTHER)
    assert not by_stranger.success and by_stranger.error == "NotVenue"
    wrong_count = evm.call(address, register_snapshot_calldata(snapshot, [7], 2), sender=VENUE)
    assert not wrong_count.success and wrong_count.error == "PublicInputCountInvalid"
    assert evm.call(address, register_snapshot_calldata(snapshot, [], 2), sender=VENUE).success
    again = evm.call(address, register_snapshot_calldata(snapshot, [], 2), sender=VENUE)
    assert not again.success and again.error == "SnapshotAlreadyRegistered"
    for sender in (OTHER, BENEFICIARY):
        refused = evm.call(address, attested, sender=sender)
        assert not refused.success and refused.error == "NotVenue" and refused.logs == []
    is_attested = encode_call("isAttested(bytes32,uint256)", [("bytes32", snapshot), ("uint256", 1234)])
    assert _word_result(evm.call(address, is_attested)) == 0
    aliased = evm.call(address, encode_call("registerAttested(bytes32,uint256[])",
                                            [("bytes32", snapshot), ("uint256[]", [5, R + 5])]), sender=VENUE)
    assert not aliased.success and aliased.error == "AttestedValueNotInField"
    registered = evm.call(address, attested, sender=VENUE)
    assert registered.success and [log["event"] for log in registered.logs] == ["AttestedRegistered"]
    assert _word_result(evm.call(address, is_attested)) == 1
    # Registration only adds: a later call neither removes nor replaces what the venue registered before.
    assert evm.call(address, register_attested_calldata(snapshot, [5678]), sender=VENUE).success
    assert _word_result(evm.call(address, is_attested)) == 1


def test_named_mode_refuses_an_unattested_commitment(evm, cube_margin, cube_pk, backend):
    """Issue 22: a commitment the venue never registered for the snapshot was accepted as a free input."""
    snapshot = b"\x01" * 32
    context = onchain_context(CHAIN_ID, cube_margin, BENEFICIARY, EPOCH)
    public, proof = _cube_proof(cube_pk, 4, context, backend)  # a valid proof of an unattested 'account'
    assert verify(cube_pk[1].vk, public, proof, backend)
    data = verify_margin_calldata(snapshot, BENEFICIARY, EPOCH, public, proof, backend)
    refused = evm.call(cube_margin, data)
    assert not refused.success and refused.error == "NotAttested" and refused.logs == []
    assert int.from_bytes(refused.return_data[36:68], "big") == public[0]
    other_snapshot = evm.call(cube_margin, verify_margin_calldata(b"\x02" * 32, BENEFICIARY, EPOCH, public, proof, backend))
    assert not other_snapshot.success and other_snapshot.error == "SnapshotUnknown"
    assert evm.call(cube_margin, register_attested_calldata(snapshot, [public[0]]), sender=VENUE).success
    assert evm.call(cube_margin, data).returned_true


def test_margin_event_names_the_beneficiary_and_the_context_binds_it(evm, cube_margin, cube_pk, backend):
    """Issue 22: a resubmitted proof credited each resubmitter; now the event names the proof's beneficiary,
    and the same proof with another beneficiary, epoch or contract is refused."""
    snapshot = b"\x01" * 32
    context = onchain_context(CHAIN_ID, cube_margin, BENEFICIARY, EPOCH)
    public, proof = _cube_proof(cube_pk, 3, context, backend)
    assert evm.call(cube_margin, register_attested_calldata(snapshot, [public[0]]), sender=VENUE).success
    data = verify_margin_calldata(snapshot, BENEFICIARY, EPOCH, public, proof, backend)
    for sender in (BENEFICIARY, OTHER, VENUE):
        verified = evm.call(cube_margin, data, sender=sender)
        assert verified.returned_true and [log["event"] for log in verified.logs] == ["MarginProofVerified"]
        topics = verified.logs[0]["topics"]
        assert topics[1] == "0x" + snapshot.hex() and topics[2] == "0x" + _address_word(BENEFICIARY).hex()
        assert int(topics[3], 16) == EPOCH
        assert _address_word(sender).hex() not in verified.logs[0]["data"] or sender == BENEFICIARY
    for beneficiary, epoch in ((OTHER, EPOCH), (BENEFICIARY, EPOCH + 1)):
        stolen = evm.call(cube_margin, verify_margin_calldata(snapshot, beneficiary, epoch, public, proof, backend),
                          sender=OTHER)
        assert not stolen.success and stolen.error == "ContextMismatch" and stolen.logs == []
        expected = int.from_bytes(stolen.return_data[4:36], "big")
        assert expected == onchain_context(CHAIN_ID, cube_margin, beneficiary, epoch)
    zero = evm.call(cube_margin, verify_margin_calldata(snapshot, "0x" + "00" * 20, EPOCH, public, proof, backend))
    assert not zero.success and zero.error == "BeneficiaryIsZero"
    changed = evm.call(cube_margin, check_margin_calldata(snapshot, BENEFICIARY, EPOCH, public, Proof(proof.c, proof.b, proof.a),
                                                          backend))
    assert changed.returned_false



def test_margin_verifier_refuses_malformed_calldata_and_proof_points(evm, cube_margin, cube_pk, backend):
    """Adversarial review: non-canonical ABI words, wrong array lengths and offsets, and proof points off the
    curve or outside the subgroup are refused by the margin verifier (a named error where the contract decides),
    never counted; trailing bytes after a canonical call change nothing."""
    snapshot = b"\x01" * 32
    context = onchain_context(CHAIN_ID, cube_margin, BENEFICIARY, EPOCH)
    public, proof = _cube_proof(cube_pk, 5, context, backend)
    assert evm.call(cube_margin, register_attested_calldata(snapshot, [public[0]]), sender=VENUE).success
    good = check_margin_calldata(snapshot, BENEFICIARY, EPOCH, public, proof, backend)
    assert evm.call(cube_margin, good).returned_true
    assert evm.call(cube_margin, good + bytes(range(1, 40))).returned_true  # the decoder ignores trailing bytes

    def word(data: bytes, index: int, value: int) -> bytes:
        at = 4 + 32 * index
        return data[:at] + value.to_bytes(32, "big") + data[at + 32 :]

    # head: id, beneficiary, epoch, offset of the inputs (160), offset of the proof (256); tail: 2, inputs, 512, proof
    beneficiary = int.from_bytes(_address_word(BENEFICIARY), "big")
    assert int.from_bytes(good[4 + 96 : 4 + 128], "big") == 160 and int.from_bytes(good[4 + 128 : 4 + 160], "big") == 256
    malformed = {
        "beneficiary with dirty high bits": (word(good, 1, beneficiary | 1 << 200), None),
        "epoch >= 2^64": (word(good, 2, EPOCH | 1 << 64), None),
        "inputs offset past the end": (word(good, 3, 2**64), None),
        "proof offset past the end": (word(good, 4, len(good)), None),
        "inputs length 2^64": (word(good, 5, 2**64), None),
        "inputs length 1": (word(good, 5, 1), "PublicInputCountInvalid"),
        "inputs length 3 (the proof's length word as a third input)": (word(good, 5, 3), "PublicInputCountInvalid"),
        "proof length 511": (word(good, 8, 511), "ProofLengthInvalid"),
        "proof length past the end": (word(good, 8, 544), None),
        "truncated": (good[:-1], None),
    }
    for name, (data, error) in malformed.items():
        result = evm.call(cube_margin, data)
        assert not result.success and result.error == error and result.logs == [], (name, result)
    raw = proof_to_eip2537(proof, backend)
    points = {
        "A not on the curve": _off_curve_g1() + raw[128:],
        "C outside the subgroup": raw[:384] + _on_curve_outside_subgroup(backend),
        "B outside the subgroup": raw[:128] + _g2_outside_subgroup(backend) + raw[384:],
    }
    arguments = [("bytes32", snapshot), ("address", _address_word(BENEFICIARY)[12:]), ("uint64", EPOCH),
                 ("uint256[]", public)]
    for name, data in points.items():
        result = evm.call(cube_margin, encode_call(VERIFY_MARGIN_SIGNATURE, [*arguments, ("bytes", data)]))
        assert not result.success and result.error == "ProofPointInvalid" and result.logs == [], (name, result)


@pytest.fixture(scope="module")
def cross_keys(backend):
    """cross-n16-k4 and its membership variant (depth 3): keys for the sample snapshot."""
    from zkmargin.circuits.registry import circuit_from_id

    keys = {}
    for circuit_id in ("cross-n16-k4", "cross-n16-k4-m3"):
        circuit = circuit_from_id(circuit_id)
        keys[circuit_id] = circuit, setup(circuit.compile(), random.Random(11), backend)
    return keys


def test_margin_verifier_with_a_real_cross_proof(evm, cross_keys, backend):
    from zkmargin.circuits.proving import prove_account
    from zkmargin.margin.samples import sample_account, sample_snapshot

    circuit, pk = cross_keys["cross-n16-k4"]
    snapshot = sample_snapshot()
    first = snapshot.instruments[0]
    moved = dataclasses.replace(
        snapshot, instruments=(dataclasses.replace(first, mark_price_e8=first.mark_price_e8 + 1), *snapshot.instruments[1:])
    )
    head = circuit.per_proof_inputs
    address = _deploy_margin(evm, pk.vk, "named", backend, "CrossMargin")
    snapshot_id, moved_id = b"\x0a" * 32, b"\x0b" * 32
    assert evm.call(address, register_snapshot_calldata(snapshot_id, circuit.snapshot_inputs(snapshot), head),
                    sender=VENUE).success
    assert evm.call(address, register_snapshot_calldata(moved_id, circuit.snapshot_inputs(moved), head), sender=VENUE).success
    context = onchain_context(CHAIN_ID, address, BENEFICIARY, EPOCH)
    proof, public_obj = prove_account(circuit, pk, sample_account("healthy"), snapshot, 1234, context, backend)
    public = public_obj.as_list()
    assert verify(pk.vk, public, proof, backend)
    for sid in (snapshot_id, moved_id):
        assert evm.call(address, register_attested_calldata(sid, [public[0]]), sender=VENUE).success

    data = verify_margin_calldata(snapshot_id, BENEFICIARY, EPOCH, public[:head], proof, backend)
    verified = evm.call(address, data)
    assert verified.returned_true and len(verified.logs) == 1
    assert transaction_gas(verified.gas_used, data) < MARGIN_GAS_TARGET
    assert evm.call(address, verify_margin_calldata(moved_id, BENEFICIARY, EPOCH, public[:head], proof, backend)).returned_false
    other_proof = Proof(proof.c, proof.b, proof.a)
    assert evm.call(address, verify_margin_calldata(snapshot_id, BENEFICIARY, EPOCH, public[:head], other_proof,
                                                    backend)).returned_false



@pytest.mark.parametrize("circuit_id", ["tiered-n8-p4-k4"])
def test_margin_verifier_with_a_real_sparse_proof(evm, backend, circuit_id, tmp_path):
    """A sparse id (N = 8 table rows, P = 4 held slots) through `export solidity --margin named` and
    `export register`: its table is the registered snapshot; the proof verifies against it and not against a
    table with one mark moved."""
    from click.testing import CliRunner

    from tests.cli.samples import write_samples
    from zkmargin.circuits.proving import prove_account
    from zkmargin.circuits.registry import circuit_from_id
    from zkmargin.cli.main import cli
    from zkmargin.groth16.serialization import vk_to_json
    from zkmargin.margin.models import load_snapshot, snapshot_to_json
    from zkmargin.margin.samples import sample_account

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["export", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    circuit = circuit_from_id(circuit_id)
    pk = setup(circuit.compile(), random.Random(12), backend)
    snapshot_path = write_samples(tmp_path) / "snapshot.json"
    snapshot = load_snapshot(snapshot_path)
    first = snapshot.instruments[0]
    moved = dataclasses.replace(
        snapshot, instruments=(dataclasses.replace(first, mark_price_e8=first.mark_price_e8 + 1), *snapshot.instruments[1:])
    )
    (tmp_path / "moved.json").write_text(json.dumps(snapshot_to_json(moved)))
    (tmp_path / "vk.json").write_text(json.dumps(vk_to_json(pk.vk, backend)))
    run("solidity", str(tmp_path / "vk.json"), str(tmp_path / "s.sol"), "--margin", "named", "--name", "SparseMargin")
    evm.compile({"s.sol": (tmp_path / "s.sol").read_text()})
    address, _ = evm.deploy("SparseMargin", _address_word(VENUE))
    snapshot_id, moved_id = b"\x1a" * 32, b"\x1b" * 32
    for sid, path in ((snapshot_id, snapshot_path), (moved_id, tmp_path / "moved.json")):
        register = run("register", str(path), "--circuit", circuit_id, "--snapshot-id", sid.hex())
        assert evm.call(address, bytes.fromhex(register[2:]), sender=VENUE).success
    head = circuit.per_proof_inputs
    context = onchain_context(CHAIN_ID, address, BENEFICIARY, EPOCH)
    proof, public_obj = prove_account(circuit, pk, sample_account("healthy"), snapshot, 99, context, backend)
    public = public_obj.as_list()
    for sid in (snapshot_id, moved_id):
        assert evm.call(address, register_attested_calldata(sid, [public[0]]), sender=VENUE).success
    assert evm.call(address, verify_margin_calldata(snapshot_id, BENEFICIARY, EPOCH, public[:head], proof,
                                                    backend)).returned_true
    assert evm.call(address, verify_margin_calldata(moved_id, BENEFICIARY, EPOCH, public[:head], proof,
                                                    backend)).returned_false

# The trader's identity secret: the nullifier comes from it, the same under every snapshot and salt.
MEMBER_SECRET = 0x5EC12E7


def _member_proof(cross_keys, backend, leaves: list[int], index: int, salt: int, context: int, scope: int):
    """A cross-n16-k4-m3 proof for the sample healthy account (salt) at leaves[index] of a depth-3 tree."""
    from zkmargin.circuits.proving import prove_member
    from zkmargin.gadgets.merkle import identity_commitment, member_leaf
    from zkmargin.margin.samples import sample_account, sample_snapshot
    from zkmargin.venue.tree import MerklePath, MerkleTree

    circuit, pk = cross_keys["cross-n16-k4-m3"]
    account, snapshot = sample_account("healthy"), sample_snapshot()
    leaf = member_leaf(circuit.witness(account, snapshot, salt).commitment, identity_commitment(MEMBER_SECRET))
    leaves = [*leaves[:index], leaf, *leaves[index:]]
    tree = MerkleTree(leaves, 3)
    path = MerklePath(account.account_id, leaf, index, tuple(tree.path(index)), tree.root, tree.depth)
    proof, public = prove_member(circuit, pk, account, snapshot, salt, context, path, scope, MEMBER_SECRET, backend)
    return public.as_list(), proof


@pytest.fixture(scope="module")
def member_margin(evm, cross_keys, backend):
    """A membership-mode verifier for cross-n16-k4-m3 with the sample snapshot registered; (address, snapshot id)."""
    from zkmargin.margin.samples import sample_snapshot

    circuit, pk = cross_keys["cross-n16-k4-m3"]
    address = _deploy_margin(evm, pk.vk, "membership", backend, "MemberMargin")
    snapshot_id = b"\x0c" * 32
    values = circuit.snapshot_inputs(sample_snapshot())
    assert evm.call(address, register_snapshot_calldata(snapshot_id, values, 4), sender=VENUE).success
    return address, snapshot_id


HONEST_SALT, INVENTED_SALT = 4242, 777
OTHER_LEAVES = [1111, 2222, 3333]


def test_membership_refuses_an_invented_account_in_a_one_leaf_tree(evm, member_margin, cross_keys, backend):
    """Issue 22: an invented healthy account in a one-leaf tree of its own commitment verified against the
    venue's registered snapshot; now only roots the venue registered for that snapshot are accepted."""
    address, snapshot_id = member_margin
    context, scope = onchain_context(CHAIN_ID, address, BENEFICIARY, EPOCH), onchain_scope(CHAIN_ID, address, EPOCH)
    honest, _ = _member_proof(cross_keys, backend, OTHER_LEAVES, 1, HONEST_SALT, context, scope)
    assert evm.call(address, register_attested_calldata(snapshot_id, [honest[0]]), sender=VENUE).success
    invented, proof = _member_proof(cross_keys, backend, [], 0, INVENTED_SALT, context, scope)
    assert invented[0] != honest[0] and verify(cross_keys["cross-n16-k4-m3"][1].vk, invented, proof, backend)
    refused = evm.call(address, verify_margin_calldata(snapshot_id, BENEFICIARY, EPOCH, invented[:4], proof, backend))
    assert not refused.success and refused.error == "NotAttested" and refused.logs == []


def test_membership_counts_a_nullifier_once_per_scope(evm, member_margin, cross_keys, backend):
    """Issue 22: nullifiers were not recorded; now a repeat in the epoch's scope is refused, whatever the beneficiary,
    and the scope is the contract's own, so a proof for a scope of the prover's choosing is refused."""
    address, snapshot_id = member_margin
    scope = onchain_scope(CHAIN_ID, address, EPOCH)
    context = onchain_context(CHAIN_ID, address, BENEFICIARY, EPOCH)
    public, proof = _member_proof(cross_keys, backend, OTHER_LEAVES, 1, HONEST_SALT, context, scope)
    assert evm.call(address, register_attested_calldata(snapshot_id, [public[0]]), sender=VENUE).success
    data = verify_margin_calldata(snapshot_id, BENEFICIARY, EPOCH, public[:4], proof, backend)
    first = evm.call(address, data)
    assert first.returned_true and [log["event"] for log in first.logs] == ["MarginProofVerified"]
    assert transaction_gas(first.gas_used, data) < MARGIN_GAS_TARGET
    again = evm.call(address, data, sender=OTHER)
    assert not again.success and again.error == "NullifierUsed" and again.logs == []
    # Each per-proof input + r is the same proof's scalar modulo r: refused, never a fresh nullifier or root.
    raw = proof_to_eip2537(proof, backend)
    head = [("bytes32", snapshot_id), ("address", _address_word(BENEFICIARY)[12:]), ("uint64", EPOCH)]
    for index, error in ((0, "NotAttested"), (1, "ContextMismatch"), (2, "ScopeMismatch"), (3, "PublicInputNotInField")):
        aliased = list(public[:4])
        aliased[index] += R
        replay = evm.call(address, encode_call(VERIFY_MARGIN_SIGNATURE, [*head, ("uint256[]", aliased), ("bytes", raw)]))
        assert not replay.success and replay.error == error and replay.logs == [], (index, replay)
    used = encode_call("isNullifierUsed(uint256,uint256)", [("uint256", scope), ("uint256", public[3] + R)])
    assert _word_result(evm.call(address, used)) == 0
    # The venue registers a rebuilt tree's root for the snapshot: the account (same commitment) still counted once.
    rebuilt, rebuilt_proof = _member_proof(cross_keys, backend, [*OTHER_LEAVES, 4444], 3, HONEST_SALT, context, scope)
    assert rebuilt[0] != public[0] and rebuilt[3] == public[3]
    assert evm.call(address, register_attested_calldata(snapshot_id, [rebuilt[0]]), sender=VENUE).success
    again = evm.call(address, verify_margin_calldata(snapshot_id, BENEFICIARY, EPOCH, rebuilt[:4], rebuilt_proof, backend))
    assert not again.success and again.error == "NullifierUsed"
    # The account re-committed with a fresh salt (a later snapshot's tree): a new leaf and root, the same
    # nullifier, because it comes from the trader's identity secret (issue 22 item 2), never from the salt.
    fresh, fresh_proof = _member_proof(cross_keys, backend, OTHER_LEAVES, 1, HONEST_SALT + 1, context, scope)
    assert fresh[0] != public[0] and fresh[3] == public[3]
    assert evm.call(address, register_attested_calldata(snapshot_id, [fresh[0]]), sender=VENUE).success
    again = evm.call(address, verify_margin_calldata(snapshot_id, BENEFICIARY, EPOCH, fresh[:4], fresh_proof, backend))
    assert not again.success and again.error == "NullifierUsed"
    # The same account, a fresh proof for another beneficiary in the same epoch: the same nullifier.
    other_context = onchain_context(CHAIN_ID, address, OTHER, EPOCH)
    second, second_proof = _member_proof(cross_keys, backend, OTHER_LEAVES, 1, HONEST_SALT, other_context, scope)
    assert second[3] == public[3]
    repeat = evm.call(address, verify_margin_calldata(snapshot_id, OTHER, EPOCH, second[:4], second_proof, backend))
    assert not repeat.success and repeat.error == "NullifierUsed"
    # A scope the prover picked (a fresh nullifier) is not this contract's scope for the epoch.
    own_scope, own_proof = _member_proof(cross_keys, backend, OTHER_LEAVES, 1, HONEST_SALT, other_context, scope + 1)
    chosen = evm.call(address, verify_margin_calldata(snapshot_id, OTHER, EPOCH, own_scope[:4], own_proof, backend))
    assert not chosen.success and chosen.error == "ScopeMismatch"
    # Another epoch is another scope: the account counts once there too.
    next_scope = onchain_scope(CHAIN_ID, address, EPOCH + 1)
    next_context = onchain_context(CHAIN_ID, address, OTHER, EPOCH + 1)
    later, later_proof = _member_proof(cross_keys, backend, OTHER_LEAVES, 1, HONEST_SALT, next_context, next_scope)
    assert later[3] != public[3]
    assert evm.call(address, verify_margin_calldata(snapshot_id, OTHER, EPOCH + 1, later[:4], later_proof, backend)).returned_true



def test_a_membership_proof_is_refused_for_another_beneficiary_epoch_contract_or_chain(cross_keys, backend):
    """Adversarial review: one proof under a registered root, replayed with another beneficiary or epoch, at another
    deployment on the same chain, and at the same address on another chain (a fresh EVM with chain id 5 and the
    same deployment order): each is refused by the context before any nullifier is read or written."""
    from zkmargin.margin.samples import sample_snapshot

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    circuit, pk = cross_keys["cross-n16-k4-m3"]
    source = margin_verifier_source(pk.vk, "membership", backend, "ReplayMargin")
    snapshot_id, values = b"\x0d" * 32, circuit.snapshot_inputs(sample_snapshot())
    chains = {1: NodeEvm(1), 5: NodeEvm(5)}
    try:
        deployments = []  # (node, address): chain 1 first, chain 1 again, chain 5 (the first one's address)
        for node in (chains[1], chains[1], chains[5]):
            node.compile({"ReplayMargin.sol": source})
            address, _ = node.deploy("ReplayMargin", _address_word(VENUE))
            aliased = encode_call("registerSnapshot(bytes32,uint256[])",
                                  [("bytes32", snapshot_id), ("uint256[]", [*values[:-1], values[-1] + R])])
            refused = node.call(address, aliased, sender=VENUE)  # a snapshot value + r: the same point, refused
            assert not refused.success and refused.error == "PublicInputNotInField", refused
            assert int.from_bytes(refused.return_data[4:], "big") == 4 + len(values) - 1
            assert node.call(address, register_snapshot_calldata(snapshot_id, values, 4), sender=VENUE).success
            deployments.append((node, address))
        (node, address), (_, second), (_, other_chain) = deployments
        assert other_chain == address != second
        context, scope = onchain_context(CHAIN_ID, address, BENEFICIARY, EPOCH), onchain_scope(CHAIN_ID, address, EPOCH)
        public, proof = _member_proof(cross_keys, backend, OTHER_LEAVES, 1, HONEST_SALT, context, scope)
        for target_node, target in deployments:
            assert target_node.call(target, register_attested_calldata(snapshot_id, [public[0]]), sender=VENUE).success
        replays = {
            "another beneficiary": (node, address, OTHER, EPOCH, onchain_context(CHAIN_ID, address, OTHER, EPOCH)),
            "another epoch": (node, address, BENEFICIARY, EPOCH + 1, onchain_context(CHAIN_ID, address, BENEFICIARY, EPOCH + 1)),
            "another contract": (node, second, BENEFICIARY, EPOCH, onchain_context(CHAIN_ID, second, BENEFICIARY, EPOCH)),
            "another chain": (chains[5], address, BENEFICIARY, EPOCH, onchain_context(5, address, BENEFICIARY, EPOCH)),
        }
        for name, (target_node, target, beneficiary, epoch, expected) in replays.items():
            replay = target_node.call(target, verify_margin_calldata(snapshot_id, beneficiary, epoch, public[:4], proof,
                                                                     backend), sender=OTHER)
            assert not replay.success and replay.error == "ContextMismatch" and replay.logs == [], (name, replay)
            assert int.from_bytes(replay.return_data[4:36], "big") == expected, name
        assert node.call(address, verify_margin_calldata(snapshot_id, BENEFICIARY, EPOCH, public[:4], proof,
                                                         backend)).returned_true
    finally:
        for chain_node in chains.values():
            chain_node.close()


# ----- code size (EIP-170) ------------------------------------------------------
def _key_with_inputs(vk: VerifyingKey, count: int, backend) -> VerifyingKey:
    points = backend.g1_batch_mul(backend.g1_generator(), list(range(2, count + 3)))
    return dataclasses.replace(vk, gamma_abc_g1=tuple(points))


def _largest_accepted(export, vk: VerifyingKey, backend) -> int:
    from zkmargin.evm.solidity import EIP170_CODE_LIMIT_BYTES

    for count in range(EIP170_CODE_LIMIT_BYTES // 96 + 8, 0, -1):
        try:
            export(_key_with_inputs(vk, count, backend))
            return count
        except ZkMarginError as exc:
            assert "EIP-170" in str(exc)
    raise AssertionError("no key size accepted")


@pytest.mark.parametrize("kind", ["plain", "margin"])
def test_the_largest_exportable_key_deploys_and_one_more_input_is_refused(evm, cube, backend, kind):
    """The exporter's size estimate must stay on the safe side of the real compiled size (for the margin
    verifier: of both the contract and the data contract holding its snapshot points)."""
    vk, _, _ = cube
    name = f"Largest{kind.title()}"
    if kind == "plain":
        export = lambda key: verifier_source(key, backend, name)  # noqa: E731
    else:
        export = lambda key: margin_verifier_source(key, "membership", backend, name)  # noqa: E731
    largest = _largest_accepted(export, vk, backend)
    assert largest >= (210 if kind == "plain" else 4 + 255), "cross-n64-k8 (210 public inputs) must fit"
    with pytest.raises(ZkMarginError, match=f"at most {largest}"):
        export(_key_with_inputs(vk, largest + 1, backend))
    compiled = evm.compile({f"{name}.sol": export(_key_with_inputs(vk, largest, backend))})
    assert compiled[name]["deployedSize"] <= 24_576
    evm.deploy(name, _address_word(VENUE) if kind == "margin" else b"")


def test_cli_named_flow_in_the_evm(evm, cross_keys, backend, tmp_path):
    """The venue's CLI path end to end: export solidity, register (snapshot values, then the attested commitment),
    context; the trader's proof then verifies for its beneficiary, and an account the venue never attested does not."""
    from click.testing import CliRunner

    from tests.cli.samples import write_samples
    from zkmargin.circuits.proving import prove_account
    from zkmargin.cli.main import cli
    from zkmargin.groth16.serialization import proof_to_json, public_inputs_to_json, vk_to_json
    from zkmargin.margin.models import load_snapshot
    from zkmargin.margin.samples import sample_account
    from zkmargin.venue.attestation import VenueSigningKey, attest, attestation_to_json, public_key_to_json

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    circuit, pk = cross_keys["cross-n16-k4"]
    snapshot_path = write_samples(tmp_path) / "snapshot.json"
    snapshot = load_snapshot(snapshot_path)
    key = VenueSigningKey.generate()
    (tmp_path / "venue.pub.json").write_text(json.dumps(public_key_to_json(key.public_key(snapshot.venue))))
    (tmp_path / "vk.json").write_text(json.dumps(vk_to_json(pk.vk, backend)))
    run("export", "solidity", str(tmp_path / "vk.json"), str(tmp_path / "m.sol"), "--margin", "named", "--name", "CliMargin")
    evm.compile({"m.sol": (tmp_path / "m.sol").read_text()})
    address, _ = evm.deploy("CliMargin", _address_word(VENUE))
    register = run("export", "register", str(snapshot_path), "--circuit", "cross-n16-k4")
    assert evm.call(address, bytes.fromhex(register[2:]), sender=VENUE).success
    context = json.loads(run("export", "context", "--chain-id", str(CHAIN_ID), "--contract", address,
                             "--beneficiary", BENEFICIARY, "--epoch", str(EPOCH), "--json"))["context"]

    def calldata(salt: int) -> tuple[int, bytes]:
        proof, public = prove_account(circuit, pk, sample_account("healthy"), snapshot, salt, int(context), backend)
        (tmp_path / "public.json").write_text(json.dumps(public_inputs_to_json(public.as_list())))
        (tmp_path / "proof.json").write_text(json.dumps(proof_to_json(proof, backend)))
        text = run("export", "calldata", str(tmp_path / "public.json"), str(tmp_path / "proof.json"), "--margin", "named",
                   "--snapshot-id", snapshot_digest(snapshot).hex(), "--beneficiary", BENEFICIARY, "--epoch", str(EPOCH),
                   "--encoded")
        return public.commitment, bytes.fromhex(text[2:])

    commitment, data = calldata(1234)
    invented_commitment, invented = calldata(999)  # a valid proof, for a commitment the venue never attested
    (tmp_path / "alice.att.json").write_text(json.dumps(attestation_to_json(attest(key, snapshot, "alice", commitment))))
    attested = run("export", "register", str(snapshot_path), "--venue-key", str(tmp_path / "venue.pub.json"),
                   "--attestation", str(tmp_path / "alice.att.json"))
    assert evm.call(address, bytes.fromhex(attested[2:]), sender=VENUE).success
    verified = evm.call(address, data, sender=OTHER)
    assert verified.returned_true and verified.logs[0]["topics"][2] == "0x" + _address_word(BENEFICIARY).hex()
    refused = evm.call(address, invented, sender=OTHER)
    assert not refused.success and refused.error == "NotAttested" and invented_commitment != commitment
