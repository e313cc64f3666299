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
    proof_to_eip2537,
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

SNARKJS_FIXTURES = Path(__file__).resolve().parents[1] / "groth16" / "fixtures" / "snarkjs"
VENUE = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
MARGIN_GAS_TARGET = 300_000


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
        verify_margin_calldata("zz" * 32, [1], proof, backend)
    with pytest.raises(EncodingError, match="snapshot id"):
        solidity_calldata(public, proof, backend, per_proof_inputs=1)


def test_solidity_calldata_text_is_the_call_arguments(cube, backend):
    _, public, proof = cube
    text = solidity_calldata(public, proof, backend)
    proof_hex, inputs = json.loads(f"[{text}]")
    assert bytes.fromhex(proof_hex[2:]) == proof_to_eip2537(proof, backend)
    assert [int(v, 16) for v in inputs] == public
    margin = json.loads("[" + solidity_calldata(public, proof, backend, 1, "ab" * 32) + "]")
    assert margin[0] == "0x" + "ab" * 32 and [int(v, 16) for v in margin[1]] == public[:1]


def test_export_refuses_unsafe_keys_bad_names_and_bad_splits(cube, backend):
    vk, _, _ = cube
    forgeable = dataclasses.replace(vk, delta_g2=vk.gamma_g2)
    with pytest.raises(MalformedKeyError, match="delta == gamma"):
        verifier_source(forgeable, backend)
    with pytest.raises(ZkMarginError, match="contract name"):
        verifier_source(vk, backend, "not a name")
    for bad in (-1, vk.num_public + 1, True):
        with pytest.raises(PublicInputError, match="per-proof input count"):
            margin_verifier_source(vk, bad, backend)


