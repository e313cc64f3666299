"""A venue run as a library function: commit, attest and prove every account of a snapshot on a Dask cluster,
resumably (`zkmargin venue run` parses options and prints what run_venue returns).

Output directory:
  plan.jsonl         private (0600): each account's salt, commitment and identity, fixed before any proof,
                     authenticated by an HMAC under a key derived from the venue's signing key
  root.json          the venue's signed Merkle root over every account's leaf (commitment bound to identity)
  bundles/<id>.json  private to the account holder (0600): opening, attestation, Merkle path, proof
  margin_calls.json  private (0600): accounts under margin call (no proof is made for them)
  batch.jsonl        every proof as a verify-batch item (id, commitment, context, proof, snapshot_id, attestation)
  summary.json       counts, totals, timings
"""

from __future__ import annotations

import contextlib
import decimal
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zkmargin import files
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id, get_model
from zkmargin.circuits.verification import ProofItem, SnapshotVerifier
from zkmargin.errors import ClusterError, EncodingError, IdentityRegistryError, RunStateError, ZkMarginError
from zkmargin.groth16.serialization import proof_to_json
from zkmargin.margin.commitment import OPENING_FORMAT, new_salt
from zkmargin.margin.models import Snapshot, parse_account
from zkmargin.venue.attestation import (
    VenueSigningKey,
    attest,
    attestation_to_json,
    sign_root,
    signed_root_to_json,
    snapshot_digest,
)
from zkmargin.venue.identity_registry import IdentityRegistry
from zkmargin.venue.run import (
    BUNDLE_FORMAT,
    SUMMARY_FORMAT,
    AccountDocument,
    BundleStore,
    Plan,
    PlannedAccount,
    check_plan_matches,
    chunks,
    default_context,
    plan_header,
    plan_mac_key,
    read_account_documents,
    read_plan,
    split_identity,
    write_plan,
)
from zkmargin.venue.tree import MerklePath, MerkleTree, check_depth, member_leaves, merkle_path_to_json

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import ProvingKey

DEFAULT_DEPTH = 20
MAX_CHUNK = 32
"""Accounts per proving task at most: large enough to hide the task overhead, small enough to balance the load."""
CHUNKS_PER_WORKER = 4
RECHECK_IN_PROCESS = 256
"""Plans up to this many accounts are rechecked on the driver (~2-40 ms an account), larger ones on the cluster."""

Progress = Callable[[str, int, int], None]
"""progress(phase, done, total), phase "committing" or "proving"."""


def _quiet_progress(phase: str, done: int, total: int) -> None:
    """No progress shown."""


def _quiet_note(message: str) -> None:
    """No notes shown."""


@dataclass(frozen=True)
class VenueRunSummary:
    """What a venue run did: the summary.json it wrote, with its root and the accounts set aside or failed."""

    out_dir: Path
    summary: dict
    root: int
    proved: int
    failed: list[dict]
    malformed: list[dict]

    @property
    def complete(self) -> bool:
        """True when every well-formed healthy account has its bundle and no input was malformed."""
        return not self.failed and not self.malformed


# ----- tasks (run on the workers) ---------------------------------------------------------
def commit_chunk(docs: list[tuple[int, str, Any, int | None]], snapshot: Snapshot, circuit_id: str) -> list[dict]:
    """Per account: its margin report, identity, salt (fresh when None) and commitment, or why it cannot be used."""
    circuit = circuit_from_id(circuit_id)
    out = []
    for index, source, doc, given_salt in docs:
        try:
            document, identity = split_identity(doc)
            account = parse_account(document)
            healthy, report = get_model(circuit.model).report(account, snapshot)
            salt = new_salt() if given_salt is None else given_salt
            commitment = circuit.commitment(circuit.witness(account, snapshot, salt))
        except ZkMarginError as exc:
            out.append({"index": index, "source": source, "error": str(exc)})
            continue
        except Exception as exc:  # noqa: BLE001 - one odd account must not stop the run; it is reported
            out.append({"index": index, "source": source, "error": f"cannot be processed: {exc!r}"})
            continue
        out.append({"index": index, "source": source, "account_id": account.account_id, "salt": salt,
                    "commitment": commitment, "identity": identity, "healthy": healthy, "equity": report["equity"],
                    "maintenance": report["maintenance"]})
    return out


