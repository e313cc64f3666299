"""Schema migrations on a database made by the previous release (SQLite file and PostgreSQL): the new receipt
and snapshot columns are added once, old rows keep their meaning, and nullifiers are reported, never hidden."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zkmargin.verifier_service.repository import MIGRATIONS, BookRecord, ReceiptRecord, Repository
from zkmargin.verifier_service.storage import Storage

# The schema as the release before signed snapshots created it, and one row of each kind. A frozen copy on
# purpose, not repository.SCHEMA: were the first release's tables edited there, an old database and a fresh
# one would no longer migrate to the same schema, and this test must notice.
PREVIOUS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS revoked_keys (
        key_id TEXT PRIMARY KEY, revoked_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS circuits (
        circuit_id TEXT PRIMARY KEY, verification_key TEXT NOT NULL, num_public INTEGER NOT NULL,
        vk_digest TEXT NOT NULL, registered_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS snapshots (
        snapshot_id TEXT PRIMARY KEY, document TEXT NOT NULL, venue TEXT NOT NULL, digest TEXT NOT NULL,
        published_by TEXT NOT NULL, published_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS receipts (
        receipt_id TEXT PRIMARY KEY, circuit_id TEXT NOT NULL, snapshot_id TEXT NOT NULL,
        commitment TEXT NOT NULL, context TEXT NOT NULL, proof TEXT NOT NULL, valid INTEGER NOT NULL,
        reason TEXT NOT NULL, input_digest TEXT NOT NULL, checked_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS venue_keys (
        venue TEXT PRIMARY KEY, document TEXT NOT NULL, key_id TEXT NOT NULL, registered_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS receipt_attestations (
        receipt_id TEXT PRIMARY KEY, attestation TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS circuit_transcripts (
        circuit_id TEXT PRIMARY KEY, document TEXT NOT NULL, contributions TEXT NOT NULL)""",
    "INSERT INTO snapshots VALUES ('snap-1', '{}', 'example-exchange', 'ab', 'k', 't')",
    "INSERT INTO receipts VALUES ('old-receipt', 'cross-n6-k4', 'snap-1', '1001', '7', 'ff', 1, 'ok', 'dd', 't')",
)


LATEST = 5
"""The schema version this code migrates to."""


def previous_release_database(url: str) -> Storage:
    storage = Storage(url)
    with storage.transaction() as cursor:
        for statement in PREVIOUS_SCHEMA:
            cursor.execute(statement)
    return storage


def anonymous(receipt_id: str, valid: bool = True, scope: str = "5", nullifier: str = "77",
              root_id: str = "r1", circuit_id: str = "cross-n6-k4-m8", verifier: str | None = "k1") -> ReceiptRecord:
    # Each receipt its own input digest: only the nullifier repeats, as with a fresh context per showing.
    return ReceiptRecord(receipt_id, circuit_id, "snap-1", "ab", None, "7", "ff", valid, "ok", f"d-{receipt_id}", "t",
                         mode="anonymous", root_id=root_id, scope=scope, nullifier=nullifier, venue="example-exchange",
                         verifier=verifier)


def test_a_previous_release_database_is_migrated_once_and_keeps_its_rows(database_url):
    storage = previous_release_database(database_url)
    repository = Repository(storage)
    assert repository.schema_version() == MIGRATIONS[-1][0] == LATEST
    old = repository.receipt("old-receipt")
    assert old is not None and (old.mode, old.commitment, old.root_id, old.nullifier, old.nullifier_seen_before) == (
        "named", "1001", None, None, None)
    assert old.venue == "example-exchange"  # the venue of the snapshot it names
    # stored before signatures: shown as unsigned
    assert repository.snapshot("example-exchange", "snap-1").signature is None
    # Starting again (another worker, a restart) applies nothing twice.
    again = Repository(Storage(database_url))
    assert again.schema_version() == LATEST and again.receipt("old-receipt") == old
    rows = again.storage.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    assert rows == [(version,) for version in range(1, LATEST + 1)]


