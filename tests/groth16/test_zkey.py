"""Trusted-setup ceremony: .r1cs export, .ptau reading, phase-2 .zkey new/contribute/beacon/verify, proving.

Most tests run on a ptau we make with a known tau (fast, no npm); the interop tests
make a small ptau with snarkjs itself and skip, with the reason, where snarkjs is absent.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from tests.groth16.circuits import compiled_cube, cube_witness
from tests.groth16.torsion import zkey_with_torsion
from tests.npm_tools import snarkjs_command
from zkmargin.backends import get_backend
from zkmargin.binfile import G1_LEM, BinFile, ChaCha, g1_from_lem, g1_to_lem, write_binfile
from zkmargin.errors import CeremonyError, EncodingError
from zkmargin.field import R
from zkmargin.groth16 import serialization, verify
from zkmargin.groth16 import zkey as zk_mod
from zkmargin.groth16.prover import prove_zkey
from zkmargin.groth16.ptau import ffjs_root_of_unity, insecure_ptau_for_tests, read_ptau
from zkmargin.groth16.serialization import proof_to_json, public_inputs_to_json, vk_to_json
from zkmargin.r1cs import ConstraintSystem
from zkmargin.r1cs.circom import r1cs_from_bytes, r1cs_to_bytes

BEACON_HEX = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"


@pytest.fixture(scope="module")
def ark():
    return get_backend("arkworks")


@pytest.fixture(scope="module")
def ptau_bytes(ark) -> bytes:
    return insecure_ptau_for_tests(4, random.Random(11), ark)


@pytest.fixture(scope="module")
def ceremony(ark, ptau_bytes):
    """(ptau, initial key, key after two of our contributions and a beacon)."""
    compiled = compiled_cube()
    ptau = read_ptau(ptau_bytes)
    initial = zk_mod.new_zkey(compiled, ptau, ark)
    first, _ = zk_mod.contribute(initial, "alice", "e1", bytes(64), ark)
    second, _ = zk_mod.contribute(first, "bob", "e2", bytes([1]) * 64, ark)
    final, _ = zk_mod.beacon(second, BEACON_HEX, 10, "beacon", ark)
    return ptau, initial, final


# ----- .r1cs -------------------------------------------------------------------------------
def test_r1cs_round_trip_keeps_the_constraint_system():
    compiled = compiled_cube()
    data = r1cs_to_bytes(compiled)
    assert data[:4] == b"r1cs"
    back = r1cs_from_bytes(data)
    assert back.digest() == compiled.digest()
    assert back.num_public == compiled.num_public


def test_r1cs_header_has_the_bls12_381_scalar_prime_and_our_counts():
    compiled = compiled_cube()
    header = BinFile(r1cs_to_bytes(compiled), "r1cs", "t").section(1)
    assert int.from_bytes(bytes(header[4:36]), "little") == R
    n_vars, n_out, n_pub = (int.from_bytes(bytes(header[36 + 4 * i : 40 + 4 * i]), "little") for i in range(3))
    assert (n_vars, n_out, n_pub) == (compiled.num_variables, 0, compiled.num_public)


def test_r1cs_wire_zero_is_one_and_publics_come_first_in_our_order():
    cs = ConstraintSystem("setup")
    a = cs.public_input("a")
    b = cs.public_input("b")
    cs.enforce(b, cs.one + a, b, "uses_one")
    back = r1cs_from_bytes(r1cs_to_bytes(cs.compile()))
    assert back.a[0] == ((2, 1),)
    assert back.b[0] == ((0, 1), (1, 1))


@pytest.mark.parametrize("cut", [3, 11, 30, -1])
def test_truncated_r1cs_is_an_encoding_error(cut):
    data = r1cs_to_bytes(compiled_cube())
    with pytest.raises(EncodingError):
        r1cs_from_bytes(data[:cut])


def test_r1cs_over_another_prime_is_refused():
    data = bytearray(r1cs_to_bytes(compiled_cube()))
    data[12 + 12 + 4] ^= 1  # first byte of the prime in the header section
    with pytest.raises(EncodingError, match="prime"):
        r1cs_from_bytes(bytes(data))


# ----- ffjavascript's RNG and .ptau ------------------------------------------------------------
def test_chacha_matches_the_rfc_7539_block_function():
    """ffjavascript's stream is ChaCha20 with the seed as key and zero counter and nonce (RFC 7539 A.1, vector #1)."""
    stream = ChaCha([0] * 8)
    first = bytes(b for _ in range(16) for b in stream.next_u32().to_bytes(4, "little"))
    assert first.hex().startswith("76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7")