def prove_chunk(jobs: list[tuple[str, Any, int, int]], snapshot: Snapshot, circuit_id: str, context: int,
                plugin_name: str, backend_name: str) -> list[tuple[str, dict | None, str | None]]:
    """Per account (id, document, salt, commitment): (id, snarkjs proof JSON, None) or (id, None, error)."""
    from zkmargin.backends import get_backend

    circuit = circuit_from_id(circuit_id)
    backend = get_backend(backend_name)
    from zkmargin.venue.cluster import worker_proving_key

    pk = worker_proving_key(plugin_name)
    out: list[tuple[str, dict | None, str | None]] = []
    for account_id, doc, salt, commitment in jobs:
        try:
            proof, public = prove_account(circuit, pk, parse_account(split_identity(doc)[0]), snapshot, salt, context,
                                          backend)
        except ZkMarginError as exc:
            out.append((account_id, None, str(exc)))
            continue
        if public.commitment != commitment:
            out.append((account_id, None, "the account changed since its commitment was planned"))
            continue
        # Encoded here, not on the driver: the driver's per-account work is what does not scale with workers.
        out.append((account_id, proof_to_json(proof, backend), None))
    return out


# ----- the run ----------------------------------------------------------------------------
def run_venue(accounts_path: Path, snapshot: Snapshot, out_dir: Path, *, circuit_id: str, pk: ProvingKey,
              pk_bytes: bytes, vk_digest: str, signing_key: VenueSigningKey, backend: CurveBackend,
              depth: int = DEFAULT_DEPTH, context: int | None = None, scheduler: str | None = None,
              workers: int | None = None, chunk_size: int | None = None, registry: IdentityRegistry | None = None,
              progress: Progress = _quiet_progress, note: Callable[[str], None] = _quiet_note) -> VenueRunSummary:
    """Commit, attest and prove every account of accounts_path under snapshot into out_dir, resuming a run there.

    pk_bytes are the checked bytes of pk that the workers decode (never a second read of the file). Raises a
    ZkMarginError before signing anything when the input or the output directory cannot be used.
    """
    started = time.perf_counter()
    circuit = circuit_from_id(circuit_id)
    circuit.snapshot_inputs(snapshot)  # refuses a snapshot the circuit cannot hold, before any work
    check_depth(depth)
    digest = snapshot_digest(snapshot)
    if context is None:
        context = default_context(digest)
    from zkmargin.venue.cluster import dask_client, install_proving_key  # Dask loads only here

    docs, input_digest = read_account_documents(accounts_path)
    if not docs:
        raise EncodingError(f"no accounts in {accounts_path}")
    if len(docs) > 2**depth:
        raise EncodingError(f"{len(docs)} accounts do not fit a tree of depth {depth}; raise --depth")
    header = plan_header(
        accounts_sha256=input_digest, snapshot_digest=digest.hex(), circuit_id=circuit.circuit_id,
        vk_digest=vk_digest, context=str(context), depth=depth,
        venue_public_key=signing_key.public_key(snapshot.venue).key_bytes.hex())
    plan_path = out_dir / "plan.jsonl"
    mac_key = plan_mac_key(signing_key)
    timings: dict[str, float] = {}
    cluster_info: dict[str, Any] = {"scheduler": scheduler or "LocalCluster", "workers": None}
    with contextlib.ExitStack() as stack:
        client = None

        def cluster() -> Any:
            nonlocal client
            if client is None:
                client = stack.enter_context(dask_client(scheduler, workers))
                cluster_info["workers"] = len(client.nthreads())
                note(f"cluster: {cluster_info['workers']} workers ({cluster_info['scheduler']})")
            return client

        plan = read_plan(plan_path, mac_key)
        if plan is not None:
            check_plan_matches(plan, header, plan_path)
            note(f"resuming the run in {out_dir}: {len(plan.accounts)} accounts already committed")
            t = time.perf_counter()
            _recheck_plan(cluster, plan, docs, snapshot, circuit.circuit_id, chunk_size, plan_path)
            timings["recheck"] = time.perf_counter() - t
        else:
            t = time.perf_counter()
            plan = _commit_all(cluster(), docs, snapshot, circuit.circuit_id, header, chunk_size, registry, progress)
            write_plan(plan_path, plan, mac_key)
            timings["commit"] = time.perf_counter() - t
        if not plan.accounts:
            _write_summary(out_dir, plan, snapshot, None, 0, 0, [], timings, started, None)
            raise EncodingError(f"no well-formed account in {accounts_path}: " + _first_errors(plan.malformed))
        if registry is not None:
            _claim_planned(registry, plan, snapshot, plan_path)
            # Recorded before the root is signed: no signed root binds an account the registry has not recorded.
            note(f"identity registry {registry.path}: {registry.save()} new accounts recorded")
        t = time.perf_counter()
        leaves = member_leaves([(a.source, a.commitment, a.identity) for a in plan.accounts])
        tree = MerkleTree(leaves, depth)
        signed_root = sign_root(signing_key, snapshot, depth, tree.size, tree.root)
        files.write_atomic(out_dir / "root.json", _json_bytes(signed_root_to_json(signed_root)))
        calls = [{"account_id": a.account_id, "source": a.source, "equity": a.equity, "maintenance": a.maintenance}
                 for a in plan.accounts if not a.healthy]
        files.write_atomic(out_dir / "margin_calls.json", _json_bytes(calls), mode=0o600)
        timings["tree"] = time.perf_counter() - t
        bundles = BundleStore(out_dir / "bundles")
        bundles.remove_stale_temporaries()
        healthy = [(position, a) for position, a in enumerate(plan.accounts) if a.healthy]
        # Each healthy account's bundle less its proof, signed once: what a bundle on disk must match, and what a
        # new proof is written into (Ed25519 is deterministic, so signing it again only cost time).
        unsigned = {position: _bundle_without_proof(a, position, tree, snapshot, circuit.circuit_id, vk_digest,
                                                    context, signing_key) for position, a in healthy}
        pending = [(position, a) for position, a in healthy
                   if not bundles.is_whole(a.account_id, a.commitment, tree.root, unsigned[position])]
        listed = {position for position, _ in pending}
        pending += _unproven(bundles, [pa for pa in healthy if pa[0] not in listed], pk.vk, circuit, snapshot,
                             context, backend)
        pending.sort(key=lambda pa: pa[0])
        if len(pending) < len(healthy):
            note(f"{len(healthy) - len(pending)} bundles already whole on disk: not proved again")
        t = time.perf_counter()
        failed: list[dict] = []
        if pending:
            client = cluster()
            plugin_name = install_proving_key(client, pk_bytes, backend.name)
            failed = _prove_pending(client, plugin_name, pending, docs, bundles, unsigned, snapshot,
                                    circuit.circuit_id, context, backend.name, chunk_size, progress)
        timings["prove"] = time.perf_counter() - t
    proved = len(pending) - len(failed)
    _write_batch_file(out_dir, bundles, plan, snapshot, {item["account_id"] for item in failed})
    summary = _write_summary(out_dir, plan, snapshot, tree.root, proved, len(healthy) - len(pending), failed,
                             timings, started, cluster_info)
    return VenueRunSummary(out_dir, summary, tree.root, proved, failed, plan.malformed)