def test_a_fresh_database_gets_the_same_schema(database_url):
    repository = Repository(Storage(database_url))
    # The same path as an old database: the first release's tables, then every migration.
    assert repository.schema_version() == LATEST
    repository.storage.execute("INSERT INTO snapshots (snapshot_id, document, venue, digest, published_by,"
                               " published_at) VALUES ('snap-1', '{}', 'example-exchange', 'ab', 'k', 't')")
    stored = repository.insert_receipts([anonymous("a1")])
    assert stored[0].nullifier_seen_before is False
    assert repository.receipt("a1") == stored[0]


def test_a_nullifier_seen_before_in_the_same_scope_is_reported(database_url):
    repository = Repository(previous_release_database(database_url))
    first, second = repository.insert_receipts([anonymous("a1"), anonymous("a2")])  # twice in one batch
    assert (first.nullifier_seen_before, second.nullifier_seen_before) == (False, True)
    assert repository.insert_receipts([anonymous("a3")])[0].nullifier_seen_before is True  # a later request
    for receipt_id, changes in (("b1", {"scope": "6"}), ("b3", {"nullifier": "78"})):
        assert repository.insert_receipts([anonymous(receipt_id, **changes)])[0].nullifier_seen_before is False
    # The nullifier is Poseidon(identity secret, scope) whatever the tree: under another root or circuit it is the same account.
    for receipt_id, changes in (("b2", {"root_id": "r2"}), ("b4", {"circuit_id": "isolated-n6-k4-m8"})):
        assert repository.insert_receipts([anonymous(receipt_id, **changes)])[0].nullifier_seen_before is True
    # An invalid proof neither counts as a showing nor is told about earlier ones.
    invalid = repository.insert_receipts([anonymous("c1", valid=False, nullifier="99")])[0]
    assert invalid.nullifier_seen_before is None
    assert repository.insert_receipts([anonymous("c2", nullifier="99")])[0].nullifier_seen_before is False
    stored = repository.receipt("a2")
    assert (stored.mode, stored.commitment, stored.root_id, stored.scope, stored.nullifier,
            stored.nullifier_seen_before) == ("anonymous", None, "r1", "5", "77", True)


def test_a_migration_that_fails_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    """Each migration runs in one transaction with its version row: a failure part way applies nothing."""
    url = f"sqlite:///{tmp_path}/old.db"
    previous_release_database(url)
    import zkmargin.verifier_service.repository as repository_module

    broken = ((1, (*MIGRATIONS[0][1][:3], "ALTER TABLE no_such_table ADD COLUMN x TEXT")),)
    monkeypatch.setattr(repository_module, "MIGRATIONS", broken)
    with pytest.raises(Exception):  # noqa: B017 - the driver's error; what matters is what was left behind
        Repository(Storage(url))
    monkeypatch.undo()
    columns = [row[1] for row in Storage(url).fetch_all("PRAGMA table_info(receipts)")]
    assert "mode" not in columns
    assert Repository(Storage(url)).receipt("old-receipt").mode == "named"


def test_workers_starting_together_migrate_once(database_url):
    """Workers share the database: each applies what is missing under the schema lock, none applies it twice."""
    from concurrent.futures import ThreadPoolExecutor

    previous_release_database(database_url)
    with ThreadPoolExecutor(max_workers=4) as pool:
        versions = list(pool.map(lambda _: Repository(Storage(database_url)).schema_version(), range(4)))
    assert versions == [LATEST] * 4
    assert Storage(database_url).fetch_all("SELECT version FROM schema_migrations ORDER BY version") == [
        (version,) for version in range(1, LATEST + 1)]


