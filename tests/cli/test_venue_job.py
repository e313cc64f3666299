"""zkmargin.circuits.venue_job.run_venue called as a library function (no click): its summary is what it wrote."""

from __future__ import annotations

import json

from tests.cli.venue_run_helpers import CIRCUIT, check_bundles, write_accounts
from zkmargin.backends import get_backend
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.venue_job import run_venue
from zkmargin.cli.keystore import KeyStore
from zkmargin.margin.models import load_snapshot
from zkmargin.venue.attestation import VenueSigningKey


def test_run_venue_returns_the_summary_it_wrote_and_resumes(venue):
    backend = get_backend("arkworks")
    store = KeyStore(venue / "cache", circuit_from_id(CIRCUIT), venue / "cache" / CIRCUIT)
    pk, pk_bytes = store.load_proving_key_and_bytes(backend)
    write_accounts(venue / "lib.jsonl", range(1, 12), extra=["{not json"])  # acct-10 is under margin call
    out = venue / "out-lib"
    kwargs = dict(circuit_id=CIRCUIT, pk=pk, pk_bytes=pk_bytes, vk_digest=store.recorded_digest(),
                  signing_key=VenueSigningKey.from_pem((venue / "venue.key").read_bytes()), backend=backend,
                  depth=8, workers=1)
    seen: list[tuple[str, int, int]] = []
    notes: list[str] = []
    result = run_venue(venue / "lib.jsonl", load_snapshot(venue / "snapshot.json"), out,
                       progress=lambda phase, done, total: seen.append((phase, done, total)), note=notes.append,
                       **kwargs)

    assert result.summary == json.loads((out / "summary.json").read_text())
    assert result.root == int(json.loads((out / "root.json").read_text())["root"])
    assert str(result.root) == result.summary["root"]
    healthy = {f"acct-{i}" for i in range(1, 12) if i != 10}
    assert result.proved == result.summary["accounts"]["proved_now"] == len(healthy)
    assert result.failed == [] and result.summary["failed"] == []
    assert result.malformed == result.summary["malformed"] and len(result.malformed) == 1
    assert not result.complete  # the malformed line
    assert [c["account_id"] for c in json.loads((out / "margin_calls.json").read_text())] == ["acct-10"]
    batch_ids = {json.loads(line)["id"] for line in (out / "batch.jsonl").read_text().splitlines()}
    assert batch_ids == healthy
    check_bundles(venue, out, healthy)
    assert seen[-1] == ("proving", len(healthy), len(healthy))
    assert ("committing", 11, 11) in seen

    notes.clear()
    again = run_venue(venue / "lib.jsonl", load_snapshot(venue / "snapshot.json"), out, **kwargs)
    assert again.root == result.root and again.proved == 0
    assert again.summary["accounts"]["already_done"] == len(healthy)
    assert again.summary == json.loads((out / "summary.json").read_text())