# ----- the plain verifier in the EVM ------------------------------------------------------
def test_function_selectors_match_solc(evm, cube, backend):
    vk, _, _ = cube
    compiled = evm.compile({
        "S1.sol": verifier_source(vk, backend, "SelectorsPlain"),
        "S2.sol": margin_verifier_source(vk, 1, backend, "SelectorsMargin"),
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
def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def _deploy_margin(evm, vk: VerifyingKey, per_proof: int, backend, name: str) -> str:
    evm.compile({f"{name}.sol": margin_verifier_source(vk, per_proof, backend, name)})
    address, _ = evm.deploy(name, _address_word(VENUE))
    return address


def test_margin_verifier_with_the_cube_key(evm, cube, backend):
    """P = 1: the cube's y is per proof, its context is the 'snapshot' value registered by the venue."""
    vk, public, proof = cube
    address = _deploy_margin(evm, vk, 1, backend, "CubeMargin")
    snapshot, other = b"\x01" * 32, b"\x02" * 32
    unregistered = evm.call(address, check_margin_calldata(snapshot, public[:1], proof, backend))
    assert not unregistered.success and unregistered.error == "SnapshotUnknown"
    by_stranger = evm.call(address, register_snapshot_calldata(snapshot, public[1:], 1), sender=OTHER)
    assert not by_stranger.success and by_stranger.error == "NotVenue"
    wrong_count = evm.call(address, register_snapshot_calldata(snapshot, public[1:] * 2, 1), sender=VENUE)
    assert not wrong_count.success and wrong_count.error == "PublicInputCountInvalid"
    aliased = evm.call(address, encode_call("registerSnapshot(bytes32,uint256[])",
                                      [("bytes32", snapshot), ("uint256[]", [public[1] + R])]), sender=VENUE)
    assert not aliased.success and aliased.error == "PublicInputNotInField"
    assert int.from_bytes(aliased.return_data[4:], "big") == 1  # numbered in the key's input order
    registered = evm.call(address, register_snapshot_calldata(snapshot, public[1:], 1), sender=VENUE)
    assert registered.success and [log["event"] for log in registered.logs] == ["SnapshotRegistered"]
    again = evm.call(address, register_snapshot_calldata(snapshot, [public[1] + 1], 1), sender=VENUE)
    assert not again.success and again.error == "SnapshotAlreadyRegistered"
    assert evm.call(address, register_snapshot_calldata(other, [public[1] + 1], 1), sender=VENUE).success

    verified = evm.call(address, verify_margin_calldata(snapshot, public[:1], proof, backend), sender=OTHER)
    assert verified.returned_true and [log["event"] for log in verified.logs] == ["MarginProofVerified"]
    assert verified.logs[0]["topics"][1] == "0x" + snapshot.hex()
    assert verified.logs[0]["topics"][2] == "0x" + _address_word(OTHER).hex()
    wrong_snapshot = evm.call(address, verify_margin_calldata(other, public[:1], proof, backend))
    assert wrong_snapshot.returned_false and wrong_snapshot.logs == []
    changed = evm.call(address, verify_margin_calldata(snapshot, [public[0] + 1], proof, backend))
    assert changed.returned_false and changed.logs == []


@pytest.fixture(scope="module")
def cross_case(backend):
    """A real cross-n16-k4 proof for the sample healthy account and snapshot, and a moved snapshot."""
    from zkmargin.circuits.layout import HEADER
    from zkmargin.circuits.proving import prove_account
    from zkmargin.circuits.registry import circuit_from_id
    from zkmargin.margin.samples import sample_account, sample_snapshot

    circuit = circuit_from_id("cross-n16-k4")
    snapshot = sample_snapshot()
    pk = setup(circuit.compile(), random.Random(11), backend)
    proof, public = prove_account(circuit, pk, sample_account("healthy"), snapshot, 1234, 99, backend)
    first = snapshot.instruments[0]
    moved = dataclasses.replace(
        snapshot, instruments=(dataclasses.replace(first, mark_price_e8=first.mark_price_e8 + 1), *snapshot.instruments[1:])
    )
    head = len(HEADER)
    return pk.vk, head, public.as_list(), circuit.snapshot_inputs(moved), proof


def test_margin_verifier_with_a_real_cross_proof(evm, cross_case, backend):
    vk, head, public, moved_values, proof = cross_case
    assert verify(vk, public, proof, backend)
    address = _deploy_margin(evm, vk, head, backend, "CrossMargin")
    snapshot, moved = b"\x0a" * 32, b"\x0b" * 32
    assert evm.call(address, register_snapshot_calldata(snapshot, public[head:], head), sender=VENUE).success
    assert evm.call(address, register_snapshot_calldata(moved, moved_values, head), sender=VENUE).success

    data = verify_margin_calldata(snapshot, public[:head], proof, backend)
    verified = evm.call(address, data)
    assert verified.returned_true and len(verified.logs) == 1
    assert transaction_gas(verified.gas_used, data) < MARGIN_GAS_TARGET
    assert evm.call(address, verify_margin_calldata(moved, public[:head], proof, backend)).returned_false
    for i in range(head):
        changed = list(public[:head])
        changed[i] = (changed[i] + 1) % R
        assert evm.call(address, verify_margin_calldata(snapshot, changed, proof, backend)).returned_false
    other_proof = Proof(proof.c, proof.b, proof.a)
    assert evm.call(address, verify_margin_calldata(snapshot, public[:head], other_proof, backend)).returned_false


# ----- code size (EIP-170) ------------------------------------------------------
def _key_with_inputs(vk: VerifyingKey, count: int, backend) -> VerifyingKey:
    points = backend.g1_batch_mul(backend.g1_generator(), list(range(2, count + 3)))
    return dataclasses.replace(vk, gamma_abc_g1=tuple(points))


def _largest_accepted(export, vk: VerifyingKey, backend) -> int:
    from zkmargin.evm.solidity import EIP170_CODE_LIMIT_BYTES

    for count in range(EIP170_CODE_LIMIT_BYTES // 96, 0, -1):
        try:
            export(_key_with_inputs(vk, count, backend))
            return count
        except ZkMarginError as exc:
            assert "EIP-170" in str(exc)
    raise AssertionError("no key size accepted")


@pytest.mark.parametrize("kind", ["plain", "margin"])
def test_the_largest_exportable_key_deploys_and_one_more_input_is_refused(evm, cube, backend, kind):
    """The exporter's size estimate must stay on the safe side of the real compiled size."""
    vk, _, _ = cube
    name = f"Largest{kind.title()}"
    if kind == "plain":
        export = lambda key: verifier_source(key, backend, name)  # noqa: E731
    else:
        export = lambda key: margin_verifier_source(key, 2, backend, name)  # noqa: E731
    largest = _largest_accepted(export, vk, backend)
    assert largest >= 210, "cross-n64-k8 (210 public inputs) must fit"
    with pytest.raises(ZkMarginError, match=f"at most {largest}"):
        export(_key_with_inputs(vk, largest + 1, backend))
    compiled = evm.compile({f"{name}.sol": export(_key_with_inputs(vk, largest, backend))})
    assert compiled[name]["deployedSize"] <= 24_576
    evm.deploy(name, _address_word(VENUE) if kind == "margin" else b"")