def test_ptau_lagrange_points_interpolate_tau(ark, ptau_bytes):
    ptau = read_ptau(ptau_bytes)
    tau_g1 = g1_from_lem(bytes(ptau.tau_g1_lem(1, 1)), ark, "tau")
    for log_n in (2, 3):
        points = ptau.lagrange_g1(12, log_n, ark)
        w = ffjs_root_of_unity(log_n)
        assert ark.g1_eq(ark.g1_msm(points, [pow(w, i, R) for i in range(1 << log_n)]), tau_g1)


def test_ptau_too_small_for_the_circuit_is_a_ceremony_error(ark):
    small = read_ptau(insecure_ptau_for_tests(2, random.Random(1), ark))
    with pytest.raises(CeremonyError, match="too small"):
        zk_mod.new_zkey(compiled_cube(), small, ark)


@pytest.mark.parametrize("cut", [0, 10, 100, -7])
def test_truncated_ptau_is_an_encoding_error(ptau_bytes, cut):
    with pytest.raises(EncodingError):
        read_ptau(ptau_bytes[:cut])


# ----- phase 2 ------------------------------------------------------------------------------
def test_ceremony_verifies_and_prints_every_contribution(ark, ceremony):
    ptau, _, final = ceremony
    result = zk_mod.verify_zkey(compiled_cube(), ptau, final, ark)
    assert result.valid, result.problem
    assert [c.name for c in result.contributions] == ["alice", "bob", "beacon"]
    assert len(set(result.contribution_hashes)) == 3


def test_zkey_survives_a_byte_round_trip(ark, ceremony):
    _, _, final = ceremony
    data = zk_mod.zkey_to_bytes(final, ark)
    assert zk_mod.zkey_to_bytes(zk_mod.zkey_from_bytes(data, ark), ark) == data


def test_beacon_is_reproducible_from_its_parameters(ark, ceremony):
    _, initial, _ = ceremony
    one, hash_one = zk_mod.beacon(initial, BEACON_HEX, 10, None, ark)
    two, hash_two = zk_mod.beacon(initial, BEACON_HEX, 10, None, ark)
    assert hash_one == hash_two
    assert zk_mod.zkey_to_bytes(one, ark) == zk_mod.zkey_to_bytes(two, ark)


@pytest.mark.parametrize("beacon_hex, exponent", [("zz", 10), ("", 10), ("abc", 10), (BEACON_HEX, 9), (BEACON_HEX, 64)])
def test_bad_beacon_parameters_are_refused(ark, ceremony, beacon_hex, exponent):
    with pytest.raises(CeremonyError):
        zk_mod.beacon(ceremony[1], beacon_hex, exponent, None, ark)


def _tamper_section(zk, sid: int, index: int, ark):
    body = bytearray(zk.sections[sid])
    point = g1_from_lem(bytes(body[index * G1_LEM : (index + 1) * G1_LEM]), ark, "t")
    body[index * G1_LEM : (index + 1) * G1_LEM] = g1_to_lem(ark.g1_add(point, ark.g1_generator()), ark)
    sections = dict(zk.sections)
    sections[sid] = bytes(body)
    return zk_mod.replace(zk, sections=sections)


