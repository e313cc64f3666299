"""A book's batch proofs checked one plain Groth16 verify each (the old path) against verify_book (one weighted check).

One run, one machine: M batches of book-cross-n<N>-k<K>-b2 over accounts of a small snapshot are proved
once; then the batch proofs are checked the old way (each batch's full public inputs to groth16.verify,
one pairing check each) and through the one verdict path (batch_verdicts: SnapshotVerifier.verify_batch,
the snapshot part folded once, one weighted pairing check over all batches), best of --reps; compare
the two as a ratio (the machine is shared). verify_book (the proofs, then the top recomputed from the
batch roots: 2^(depth - 1) - 1 Poseidon hashes in Python) is timed beside them.

Usage: python bench/book_verify.py [--batches 8 32] [--reps 3] [--out bench/results/book_verify.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.book.batches import batch_context, book_depth, top_node  # noqa: E402
from zkmargin.book.document import PublishedBatch, PublishedBook  # noqa: E402
from zkmargin.circuits.book_proving import (  # noqa: E402
    account_leaf,
    batch_verdicts,
    batch_verifier,
    prove_batch,
    verify_book,
)
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.gadgets.merkle import identity_commitment  # noqa: E402
from zkmargin.groth16 import setup, verify  # noqa: E402
from zkmargin.groth16.serialization import proof_from_json, proof_to_json  # noqa: E402
from zkmargin.margin.models import Account, Collateral, Position, Snapshot, parse_snapshot  # noqa: E402
from zkmargin.venue.attestation import VenueSigningKey, sign_root, snapshot_digest  # noqa: E402
from zkmargin.venue.tree import member_leaves, merkle_root  # noqa: E402

E8 = 10**8


def snapshot() -> Snapshot:
    """One instrument, one asset priced 1."""
    return parse_snapshot({
        "venue": "bench", "snapshot_id": "book-verify", "timestamp": "2026-12-07T00:00:00Z",
        "instruments": [{"instrument": "BTC-PERP", "mark_price": "100", "maintenance_rate": "0.05",
                         "contract_size": "1"}],
        "assets": [{"asset": "USDC", "price": "1", "haircut": "0"}]})


def accounts(n: int, rng: random.Random) -> list[tuple[Account, int, int]]:
    """n accounts (a position and a balance each) with their salts and venue-tree identities."""
    return [(Account(f"acct-{i}", (Collateral("USDC", rng.randint(0, 100 * E8)),),
                     (Position("BTC-PERP", rng.choice((-1, 1)) * rng.randint(1, 2 * E8), rng.randint(80, 120) * E8),)),
             10**9 + i, identity_commitment(7000 + i)) for i in range(n)]


def best(function, reps: int) -> float:
    """The fastest of reps runs, in seconds."""
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--circuit", default="book-cross-n1-k1-b2")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "book_verify.json")
    args = parser.parse_args()
    backend = get_backend()
    snap = snapshot()
    circuit = circuit_from_id(args.circuit)
    pk = setup(circuit.compile(), random.Random(1), backend)
    batch_size = circuit.statement.batch_size
    pairs = accounts(max(args.batches) * batch_size, random.Random(27))
    proved = []
    for index in range(max(args.batches)):
        node, attested, proof = prove_batch(circuit, pk, snap, index,
                                            pairs[index * batch_size:(index + 1) * batch_size], backend)
        proved.append(PublishedBatch(index, node, proof_to_json(proof, backend), attested))
    key = VenueSigningKey.generate()
    rows = []
    for m in args.batches:
        batches = tuple(proved[:m])
        depth = book_depth(m * batch_size, circuit.statement.batch_depth)
        root = top_node([b.root for b in batches], circuit.statement.batch_depth, depth, 1)
        # The venue run's signed root over these accounts: the book's leaves must fold to it.
        members = member_leaves([(a.account_id, account_leaf(circuit, a, snap, salt)[0], identity)
                                 for a, salt, identity in pairs[:m * batch_size]])
        signed = sign_root(key, snap, depth, len(members), merkle_root(members, depth))
        book = PublishedBook(snap.venue, circuit.circuit_id, snap.snapshot_id, snapshot_digest(snap), depth,
                             circuit.statement.batch_depth, root, batches, signed_root=signed)

        def one_by_one(batches: tuple[PublishedBatch, ...] = batches) -> None:
            for b in batches:
                public = circuit.public_inputs(snap, b.root.hash, batch_context(snap, b.index),
                                               [*b.root.sums.as_fields(), b.attested_root])
                assert verify(pk.vk, public.as_list(), proof_from_json(b.proof, backend), backend)

        def weighted(batches: tuple[PublishedBatch, ...] = batches) -> None:
            verdicts = batch_verdicts(batch_verifier(circuit, pk.vk, snap, backend), snap, batches)
            assert all(v.valid for v in verdicts)

        def whole_book(book: PublishedBook = book) -> None:
            assert verify_book(circuit, pk.vk, snap, book, key.public_key(snap.venue), backend).valid

        old_s, new_s, book_s = best(one_by_one, args.reps), best(weighted, args.reps), best(whole_book, args.reps)
        rows.append({"batches": m, "one_by_one_ms": round(old_s * 1e3, 1), "weighted_ms": round(new_s * 1e3, 1),
                     "ratio": round(new_s / old_s, 3), "verify_book_ms": round(book_s * 1e3, 1)})
    print(f"{'batches':>8} {'one by one (ms)':>16} {'weighted (ms)':>14} {'ratio':>6} {'verify_book (ms)':>17}")
    for row in rows:
        print(f"{row['batches']:>8} {row['one_by_one_ms']:>16} {row['weighted_ms']:>14} {row['ratio']:>6} "
              f"{row['verify_book_ms']:>17}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"circuit_id": circuit.circuit_id, "backend": backend.name,
                                    "machine": platform.machine(), "reps": args.reps, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
