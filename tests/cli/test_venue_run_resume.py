"""Review findings on `zkmargin venue run` resuming: a bundle on disk was skipped as done when its format,
account, commitment and root matched, whatever its opening, context, attestation or proof said. Now every field
but the proof must equal the plan's bundle, and the skipped bundles' proofs are checked in one batch.

Issue 22 item 5: a plan planted or edited in the output directory (its header recomputed from the accounts file,
salts the planter chose, a leaf for no account) was resumed and its root signed. Now the plan carries an HMAC
under a key derived from the signing key, and every leaf is recomputed from the accounts file before signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from pathlib import Path

import pytest
from click.testing import Result

from tests.cli.venue_run_helpers import (
    CIRCUIT,
    account_doc,
    check_bundles,
    identity,
    identity_secret,
    run_cli,
    venue_run_args,
    write_accounts,
)
from zkmargin.circuits.proving import prepare_proof
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import CircuitError
from zkmargin.gadgets.merkle import nullifier
from zkmargin.margin.models import parse_account
from zkmargin.r1cs import ConstraintSystem
from zkmargin.venue.attestation import VenueSigningKey
from zkmargin.venue.run import bundle_file_name, plan_mac_key
from zkmargin.venue.tree import parse_merkle_path

IDS = range(1, 4)
HEALTHY = {f"acct-{i}" for i in IDS}


@pytest.fixture(scope="module")
def resumed(venue):  # noqa: F811
    write_accounts(venue / "resume.jsonl", IDS)
    args = venue_run_args(venue, "resume.jsonl", "out-resume", "--workers", "1")
    first = run_cli(venue, *args)
    assert first.exit_code == 0, first.output
    return venue / "out-resume", args


def rewrite(out, account_id: str, change) -> None:
    path = out / "bundles" / bundle_file_name(account_id)
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_a_bundle_with_an_altered_opening_is_made_again_on_resume(venue, resumed):  # noqa: F811
    out, args = resumed
    rewrite(out, "acct-1", lambda d: d["opening"].__setitem__("salt", "1"))
    rewrite(out, "acct-2", lambda d: d.__setitem__("context", "7"))
    again = run_cli(venue, *args)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["accounts"]["already_done"] == 1 and summary["accounts"]["proved_now"] == 2
    check_bundles(venue, out, HEALTHY)


def test_a_bundle_carrying_another_accounts_proof_is_made_again_on_resume(venue, resumed):  # noqa: F811
    out, args = resumed
    other = json.loads((out / "bundles" / bundle_file_name("acct-3")).read_text())["proof"]
    rewrite(out, "acct-1", lambda d: d.__setitem__("proof", other))
    rewrite(out, "acct-2", lambda d: d.__setitem__("proof", {"pi_a": "damaged"}))
    again = run_cli(venue, *args)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["accounts"]["already_done"] == 1 and summary["accounts"]["proved_now"] == 2
    check_bundles(venue, out, HEALTHY)


# ----- issue 22 item 5: a plan on disk is never trusted ----------------------------------------------------
def plan_lines(out) -> list[dict]:
    return [json.loads(line) for line in (out / "plan.jsonl").read_text().splitlines()]


def write_plan_lines(path, rows: list[dict], key: bytes | None) -> None:
    """rows (header, accounts; any MAC row dropped) as plan.jsonl, with a MAC under key (none when key is None)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows if r.get("kind") != "mac").encode()
    mac = [] if key is None else [json.dumps({"kind": "mac", "hmac_sha256": hmac.new(key, body, hashlib.sha256)
                                                                          .hexdigest()}).encode() + b"\n"]
    path.write_bytes(body + b"".join(mac))


def ghost_and_chosen_salts(rows: list[dict], circuit_salt: int = 7) -> list[dict]:
    """The planter's plan: every real account under a salt it chose (commitments recomputed), and a ghost leaf."""
    circuit = circuit_from_id(CIRCUIT)
    snapshot = load_snapshot_json()
    out = [rows[0]]
    for r in rows[1:]:
        if r.get("kind") != "account":
            continue
        account = parse_account(account_doc(int(r["account_id"].split("-")[1]), with_identity=False))
        commitment = circuit.commitment(circuit.witness(account, snapshot, circuit_salt))
        out.append({**r, "salt": str(circuit_salt), "commitment": str(commitment)})
    out.append({**out[-1], "index": 3, "source": "resume.jsonl:4", "account_id": "ghost", "commitment": "12345",
                "identity": "67890"})
    return out


def load_snapshot_json():
    from tests.cli.venue_run_helpers import SNAPSHOT
    from zkmargin.margin.models import parse_snapshot

    return parse_snapshot(SNAPSHOT)


