"""Venue run library: file names, atomic writes, whole-bundle test, plan, account reading, and the Dask side
(proving key decoded once per worker, batch verification in chunks with fresh weights) on an in-process cluster."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random

import pytest

from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import EncodingError, RunStateError
from zkmargin.field import R
from zkmargin.files import write_atomic
from zkmargin.gadgets.merkle import identity_commitment
from zkmargin.groth16 import Proof, setup
from zkmargin.groth16.serialization import pk_to_bytes, proof_to_bytes
from zkmargin.margin.models import parse_account, parse_snapshot
from zkmargin.venue.attestation import VenueSigningKey
from zkmargin.venue.run import (
    BUNDLE_FORMAT,
    MAX_NAME_LENGTH,
    BundleStore,
    Plan,
    PlannedAccount,
    bundle_file_name,
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

SNAPSHOT = {
    "snapshot_id": "s1", "venue": "v1", "timestamp": "2026-11-24T16:00:00Z",
    "assets": [{"asset": "USDC", "price": "1", "haircut": "0.02"}],
    "instruments": [{"instrument": "BTC-PERP", "mark_price": "64000", "maintenance_rate": "0.005",
                     "contract_size": "1"}],
}


KEY = plan_mac_key(VenueSigningKey.generate())


def account_doc(i: int, usdc: str = "1000") -> dict:
    return {"account_id": f"a{i}", "collateral": [{"asset": "USDC", "amount": usdc}],
            "positions": [{"instrument": "BTC-PERP", "quantity": "0.1", "entry_price": str(64000 + i)}]}


# ----- file names and atomic writes ---------------------------------------------------------
@pytest.mark.parametrize("account_id", ["alice", "a/b", "../etc", ".hidden", "a.b", "a%2Fb", "ü", "a b", "-x_y-"])
def test_bundle_file_name_is_safe(account_id):
    name = bundle_file_name(account_id)
    assert "/" not in name and not name.startswith(".") and name.endswith(".json")
    assert name.isascii() and len(name) <= MAX_NAME_LENGTH + 5


def test_bundle_file_names_never_collide():
    ids = ["a/b", "a%2Fb", "a%b", "a.b", "a_b", "A", "a", "x" * 128, "x" * 127 + "y", "%" * 100, "é" * 128]
    names = [bundle_file_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    assert bundle_file_name("é" * 128).startswith("%%")  # too long: hashed, in a namespace escaping never produces


def test_atomic_write_keeps_the_old_file_when_the_rename_fails(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    write_atomic(path, b"old")

    def broken(*_):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]  # no temporary left behind


def test_a_bundle_is_whole_only_when_complete_and_of_this_plan(tmp_path):
    store = BundleStore(tmp_path)
    assert not store.is_whole("a", 5, 7)
    bundle = {"format": BUNDLE_FORMAT, "account_id": "a", "commitment": "5", "merkle_path": {"root": "7"},
              "proof": {"pi_a": []}}
    store.write("a", bundle)
    assert store.is_whole("a", 5, 7)
    assert not store.is_whole("a", 6, 7)  # another commitment: a run with other salts
    assert not store.is_whole("a", 5, 8)  # another root
    data = store.path("a").read_bytes()
    store.path("a").write_bytes(data[: len(data) // 2])  # as a non-atomic writer would leave it
    assert not store.is_whole("a", 5, 7)
    store.write("a", {**bundle, "proof": None})
    assert not store.is_whole("a", 5, 7)
    assert oct(store.path("a").stat().st_mode & 0o777) == "0o600"  # the bundle holds the opening


# ----- accounts, chunks, context ------------------------------------------------------------
def test_accounts_jsonl_reports_bad_lines_by_number_and_skips_blank_lines(tmp_path):
    path = tmp_path / "accounts.jsonl"
    path.write_text(json.dumps(account_doc(0)) + "\n\n{broken\n" + json.dumps(account_doc(1)) + "\n")
    docs, digest = read_account_documents(path)
    assert [d.source for d in docs] == ["accounts.jsonl:1", "accounts.jsonl:3", "accounts.jsonl:4"]
    assert docs[0].error is None and docs[0].document["account_id"] == "a0"
    assert docs[1].error.startswith("not valid JSON")
    path.write_text(path.read_text().replace("64001", "64002"))
    assert read_account_documents(path)[1] != digest


def test_accounts_directory_reads_json_files_in_name_order(tmp_path):
    for name, i in (("b.json", 1), ("a.json", 0)):
        (tmp_path / name).write_text(json.dumps(account_doc(i)))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "c.json").write_text("[1,")
    docs, _ = read_account_documents(tmp_path)
    assert [(d.source, d.error is None) for d in docs] == [("a.json", True), ("b.json", True), ("c.json", False)]


def test_missing_accounts_file_is_an_encoding_error(tmp_path):
    from zkmargin.errors import EncodingError

    with pytest.raises(EncodingError, match="not found"):
        read_account_documents(tmp_path / "nope.jsonl")


def test_chunks_cover_everything_once():
    assert chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert chunks([], 3) == []
    with pytest.raises(ValueError):
        chunks([1], 0)


def test_default_context_is_a_field_element_bound_to_the_snapshot():
    a, b = default_context(b"\x00" * 32), default_context(b"\x01" + b"\x00" * 31)
    assert 0 <= a < R and 0 <= b < R and a != b
    assert default_context(b"\x00" * 32) == a


# ----- plan -------------------------------------------------------------------------------
def test_plan_round_trips_and_refuses_other_inputs(tmp_path):
    header = plan_header(accounts_sha256="ab", circuit_id="cross-n1-k1", depth=8)
    plan = Plan(header, [PlannedAccount(0, "x:1", "a0", 12, 34, True, "1.5", "0.5", 90),
                         PlannedAccount(2, "x:3", "a2", 56, 78, False, "-1", "2", 91)],
                [{"source": "x:2", "error": "not valid JSON"}])
    path = tmp_path / "plan.jsonl"
    write_plan(path, plan, KEY)
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # salts inside
    again = read_plan(path, KEY)
    assert again == plan
    check_plan_matches(again, header, path)
    with pytest.raises(RunStateError, match="depth"):
        check_plan_matches(again, {**header, "depth": 9}, path)
    with pytest.raises(RunStateError, match="accounts_sha256"):
        check_plan_matches(again, {**header, "accounts_sha256": "cd"}, path)
    assert read_plan(tmp_path / "none.jsonl", KEY) is None
    body = b"".join(path.read_bytes().splitlines(keepends=True)[:-1])
    path.write_bytes(body[:40] + b"\n" + _mac_line(body[:40] + b"\n"))
    with pytest.raises(RunStateError, match="damaged"):
        read_plan(path, KEY)


def _mac_line(body: bytes, key: bytes = KEY) -> bytes:
    return json.dumps({"kind": "mac", "hmac_sha256": hmac.new(key, body, hashlib.sha256).hexdigest()}).encode() + b"\n"


@pytest.mark.parametrize("edit", ["salt", "ghost", "no-mac", "other-key", "truncated", "reordered", "duplicated",
                                  "mac-moved", "line-dropped"])
def test_a_plan_not_made_under_the_venues_key_is_refused(tmp_path, edit):
    """Issue 22 item 5: every field of a plan but its MAC can be recomputed from the accounts file; a plan whose
    salts or leaves someone else chose (or that lost its MAC, or was made under another venue key) is refused."""
    header = plan_header(accounts_sha256="ab", circuit_id="cross-n1-k1", depth=8)
    plan = Plan(header, [PlannedAccount(0, "x:1", "a0", 12, 34, True, "1.5", "0.5", 90)], [])
    path = tmp_path / "plan.jsonl"
    write_plan(path, plan, KEY)
    lines = path.read_bytes().splitlines(keepends=True)
    if edit == "salt":
        lines[1] = lines[1].replace(b'"salt": "12"', b'"salt": "13"')
    elif edit == "ghost":
        lines.insert(2, json.dumps({"kind": "account", "index": 1, "source": "x:2", "account_id": "ghost",
                                    "salt": "1", "commitment": "2", "identity": "3", "healthy": True,
                                    "equity": "1", "maintenance": "0"}).encode() + b"\n")
    elif edit == "no-mac":
        lines = lines[:-1]
    elif edit == "reordered":
        lines[0], lines[1] = lines[1], lines[0]
    elif edit == "duplicated":
        lines.insert(2, lines[1])
    elif edit == "mac-moved":
        lines.insert(0, lines.pop())
    elif edit == "line-dropped":
        del lines[1]
    elif edit == "other-key":
        lines[-1] = _mac_line(b"".join(lines[:-1]), plan_mac_key(VenueSigningKey.generate()))
    else:
        lines = lines[:-1] + [lines[-1][:20]]
    path.write_bytes(b"".join(lines))
    with pytest.raises(RunStateError, match="not authenticated by this venue's signing key"):
        read_plan(path, KEY)


def test_the_plan_key_is_the_signing_keys():
    key = VenueSigningKey.generate()
    assert plan_mac_key(key) == plan_mac_key(VenueSigningKey.from_pem(key.to_pem())) != KEY
    assert len(KEY) == 32


# ----- the Dask side, on an in-process cluster ------------------------------------------------
@pytest.fixture(scope="module")
def client():
    from zkmargin.venue.cluster import dask_client

    with dask_client(workers=2, processes=False) as c:
        yield c


@pytest.fixture(scope="module")
def proofs():
    backend = get_backend("arkworks")
    circuit = circuit_from_id("cross-n1-k1")
    pk = setup(circuit.compile(), backend=backend, rng=random.Random(5))
    snapshot = parse_snapshot(SNAPSHOT)
    made = []
    for i in range(6):
        proof, public = prove_account(circuit, pk, parse_account(account_doc(i)), snapshot, 1000 + i, 77, backend)
        made.append((proof, public.as_list()))
    return backend, pk, made


def test_proving_key_is_decoded_once_per_worker(client, proofs, monkeypatch):
    from zkmargin.groth16 import serialization
    from zkmargin.venue.cluster import install_proving_key, worker_proving_key

    backend, pk, _ = proofs
    decoded = []
    real = serialization.pk_from_bytes
    monkeypatch.setattr(serialization, "pk_from_bytes", lambda data, b=None, **options: decoded.append(1) or real(data, b, **options))
    name = install_proving_key(client, pk_to_bytes(pk, backend), backend.name)
    futures = [client.submit(lambda _, n=name: id(worker_proving_key(n)), i, pure=False) for i in range(8)]
    ids = client.gather(futures)
    workers = len(client.nthreads())
    assert len(set(ids)) <= workers and len(decoded) == len(set(ids))  # one decode per worker, not per task
    plugin = next(iter(client.run(lambda dask_worker, n=name: type(dask_worker.plugins[n]).__name__).values()))
    assert plugin == "ProvingKeyPlugin"


def test_plugin_pickles_without_the_decoded_key(proofs):
    import pickle

    from zkmargin.venue.cluster import ProvingKeyPlugin

    backend, pk, _ = proofs
    plugin = ProvingKeyPlugin("k", pk_to_bytes(pk, backend), backend.name)
    plugin.proving_key()
    state = pickle.loads(pickle.dumps(plugin))
    assert state._pk is None and state.pk_bytes == plugin.pk_bytes


def _cluster_items(backend, made, forged_at: int | None = None) -> list:
    from zkmargin.circuits.verification import ProofItem

    items = []
    for k, (proof, public) in enumerate(made):
        if k == forged_at:  # a valid proof of another statement: must be invalid here
            proof = Proof(proof.a, proof.b, backend.g1_add(proof.c, backend.g1_generator()))
        items.append(ProofItem(public[0], public[1], label=f"p{k}", encoded=proof_to_bytes(proof, backend)))
    return items


def test_cluster_batch_verification_matches_in_process_and_isolates_bad_items(client, proofs):
    """The workers run the one verdict path (SnapshotVerifier.verify_batch) on their chunks: the verdicts equal
    the driver's own, item by item, with malformed items reported in place."""
    from zkmargin.circuits.verification import ProofItem, SnapshotVerifier

    backend, pk, made = proofs
    verifier = SnapshotVerifier(circuit_from_id("cross-n1-k1"), pk.vk, parse_snapshot(SNAPSHOT), backend)
    items = _cluster_items(backend, made * 2, forged_at=4)
    items.append(ProofItem(error="not valid JSON", label="bad-json"))
    items.append(ProofItem(made[0][1][0], made[0][1][1], label="zeros", encoded=b"\x00" * 192))
    report = verifier.verify_on_cluster(client, items, chunk_size=3)
    assert [v.valid for v in report.verdicts] == [k != 4 for k in range(12)] + [False, False]
    assert [v.index for v in report.verdicts] == list(range(14))
    assert report.verdicts[4].outcome == "invalid"
    assert report.verdicts[12].error == "not valid JSON" and report.verdicts[13].outcome == "malformed"
    assert report.verdicts[0].proof_bytes == proof_to_bytes(made[0][0], backend)
    assert report.pairing_checks >= 5  # one batch per chunk at least
    here = verifier.verify_batch(items)
    assert [(v.label, v.outcome) for v in here.verdicts] == [(v.label, v.outcome) for v in report.verdicts]


