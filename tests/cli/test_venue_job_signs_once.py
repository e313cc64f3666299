"""run_venue signs each healthy account's attestation once per run, fresh or resumed (issue 27 debts, item 8)."""

from __future__ import annotations

import zkmargin.circuits.venue_job as venue_job
from tests.cli.venue_run_helpers import CIRCUIT, check_bundles, write_accounts
from zkmargin.backends import get_backend
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.keystore import KeyStore
from zkmargin.margin.models import load_snapshot
from zkmargin.venue.attestation import VenueSigningKey
from zkmargin.venue.run import bundle_file_name


def test_each_bundle_is_signed_once_fresh_and_on_resume(venue, monkeypatch):
    backend = get_backend("arkworks")
    store = KeyStore(venue / "cache", circuit_from_id(CIRCUIT), venue / "cache" / CIRCUIT)
    pk, pk_bytes = store.load_proving_key_and_bytes(backend)
    write_accounts(venue / "once.jsonl", range(1, 4))
    out = venue / "out-once"
    signed: list[str] = []
    original = venue_job.attest

    def counting(key, snapshot, account_id, commitment):
        signed.append(account_id)
        return original(key, snapshot, account_id, commitment)

    monkeypatch.setattr(venue_job, "attest", counting)

    def run():
        return venue_job.run_venue(
            venue / "once.jsonl", load_snapshot(venue / "snapshot.json"), out, circuit_id=CIRCUIT, pk=pk,
            pk_bytes=pk_bytes, vk_digest=store.recorded_digest(),
            signing_key=VenueSigningKey.from_pem((venue / "venue.key").read_bytes()), backend=backend, depth=4,
            workers=1)

    healthy = {"acct-1", "acct-2", "acct-3"}
    assert run().proved == 3
    assert sorted(signed) == sorted(healthy)
    check_bundles(venue, out, healthy)

    signed.clear()
    (out / "bundles" / bundle_file_name("acct-2")).unlink()  # resumed: one bundle to make again
    again = run()
    assert (again.proved, again.summary["accounts"]["already_done"]) == (1, 2)
    assert sorted(signed) == sorted(healthy)  # each checked against its signed form, acct-2 written from it
    check_bundles(venue, out, healthy)
