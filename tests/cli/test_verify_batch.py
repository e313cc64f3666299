"""`zkmargin verify-batch`: reports, exit codes, mixed snapshots, malformed lines."""

from __future__ import annotations

import base64
import csv
import json
import random

import pytest
from click.testing import CliRunner

from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.main import cli
from zkmargin.field import R, inv
from zkmargin.groth16 import Proof, setup
from zkmargin.groth16.serialization import proof_from_bytes, proof_to_bytes, proof_to_json, vk_to_json
from zkmargin.margin.models import snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot

CIRCUIT = "cross-n6-k4"


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    snapshot = sample_snapshot()
    pk = setup(circuit.compile(), random.Random(8), backend)
    (root / "vk.json").write_text(json.dumps(vk_to_json(pk.vk, backend, alphabeta=[])))
    (root / "snapshot.json").write_text(json.dumps(snapshot_to_json(snapshot)))
    proof, public = prove_account(circuit, pk, sample_account("healthy"), snapshot, 99, 5, backend)
    rng = random.Random(1)
    lines = []
    for i in range(12):
        t = rng.randrange(1, R)
        p = Proof(backend.g1_mul(proof.a, inv(t)), backend.g2_mul(proof.b, t), proof.c)
        item = {"id": f"acct-{i}", "commitment": str(public.commitment), "context": "5"}
        if i % 2:
            item["proof"] = proof_to_json(p, backend)
        else:
            item["proof_b64"] = base64.b64encode(proof_to_bytes(p, backend)).decode()
        lines.append(item)
    lines[3]["context"] = "6"  # a replayed proof under another context: invalid
    lines.append(dict(lines[1], id="acct-dup"))
    good = [json.dumps(x) for x in lines]
    (root / "good.jsonl").write_text("\n".join(json.dumps(x) for i, x in enumerate(lines) if i != 3) + "\n")
    (root / "mixed.jsonl").write_text("\n".join(good + [json.dumps(dict(lines[0], snapshot_id="other"))]) + "\n")
    (root / "with_bad.jsonl").write_text("\n".join(good + ["{not json", json.dumps({"id": "x", "commitment": "1"})]) + "\n")
    (root / "empty.jsonl").write_text("")
    return root


def run(root, *args):
    return CliRunner().invoke(
        cli, ["verify-batch", *args, "--vk", str(root / "vk.json"), "--snapshot", str(root / "snapshot.json"),
              "--circuit", CIRCUIT, "--report-dir", str(root / "report")], catch_exceptions=False)