def test_racing_showings_of_one_nullifier_are_reported_exactly_once_as_first(database_url):
    """Requests racing on several workers: exactly one receipt is the first showing, every other one says seen."""
    from concurrent.futures import ThreadPoolExecutor

    previous_release_database(database_url)
    Repository(Storage(database_url))

    def show(index: int) -> bool | None:
        # A repository per thread, as in separate worker processes (each with its own connections).
        return Repository(Storage(database_url)).insert_receipts([anonymous(f"race-{index}")])[0].nullifier_seen_before

    with ThreadPoolExecutor(max_workers=6) as pool:
        seen = list(pool.map(show, range(12)))
    assert sorted(seen) == [False] + [True] * 11


def test_first_showings_recorded_per_circuit_and_root_are_kept_by_migration_2(database_url):
    """A database at version 1 holds first showings per (circuit, root, scope): after migration 2 each
    (scope, nullifier) among them reads as seen, whichever root shows it next."""
    storage = previous_release_database(database_url)
    import zkmargin.verifier_service.repository as repository_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repository_module, "MIGRATIONS", repository_module.MIGRATIONS[:1])
        assert Repository(storage).schema_version() == 1
    # As version 1's insert_receipts recorded two first showings of one nullifier under two roots.
    for receipt_id, root_id in (("v1-a", "r1"), ("v1-b", "r2")):
        storage.execute("INSERT INTO nullifiers (circuit_id, root_id, scope, nullifier, first_receipt_id)"
                        " VALUES (?, ?, ?, ?, ?)", ("cross-n6-k4-m8", root_id, "5", "77", receipt_id))
    repository = Repository(Storage(database_url))
    assert repository.schema_version() == LATEST
    # Migration 2 kept the first showing per (scope, nullifier); migration 4 keeps it under no verifier's key.
    assert storage.fetch_all("SELECT verifier, first_receipt_id FROM verifier_nullifiers WHERE scope = '5'") == [
        ("", "v1-a")]
    # Whose showing it was is not known: it counts for no verifier.
    assert repository.insert_receipts([anonymous("v2", root_id="r3")])[0].nullifier_seen_before is False


def named(receipt_id: str, verifier: str | None, valid: bool = True, digest: str = "same") -> ReceiptRecord:
    return ReceiptRecord(receipt_id, "cross-n6-k4", "snap-1", "ab", "1001", "7", "ff", valid, "ok", digest, "t",
                         venue="example-exchange", verifier=verifier)


def test_showings_and_repeats_count_in_their_verifiers_history_only(database_url):
    """Whoever holds another verifier's proof can submit it first: that must not make it look repeated to the
    rightful verifier. Without a key there is no history to read or write."""
    repository = Repository(previous_release_database(database_url))
    stolen = repository.insert_receipts([anonymous("x1", verifier="attacker")])[0]
    assert (stolen.nullifier_seen_before, stolen.seen_before) == (False, False)
    keyless = repository.insert_receipts([anonymous("x2", verifier=None)])[0]
    assert (keyless.nullifier_seen_before, keyless.seen_before) == (None, None)
    first, again = repository.insert_receipts([anonymous("k-1"), anonymous("k-2")])
    assert (first.nullifier_seen_before, again.nullifier_seen_before) == (False, True)
    # Named mode: the same inputs and proof (one input digest) again, per key; invalid proofs never count.
    seen = [r.seen_before for r in repository.insert_receipts(
        [named("n1", "attacker"), named("n2", "k1"), named("n3", "k1"), named("n4", None), named("n5", "k1", False),
         named("n6", "k1", digest="other")])]
    assert seen == [False, False, True, None, None, False]
    stored = repository.receipt("n3")
    assert stored.seen_before is True and stored.verifier is None and stored.nullifier_seen_before is None
    assert repository.receipt("k-2").nullifier_seen_before is True