def run_into(venue: Path, out_name: str) -> Result:
    return run_cli(venue, *venue_run_args(venue, "resume.jsonl", out_name, "--workers", "1"))


@pytest.mark.parametrize("mac", ["none", "planter's own key"])
def test_a_planted_plan_with_a_recomputed_header_and_a_ghost_leaf_is_refused_and_nothing_is_signed(
        venue, resumed, mac):  # noqa: F811
    """The header is what anyone recomputes from the accounts file and the command line; the planter chose every
    salt (so it could compute nullifiers of old) and added a leaf for an account that does not exist."""
    out, _ = resumed
    planted = venue / f"out-planted-{mac.split()[0]}"
    key = None if mac == "none" else plan_mac_key(VenueSigningKey.generate())
    write_plan_lines(planted / "plan.jsonl", ghost_and_chosen_salts(plan_lines(out)), key)
    result = run_into(venue, planted.name)
    assert result.exit_code == 2, result.output
    assert "not authenticated by this venue's signing key" in result.stderr
    assert sorted(p.name for p in planted.iterdir()) == ["plan.jsonl"]  # no root, attestation or bundle


def test_a_plan_with_altered_salts_is_refused_and_the_signed_root_is_not_rewritten(venue, resumed):  # noqa: F811
    out, _ = resumed
    copy = venue / "out-salts"
    shutil.copytree(out, copy)
    root_before = (copy / "root.json").read_bytes()
    text = (copy / "plan.jsonl").read_text()
    salt = plan_lines(copy)[1]["salt"]
    (copy / "plan.jsonl").write_text(text.replace(f'"salt": "{salt}"', '"salt": "7"', 1))
    result = run_into(venue, copy.name)
    assert result.exit_code == 2, result.output
    assert "not authenticated by this venue's signing key" in result.stderr
    assert (copy / "root.json").read_bytes() == root_before


@pytest.mark.parametrize("change", ["ghost", "other commitment", "dropped account", "duplicate line"])
def test_a_plan_under_the_venues_own_key_is_still_recomputed_before_signing(venue, resumed, change):  # noqa: F811
    """Defence in depth (a plan written by a buggy or older venue run): every leaf is recomputed from the accounts
    file and its salt before anything is signed; a leaf without an account, or a commitment the account and salt
    do not give, is refused naming the plan line."""
    out, _ = resumed
    rows = plan_lines(out)
    if change == "ghost":
        rows.insert(2, {**rows[1], "index": 7, "source": "resume.jsonl:8", "account_id": "ghost"})
        wanted = "plan.jsonl:3: account 'ghost' (said to be at resume.jsonl:8) is not an account of the accounts file"
    elif change == "dropped account":
        # Review: an account of the accounts file left out of the plan (neither planned nor malformed) would be
        # left out of the signed tree without a word.
        dropped = rows.pop(2)
        wanted = f"{dropped['source']} is neither planned nor set aside"
    elif change == "duplicate line":
        rows.insert(2, rows[1])
        wanted = "plan.jsonl:3: account 'acct-1' (resume.jsonl:1) repeats plan line 2"
    else:
        rows[2] = {**rows[2], "commitment": str(int(rows[2]["commitment"]) + 1)}
        wanted = f"plan.jsonl:3: account {rows[2]['account_id']!r} (resume.jsonl:2) does not follow"
    target = venue / f"out-own-{change.split()[0]}"
    key = plan_mac_key(VenueSigningKey.from_pem((venue / "venue.key").read_bytes()))
    write_plan_lines(target / "plan.jsonl", rows, key)
    result = run_into(venue, target.name)
    assert result.exit_code == 2, result.output
    assert wanted in result.stderr
    assert sorted(p.name for p in target.iterdir()) == ["plan.jsonl"]


def test_a_venue_run_bundle_proves_membership_with_the_traders_secret_only(venue, resumed):  # noqa: F811
    """Issue 22 item 2 through `venue run`: the bundle's path leads from the account's commitment under its identity
    to the signed root; with the trader's secret the membership statement holds and its nullifier is the secret's;
    nothing the venue holds (salt, commitment, identity, leaf) gives that nullifier."""
    out, _ = resumed
    bundle = json.loads((out / "bundles" / bundle_file_name("acct-2")).read_text())
    path = parse_merkle_path(bundle["merkle_path"])
    circuit = circuit_from_id(f"{CIRCUIT}-m8")
    snapshot = load_snapshot_json()
    account = parse_account(account_doc(2, with_identity=False))
    salt, scope = int(bundle["opening"]["salt"]), 99
    with pytest.raises(CircuitError, match="another leaf"):
        prepare_proof(circuit, account, snapshot, salt, 5, path, scope, identity_secret(3))
    public, witness = prepare_proof(circuit, account, snapshot, salt, 5, path, scope, identity_secret(2))
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, witness)
    assert cs.which_is_unsatisfied() is None
    assert public.extra[1] == nullifier(identity_secret(2), scope)
    venue_knows = [salt, int(bundle["commitment"]), int(identity(2)), path.leaf]
    assert all(nullifier(value, scope) != public.extra[1] for value in venue_knows)