def _tampered(kind: str, final, ark):
    if kind == "delta":
        return zk_mod.replace(final, delta_g1=ark.g1_mul(final.delta_g1, 2), delta_g2=ark.g2_mul(final.delta_g2, 2))
    if kind == "L":
        return _tamper_section(final, 8, 1, ark)
    if kind == "H":
        return _tamper_section(final, 9, 3, ark)
    contributions = list(final.contributions)
    bad = contributions[1]
    if kind == "proof_of_knowledge":
        contributions[1] = zk_mod.replace(bad, g2_spx=ark.g2_mul(bad.g2_spx, 3))
    elif kind == "delta_after":
        contributions[1] = zk_mod.replace(bad, delta_after=ark.g1_mul(bad.delta_after, 3))
    elif kind == "transcript":
        contributions[1] = zk_mod.replace(bad, g1_sx=ark.g1_mul(bad.g1_sx, 3))
    elif kind == "beacon":
        contributions[2] = zk_mod.replace(contributions[2], beacon_hash=b"\x99" * 32)
    return zk_mod.replace(final, contributions=contributions)


@pytest.mark.parametrize("kind, message", [
    ("delta", "invalid delta_1"),
    ("L", "L section"),
    ("H", "H section"),
    ("proof_of_knowledge", "contribution #2 (bob): broken proof of knowledge"),
    ("delta_after", "contribution #2 (bob): delta does not follow"),
    ("transcript", "contribution #2 (bob): inconsistent transcript"),
    ("beacon", "contribution #3 (beacon): the key does not come from the stated beacon"),
])
def test_tampered_transcript_is_detected_and_named(ark, ceremony, kind, message):
    ptau, _, final = ceremony
    result = zk_mod.verify_zkey(compiled_cube(), ptau, _tampered(kind, final, ark), ark)
    assert not result.valid
    assert message in result.problem


def test_zkey_for_another_circuit_is_rejected(ark, ceremony):
    ptau, _, final = ceremony
    cs = ConstraintSystem("setup")
    y = cs.public_input("y")
    x = cs.private_input("x")
    cs.enforce(x, x, y, "square")
    other = cs.compile()
    assert not zk_mod.verify_zkey(other, ptau, final, ark).valid
    with pytest.raises(CeremonyError, match="another circuit"):
        zk_mod.proving_key(final, other, ark)


def test_initial_key_cannot_prove(ark, ceremony):
    with pytest.raises(CeremonyError, match="no contribution"):
        zk_mod.proving_key(ceremony[1], compiled_cube(), ark)


@pytest.mark.parametrize("cut", [0, 12, 200, 1000, -1])
def test_truncated_zkey_is_an_encoding_error(ark, ceremony, cut):
    data = zk_mod.zkey_to_bytes(ceremony[2], ark)
    with pytest.raises(EncodingError):
        zk_mod.zkey_from_bytes(data[:cut], ark)


def test_zkey_with_a_header_point_off_the_curve_is_an_encoding_error(ark, ceremony):
    data = bytearray(zk_mod.zkey_to_bytes(ceremony[2], ark))
    header = BinFile(bytes(data), "zkey", "t").sections[2][0][0]
    data[header + 4 + 48 + 4 + 32 + 12 + 5] ^= 1  # a byte of alpha_1's x
    with pytest.raises(EncodingError):
        zk_mod.zkey_from_bytes(bytes(data), ark)


def test_proof_from_the_final_key_verifies_and_wrong_inputs_do_not(ark, ceremony):
    compiled = compiled_cube()
    pk = zk_mod.proving_key(ceremony[2], compiled, ark)
    z, public = cube_witness(3)
    proof = prove_zkey(pk, compiled, z, random.Random(2), ark)
    assert verify(pk.vk, public, proof, ark)
    assert not verify(pk.vk, [public[0] + 1, public[1]], proof, ark)


