"""Venue scale: `zkmargin venue run` accounts/s on a LocalCluster of 1 and 2 workers, verify-batch of 10,000
proofs on a LocalCluster against in-process, and a projection for 1,000,000 accounts on 64 and 512 cores.

All in one run, so the ratios hold even when the machine's speed does not. The proving runs are
the real command (commit, Merkle tree, signed root, attestations, proofs, atomic bundles); its
proving phase includes each worker's one-off start (imports, proving key decode). The 10,000
proofs are real proofs of the run, re-randomised ((A/t, tB, C): still valid, new bytes) as in
bench/batch.py; both verify paths start from the 192-byte encodings. The projection uses the
measured costs: proving per worker from the 1-worker run; commitments per account; the Merkle
tree and the per-bundle work (attestation, path, JSON, atomic write), which stay on the driver
and so do not shrink with cores; verification per worker from the cluster run.

Usage: python bench/venue.py [--circuit cross-n64-k8] [--accounts 16] [--count 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import market  # noqa: E402

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.proving import prove_account  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.circuits.venue_job import bundle_document, commit_chunk, run_venue  # noqa: E402
from zkmargin.cli.keystore import KeyStore  # noqa: E402
from zkmargin.field import R, inv  # noqa: E402
from zkmargin.gadgets.merkle import identity_commitment  # noqa: E402
from zkmargin.groth16 import Proof  # noqa: E402
from zkmargin.groth16.serialization import proof_from_json, proof_to_bytes  # noqa: E402
from zkmargin.margin.models import account_to_json, snapshot_to_json  # noqa: E402
from zkmargin.venue.attestation import VenueSigningKey  # noqa: E402
from zkmargin.venue.run import BundleStore, PlannedAccount  # noqa: E402
from zkmargin.venue.tree import MerkleTree  # noqa: E402

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import ProvingKey

MILLION = 1_000_000
CORES = (64, 512)


def main() -> None:
    """Run everything, print the tables, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuit", default="cross-n64-k8")
    parser.add_argument("--accounts", type=int, default=16)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "venue.json")
    args = parser.parse_args()
    backend = get_backend("arkworks")
    circuit = circuit_from_id(args.circuit)
    work = Path(tempfile.mkdtemp(prefix="zkmargin-venue-bench-"))
    snapshot, _ = market(circuit.statement.n_positions, circuit.statement.n_collateral, random.Random(2026))
    (work / "snapshot.json").write_text(json.dumps(snapshot_to_json(snapshot)))
    accounts = []
    for i in range(args.accounts):
        _, account = market(circuit.statement.n_positions, circuit.statement.n_collateral, random.Random(i))
        accounts.append(type(account)(f"acct-{i}", account.collateral, account.positions))
    # Each line carries its trader's identity (the tree leaf binds the commitment to it).
    lines = [{**account_to_json(a), "identity": str(identity_commitment(10**9 + i))} for i, a in enumerate(accounts)]
    (work / "accounts.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    store = KeyStore(work / "cache", circuit)
    store.generate(backend)
    pk, pk_bytes = store.load_proving_key_and_bytes(backend)  # what the workers get: the checked bytes
    (work / "venue.key").write_bytes(VenueSigningKey.generate().to_pem())

    # In-process proving: the cost of one proof without any cluster.
    t = time.perf_counter()
    for account in accounts[:3]:
        prove_account(circuit, pk, account, snapshot, 10**6, 77, backend)
    in_process_s = (time.perf_counter() - t) / 3

    runs = {}
    for workers in (1, 2):
        out = work / f"out-{workers}"
        t = time.perf_counter()
        result = run_venue(work / "accounts.jsonl", snapshot, out, circuit_id=circuit.circuit_id, pk=pk,
                           pk_bytes=pk_bytes, vk_digest=store.recorded_digest(),
                           signing_key=VenueSigningKey.from_pem((work / "venue.key").read_bytes()),
                           backend=backend, workers=workers)
        wall = time.perf_counter() - t
        if not result.complete:
            raise SystemExit(f"venue run failed: {result.failed or result.malformed}")
        summary = result.summary
        proved = summary["accounts"]["proved_now"]
        runs[workers] = {"proved": proved, "prove_s": summary["timings_s"]["prove"],
                         "accounts_per_s": proved / summary["timings_s"]["prove"], "wall_s": wall,
                         "timings_s": summary["timings_s"]}

    # Driver-side costs that do not spread over workers.
    docs = [(i, f"x:{i}", line, None) for i, line in enumerate(lines)]
    t = time.perf_counter()
    committed = commit_chunk(docs, snapshot, circuit.circuit_id)
    commit_s = (time.perf_counter() - t) / len(docs)
    leaves = [random.Random(i).randrange(1, R) for i in range(2**14)]
    t = time.perf_counter()
    tree = MerkleTree(leaves, 20)
    tree_s = (time.perf_counter() - t) / len(leaves)
    bundle_doc = json.loads(next((work / "out-1" / "bundles").glob("*.json")).read_text())
    key = VenueSigningKey.from_pem((work / "venue.key").read_bytes())
    bundles = BundleStore(work / "driver-bundles")
    n_driver = 200
    t = time.perf_counter()
    for i in range(n_driver):
        c = committed[i % len(committed)]
        planned = PlannedAccount(i, c["source"], f"acct-{i}", c["salt"], c["commitment"], True, "0", "0",
                                 c["identity"])
        bundles.write(planned.account_id, bundle_document(planned, i, bundle_doc["proof"], tree, snapshot,
                                                  circuit.circuit_id, "0" * 64, 77, key))
    driver_bundle_s = (time.perf_counter() - t) / n_driver

    verify = verify_both_ways(work, pk, backend, args.count)

    prove_per_worker_s = 1 / runs[1]["accounts_per_s"]
    projection = {}
    for cores in CORES:
        prove_wall = MILLION * prove_per_worker_s / cores
        commit_wall = MILLION * commit_s / cores
        driver_wall = MILLION * (tree_s + driver_bundle_s)
        verify_wall = MILLION / (verify["cluster_proofs_per_s"] / verify["cluster_workers"] * cores)
        projection[cores] = {
            "prove_h": prove_wall / 3600, "commit_min": commit_wall / 60, "driver_min": driver_wall / 60,
            # Bundles are written while later chunks prove: the slower of the two sets the pace.
            "run_h": (commit_wall + MILLION * tree_s + max(prove_wall, MILLION * driver_bundle_s)) / 3600,
            "verify_min": verify_wall / 60,
        }

    print(f"circuit {circuit.circuit_id}, {args.accounts} accounts, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"{'workers':>7} {'proved':>7} {'prove s':>8} {'accounts/s':>11} {'x in-process 1 core':>20}")
    for workers, run in runs.items():
        print(f"{workers:>7} {run['proved']:>7} {run['prove_s']:>8.1f} {run['accounts_per_s']:>11.3f} "
              f"{run['accounts_per_s'] * in_process_s:>20.2f}")
    print(f"in-process prove {in_process_s:.2f} s/proof; per account on the driver: commit {commit_s * 1000:.1f} ms "
          f"(spread over workers), tree {tree_s * 1e6:.0f} us, bundle {driver_bundle_s * 1000:.2f} ms")
    print(f"\n{'verify ' + str(args.count):>14} {'proofs/s':>9} {'s':>7}")
    print(f"{'in-process':>14} {verify['in_process_proofs_per_s']:>9.0f} {verify['in_process_s']:>7.2f}")
    print(f"{'LocalCluster':>14} {verify['cluster_proofs_per_s']:>9.0f} {verify['cluster_s']:>7.2f}   "
          f"({verify['cluster_workers']} workers; ratio {verify['cluster_proofs_per_s'] / verify['in_process_proofs_per_s']:.2f})")
    print(f"\nprojection for {MILLION:,} accounts ({circuit.circuit_id}):")
    print(f"{'cores':>6} {'prove h':>8} {'commit min':>11} {'driver min':>11} {'run h':>7} {'verify min':>11}")
    for cores, p in projection.items():
        print(f"{cores:>6} {p['prove_h']:>8.2f} {p['commit_min']:>11.1f} {p['driver_min']:>11.1f} {p['run_h']:>7.2f} "
              f"{p['verify_min']:>11.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        "circuit": circuit.circuit_id, "accounts": args.accounts, "in_process_prove_s": in_process_s,
        "runs": runs, "commit_s_per_account": commit_s, "tree_s_per_leaf": tree_s,
        "driver_bundle_s_per_account": driver_bundle_s, "verify": verify, "projection": projection,
    }, indent=1))
    print(f"wrote {args.out}")