def test_cluster_workers_apply_the_venue_policy(client, proofs):
    """The policy travels with the verifier's spec: an unattested item is refused on the worker, as here."""
    from zkmargin.circuits.verification import SnapshotVerifier

    backend, pk, made = proofs
    venue = VenueSigningKey.generate()
    snapshot = parse_snapshot(SNAPSHOT)
    verifier = SnapshotVerifier(circuit_from_id("cross-n1-k1"), pk.vk, snapshot, backend, venue.public_key("v1"))
    report = verifier.verify_on_cluster(client, _cluster_items(backend, made), chunk_size=2)
    assert [v.outcome for v in report.verdicts] == ["refused"] * len(made)
    assert report.pairing_checks == 0


def test_every_chunk_draws_its_own_weights(client, proofs, monkeypatch):
    from zkmargin.circuits.verification import SnapshotVerifier
    from zkmargin.groth16 import batch

    backend, pk, made = proofs
    drawn: list[int] = []
    real = batch.random_weight
    monkeypatch.setattr(batch, "random_weight", lambda rng=None: drawn.append(real(rng)) or drawn[-1])
    verifier = SnapshotVerifier(circuit_from_id("cross-n1-k1"), pk.vk, parse_snapshot(SNAPSHOT), backend)
    report = verifier.verify_on_cluster(client, _cluster_items(backend, made), chunk_size=2)
    assert all(v.valid for v in report.verdicts)
    assert len(drawn) >= len(made) and len(set(drawn)) == len(drawn)  # no weight reused across chunks


@pytest.mark.parametrize("identity, message", [
    ("0", "0 is no trader's identity"),
    (str(identity_commitment(0)), "identity of secret 0"),
    (str(R), "identity"),
    ("x", "identity"),
])
def test_an_account_line_with_a_public_or_malformed_identity_is_refused(identity, message):
    """Review (issue 22): identity 0 has no known secret, the identity of secret 0 a public one: neither
    is bound into a venue-run leaf (the line is skipped as malformed, as a missing identity is)."""
    with pytest.raises(EncodingError, match=message):
        split_identity({**account_doc(1), "identity": identity})
    assert split_identity({**account_doc(1), "identity": "5011"})[1] == 5011


def test_member_leaves_refuses_identity_zero_and_secret_zeros_identity():
    from zkmargin.venue.tree import member_leaves

    for identity in (0, identity_commitment(0)):
        with pytest.raises(EncodingError, match="line 2: identity"):
            member_leaves([("line 1", 7, 5011), ("line 2", 8, identity)])
