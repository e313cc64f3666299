"""Venue attestations at 100,000 accounts: Ed25519 against BLS over BLS12-381, tree build, gadget size.

Signatures (one run, same messages): Ed25519 through `cryptography` signs and checks every
attestation through the library (canonical encoding included); BLS (min-pk: public key in
G1, signature in G2, RFC 9380 hash to G2, py_arkworks_bls12381) is timed on --bls-sample
messages and projected to --count, one-by-one and as one aggregate check (one signer, so
e(pk, sum H(m_i)) == e(g1, sum sig_i): two pairings plus a hash per message). Tree: the
sparse Poseidon tree at depth 20 over --count leaves, projected per node to full trees of
depth 20 and 24, against the pure-Python hash (--full-tree also builds the 2^20 tree). Gadget: membership constraints at
depth 20 and 24, without and with the nullifier. Prints a table, writes JSON.

Usage: python bench/attestation.py [--count 100000] [--bls-sample 1000] [--full-tree]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar  # noqa: E402

from zkmargin.field import R  # noqa: E402
from zkmargin.gadgets.merkle import merkle_membership_gadget, merkle_node, nullifier_gadget  # noqa: E402
from zkmargin.margin.samples import sample_snapshot  # noqa: E402
from zkmargin.r1cs import ConstraintSystem  # noqa: E402
from zkmargin.venue.attestation import VenueSigningKey, attest, check_attestation, snapshot_digest  # noqa: E402
from zkmargin.venue.tree import MerkleTree  # noqa: E402

BLS_DST = b"ZKMARGIN-BENCH-BLS-SIG-BLS12381G2_XMD:SHA-256_SSWU_RO_"


def ed25519(count: int, commitments: list[int]) -> dict:
    """Sign and check count attestations through zkmargin.venue.attestation."""
    snapshot = sample_snapshot()
    key = VenueSigningKey.generate()
    public = key.public_key(snapshot.venue)
    digest = snapshot_digest(snapshot)
    t = time.perf_counter()
    signed = [attest(key, snapshot, f"acct-{i}", c) for i, c in enumerate(commitments)]
    sign_s = time.perf_counter() - t
    t = time.perf_counter()
    for att, c in zip(signed, commitments):
        check_attestation(att, public, digest, c)
    check_s = time.perf_counter() - t
    return {"count": count, "sign_s": sign_s, "check_s": check_s, "sign_us_each": sign_s / count * 1e6,
            "check_us_each": check_s / count * 1e6, "signature_bytes": 64, "public_key_bytes": 32}


def bls(sample: int, count: int, messages: list[bytes]) -> dict:
    """BLS min-pk over BLS12-381 on sample messages, projected to count."""
    sk = Scalar.from_le_bytes_mod_order(secrets.token_bytes(64))
    g1 = G1Point()
    pk = g1 * sk
    t = time.perf_counter()
    hashes = [G2Point.hash_to_curve(m, BLS_DST) for m in messages[:sample]]
    hash_s = time.perf_counter() - t
    t = time.perf_counter()
    signatures = [h * sk for h in hashes]
    mul_s = time.perf_counter() - t
    t = time.perf_counter()
    for m, sig in zip(messages[:sample], signatures):
        if not GT.pairing_check([pk, -g1], [G2Point.hash_to_curve(m, BLS_DST), sig]):
            raise SystemExit("BLS signature did not verify")
    verify_s = time.perf_counter() - t
    t = time.perf_counter()
    hashed = [G2Point.hash_to_curve(m, BLS_DST) for m in messages[:sample]]
    total_h, total_sig = hashed[0], signatures[0]
    for h, sig in zip(hashed[1:], signatures[1:]):
        total_h, total_sig = total_h + h, total_sig + sig
    if not GT.pairing_check([pk, -g1], [total_h, total_sig]):
        raise SystemExit("BLS aggregate did not verify")
    aggregate_s = time.perf_counter() - t
    scale = count / sample
    return {"sample": sample, "sign_us_each": (hash_s + mul_s) / sample * 1e6, "check_us_each": verify_s / sample * 1e6,
            "aggregate_check_us_each": aggregate_s / sample * 1e6,
            "projected_sign_s": (hash_s + mul_s) * scale, "projected_check_s": verify_s * scale,
            "projected_aggregate_check_s": aggregate_s * scale, "signature_bytes": 96, "public_key_bytes": 48}


def tree(count: int, full: bool, rng: random.Random) -> dict:
    """Sparse depth-20 tree over count leaves; per-node projection to full depth 20 and 24."""
    MerkleTree([1, 2, 3], 2)  # compile the kernel outside the timing
    leaves = [rng.randrange(1, R) for _ in range(count)]
    t = time.perf_counter()
    built = MerkleTree(leaves, 20)
    build_s = time.perf_counter() - t
    nodes = sum((count + (1 << h) - 1) >> h for h in range(1, 21))  # hashed nodes, roughly n
    per_node_us = build_s / nodes * 1e6
    t = time.perf_counter()
    built.path(count // 2)
    first_path_s = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(200):
        merkle_node(leaves[i % count], i, 1)
    reference_us = (time.perf_counter() - t) / 200 * 1e6
    result = {"leaves": count, "depth": 20, "build_s": build_s, "nodes_hashed": nodes, "us_per_node": per_node_us,
              "python_reference_us_per_node": reference_us, "first_path_s": first_path_s,
              "projected_full_depth20_s": per_node_us * (2**20 - 1) / 1e6,
              "projected_full_depth24_s": per_node_us * (2**24 - 1) / 1e6}
    if full:
        leaves = [rng.randrange(1, R) for _ in range(2**20)]
        t = time.perf_counter()
        MerkleTree(leaves, 20)
        result["full_depth20_s"] = time.perf_counter() - t
    return result


def gadget_constraints(depth: int, with_nullifier: bool) -> int:
    """Constraints of the membership gadget (and the nullifier) at depth."""
    cs = ConstraintSystem("setup")
    merkle_membership_gadget(cs, cs.private_input("leaf"), [cs.private_input(f"b{i}") for i in range(depth)],
                             [cs.private_input(f"s{i}") for i in range(depth)], cs.public_input("root"), depth)
    if with_nullifier:
        out = nullifier_gadget(cs, cs.private_input("secret"), cs.public_input("scope"))
        cs.assert_equal(out, cs.public_input("nullifier"), "nullifier/public")
    return cs.num_constraints


def main() -> None:
    """Run every part, print the tables, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--bls-sample", type=int, default=1_000)
    parser.add_argument("--full-tree", action="store_true", help="Also build the full 2^20-leaf tree.")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "attestation.json")
    args = parser.parse_args()
    rng = random.Random(2026)
    commitments = [rng.randrange(1, R) for _ in range(args.count)]
    messages = [c.to_bytes(32, "big") for c in commitments]

    ed = ed25519(args.count, commitments)
    bl = bls(args.bls_sample, args.count, messages)
    print(f"\nsigning and checking {args.count:,} attestations (BLS: {args.bls_sample:,} measured, projected)")
    print(f"{'scheme':<22} {'sign us':>9} {'check us':>9} {'sign s':>8} {'check s':>8} {'check ratio':>12}")
    print(f"{'ed25519 (cryptography)':<22} {ed['sign_us_each']:>9.1f} {ed['check_us_each']:>9.1f} "
          f"{ed['sign_s']:>8.1f} {ed['check_s']:>8.1f} {1:>12.1f}")
    print(f"{'bls12-381 one-by-one':<22} {bl['sign_us_each']:>9.1f} {bl['check_us_each']:>9.1f} "
          f"{bl['projected_sign_s']:>8.1f} {bl['projected_check_s']:>8.1f} "
          f"{bl['check_us_each'] / ed['check_us_each']:>12.1f}")
    print(f"{'bls12-381 aggregate':<22} {'':>9} {bl['aggregate_check_us_each']:>9.1f} {'':>8} "
          f"{bl['projected_aggregate_check_s']:>8.1f} {bl['aggregate_check_us_each'] / ed['check_us_each']:>12.1f}")

    tr = tree(args.count, args.full_tree, rng)
    print(f"\nPoseidon tree, depth 20, {tr['leaves']:,} leaves: build {tr['build_s']:.1f} s "
          f"({tr['us_per_node']:.1f} us/node, Python reference {tr['python_reference_us_per_node']:.1f}); projected full depth 20: {tr['projected_full_depth20_s']:.0f} s, "
          f"full depth 24: {tr['projected_full_depth24_s']:.0f} s")
    if "full_depth20_s" in tr:
        print(f"measured full depth 20 (2^20 leaves): {tr['full_depth20_s']:.1f} s")

    gadget = {f"depth{d}{'_nullifier' if n else ''}": gadget_constraints(d, n) for d in (20, 24) for n in (False, True)}
    print("\nmembership gadget constraints: " + ", ".join(f"{k} {v:,}" for k, v in gadget.items()))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                    "load_average": os.getloadavg(), "ed25519": ed, "bls": bl, "tree": tr,
                                    "gadget_constraints": gadget}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
