"""Membership mode at the CLI (#12 item 3): `venue tree`, `setup`, `prove --path --scope`, `verify --root`
(or --signed-root) and root-mode `verify-batch` in CLI order; refusals exit 1, bad input exits 2."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.samples import write_samples
from tests.key_cache import install_bundle
from zkmargin.cli.main import cli
from zkmargin.field import R
from zkmargin.gadgets.merkle import identity_commitment, member_leaf, nullifier
from zkmargin.margin.models import snapshot_to_json
from zkmargin.margin.samples import sample_snapshot
from zkmargin.venue.attestation import VenueSigningKey, sign_root, signed_root_to_json

PLAIN = "cross-n6-k4"
DEPTH = 3
CIRCUIT = f"{PLAIN}-m{DEPTH}"
CONTEXT, SCOPE = "11", "4242"
OTHER_LEAVES = [1000 + 7 * i for i in range(4)]
OTHER_IDENTITIES = [9000 + 13 * i for i in range(4)]


def run(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--cache-dir", str(root / "cache"), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def flow(tmp_path_factory, key_bundle) -> Path:
    """Samples, a venue key, two traders' identities, an opening, the venue's tree over it and others, keys, and
    one member proof."""
    root = tmp_path_factory.mktemp("membership")
    write_samples(root)
    venue = sample_snapshot().venue
    assert run(root, "venue", "keygen", str(root / "venue.key"), "--venue", venue).exit_code == 0
    identities = {}
    for name in ("identity", "sick-identity"):
        made = run(root, "account", "new-identity", str(root / f"{name}.json"), "--json")
        assert made.exit_code == 0, made.output
        identities[name] = json.loads(made.stdout)["identity"]
    venue_tree(root, "snapshot.json", "", identities)
    install_bundle(key_bundle(CIRCUIT), root / "cache", CIRCUIT)
    proved = prove(root, "--signed-root", str(root / "tree" / "root.json"),
                   "--venue-key", str(root / "venue.key.pub.json"))
    assert proved.exit_code == 0, proved.output
    return root


def venue_tree(root: Path, snapshot_name: str, suffix: str, identities: dict) -> None:
    """Both traders commit under the snapshot; the venue builds its tree (tree{suffix}/) over them and others,
    each leaf bound to the identity the trader handed over once (recorded in the venue's identity registry)."""
    snapshot = str(root / snapshot_name)
    committed = run(root, "commit", str(root / "healthy.json"), snapshot, "--opening",
                    str(root / f"opening{suffix}.json"), "--circuit", PLAIN, "--json")
    assert committed.exit_code == 0, committed.output
    sick = run(root, "commit", str(root / "margin_call.json"), snapshot, "--opening",
               str(root / f"sick{suffix}.json"), "--circuit", PLAIN, "--json")
    requests = [{"account_id": "trader-healthy", "commitment": json.loads(committed.stdout)["commitment"],
                 "identity": identities["identity"]},
                {"account_id": "trader-sick", "commitment": json.loads(sick.stdout)["commitment"],
                 "identity": identities["sick-identity"]}]
    requests += [{"account_id": f"acct-{i}", "commitment": str(c), "identity": str(k)}
                 for i, (c, k) in enumerate(zip(OTHER_LEAVES, OTHER_IDENTITIES))]
    (root / f"requests{suffix}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in requests))
    made = run(root, "venue", "tree", snapshot, str(root / f"requests{suffix}.jsonl"), "--key",
               str(root / "venue.key"), "--depth", str(DEPTH), "--out", str(root / f"tree{suffix}"),
               "--identities", str(root / "identities.json"))
    assert made.exit_code == 0, made.output


def prove(root: Path, *extra: str, account: str = "healthy.json", opening: str = "opening.json",
          out: str = "proof.json", public: str = "public.json", identity: str = "identity.json",
          snapshot: str = "snapshot.json", tree: str = "tree"):
    return run(root, "prove", str(root / account), str(root / snapshot), "--opening", str(root / opening),
               "--context", CONTEXT, "--path", str(root / tree / "paths.jsonl"), "--scope", SCOPE,
               "--identity", str(root / identity), "--out", str(root / out), "--public-out", str(root / public),
               *extra)


def public_values(root: Path, name: str = "public.json") -> list[str]:
    return json.loads((root / name).read_text())


def verify(root: Path, *extra: str, circuit: str = CIRCUIT):
    return run(root, "verify", str(root / "proof.json"), "--snapshot", str(root / "snapshot.json"),
               "--context", CONTEXT, "--circuit", circuit, *extra)


def member_args(root: Path, **changes: str) -> list[str]:
    root_value, _, scope, nullifier_value = public_values(root)[:4]
    values = {"--root": root_value, "--scope": scope, "--nullifier": nullifier_value, **changes}
    return [item for pair in values.items() for item in pair]


def test_public_json_is_root_context_scope_nullifier(flow):
    signed = json.loads((flow / "tree" / "root.json").read_text())
    opening = json.loads((flow / "opening.json").read_text())
    secret = int(json.loads((flow / "identity.json").read_text())["secret"])
    values = public_values(flow)
    assert values[:4] == [signed["root"], CONTEXT, SCOPE, str(nullifier(secret, int(SCOPE)))]
    assert opening["commitment"] not in values  # the verifier never sees which account


def test_a_member_proof_verifies_with_the_root_or_the_signed_root(flow):
    plain = verify(flow, *member_args(flow))
    assert plain.exit_code == 0, plain.output
    assert "OK" in plain.output
    pub = str(flow / "venue.key.pub.json")
    root_args = member_args(flow)[2:]  # the root comes from the signed file
    signed = verify(flow, *root_args, "--signed-root", str(flow / "tree" / "root.json"), "--venue-key", pub, "--json")
    assert signed.exit_code == 0, signed.output
    assert json.loads(signed.stdout)["root_signed"] is True


@pytest.mark.parametrize("name", ["--root", "--scope", "--nullifier"])
def test_another_root_scope_or_nullifier_is_invalid(flow, name):
    args = dict(zip(*[iter(member_args(flow))] * 2))
    result = verify(flow, *member_args(flow, **{name: str(int(args[name]) + 1)}))
    assert result.exit_code == 1, result.output
    assert "INVALID" in result.output


def test_a_root_signed_for_another_snapshot_or_missing_is_refused(flow):
    key = VenueSigningKey.from_pem((flow / "venue.key").read_bytes())
    signed = json.loads((flow / "tree" / "root.json").read_text())
    later = replace(sample_snapshot(), snapshot_id="later")
    other = sign_root(key, later, DEPTH, signed["leaf_count"], int(signed["root"]))
    (flow / "later-root.json").write_text(json.dumps(signed_root_to_json(other)))
    pub = str(flow / "venue.key.pub.json")
    refused = verify(flow, *member_args(flow), "--signed-root", str(flow / "later-root.json"), "--venue-key", pub)
    assert refused.exit_code == 1 and "REFUSED" in refused.output
    unsigned = verify(flow, *member_args(flow), "--venue-key", pub)
    assert unsigned.exit_code == 1 and "no signed root" in unsigned.output


@pytest.mark.parametrize("args, message", [
    (["--commitment", "5", "--root", "1", "--scope", "1", "--nullifier", "1"], "membership circuit"),
    (["--root", "1", "--scope", "1"], "--nullifier"),
    (["--scope", "1", "--nullifier", "1"], "--root"),
    (["--root", str(2**255), "--scope", "1", "--nullifier", "1"], "[0, r)"),
])
def test_bad_membership_verify_input_exits_2(flow, args, message):
    result = verify(flow, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_membership_options_on_a_plain_circuit_exit_2(flow):
    result = verify(flow, "--commitment", "5", "--root", "1", circuit=PLAIN)
    assert result.exit_code == 2 and "not a membership circuit" in result.output


@pytest.mark.parametrize("drop, extra, message", [
    ("--scope", (), "--path and --scope go together"),
    ("--identity", (), "needs --identity"),
    (None, ("--depth", str(DEPTH + 1)), "--depth"),
    (None, ("--attestation", "x.json", "--venue-key", "y.json"), "--signed-root"),
])
def test_bad_membership_prove_input_exits_2_and_writes_nothing(flow, drop, extra, message):
    args = ["prove", str(flow / "healthy.json"), str(flow / "snapshot.json"), "--opening", str(flow / "opening.json"),
            "--context", CONTEXT, "--path", str(flow / "tree" / "paths.jsonl"), "--scope", SCOPE,
            "--identity", str(flow / "identity.json"),
            "--out", str(flow / "never.json"), "--public-out", str(flow / "never-public.json"), *extra]
    if drop is not None:
        i = args.index(drop)
        del args[i : i + 2]
    result = run(flow, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (flow / "never.json").exists() and not (flow / "never-public.json").exists()


def test_a_path_file_without_this_commitment_exits_2(flow):
    lines = (flow / "tree" / "paths.jsonl").read_text().splitlines()
    opening = json.loads((flow / "opening.json").read_text())
    identity = int(json.loads((flow / "identity.json").read_text())["identity"])
    own = str(member_leaf(int(opening["commitment"]), identity))
    others = [line for line in lines if json.loads(line)["leaf"] != own]
    assert len(others) == len(lines) - 1
    (flow / "others.jsonl").write_text("\n".join(others) + "\n")
    result = run(flow, "prove", str(flow / "healthy.json"), str(flow / "snapshot.json"), "--opening",
                 str(flow / "opening.json"), "--context", CONTEXT, "--path", str(flow / "others.jsonl"),
                 "--scope", SCOPE, "--identity", str(flow / "identity.json"), "--out", str(flow / "never.json"))
    assert result.exit_code == 2 and "no path for this account's leaf" in result.output
    assert not (flow / "never.json").exists()


def test_another_traders_identity_secret_finds_no_leaf_and_proves_nothing(flow):
    """Issue 22 item 2: the healthy account's opening with the other trader's identity secret: no leaf of the tree
    binds that commitment to that identity, so nothing is proved."""
    result = prove(flow, identity="sick-identity.json", out="never.json", public="never-public.json")
    assert result.exit_code == 2 and "no path for this account's leaf" in result.output
    assert not (flow / "never.json").exists()


def test_new_identity_writes_a_private_secret_once_and_prints_its_identity(flow, tmp_path):
    made = run(tmp_path, "account", "new-identity", str(tmp_path / "me.json"), "--json")
    assert made.exit_code == 0, made.output
    doc = json.loads((tmp_path / "me.json").read_text())
    assert (tmp_path / "me.json").stat().st_mode & 0o777 == 0o600
    assert json.loads(made.stdout)["identity"] == doc["identity"] == str(identity_commitment(int(doc["secret"])))
    again = run(tmp_path, "account", "new-identity", str(tmp_path / "me.json"))
    assert again.exit_code == 2 and "exists" in again.output
    assert json.loads((tmp_path / "me.json").read_text()) == doc
    (tmp_path / "altered.json").write_text(json.dumps({**doc, "identity": "5"}))
    altered = prove(flow, identity=str(tmp_path / "altered.json"), out="never.json")
    assert altered.exit_code == 2 and "altered" in altered.output


def test_one_account_in_one_scope_under_two_snapshots_shows_one_nullifier(flow):
    """Issue 22 item 2, CLI and verify-batch: the trader commits afresh under a second snapshot (new salt, new
    commitment, new tree and root) and proves in the same scope: the nullifier is the same, so a verifier
    sees the account again; the other trader's nullifier differs; and none of the values the venue holds
    (salt, commitment, identity, leaf) gives the nullifier."""
    later = replace(sample_snapshot(), snapshot_id="later")
    (flow / "later.json").write_text(json.dumps(snapshot_to_json(later)))
    identities = {n: json.loads((flow / f"{n}.json").read_text())["identity"] for n in ("identity", "sick-identity")}
    recorded = (flow / "identities.json").read_bytes()
    venue_tree(flow, "later.json", "-later", identities)
    assert (flow / "identities.json").read_bytes() == recorded  # the same identities: the registry holds them
    proved = prove(flow, snapshot="later.json", opening="opening-later.json", tree="tree-later",
                   out="proof-later.json", public="public-later.json")
    assert proved.exit_code == 0, proved.output
    first, second = public_values(flow), public_values(flow, "public-later.json")
    assert first[0] != second[0] and first[3] == second[3]
    reports = []
    for snapshot, proof, values, tree in (("snapshot.json", "proof.json", first, "tree"),
                                          ("later.json", "proof-later.json", second, "tree-later")):
        item = {"id": snapshot, "root": values[0], "context": values[1], "scope": values[2], "nullifier": values[3],
                "proof": json.loads((flow / proof).read_text()),
                "signed_root": json.loads((flow / tree / "root.json").read_text())}
        (flow / f"batch-{snapshot}l").write_text(json.dumps(item) + "\n")
        result = run(flow, "verify-batch", str(flow / f"batch-{snapshot}l"), "--vk",
                     str(flow / "cache" / CIRCUIT / "verification_key.json"), "--snapshot", str(flow / snapshot),
                     "--circuit", CIRCUIT, "--venue-key", str(flow / "venue.key.pub.json"),
                     "--report-dir", str(flow / f"report-{snapshot}"), "--json")
        assert result.exit_code == 0, result.output
        reports.append(json.loads((flow / f"report-{snapshot}" / "report.json").read_text()))
    assert [r["items"][0]["nullifier"] for r in reports] == [first[3], first[3]]
    opening = json.loads((flow / "opening.json").read_text())
    identity = int(identities["identity"])
    venue_knows = [int(opening["salt"]), int(opening["commitment"]), identity,
                   member_leaf(int(opening["commitment"]), identity)]
    assert str(nullifier(int(json.loads((flow / "sick-identity.json").read_text())["secret"]), int(SCOPE))) \
        != first[3]
    assert all(str(nullifier(value, int(SCOPE))) != first[3] for value in venue_knows)


def test_a_later_tree_that_gives_the_trader_a_new_identity_is_refused(flow, tmp_path):
    """Review of issue 22 item 2: with a new identity (a second `new-identity`, or the venue's slip) the trader's
    leaf under the next snapshot would give it fresh nullifiers in every scope, and a verifier counting accounts
    per scope would count it twice. The venue's registry refuses the tree: exit 2, nothing written."""
    fresh = run(tmp_path, "account", "new-identity", str(tmp_path / "fresh.json"), "--json")
    assert fresh.exit_code == 0, fresh.output
    lines = [json.loads(line) for line in (flow / "requests.jsonl").read_text().splitlines()]
    lines[0]["identity"] = json.loads(fresh.stdout)["identity"]
    (tmp_path / "requests.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    later = replace(sample_snapshot(), snapshot_id="later-again")
    (tmp_path / "later.json").write_text(json.dumps(snapshot_to_json(later)))
    recorded = (flow / "identities.json").read_bytes()
    refused = run(flow, "venue", "tree", str(tmp_path / "later.json"), str(tmp_path / "requests.jsonl"), "--key",
                  str(flow / "venue.key"), "--depth", str(DEPTH), "--out", str(tmp_path / "tree"),
                  "--identities", str(flow / "identities.json"))
    assert refused.exit_code == 2, refused.output
    assert "requests.jsonl:1: account 'trader-healthy' has identity" in refused.stderr
    assert not (tmp_path / "tree").exists() and (flow / "identities.json").read_bytes() == recorded


def test_membership_prove_without_keys_exits_2(flow, tmp_path):
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "empty"), "prove", str(flow / "healthy.json"),
                                      str(flow / "snapshot.json"), "--opening", str(flow / "opening.json"),
                                      "--context", CONTEXT, "--path", str(flow / "tree" / "paths.jsonl"),
                                      "--scope", SCOPE, "--identity", str(flow / "identity.json"),
                                      "--out", str(tmp_path / "p.json")])
    assert result.exit_code == 2 and f"no key bundle for {CIRCUIT}" in result.output
    assert not (tmp_path / "p.json").exists()


def test_an_unhealthy_member_gets_no_proof(flow):
    result = prove(flow, account="margin_call.json", opening="sick.json", identity="sick-identity.json",
                   out="sick-proof.json")
    assert result.exit_code == 1, result.output
    assert not (flow / "sick-proof.json").exists()


def test_verify_batch_takes_root_mode_items(flow):
    root_value, context, scope, nullifier_value = public_values(flow)[:4]
    proof = json.loads((flow / "proof.json").read_text())
    signed = json.loads((flow / "tree" / "root.json").read_text())
    good = {"id": "a", "root": root_value, "context": context, "scope": scope, "nullifier": nullifier_value,
            "proof": proof, "signed_root": signed}
    items = [good, {**good, "id": "again"}, {**good, "id": "forged", "nullifier": str(int(nullifier_value) + 1)},
             {k: v for k, v in {**good, "id": "unsigned"}.items() if k != "signed_root"},
             {**good, "id": "named", "commitment": "5"}]
    (flow / "batch.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    result = run(flow, "verify-batch", str(flow / "batch.jsonl"), "--vk",
                 str(flow / "cache" / CIRCUIT / "verification_key.json"), "--snapshot", str(flow / "snapshot.json"),
                 "--circuit", CIRCUIT, "--venue-key", str(flow / "venue.key.pub.json"),
                 "--report-dir", str(flow / "report"), "--json")
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    # "again" is "a" resubmitted: one duplicate (not a second valid proof), and a repeat of a's nullifier.
    assert (summary["valid"], summary["invalid"], summary["refused"], summary["malformed"],
            summary["duplicates"]) == (1, 1, 1, 1, 1)
    assert summary["mode"] == "membership" and summary["repeated_nullifiers"] == 1
    assert summary["invalid_ids"] == ["forged"] and summary["refused_ids"] == ["unsigned"]
    assert (flow / "report" / "report.csv").read_text().splitlines()[0].startswith("id,source,root,context,scope")


def test_plain_verify_batch_refuses_root_mode_items(flow):
    item = {"id": "x", "root": "1", "context": "1", "scope": "1", "nullifier": "1",
            "proof": json.loads((flow / "proof.json").read_text())}
    (flow / "plain-batch.jsonl").write_text(json.dumps(item) + "\n")
    assert run(flow, "setup", "--circuit", PLAIN).exit_code == 0
    result = run(flow, "verify-batch", str(flow / "plain-batch.jsonl"), "--vk",
                 str(flow / "cache" / PLAIN / "verification_key.json"), "--snapshot", str(flow / "snapshot.json"),
                 "--circuit", PLAIN, "--report-dir", str(flow / "report2"), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["malformed_ids"] == ["x"]
    report = json.loads((flow / "report2" / "report.json").read_text())
    assert "root-mode items need a membership circuit" in report["items"][0]["error"]


def test_model_option_keeps_the_membership_depth(flow):
    result = run(flow, "inspect", "--circuit", "cross-n2-k2-m2", "--model", "isolated", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["circuit_id"] == "isolated-n2-k2-m2"
    assert json.loads(result.stdout)["public_input_names"][:4] == ["root", "context", "scope", "nullifier"]


def test_verify_batch_in_membership_mode_needs_a_trusted_root(flow):
    """Roots read from the items alone could be trees the provers built: --root or --venue-key is required, and
    under --root an item naming another root is refused while the trusted one verifies."""
    root_value, context, scope, nullifier_value = public_values(flow)[:4]
    good = {"id": "a", "root": root_value, "context": context, "scope": scope, "nullifier": nullifier_value,
            "proof": json.loads((flow / "proof.json").read_text())}
    (flow / "root-batch.jsonl").write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "root": "7"}) + "\n")
    base = ["verify-batch", str(flow / "root-batch.jsonl"), "--vk",
            str(flow / "cache" / CIRCUIT / "verification_key.json"), "--snapshot", str(flow / "snapshot.json"),
            "--circuit", CIRCUIT, "--report-dir", str(flow / "report3")]
    unanchored = run(flow, *base)
    assert unanchored.exit_code == 2 and "--root" in unanchored.output and "--venue-key" in unanchored.output
    anchored = run(flow, *base, "--root", root_value, "--json")
    assert anchored.exit_code == 1, anchored.output
    summary = json.loads(anchored.stdout)
    assert (summary["valid"], summary["refused"]) == (1, 1) and summary["refused_ids"] == ["b"]
    plain = run(flow, "verify-batch", str(flow / "root-batch.jsonl"), "--vk", "x.json", "--snapshot", "s.json",
                "--circuit", PLAIN, "--root", "1")
    assert plain.exit_code == 2 and "not a membership circuit" in plain.output


@pytest.mark.parametrize("secret, message", [("0", "secret 0 is public"), (str(R), "must lie in"),
                                             ("abc", "not an integer")])
def test_an_identity_file_with_secret_zero_or_a_bad_secret_is_refused(tmp_path, secret, message):
    """Review (issue 22): secret 0 is public (anyone could compute the account's nullifiers); a secret >= r would
    alias secret - r. `prove --identity` refuses both before any work (exit 2)."""
    from zkmargin.cli.inputs import load_identity_secret
    from zkmargin.cli.output import CliError
    from zkmargin.errors import ZkMarginError

    path = tmp_path / "identity.json"
    path.write_text(json.dumps({"format": "zkmargin-identity/1", "secret": secret}))
    with pytest.raises((CliError, ZkMarginError), match=message):
        load_identity_secret(path)