def test_all_valid_batch_writes_reports(batch_dir):
    result = run(batch_dir, str(batch_dir / "good.jsonl"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["total"] == 12 and summary["valid"] == 11 and summary["duplicates"] == 1
    report = json.loads((batch_dir / "report" / "report.json").read_text())
    assert report["summary"]["snapshot"]["snapshot_id"] == "demo-2026-11-24T16:00Z"
    rows = list(csv.DictReader((batch_dir / "report" / "report.csv").open()))
    assert len(rows) == 12
    page = (batch_dir / "report" / "report.html").read_text()
    assert "acct-dup" in page and "<script" not in page and "http" not in page.split("<body>")[1]


def test_invalid_and_malformed_items_are_named_and_exit_1(batch_dir):
    result = run(batch_dir, str(batch_dir / "with_bad.jsonl"), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["invalid"], summary["malformed"]) == (1, 2)
    rows = {r["id"]: r for r in json.loads((batch_dir / "report" / "report.json").read_text())["items"]}
    assert rows["acct-3"]["valid"] is False and rows["acct-3"]["error"] is None
    assert "not valid JSON" in rows["line 14"]["error"]
    assert "context" in rows["x"]["error"]


def test_mixed_snapshots_are_refused(batch_dir):
    result = run(batch_dir, str(batch_dir / "mixed.jsonl"))
    assert result.exit_code == 2 and "mixed snapshots" in result.stderr


def test_empty_batch_is_bad_input_exit_2(batch_dir, tmp_path):
    result = run(batch_dir, str(batch_dir / "empty.jsonl"), "--json")
    assert result.exit_code == 2 and "is empty" in result.stderr
    assert json.loads(result.stdout)["error"]["message"].startswith("the batch")
    empty_dir = tmp_path / "none"
    empty_dir.mkdir()
    assert run(batch_dir, str(empty_dir)).exit_code == 2


def test_malformed_items_alone_exit_2_and_are_named(batch_dir, tmp_path):
    good = (batch_dir / "good.jsonl").read_text().splitlines()[:2]
    (tmp_path / "malformed.jsonl").write_text("\n".join(good + ["{not json", json.dumps({"id": "y", "commitment": "1"})]))
    result = run(batch_dir, str(tmp_path / "malformed.jsonl"))
    assert result.exit_code == 2, result.output
    assert "2 malformed" in result.stdout and "line 3 (not valid JSON" in result.stdout and "y (" in result.stdout


def test_terminal_summary_names_invalid_ids_and_duplicates(batch_dir):
    result = run(batch_dir, str(batch_dir / "with_bad.jsonl"))
    assert result.exit_code == 1
    assert "invalid: acct-3" in result.stdout
    assert "1 duplicate " in result.stdout and "acct-dup = acct-1" in result.stdout
    summary = json.loads(run(batch_dir, str(batch_dir / "with_bad.jsonl"), "--json").stdout)
    assert summary["invalid_ids"] == ["acct-3"] and summary["duplicate_ids"] == ["acct-dup"]


def test_directory_input(batch_dir, tmp_path):
    for i, line in enumerate((batch_dir / "good.jsonl").read_text().splitlines()[:3]):
        (tmp_path / f"{i}.json").write_text(line)
    result = run(batch_dir, str(tmp_path), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["valid"] == 3


def test_missing_input(batch_dir):
    result = run(batch_dir, str(batch_dir / "nope.jsonl"))
    assert result.exit_code == 2 and "not found" in result.stderr


# --- issue 22 item 8, issue 25 items 1, 4 and 7: counts on values, one outcome per item, --format, progress ---

NON_CANONICAL = [" +{v} ", "+{v}", "{v} ", "{u}", "0{v}", "0x0{h}", "0X{h}", "0x{H}", "{v}\n", "{v}.0", "-0"]
"""Texts of one number the service refuses (tests/verifier_service/test_hardening.py); {u}: with underscores."""


def number_forms(value: int) -> list[str]:
    text = str(value)
    underscored = "_".join(text[i:i + 3] for i in range(0, len(text), 3))
    forms = [form.format(v=text, u=underscored, h=f"{value:x}", H=f"{value:X}") for form in NON_CANONICAL]
    return [form for form in forms if form not in (text, hex(value))]  # 5 has no underscores, no upper case


def write_items(path, items) -> str:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in items))
    return str(path)


def good_items(batch_dir) -> list[dict]:
    return [json.loads(line) for line in (batch_dir / "good.jsonl").read_text().splitlines()]


def test_a_proof_resubmitted_in_hex_is_a_duplicate_not_a_second_valid_proof(batch_dir, tmp_path):
    """Decimal and 0x-hex are one value, base64 and snarkjs JSON one proof: each copy is a duplicate of the first."""
    first = good_items(batch_dir)[0]
    commitment, context = int(first["commitment"]), int(first["context"])
    backend = get_backend("arkworks")
    as_json = proof_to_json(proof_from_bytes(base64.b64decode(first["proof_b64"]), backend), backend)
    copies = [dict(first, id="hex-commitment", commitment=hex(commitment)),
              dict(first, id="hex-context", context=hex(context)),
              dict(first, id="both-hex", commitment=hex(commitment), context=hex(context)),
              {**{k: v for k, v in first.items() if k != "proof_b64"}, "id": "as-json", "proof": as_json}]
    result = run(batch_dir, write_items(tmp_path / "b.jsonl", [first, *copies]), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["valid"], summary["duplicates"], summary["total"]) == (1, 4, 5)
    assert summary["duplicate_ids"] == ["hex-commitment", "hex-context", "both-hex", "as-json"]
    rows = json.loads((batch_dir / "report" / "report.json").read_text())["items"]
    assert [r["duplicate_of"] for r in rows] == [None] + [first["id"]] * 4


def test_number_forms_the_service_refuses_are_malformed_items(batch_dir, tmp_path):
    """Sign, spaces, underscores, leading zeros, upper-case hex, JSON numbers: refused as the service refuses them."""
    first = good_items(batch_dir)[0]
    forms = number_forms(int(first["commitment"]))
    items = [first] + [dict(first, id=f"commitment-{i}", commitment=text) for i, text in enumerate(forms)]
    items += [dict(first, id=f"context-{i}", context=text) for i, text in enumerate(number_forms(5))]
    items += [dict(first, id="json-number", context=5), dict(first, id="json-bool", context=True)]
    result = run(batch_dir, write_items(tmp_path / "b.jsonl", items), "--json")
    assert result.exit_code == 2, result.output  # malformed items and no invalid proof: bad input
    summary = json.loads(result.stdout)
    assert (summary["valid"], summary["malformed"], summary["duplicates"]) == (1, len(items) - 1, 0), summary
    rows = json.loads((batch_dir / "report" / "report.json").read_text())["items"]
    for row in rows[1:]:
        assert ("canonical" in row["error"] or "must be a string" in row["error"]), row
        assert row["id"].split("-")[0] in row["error"] or row["id"].startswith("json")


def parse_text_summary(text: str) -> tuple[dict[str, int], dict[str, str]]:
    """(counts, the line of each outcome) from verify-batch's terminal summary."""
    import re

    first, *rest = text.splitlines()
    match = re.match(r"(\d+)/(\d+) valid, (\d+) invalid, (\d+) refused, (\d+) malformed, (\d+) duplicates? ", first)
    assert match, first
    counts = dict(zip(("valid", "total", "invalid", "refused", "malformed", "duplicates"), map(int, match.groups())))
    lines = {line.split(":")[0].split(" (")[0]: line for line in rest}
    return counts, lines


@pytest.fixture(scope="module")
def venue(batch_dir):
    """The venue's key (its public document in batch_dir) and its attestation of the batch's commitment."""
    from zkmargin.venue.attestation import VenueSigningKey, attest, attestation_to_json, public_key_to_json

    snapshot = sample_snapshot()
    key = VenueSigningKey.generate()
    (batch_dir / "venue.pub.json").write_text(json.dumps(public_key_to_json(key.public_key(snapshot.venue))))
    commitment = int(good_items(batch_dir)[0]["commitment"])
    return attestation_to_json(attest(key, snapshot, "acct", commitment))


@pytest.mark.parametrize("size", [10, 23])
def test_text_and_json_summaries_agree_on_a_mixed_batch(batch_dir, venue, tmp_path, size):
    """valid, invalid, refused (no attestation), malformed and duplicate items: one count per outcome in text and
    JSON, adding up to the total, each id under its own outcome (issue 25 item 1)."""
    good = [dict(x, attestation=venue) for x in good_items(batch_dir)[:11]]  # 11 distinct valid proofs
    named = {
        "bad-ctx": dict(good[0], id="bad-ctx", context="6"),
        "unattested": {k: v for k, v in good[1].items() if k != "attestation"} | {"id": "unattested"},
        "garbled": {"id": "garbled", "commitment": good[2]["commitment"], "context": "5"},
        "again": dict(good[3], id="again"),
        "again-hex": dict(good[3], id="again-hex", commitment=hex(int(good[3]["commitment"]))),
    }
    items = good[:4] + list(named.values()) + ["{not json"]
    if size == 23:
        items[4:4] = good[4:11]
        items += [{k: v for k, v in good[5].items() if k != "attestation"} | {"id": "no-att"},
                  dict(good[6], id="bad-ctx2", context="7"), dict(good[7], id="bad-ctx3", context="0x7"),
                  dict(good[8], id="copy"), dict(good[9], id="copy-hex-context", context="0x5"), {"id": "bare"}]
    assert len(items) == size
    path = write_items(tmp_path / "mixed.jsonl", items)
    text = run(batch_dir, path, "--venue-key", str(batch_dir / "venue.pub.json"))
    as_json = run(batch_dir, path, "--venue-key", str(batch_dir / "venue.pub.json"), "--json")
    assert text.exit_code == as_json.exit_code == 1, text.output
    summary = json.loads(as_json.stdout)
    counts, lines = parse_text_summary(text.stdout)
    names = ("valid", "invalid", "refused", "malformed", "duplicates")
    assert counts == {"total": len(items), **{name: summary[name] for name in names}}
    assert sum(summary[name] for name in names) == summary["total"] == len(items)
    assert [summary[name] for name in names] == ([4, 1, 1, 2, 2] if size == 10 else [11, 3, 2, 3, 4])
    assert "bad-ctx" in summary["invalid_ids"] and "unattested" in summary["refused_ids"]
    assert "garbled" in summary["malformed_ids"] and summary["duplicate_ids"][:2] == ["again", "again-hex"]
    listed = {"invalid": "invalid_ids", "refused": "refused_ids", "malformed": "malformed_ids",
              "duplicates": "duplicate_ids"}
    every_id = [i for key in listed.values() for i in summary[key]]
    assert len(every_id) == len(set(every_id)) == summary["total"] - summary["valid"]
    for heading, key in listed.items():
        ids = summary[key]
        if not ids:
            assert heading not in lines
            continue
        shown = lines[heading].split(": ", 1)[1]
        entries = [e.split(" (")[0].split(" = ")[0] for e in shown.split(", ") if not e.startswith("venue")]
        assert [e for e in entries if e in every_id] == ids, (heading, shown)


def test_format_chooses_the_report_files(batch_dir, tmp_path):
    path = str(batch_dir / "good.jsonl")
    for chosen, expected in [("csv", {"report.csv"}), ("json,html", {"report.json", "report.html"}),
                             ("none", set())]:
        out = tmp_path / chosen.replace(",", "-")
        result = CliRunner().invoke(cli, ["verify-batch", path, "--vk", str(batch_dir / "vk.json"), "--snapshot",
                                          str(batch_dir / "snapshot.json"), "--circuit", CIRCUIT, "--report-dir",
                                          str(out), "--format", chosen, "--json"])
        assert result.exit_code == 0, result.output
        written = {p.name for p in out.iterdir()} if out.exists() else set()
        assert written == expected
        assert {p.rsplit("/", 1)[-1] for p in json.loads(result.stdout)["reports"]} == expected
    repeated = run(batch_dir, path, "--format", "csv", "--format", "html", "--json")
    assert {p.rsplit("/", 1)[-1] for p in json.loads(repeated.stdout)["reports"]} == {"report.csv", "report.html"}
    for bad in ("pdf", "none,csv", ""):
        result = run(batch_dir, path, "--format", bad)
        assert result.exit_code == 2 and "--format" in result.stderr and "Traceback" not in result.output


def test_progress_bar_only_on_a_terminal_and_never_with_json(batch_dir, tmp_path, monkeypatch):
    """Piped (CliRunner's stderr is no terminal) or --json: nothing on stderr; on a terminal, the bar."""
    for i, line in enumerate((batch_dir / "good.jsonl").read_text().splitlines()[:3]):
        (tmp_path / f"{i}.json").write_text(line)
    for source in (str(batch_dir / "good.jsonl"), str(tmp_path)):
        piped = run(batch_dir, source)
        assert piped.exit_code == 0 and piped.stderr == "", piped.stderr
    import zkmargin.cli.batch as batch_module

    monkeypatch.setattr(batch_module, "_is_terminal", lambda stream: True)
    shown = run(batch_dir, str(tmp_path))
    assert shown.exit_code == 0 and "reading items" in shown.stderr and "decoding proofs" in shown.stderr
    quiet = run(batch_dir, str(tmp_path), "--json")
    assert quiet.exit_code == 0 and quiet.stderr == "" and json.loads(quiet.stdout)["valid"] == 3


# --- membership mode: repeats counted on values, the auditor's --scope -----------------------------------------

MEMBER = f"{CIRCUIT}-m2"
SCOPE = 4242


# The member's identity secret: its nullifier in a scope is the same for every proof it makes.
MEMBER_SECRET = 0xA11CE


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Keys for the depth-2 membership circuit, a tree of four leaves and three member proofs of one account:
    contexts 5 and 6 in SCOPE (one nullifier), context 5 in scope 7 (another)."""
    from zkmargin.circuits.proving import prove_member
    from zkmargin.gadgets.merkle import identity_commitment, member_leaf
    from zkmargin.venue.tree import MerklePath, MerkleTree

    root = tmp_path_factory.mktemp("members")
    backend = get_backend("arkworks")
    circuit = circuit_from_id(MEMBER)
    snapshot = sample_snapshot()
    pk = setup(circuit.compile(), random.Random(9), backend)
    (root / "vk.json").write_text(json.dumps(vk_to_json(pk.vk, backend, alphabeta=[])))
    (root / "snapshot.json").write_text(json.dumps(snapshot_to_json(snapshot)))
    account = sample_account("healthy")
    leaf = member_leaf(circuit.witness(account, snapshot, 99).commitment, identity_commitment(MEMBER_SECRET))
    tree = MerkleTree([11, leaf, 13, 17], 2)
    path = MerklePath(account.account_id, leaf, 1, tuple(tree.path(1)), tree.root, 2)
    proofs = {}
    for name, context, scope in (("a", 5, SCOPE), ("later", 6, SCOPE), ("elsewhere", 5, 7)):
        proof, public = prove_member(circuit, pk, account, snapshot, 99, context, path, scope, MEMBER_SECRET, backend)
        r, c, s, n = public.header
        proofs[name] = {"id": name, "root": str(r), "context": str(c), "scope": str(s), "nullifier": str(n),
                        "proof": proof_to_json(proof, backend)}
    return root, tree.root, proofs


def run_members(members, items, tmp_path, *args):
    root, tree_root, _ = members
    path = write_items(tmp_path / "members.jsonl", items)
    return CliRunner().invoke(
        cli, ["verify-batch", path, *args, "--vk", str(root / "vk.json"), "--snapshot", str(root / "snapshot.json"),
              "--circuit", MEMBER, "--root", str(tree_root), "--report-dir", str(tmp_path / "report"), "--json"],
        catch_exceptions=False)


def test_one_proof_four_times_in_one_scope_counts_on_values(members, tmp_path):
    """Issue 22 item 8: scope and nullifier as decimal, 0x-hex, with leading zeros and with underscores. Hex is the
    same value (a duplicate, and a repeat of the nullifier); the other two forms the service refuses: malformed."""
    a = members[2]["a"]
    scope, nullifier = int(a["scope"]), int(a["nullifier"])
    items = [a, dict(a, id="hex", scope=hex(scope), nullifier=hex(nullifier)),
             dict(a, id="zeros", scope=f"000{scope}", nullifier=f"00{nullifier}"),
             dict(a, id="underscores", scope=f"{scope:_}", nullifier=f"{nullifier:_}")]
    result = run_members(members, items, tmp_path)
    assert result.exit_code == 2, result.output  # malformed items and no invalid or refused proof
    summary = json.loads(result.stdout)
    assert [summary[k] for k in ("valid", "duplicates", "malformed", "repeated_nullifiers")] == [1, 1, 2, 1]
    assert summary["duplicate_ids"] == ["hex"] and summary["repeated_nullifier_ids"] == ["hex"]
    assert summary["malformed_ids"] == ["zeros", "underscores"]


def test_the_same_account_again_with_another_proof_is_a_repeat_not_a_duplicate(members, tmp_path):
    proofs = members[2]
    result = run_members(members, [proofs["a"], proofs["later"], proofs["elsewhere"]], tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [summary[k] for k in ("valid", "duplicates", "repeated_nullifiers")] == [3, 0, 1]
    assert summary["repeated_nullifier_ids"] == ["later"]  # "elsewhere" is another scope: another nullifier


def test_scope_option_lets_the_auditor_choose_the_scope(members, tmp_path):
    """--scope: items may leave the scope out; an item for another scope is refused and named (exit 1)."""
    proofs = members[2]
    bare = {k: v for k, v in proofs["later"].items() if k != "scope"} | {"id": "bare"}
    items = [proofs["a"], bare, proofs["elsewhere"], dict(proofs["a"], id="hex-scope", scope=hex(SCOPE))]
    result = run_members(members, items, tmp_path, "--scope", str(SCOPE))
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert [summary[k] for k in ("valid", "refused", "duplicates", "malformed")] == [2, 1, 1, 0]
    assert summary["refused_ids"] == ["elsewhere"] and summary["scope"] == str(SCOPE)
    rows = {r["id"]: r for r in json.loads((tmp_path / "report" / "report.json").read_text())["items"]}
    assert "scope 7 is not the scope this verifier chose (4242)" in rows["elsewhere"]["refused"]
    assert rows["bare"]["outcome"] == "valid" and rows["bare"]["scope"] == str(SCOPE)
    without = run_members(members, [bare], tmp_path)  # no --scope: the item must name its scope
    assert without.exit_code == 2 and json.loads(without.stdout)["malformed_ids"] == ["bare"]
    assert json.loads((tmp_path / "report" / "report.json").read_text())["items"][0]["error"] == "scope: missing"
    for bad in ("0x0ff", "1_0", "-1", str(R)):
        refused = run_members(members, [proofs["a"]], tmp_path, "--scope", bad)
        assert refused.exit_code == 2 and "--scope" in refused.output, refused.output


@pytest.mark.parametrize("bad", ["0x0ff", "1_0", " 7", "-1", "0X7"])
def test_root_option_takes_only_the_canonical_text(members, tmp_path, bad):
    root, _, proofs = members
    result = CliRunner().invoke(
        cli, ["verify-batch", write_items(tmp_path / "m.jsonl", [proofs["a"]]), "--vk", str(root / "vk.json"),
              "--snapshot", str(root / "snapshot.json"), "--circuit", MEMBER, "--root", bad,
              "--report-dir", str(tmp_path / "report")])
    assert result.exit_code == 2 and "--root" in result.stderr and "canonical" in result.stderr
    assert not (tmp_path / "report").exists()


def test_scope_option_needs_a_membership_circuit(batch_dir):
    result = run(batch_dir, str(batch_dir / "good.jsonl"), "--scope", "7")
    assert result.exit_code == 2 and "--scope" in result.stderr and "not a membership circuit" in result.stderr


def test_snapshot_verifier_refuses_another_scope(members):
    """The library decides: SnapshotVerifier(scope=S) refuses a membership proof for another scope."""
    from zkmargin.circuits.verification import ProofItem, SnapshotVerifier
    from zkmargin.errors import WrongScopeError
    from zkmargin.groth16.serialization import proof_from_json, vk_from_json

    root, tree_root, proofs = members
    backend = get_backend("arkworks")
    vk = vk_from_json(json.loads((root / "vk.json").read_text()), backend)
    verifier = SnapshotVerifier(circuit_from_id(MEMBER), vk, sample_snapshot(), backend, root=tree_root, scope=SCOPE)
    values = {name: [int(p[k]) for k in ("root", "context", "scope", "nullifier")] for name, p in proofs.items()}
    decoded = {name: proof_from_json(p["proof"], backend) for name, p in proofs.items()}
    assert verifier.verify_member(*values["a"], decoded["a"]) is True
    with pytest.raises(WrongScopeError, match="not the scope this verifier chose"):
        verifier.verify_member(*values["elsewhere"], decoded["elsewhere"])
    assert verifier.with_root(tree_root).verify_member(*values["later"], decoded["later"]) is True
    items = [ProofItem(context=v[1], proof=decoded[n], label=n, root=v[0], scope=v[2], nullifier=v[3])
             for n, v in values.items()]
    assert [v.outcome for v in verifier.verify_batch(items).verdicts] == ["valid", "valid", "refused"]