def test_accounts_without_an_identity_or_sharing_one_are_skipped_by_line(venue):  # noqa: F811
    lines = [json.dumps(account_doc(1)), json.dumps(account_doc(2, with_identity=False)),
             json.dumps({**account_doc(4), "identity": identity(1)}), json.dumps(account_doc(5))]
    (venue / "identities.jsonl").write_text("\n".join(lines) + "\n")
    result = run_cli(venue, *venue_run_args(venue, "identities.jsonl", "out-identities", "--workers", "1"))
    assert result.exit_code == 2, result.output
    malformed = {m["source"]: m["error"] for m in json.loads(result.stdout)["malformed"]}
    assert set(malformed) == {"identities.jsonl:2", "identities.jsonl:3"}
    assert "identity: missing" in malformed["identities.jsonl:2"]
    assert "already another account's (at identities.jsonl:1)" in malformed["identities.jsonl:3"]
    check_bundles(venue, venue / "out-identities", {"acct-1", "acct-5"})


def test_the_workers_get_the_proving_key_bytes_that_were_checked(venue, monkeypatch, tmp_path):  # noqa: F811
    """Review (issue 22 item 7): the driver subgroup-checked the bundle's proving key, then read the file a second
    time for the workers, which decode it unchecked. A key file replaced between the two reads (say by one with a
    torsion point planted in a query) reached the workers unchecked. Now the checked bytes themselves are shipped."""
    import zkmargin.cli.keystore as keystore
    import zkmargin.venue.cluster as venue_cluster

    key_file = venue / "cache" / CIRCUIT / "proving_key.bin"
    checked = key_file.read_bytes()
    decode, install = keystore.pk_from_bytes, venue_cluster.install_proving_key
    shipped = []

    def decode_then_swap(data, *args, **kwargs):
        pk = decode(data, *args, **kwargs)
        key_file.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # another key, never checked
        return pk

    def spy(client, pk_bytes, backend_name):
        shipped.append(pk_bytes)
        return install(client, pk_bytes, backend_name)

    monkeypatch.setattr(keystore, "pk_from_bytes", decode_then_swap)
    monkeypatch.setattr(venue_cluster, "install_proving_key", spy)
    write_accounts(venue / "swap.jsonl", range(1, 3))
    try:
        result = run_cli(venue, *venue_run_args(venue, "swap.jsonl", "out-swap", "--workers", "1"))
    finally:
        key_file.write_bytes(checked)
    assert shipped and all(data == checked for data in shipped), result.output
    assert result.exit_code == 0, result.output


def test_a_failed_accounts_bundle_on_disk_stays_out_of_batch_jsonl(venue, monkeypatch):  # noqa: F811
    """Review (issue 22 item 5): a bundle found not whole is proved again; when that proof fails (a task lost),
    batch.jsonl still copied the file on disk (stale, damaged or planted) as the account's item for the auditor.
    Now only bundles the run checked or made are listed."""
    import zkmargin.circuits.venue_job as venue_run

    write_accounts(venue / "fail.jsonl", range(1, 4))
    args = venue_run_args(venue, "fail.jsonl", "out-fail", "--workers", "1")
    assert run_cli(venue, *args).exit_code == 0
    out = venue / "out-fail"
    planted = json.loads((out / "bundles" / bundle_file_name("acct-3")).read_text())
    planted.update(account_id="acct-1", context="7")  # another account's proof, under another context
    (out / "bundles" / bundle_file_name("acct-1")).write_text(json.dumps(planted))
    monkeypatch.setattr(venue_run, "_prove_pending", lambda client, plugin, pending, *rest: [
        {"account_id": a.account_id, "error": "task failed: lost"} for _, a in pending])
    again = run_cli(venue, *args)
    assert again.exit_code == 2 and json.loads(again.stdout)["accounts"]["failed"] == 1, again.output
    ids = [json.loads(line)["id"] for line in (out / "batch.jsonl").read_text().splitlines()]
    assert ids == ["acct-2", "acct-3"]