def test_binfile_refuses_trailing_bytes():
    data = write_binfile("zkey", 1, [(1, b"\x01\x00\x00\x00")])
    BinFile(data, "zkey", "t")
    with pytest.raises(EncodingError, match="trailing"):
        BinFile(data + b"\x00", "zkey", "t")


# ----- interop with snarkjs --------------------------------------------------------------------
@pytest.fixture(scope="module")
def snarkjs():
    command = snarkjs_command()
    if command is None:
        pytest.skip("snarkjs is not installed (.ci/run installs it into .ci/npm)")
    return command


@pytest.fixture(scope="module")
def snark_dir(snarkjs, tmp_path_factory) -> Path:
    """A bls12381 ptau of power 4 made by snarkjs itself, and the cube circuit as .r1cs."""
    d = tmp_path_factory.mktemp("snarkjs_ceremony")
    run = lambda *args: subprocess.run([*snarkjs, *args], cwd=d, check=True, capture_output=True, timeout=600)  # noqa: E731
    run("powersoftau", "new", "bls12381", "4", "p0.ptau")
    run("powersoftau", "contribute", "p0.ptau", "p1.ptau", "--name=first", "-e=test entropy")
    run("powersoftau", "prepare", "phase2", "p1.ptau", "pot.ptau")
    (d / "cube.r1cs").write_bytes(r1cs_to_bytes(compiled_cube()))
    return d