def verify_both_ways(work: Path, pk: ProvingKey, backend: CurveBackend, count: int) -> dict:
    """count re-randomised proofs of the run: decode + batch verify in-process, then on a 2-worker LocalCluster."""
    from zkmargin.circuits.verification import ProofItem, SnapshotVerifier
    from zkmargin.margin.models import parse_snapshot
    from zkmargin.venue.cluster import dask_client

    lines = [json.loads(line) for line in (work / "out-1" / "batch.jsonl").read_text().splitlines()]
    rng = random.Random(7)
    originals = [(proof_from_json(item["proof"], backend), [int(item["commitment"]), int(item["context"])])
                 for item in lines]
    items = []
    for i in range(count):
        proof, (commitment, context) = originals[i % len(originals)]
        s = rng.randrange(1, R)
        variant = Proof(backend.g1_mul(proof.a, inv(s)), backend.g2_mul(proof.b, s), proof.c)
        items.append(ProofItem(commitment, context, encoded=proof_to_bytes(variant, backend)))
    snapshot = parse_snapshot(json.loads((work / "snapshot.json").read_text()))
    circuit = circuit_from_id(json.loads((work / "out-1" / "summary.json").read_text())["circuit_id"])
    # The one verdict path, as verify-batch runs it: decoding over 2 processes, then one weighted check.
    verifier = SnapshotVerifier(circuit, pk.vk, snapshot, backend)
    t = time.perf_counter()
    report = verifier.verify_batch(items, decode_workers=2)
    in_process_s = time.perf_counter() - t
    if report.tally["valid"] != count:
        raise SystemExit("in-process batch rejected valid proofs")
    with dask_client(workers=2) as client:
        # Warm the workers (imports, kernels, the verifier per process) outside the timing, as a long-lived
        # cluster would be.
        verifier.verify_on_cluster(client, items[:4])
        t = time.perf_counter()
        report = verifier.verify_on_cluster(client, items)
        cluster_s = time.perf_counter() - t
        workers = len(client.nthreads())
    if report.tally["valid"] != count:
        raise SystemExit("cluster batch rejected valid proofs")
    return {"count": count, "in_process_s": in_process_s, "in_process_proofs_per_s": count / in_process_s,
            "cluster_s": cluster_s, "cluster_proofs_per_s": count / cluster_s, "cluster_workers": workers}


if __name__ == "__main__":
    main()