# ----- steps of the run (on the driver) ---------------------------------------------------
def _prove_pending(client: Any, plugin_name: str, pending: list[tuple[int, PlannedAccount]],
                   docs: list[AccountDocument], bundles: BundleStore, unsigned: dict[int, dict], snapshot: Snapshot,
                   circuit_id: str, context: int, backend_name: str, chunk_size: int | None,
                   progress: Progress) -> list[dict]:
    """Prove the pending accounts in chunks on the cluster, writing each bundle (its proofless part from unsigned,
    by position) as its chunk returns; the failures."""
    from zkmargin.venue.cluster import map_chunks

    size = chunk_size or _chunk_size(len(pending), len(client.nthreads()))
    parts = chunks([(a.account_id, docs[a.index].document, a.salt, a.commitment) for _, a in pending], size)
    by_id = {a.account_id: (position, a) for position, a in pending}
    failed: list[dict] = []
    done = 0
    for index, result, error in map_chunks(client, prove_chunk, parts, snapshot, circuit_id, context,
                                           plugin_name, backend_name):
        if error is not None:
            failed += [{"account_id": job[0], "error": f"task failed: {error!r}"} for job in parts[index]]
            result = []
        for account_id, proof_json, reason in result:
            if reason is not None or proof_json is None:
                failed.append({"account_id": account_id, "error": reason})
                continue
            position, _ = by_id[account_id]
            bundles.write(account_id, {**unsigned[position], "proof": proof_json})
        done += len(parts[index])
        progress("proving", done, len(pending))
    return failed