def test_racing_showings_of_one_nullifier_under_different_roots_are_reported_exactly_once_as_first(database_url):
    """The uniqueness that makes "first" atomic is per (scope, nullifier), not per root."""
    from concurrent.futures import ThreadPoolExecutor

    previous_release_database(database_url)
    Repository(Storage(database_url))

    def show(index: int) -> bool | None:
        return Repository(Storage(database_url)).insert_receipts(
            [anonymous(f"race-{index}", root_id=f"root-{index}")])[0].nullifier_seen_before

    with ThreadPoolExecutor(max_workers=6) as pool:
        seen = list(pool.map(show, range(12)))
    assert sorted(seen) == [False] + [True] * 11


def test_a_database_of_global_snapshot_ids_finds_its_snapshots_receipts_and_roots_under_their_venue(database_url):
    """A database at version 2 (one snapshot id for all venues): after migration 3 each snapshot, receipt and root
    is found under its venue, and another venue may publish an id already taken without touching them."""
    from zkmargin.verifier_service.repository import SnapshotRecord

    storage = previous_release_database(database_url)
    import zkmargin.verifier_service.repository as repository_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repository_module, "MIGRATIONS", repository_module.MIGRATIONS[:2])
        assert Repository(storage).schema_version() == 2
    # As version 2 stored them: another venue's signed snapshot, its root and an anonymous receipt under it.
    storage.execute("INSERT INTO snapshots (snapshot_id, document, venue, digest, published_by, published_at,"
                    " signature) VALUES ('snap-2', '{}', 'rival', 'cd', 'k', 't', '{\"sig\":1}')")
    storage.execute("INSERT INTO roots (root_id, snapshot_id, venue, root, depth, leaf_count, document, registered_by,"
                    " registered_at) VALUES ('r9', 'snap-2', 'rival', '5', 4, 3, '{}', 'k', 't')")
    storage.execute("INSERT INTO receipts (receipt_id, circuit_id, snapshot_id, commitment, context, proof, valid,"
                    " reason, input_digest, checked_at, mode, root_id, scope, nullifier, nullifier_seen_before)"
                    " VALUES ('anon', 'cross-n6-k4-m4', 'snap-2', '', '7', 'ff', 1, 'ok', 'ee', 't', 'anonymous', 'r9',"
                    " '5', '77', 0)")
    repository = Repository(Storage(database_url))
    assert repository.schema_version() == LATEST
    assert repository.snapshot("example-exchange", "snap-1").digest == "ab"
    assert repository.snapshot("rival", "snap-2").signature == '{"sig":1}'
    assert repository.snapshot("rival", "snap-1") is None and repository.snapshot_venues("snap-2") == ["rival"]
    old, anon = repository.receipt("old-receipt"), repository.receipt("anon")
    assert (old.venue, old.snapshot_id, old.snapshot_digest, old.mode) == ("example-exchange", "snap-1", "ab", "named")
    assert (anon.venue, anon.snapshot_digest, anon.root_id, anon.nullifier_seen_before) == ("rival", "cd", "r9", False)
    assert repository.root("r9").venue == "rival"
    # The rival publishes its own snap-1: a second snapshot, not a conflict; the old receipt still reads its own.
    assert repository.insert_snapshot(SnapshotRecord("snap-1", "rival", "ef", "k", "t", "{}"))
    assert not repository.insert_snapshot(SnapshotRecord("snap-1", "example-exchange", "ef", "k", "t", "{}"))
    assert repository.snapshot_venues("snap-1") == ["example-exchange", "rival"]
    assert repository.receipt("old-receipt").snapshot_digest == "ab"


def test_a_previous_release_database_gains_books_that_are_never_replaced(database_url):
    repository = Repository(previous_release_database(database_url))
    book = BookRecord("example-exchange", "snap-1", "book-cross-n1-k1-b2", "7", '{"a":1}', None, "k", "t")
    assert repository.book("example-exchange", "snap-1") is None
    assert repository.insert_book(book) is None
    other = replace(book, document='{"a":2}', published_at="t2")
    assert repository.insert_book(other) == book
    assert Repository(repository.storage).book("example-exchange", "snap-1") == book