def _snarkjs(snarkjs, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*snarkjs, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_snarkjs_r1cs_info_reports_our_counts(snarkjs, snark_dir):
    out = _snarkjs(snarkjs, snark_dir, "r1cs", "info", "cube.r1cs").stdout
    compiled = compiled_cube()
    assert "bls12-381" in out
    assert f"# of Constraints: {compiled.num_constraints}" in out
    assert f"# of Public Inputs: {compiled.num_public}" in out
    assert f"# of Wires: {compiled.num_variables}" in out


def test_our_zkey_new_is_byte_identical_to_snarkjs(ark, snarkjs, snark_dir):
    assert _snarkjs(snarkjs, snark_dir, "zkey", "new", "cube.r1cs", "pot.ptau", "theirs_0.zkey").returncode == 0
    ptau = read_ptau((snark_dir / "pot.ptau").read_bytes())
    ours = zk_mod.zkey_to_bytes(zk_mod.new_zkey(compiled_cube(), ptau, ark), ark)
    assert ours == (snark_dir / "theirs_0.zkey").read_bytes()


def test_mixed_ceremony_is_accepted_by_both_tools_and_its_proofs_by_snarkjs(ark, snarkjs, snark_dir):
    """Acceptance run: ours, snarkjs, ours, beacon; both verifiers accept; snarkjs accepts our proof."""
    d = snark_dir
    compiled = compiled_cube()
    ptau = read_ptau((d / "pot.ptau").read_bytes())
    first, _ = zk_mod.contribute(zk_mod.new_zkey(compiled, ptau, ark), "ours-1", "e", None, ark)
    (d / "c1.zkey").write_bytes(zk_mod.zkey_to_bytes(first, ark))
    assert _snarkjs(snarkjs, d, "zkey", "contribute", "c1.zkey", "c2.zkey", "--name=theirs", "-e=x").returncode == 0
    third, _ = zk_mod.contribute(zk_mod.load_zkey(d / "c2.zkey", ark), "ours-3", "e", None, ark)
    final, _ = zk_mod.beacon(third, BEACON_HEX, 10, "beacon", ark)
    (d / "final.zkey").write_bytes(zk_mod.zkey_to_bytes(final, ark))

    ours = zk_mod.verify_zkey(compiled, ptau, zk_mod.load_zkey(d / "final.zkey", ark), ark)
    assert ours.valid, ours.problem
    assert [c.name for c in ours.contributions] == ["ours-1", "theirs", "ours-3", "beacon"]
    theirs = _snarkjs(snarkjs, d, "zkey", "verify", "cube.r1cs", "pot.ptau", "final.zkey")
    assert theirs.returncode == 0 and "ZKey Ok!" in theirs.stdout, theirs.stdout + theirs.stderr
    for h in ours.contribution_hashes:  # snarkjs prints the same contribution hashes
        assert h[:4].hex() in theirs.stdout

    assert _snarkjs(snarkjs, d, "zkey", "export", "verificationkey", "final.zkey", "vk.json").returncode == 0
    pk = zk_mod.proving_key(final, compiled, ark)
    assert json.loads((d / "vk.json").read_text()) == vk_to_json(pk.vk, ark)
    z, public = cube_witness(5)
    proof = prove_zkey(pk, compiled, z, None, ark)
    (d / "proof.json").write_text(json.dumps(proof_to_json(proof, ark)))
    (d / "public.json").write_text(json.dumps(public_inputs_to_json(public)))
    checked = _snarkjs(snarkjs, d, "groth16", "verify", "vk.json", "public.json", "proof.json")
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout


def test_snarkjs_rejects_a_transcript_we_reject(ark, snarkjs, snark_dir, ceremony):
    """A changed L point fails both verifiers (our detection is not laxer than snarkjs's)."""
    d = snark_dir
    compiled = compiled_cube()
    ptau = read_ptau((d / "pot.ptau").read_bytes())
    key, _ = zk_mod.contribute(zk_mod.new_zkey(compiled, ptau, ark), "a", "e", None, ark)
    bad = _tamper_section(key, 8, 0, ark)
    (d / "bad.zkey").write_bytes(zk_mod.zkey_to_bytes(bad, ark))
    assert not zk_mod.verify_zkey(compiled, ptau, bad, ark).valid
    theirs = _snarkjs(snarkjs, d, "zkey", "verify", "cube.r1cs", "pot.ptau", "bad.zkey")
    assert "ZKey Ok!" not in theirs.stdout


def test_prover_refuses_a_key_with_torsion_in_a_query_point(ark, ceremony):
    """A point of order 3 added to an L point would leak witness bits through C; no proof comes out."""
    from zkmargin.backends.base import P as FIELD_P
    from zkmargin.backends.base import fp_sqrt

    x = 0
    while True:  # a curve point outside the subgroup: any x with a square x^3 + 4, almost surely
        y = fp_sqrt((x**3 + 4) % FIELD_P)
        if y is not None and not ark.g1_from_affine(x, y, subgroup_check=False).is_in_subgroup():
            break
        x += 1
    outsider = ark.g1_from_affine(x, y, subgroup_check=False)
    compiled = compiled_cube()
    pk = zk_mod.proving_key(ceremony[2], compiled, ark)
    bad = zk_mod.replace(pk, l_query=tuple(p + outsider for p in pk.l_query))
    z, _ = cube_witness(2)  # private wires 2, 4, 8: their sum is not a multiple of the torsion's order 3
    from zkmargin.errors import MalformedKeyError

    with pytest.raises(MalformedKeyError, match="subgroup"):
        prove_zkey(bad, compiled, z, random.Random(2), ark)


def _interpolate_at(values: list[int], root: int, x: int) -> int:
    """The polynomial of degree < n taking values[j] at root^j, evaluated at x (naive Lagrange, small n)."""
    n = len(values)
    points = [pow(root, j, R) for j in range(n)]
    total = 0
    for j, (xj, yj) in enumerate(zip(points, values)):
        num, den = 1, 1
        for k, xk in enumerate(points):
            if k != j:
                num = num * (x - xk) % R
                den = den * (xj - xk) % R
        total = (total + yj * num * pow(den, -1, R)) % R
    return total


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_odd_coset_evaluations_match_a_direct_evaluation(n):
    from zkmargin.groth16.snarkjs_qap import odd_coset_evaluations

    rng = random.Random(n)
    # A, B, C on ffjavascript's n-domain, in its order, satisfied row by row (A*B - C vanishes there);
    # as polynomials A*B has degree up to 2n - 2, so A*B - C is not zero at the odd points.
    az, bz = ([rng.randrange(R) for _ in range(n)] for _ in range(2))
    cz = [a * b % R for a, b in zip(az, bz)]
    log_n = n.bit_length() - 1
    w_n, w_2n = ffjs_root_of_unity(log_n), ffjs_root_of_unity(log_n + 1)
    expected = []
    for i in range(n):
        x = w_2n * pow(w_n, i, R) % R
        a, b, c = (_interpolate_at(v, w_n, x) for v in (az, bz, cz))
        expected.append((a * b - c) % R)
    assert odd_coset_evaluations(az, bz, cz) == expected


# ----- #22 item 7: torsion in a .zkey's query points ---------------------------------------
@pytest.mark.parametrize(("sid", "name", "index"), [(5, "A", 3), (6, "B1", 2), (7, "B2", 3), (8, "L", 1), (9, "H", 2)])
def test_zkey_with_torsion_in_a_query_point_is_refused_on_load_with_section_and_index(backend, ark, ceremony, sid,
                                                                                         name, index):
    """A small-order point added to one query point: the proof would be refused or made depending on the
    witness value of that wire (a leaked bit); the key is refused on load instead, on both backends."""
    from zkmargin.errors import MalformedKeyError

    data = zkey_with_torsion(ceremony[2], sid, index, ark)
    bad = zk_mod.zkey_from_bytes(data, backend)  # the header and transcript are fine: the load for proving refuses
    with pytest.raises(MalformedKeyError, match=rf"zkey {name} section \(section {sid}\), point {index}: .*subgroup"):
        zk_mod.proving_key(bad, compiled_cube(), backend)


def test_query_points_are_subgroup_checked_once_per_key(ark, ceremony, monkeypatch):
    data = zk_mod.zkey_to_bytes(ceremony[2], ark)
    key = zk_mod.zkey_from_bytes(data, ark)
    again = zk_mod.zkey_from_bytes(data, ark)  # the same key read again, as a second proof in the process does
    serialization._subgroup_checked.discard(zk_mod.query_sections_digest(key))
    checked = []
    for name in ("g1_from_affine", "g2_from_affine"):
        original = getattr(ark, name)

        def counting(x, y, subgroup_check=True, _original=original):
            checked.append(subgroup_check)
            return _original(x, y, subgroup_check)

        monkeypatch.setattr(ark, name, counting)
    compiled = compiled_cube()
    zk_mod.proving_key(key, compiled, ark)
    nonzero = 0  # all-zero LEM bytes are the identity and decode without a check
    for sid in (5, 6, 7, 8, 9):
        size = 2 * G1_LEM if sid == 7 else G1_LEM
        body = key.sections[sid]
        nonzero += sum(1 for i in range(0, len(body), size) if any(body[i : i + size]))
    ic_points = len(key.sections[3]) // G1_LEM  # the verification key's IC, checked on every load (a few points)
    assert nonzero > 0 and checked.count(True) == nonzero + ic_points
    checked.clear()
    pk = zk_mod.proving_key(again, compiled, ark)
    assert checked.count(True) == ic_points and checked.count(False) == nonzero
    z, public = cube_witness(3)
    assert verify(pk.vk, public, prove_zkey(pk, compiled, z, random.Random(2), ark), ark)


def test_a_beacon_only_key_cannot_prove(ark, ceremony):
    """Review (issue 22 item 6): a beacon's secret is public, so a key whose only contribution is a beacon has a
    delta anyone can compute (and forge with), like a key with none."""
    beaconed, _ = zk_mod.beacon(ceremony[1], BEACON_HEX, 10, "public", ark)
    with pytest.raises(CeremonyError, match="beacon"):
        zk_mod.proving_key(beaconed, compiled_cube(), ark)