def _chunk_size(n_pending: int, n_workers: int) -> int:
    return max(1, min(MAX_CHUNK, -(-n_pending // (CHUNKS_PER_WORKER * max(1, n_workers)))))


def _commit_all(client: Any, docs: list[AccountDocument], snapshot: Snapshot, circuit_id: str, header: dict,
                chunk_size: int | None, registry: IdentityRegistry | None, progress: Progress) -> Plan:
    """Margin report, salt and commitment of every account on the cluster; duplicates, bad lines and (with a
    registry) accounts whose identity the registry does not hold for them set aside."""
    from zkmargin.venue.cluster import map_chunks

    malformed: list[dict] = [{"index": i, "source": d.source, "error": d.error} for i, d in enumerate(docs)
                             if d.error is not None]
    jobs = [(i, d.source, d.document, None) for i, d in enumerate(docs) if d.error is None]
    size = chunk_size or max(1, min(1000, -(-len(jobs) // (CHUNKS_PER_WORKER * max(1, len(client.nthreads()))))))
    results: list[dict] = []
    parts = chunks(jobs, size)
    for _, result, error in map_chunks(client, commit_chunk, parts, snapshot, circuit_id):
        if error is not None:
            raise ClusterError(f"committing failed on the cluster ({error!r}); nothing was written, run again")
        results += result
        progress("committing", len(results), len(jobs))
    accounts: list[PlannedAccount] = []
    first_seen: dict[str, str] = {}
    identity_seen: dict[int, str] = {}
    for r in sorted(results, key=lambda r: r["index"]):
        if "error" in r:
            malformed.append(r)
        elif r["account_id"] in first_seen:
            malformed.append({"index": r["index"], "source": r["source"],
                              "error": f"duplicate account id {r['account_id']!r} (first at {first_seen[r['account_id']]})"})
        elif r["identity"] in identity_seen:
            # One identity in two leaves would give its owner two nullifiers in every scope.
            malformed.append({"index": r["index"], "source": r["source"],
                              "error": f"identity {r['identity']} is already another account's "
                                       f"(at {identity_seen[r['identity']]}); each account needs its own"})
        elif registry is not None and (refusal := registry.refusal(r["account_id"], r["identity"])) is not None:
            # A changed identity would give the account fresh nullifiers in every scope: counted twice.
            malformed.append({"index": r["index"], "source": r["source"], "error": refusal})
        else:
            first_seen[r["account_id"]] = r["source"]
            identity_seen[r["identity"]] = r["source"]
            if registry is not None:
                registry.claim(r["source"], r["account_id"], r["identity"], snapshot.snapshot_id)
            accounts.append(_planned(r))
    malformed.sort(key=lambda m: m["index"])
    return Plan(header, accounts, [{"source": m["source"], "error": m["error"]} for m in malformed])


def _claim_planned(registry: IdentityRegistry, plan: Plan, snapshot: Snapshot, plan_path: Path) -> None:
    """Claim every planned account's identity in the registry; a plan made without this registry (or before
    another command recorded a conflicting identity) is refused whole, before anything is signed."""
    for line, account in enumerate(plan.accounts, start=2):
        try:
            registry.claim(account.source, account.account_id, account.identity, snapshot.snapshot_id)
        except IdentityRegistryError as exc:
            raise IdentityRegistryError(f"{exc}; the plan holds it ({plan_path}:{line}), so nothing was signed: move the plan "
                           "away and start the run again (the account is then skipped by line)") from None


def _planned(r: dict) -> PlannedAccount:
    return PlannedAccount(r["index"], r["source"], r["account_id"], r["salt"], r["commitment"], r["healthy"],
                          r["equity"], r["maintenance"], r["identity"])


def _recheck_plan(cluster: Any, plan: Plan, docs: list[AccountDocument], snapshot: Snapshot, circuit_id: str,
                  chunk_size: int | None, plan_path: Path) -> None:
    """Recompute every planned account from the accounts file and its salt; RunStateError naming the first
    plan line that does not follow (a leaf without an account, a repeated line, another commitment, identity or
    report), or an account of the file that the plan neither holds nor set aside as malformed."""
    from zkmargin.venue.cluster import map_chunks

    # Nothing is signed from the plan alone: its leaves must be the accounts file's, whatever wrote the plan.
    jobs, planned = [], {}
    for line, account in enumerate(plan.accounts, start=2):
        doc = docs[account.index] if isinstance(account.index, int) and 0 <= account.index < len(docs) else None
        if doc is None or doc.source != account.source or doc.error is not None:
            raise RunStateError(f"{plan_path}:{line}: account {account.account_id!r} (said to be at "
                                f"{account.source}) is not an account of the accounts file; refusing to sign a "
                                "leaf without an account: move the plan away and start the run again")
        if account.index in planned:
            raise RunStateError(f"{plan_path}:{line}: account {account.account_id!r} ({account.source}) repeats plan "
                                f"line {planned[account.index][0]}; move the plan away and start the run again")
        jobs.append((account.index, account.source, doc.document, account.salt))
        planned[account.index] = (line, account)
    set_aside = {m.get("source") for m in plan.malformed}
    for index, doc in enumerate(docs):
        # An account the plan neither holds nor set aside would be left out of the signed tree without a word.
        if index not in planned and doc.source not in set_aside:
            raise RunStateError(f"{plan_path}: {doc.source} is neither planned nor set aside as malformed; refusing "
                                "to sign a tree without it: move the plan away and start the run again")
    if len(jobs) <= RECHECK_IN_PROCESS:
        results = [(None, commit_chunk(jobs, snapshot, circuit_id), None)]
    else:
        client = cluster()
        size = chunk_size or max(1, min(1000, -(-len(jobs) // (CHUNKS_PER_WORKER * max(1, len(client.nthreads()))))))
        results = map_chunks(client, commit_chunk, chunks(jobs, size), snapshot, circuit_id)
    for _, result, error in results:
        if error is not None:
            raise RunStateError(f"rechecking the plan failed on the cluster ({error!r}); nothing was signed, run again")
        for r in result:
            line, account = planned[r["index"]]
            if "error" in r or _planned(r) != account:
                why = r.get("error") or "its commitment, identity or margin report is not the one the plan holds"
                raise RunStateError(f"{plan_path}:{line}: account {account.account_id!r} ({account.source}) does not "
                                    f"follow from the accounts file and its salt ({why}); nothing was signed: move "
                                    "the plan away and start the run again")


def bundle_document(account: PlannedAccount, position: int, proof_json: dict, tree: MerkleTree, snapshot: Snapshot,
                    circuit_id: str, vk_digest: str, context: int, signing_key: Any) -> dict:
    """What the account holder receives: opening, attestation, Merkle path and the proof."""
    path = MerklePath(account.account_id, tree.leaf(position), position, tuple(tree.path(position)), tree.root,
                      tree.depth)
    return {
        "format": BUNDLE_FORMAT,
        "account_id": account.account_id,
        "circuit_id": circuit_id,
        "snapshot_id": snapshot.snapshot_id,
        "vk_digest": vk_digest,
        "commitment": str(account.commitment),
        "context": str(context),
        "opening": {"format": OPENING_FORMAT, "circuit_id": circuit_id, "account_id": account.account_id,
                    "snapshot_id": snapshot.snapshot_id, "commitment": str(account.commitment),
                    "salt": str(account.salt)},
        "attestation": attestation_to_json(attest(signing_key, snapshot, account.account_id, account.commitment)),
        "merkle_path": merkle_path_to_json(path),
        "proof": proof_json,
    }


def _unproven(bundles: BundleStore, done: list[tuple[int, PlannedAccount]], vk: Any, circuit: Any,
              snapshot: Snapshot, context: int, backend: Any) -> list[tuple[int, PlannedAccount]]:
    """The bundles on disk whose proof does not verify (one batch check for all): they are proved again."""
    if not done:
        return []
    items = []
    for _, account in done:
        try:
            encoded = json.loads(bundles.path(account.account_id).read_text())["proof"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            items.append(ProofItem(error=str(exc)))
            continue
        # The verifier decodes (and checks) the proof: a non-object proof is malformed there, not here.
        items.append(ProofItem(account.commitment, context, encoded=encoded if isinstance(encoded, dict) else b""))
    # A proof is cheap to check next to making one; a bundle swapped or damaged on disk must not ship.
    report = SnapshotVerifier(circuit, vk, snapshot, backend).verify_batch(items)
    return [done[verdict.index] for verdict in report.verdicts if not verdict.valid]


def _bundle_without_proof(account: PlannedAccount, position: int, tree: MerkleTree, snapshot: Snapshot,
                          circuit_id: str, vk_digest: str, context: int, signing_key: Any) -> dict:
    """The bundle this plan makes for account, less its proof (Ed25519 signs deterministically)."""
    bundle = bundle_document(account, position, {}, tree, snapshot, circuit_id, vk_digest, context, signing_key)
    del bundle["proof"]
    return bundle


def _write_batch_file(out_dir: Path, bundles: BundleStore, plan: Plan, snapshot: Snapshot,
                      failed: set[str]) -> None:
    """batch.jsonl: every bundle's proof as a verify-batch item, for an auditor.

    Only bundles this run checked or made: a failed account's file on disk (stale, damaged or planted) is
    neither, and is left out.
    """
    lines = []
    for account in plan.accounts:
        if not account.healthy or account.account_id in failed:
            continue
        try:
            doc = json.loads(bundles.path(account.account_id).read_text())
        except (OSError, ValueError):
            continue
        lines.append(json.dumps({"id": account.account_id, "commitment": doc["commitment"],
                                 "context": doc["context"], "proof": doc["proof"],
                                 "snapshot_id": snapshot.snapshot_id,
                                 **({"attestation": doc["attestation"]} if "attestation" in doc else {})},
                                sort_keys=True))
    files.write_atomic(out_dir / "batch.jsonl", ("\n".join(lines) + "\n" if lines else "").encode())


def _write_summary(out_dir: Path, plan: Plan, snapshot: Snapshot, root: int | None, proved: int, already_done: int,
                   failed: list[dict], timings: dict[str, float], started: float, cluster: dict | None) -> dict:
    with decimal.localcontext() as exact:
        exact.prec = 200  # e32 decimals summed over millions of accounts stay exact
        equity = sum((decimal.Decimal(a.equity) for a in plan.accounts), decimal.Decimal(0))
        maintenance = sum((decimal.Decimal(a.maintenance) for a in plan.accounts), decimal.Decimal(0))
    total_s = time.perf_counter() - started
    summary = {
        "format": SUMMARY_FORMAT,
        "snapshot_id": snapshot.snapshot_id,
        "venue": snapshot.venue,
        "snapshot_digest": plan.header["snapshot_digest"],
        "circuit_id": plan.header["circuit_id"],
        "vk_digest": plan.header["vk_digest"],
        "context": plan.header["context"],
        "depth": plan.header["depth"],
        "root": None if root is None else str(root),
        "accounts": {
            "read": len(plan.accounts) + len(plan.malformed),
            "healthy": sum(a.healthy for a in plan.accounts),
            "margin_call": sum(not a.healthy for a in plan.accounts),
            "malformed": len(plan.malformed),
            "proved_now": proved,
            "already_done": already_done,
            "failed": len(failed),
        },
        "totals": {"equity": _plain(equity), "maintenance": _plain(maintenance)},
        "malformed": plan.malformed,
        "failed": failed,
        "cluster": cluster,
        "timings_s": {**{k: round(v, 3) for k, v in timings.items()}, "total": round(total_s, 3)},
        "proofs_per_s": round(proved / timings["prove"], 3) if proved and timings.get("prove") else None,
    }
    files.write_atomic(out_dir / "summary.json", _json_bytes(summary))
    return summary


def _plain(value: decimal.Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1) + "\n").encode()


def _first_errors(malformed: list[dict], shown: int = 3) -> str:
    return "; ".join(f"{m['source']}: {m['error']}" for m in malformed[:shown])


