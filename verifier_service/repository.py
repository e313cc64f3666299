"""All of the service's SQL: the schema and one method per query, over typed records.

Rows are read by column name into frozen dataclasses, never by position. The same SQL runs
on SQLite and PostgreSQL (storage.py swaps the placeholders). Methods return records, None
for an absent row, or a bool for "inserted"; they raise only the storage errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any, TypeVar

from zkmargin.verifier_service.storage import Storage

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    # A table of its own rather than a column: CREATE TABLE IF NOT EXISTS upgrades an existing
    # database on both drivers, where ADD COLUMN IF NOT EXISTS is PostgreSQL's alone.
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
    # Tables of their own (see revoked_keys): receipts made before attestations existed stay as they are.
    """CREATE TABLE IF NOT EXISTS receipt_attestations (
        receipt_id TEXT PRIMARY KEY, attestation TEXT NOT NULL)""",
    # A table of its own (see revoked_keys): keys registered before ceremonies existed are single-party.
    """CREATE TABLE IF NOT EXISTS circuit_transcripts (
        circuit_id TEXT PRIMARY KEY, document TEXT NOT NULL, contributions TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)""",
)

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    # Signed snapshots, signed roots and anonymous (membership) receipts. Columns are added to the
    # tables they describe; a database made before this version gets them here, in one transaction
    # with its version row, so a crash leaves it either migrated or untouched. Rows from before keep
    # their meaning: an unsigned (legacy) snapshot, a named receipt.
    (1, (
        "ALTER TABLE snapshots ADD COLUMN signature TEXT",
        "ALTER TABLE receipts ADD COLUMN mode TEXT NOT NULL DEFAULT 'named'",
        "ALTER TABLE receipts ADD COLUMN root_id TEXT",
        "ALTER TABLE receipts ADD COLUMN scope TEXT",
        "ALTER TABLE receipts ADD COLUMN nullifier TEXT",
        "ALTER TABLE receipts ADD COLUMN nullifier_seen_before INTEGER",
        """CREATE TABLE roots (
            root_id TEXT PRIMARY KEY, snapshot_id TEXT NOT NULL, venue TEXT NOT NULL, root TEXT NOT NULL,
            depth INTEGER NOT NULL, leaf_count INTEGER NOT NULL, document TEXT NOT NULL,
            registered_by TEXT NOT NULL, registered_at TEXT NOT NULL)""",
        # The first valid proof of each nullifier per (circuit, root, scope): its primary key makes
        # "seen before" one atomic insert on both databases, even with workers racing.
        """CREATE TABLE nullifiers (
            circuit_id TEXT NOT NULL, root_id TEXT NOT NULL, scope TEXT NOT NULL, nullifier TEXT NOT NULL,
            first_receipt_id TEXT NOT NULL, PRIMARY KEY (circuit_id, root_id, scope, nullifier))""",
    )),
    # A nullifier is Poseidon(identity secret, scope) whatever the root or circuit: counted per (circuit, root, scope), one
    # account showed twice in a scope unnoticed under a second root of its snapshot (another depth, a re-signed
    # leaf count). The first valid showing per (scope, nullifier), as verify-batch counts repeats.
    (2, (
        """CREATE TABLE scope_nullifiers (
            scope TEXT NOT NULL, nullifier TEXT NOT NULL, first_receipt_id TEXT NOT NULL,
            PRIMARY KEY (scope, nullifier))""",
        "INSERT INTO scope_nullifiers (scope, nullifier, first_receipt_id)"
        " SELECT scope, nullifier, MIN(first_receipt_id) FROM nullifiers GROUP BY scope, nullifier",
        "DROP TABLE nullifiers",
    )),
    # Snapshot ids in each venue's own namespace: with one global id, a venue that published its own snapshot
    # under another venue's id first blocked the rightful one (409) and lent its prices to that id. The table is
    # rebuilt keyed by (venue, snapshot_id) (SQLite cannot change a primary key in place); receipts learn the
    # venue of the snapshot they name, while ids were still unique.
    (3, (
        "ALTER TABLE receipts ADD COLUMN venue TEXT",
        "UPDATE receipts SET venue = (SELECT s.venue FROM snapshots s WHERE s.snapshot_id = receipts.snapshot_id)",
        """CREATE TABLE venue_snapshots (
            venue TEXT NOT NULL, snapshot_id TEXT NOT NULL, document TEXT NOT NULL, digest TEXT NOT NULL,
            published_by TEXT NOT NULL, published_at TEXT NOT NULL, signature TEXT,
            PRIMARY KEY (venue, snapshot_id))""",
        "INSERT INTO venue_snapshots (venue, snapshot_id, document, digest, published_by, published_at, signature)"
        " SELECT venue, snapshot_id, document, digest, published_by, published_at, signature FROM snapshots",
        "DROP TABLE snapshots",
        "ALTER TABLE venue_snapshots RENAME TO snapshots",
    )),
    # Showings per verifier: first showings counted across every client let whoever held another verifier's proof
    # submit it first, and the rightful verifier then read "seen before". History is kept per API key (the
    # verifier); showings recorded before carry no key and are kept under '' (no key has that id: they count for
    # nobody). Receipts learn whether their verifier had verified the same inputs and proof before.
    (4, (
        "ALTER TABLE receipts ADD COLUMN seen_before INTEGER",
        """CREATE TABLE verifier_nullifiers (
            verifier TEXT NOT NULL, scope TEXT NOT NULL, nullifier TEXT NOT NULL, first_receipt_id TEXT NOT NULL,
            PRIMARY KEY (verifier, scope, nullifier))""",
        "INSERT INTO verifier_nullifiers (verifier, scope, nullifier, first_receipt_id)"
        " SELECT '', scope, nullifier, first_receipt_id FROM scope_nullifiers",
        "DROP TABLE scope_nullifiers",
        # A valid verification's input_digest covers (circuit, snapshot, commitment or root/scope/nullifier,
        # context, proof): the same digest is the same statement and proof again.
        """CREATE TABLE verifier_proofs (
            verifier TEXT NOT NULL, input_digest TEXT NOT NULL, first_receipt_id TEXT NOT NULL,
            PRIMARY KEY (verifier, input_digest))""",
    )),
    # Venue books (proof of liabilities): one per (venue, snapshot), stored only once every batch proof and the
    # top verified; never replaced, so a venue cannot swap the book its traders checked.
    (5, (
        """CREATE TABLE books (
            venue TEXT NOT NULL, snapshot_id TEXT NOT NULL, circuit_id TEXT NOT NULL, root TEXT NOT NULL,
            document TEXT NOT NULL, reserves TEXT, published_by TEXT NOT NULL, published_at TEXT NOT NULL,
            PRIMARY KEY (venue, snapshot_id))""",
    )),
)
"""Schema changes after the first release, applied once each, in order, on start."""

_CIRCUIT_COLUMNS = (
    "SELECT c.circuit_id, c.num_public, c.vk_digest, c.registered_at, t.contributions FROM circuits c"
    " LEFT JOIN circuit_transcripts t ON t.circuit_id = c.circuit_id")

# Any constant works; it only has to be the same in every worker creating the schema.
_SCHEMA_LOCK_ID = 0x7A6B6D61


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key: only the SHA-256 of its secret is kept; revoked_at is set once revoked."""

    key_id: str
    key_hash: str
    role: str
    name: str
    created_at: str
    revoked_at: str | None = None


@dataclass(frozen=True)
class CircuitRecord:
    """A registered circuit (the verification key itself is read by circuit_key)."""

    circuit_id: str
    num_public: int
    vk_digest: str
    registered_at: str
    contributions: str | None = None
    """The checked transcript's entries (JSON text, as zkmargin.groth16.zkey.transcript_entries gives them);
    None for a single-party key."""


@dataclass(frozen=True)
class TranscriptRecord:
    """A circuit key's phase-2 transcript: the document as registered and its checked entries (JSON texts)."""

    document: str
    contributions: str


@dataclass(frozen=True)
class SnapshotRecord:
    """A published snapshot; document is its canonical JSON text."""

    snapshot_id: str
    venue: str
    digest: str
    published_by: str
    published_at: str
    document: str
    signature: str | None = None
    """The venue's zkmargin-snapshot-signature/1 JSON text; None for a snapshot stored before signatures were required."""


@dataclass(frozen=True)
class RootRecord:
    """A venue's signed Merkle root over the account commitments of a stored snapshot."""

    root_id: str
    snapshot_id: str
    venue: str
    root: str
    depth: int
    leaf_count: int
    document: str
    """Its zkmargin-signed-root/1 JSON text, as checked."""
    registered_by: str
    registered_at: str


@dataclass(frozen=True)
class ReceiptRecord:
    """One verification's durable receipt (snapshot_digest comes from the snapshot it names)."""

    receipt_id: str
    circuit_id: str
    snapshot_id: str
    snapshot_digest: str
    commitment: str | None
    """None in anonymous mode (the proof names a root instead)."""
    context: str
    proof_hex: str
    valid: bool
    reason: str
    input_digest: str
    checked_at: str
    attestation: str | None = None
    """The venue's attestation the proof was accepted with (its canonical JSON text), if one was required."""
    mode: str = "named"
    """'named' (a commitment, attested) or 'anonymous' (membership under a signed root)."""
    root_id: str | None = None
    scope: str | None = None
    nullifier: str | None = None
    nullifier_seen_before: bool | None = None
    """Anonymous receipts of valid proofs verified with an API key: whether a valid proof verified with that key
    had shown this nullifier in the same scope before (under any root or circuit); None where it does not apply."""
    venue: str | None = None
    """The venue whose snapshot was checked: snapshot ids are unique per venue only."""
    seen_before: bool | None = None
    """Valid proofs verified with an API key: whether that key had verified the same inputs and proof (the same
    input_digest) valid before; None where it does not apply."""
    verifier: str | None = field(default=None, compare=False, repr=False)
    """The API key id whose history this verification counts in (None without a key). Not stored with the
    receipt, which anyone may read; only in the history tables."""


@dataclass(frozen=True)
class VenueKeyRecord:
    """A venue's registered public key; document is its zkmargin-venue-public-key/1 JSON text."""

    venue: str
    document: str
    key_id: str
    registered_at: str


@dataclass(frozen=True)
class BookRecord:
    """A venue's verified book for one of its snapshots; document (zkmargin-book/1) and reserves
    (zkmargin-book-reserves/1, or None) are canonical JSON text as accepted."""

    venue: str
    snapshot_id: str
    circuit_id: str
    root: str
    document: str
    reserves: str | None
    published_by: str
    published_at: str


Record = TypeVar("Record")


def _records(rows: list[dict[str, Any]], record_type: type[Record]) -> list[Record]:
    names = {f.name for f in fields(record_type)}  # type: ignore[arg-type]
    return [record_type(**{k: v for k, v in row.items() if k in names}) for row in rows]


class Repository:
    """The service's tables on one Storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        with storage.transaction() as cursor:
            if storage.is_postgres:
                # Workers starting together would race on CREATE TABLE IF NOT EXISTS (a unique
                # violation in pg_type); serialise schema creation on an advisory lock.
                cursor.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK_ID,))
            for statement in SCHEMA:
                cursor.execute(statement)
            cursor.execute("SELECT version FROM schema_migrations")
            applied = {int(row[0]) for row in cursor.fetchall()}
            for version, statements in MIGRATIONS:
                if version in applied:
                    continue
                for statement in statements:
                    cursor.execute(statement)
                cursor.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                               (version, datetime.now(timezone.utc).isoformat(timespec="microseconds")))

    def schema_version(self) -> int:
        """The newest migration applied (0 for the first release's schema)."""
        row = self.storage.fetch_one("SELECT MAX(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            return self.storage.fetch_one("SELECT 1") is not None
        except Exception:  # noqa: BLE001 - readiness reports any failure as not ready
            return False

    # API keys

    def insert_api_key(self, key: ApiKeyRecord) -> None:
        """Store a new key."""
        self.storage.execute(
            "INSERT INTO api_keys (key_id, key_hash, role, name, created_at) VALUES (?, ?, ?, ?, ?)",
            (key.key_id, key.key_hash, key.role, key.name, key.created_at))

    def api_key(self, key_id: str) -> ApiKeyRecord | None:
        """A key with its revocation time, or None."""
        rows = self.storage.fetch_rows(
            "SELECT k.key_id, k.key_hash, k.role, k.name, k.created_at, r.revoked_at FROM api_keys k"
            " LEFT JOIN revoked_keys r ON r.key_id = k.key_id WHERE k.key_id = ?", (key_id,))
        found = _records(rows, ApiKeyRecord)
        return found[0] if found else None

    def api_keys(self) -> list[ApiKeyRecord]:
        """Every key, oldest first."""
        rows = self.storage.fetch_rows(
            "SELECT k.key_id, k.key_hash, k.role, k.name, k.created_at, r.revoked_at FROM api_keys k"
            " LEFT JOIN revoked_keys r ON r.key_id = k.key_id ORDER BY k.created_at, k.key_id")
        return _records(rows, ApiKeyRecord)

    def revoke_api_key(self, key_id: str, revoked_at: str) -> ApiKeyRecord | None:
        """Revoke a key (revoking twice keeps the first time); the key as now stored, None if unknown."""
        with self.storage.transaction() as cursor:
            cursor.execute("SELECT key_id FROM api_keys WHERE key_id = ?", (key_id,))
            if cursor.fetchone() is None:
                return None
            cursor.execute("SELECT revoked_at FROM revoked_keys WHERE key_id = ?", (key_id,))
            if cursor.fetchone() is None:
                cursor.execute("INSERT INTO revoked_keys (key_id, revoked_at) VALUES (?, ?)", (key_id, revoked_at))
        return self.api_key(key_id)

    # Circuits

    def insert_circuit(self, circuit: CircuitRecord, verification_key: str,
                       transcript: TranscriptRecord | None = None) -> str | None:
        """Register a circuit (and its key's transcript): None when stored, else the vk digest already registered."""
        with self.storage.transaction() as cursor:
            cursor.execute("SELECT vk_digest FROM circuits WHERE circuit_id = ?", (circuit.circuit_id,))
            existing = cursor.fetchone()
            if existing is not None:
                return str(existing[0])
            cursor.execute(
                "INSERT INTO circuits (circuit_id, verification_key, num_public, vk_digest, registered_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (circuit.circuit_id, verification_key, circuit.num_public, circuit.vk_digest, circuit.registered_at))
            if transcript is not None:
                cursor.execute("INSERT INTO circuit_transcripts (circuit_id, document, contributions) VALUES (?, ?, ?)",
                               (circuit.circuit_id, transcript.document, transcript.contributions))
        return None

    def circuits(self) -> list[CircuitRecord]:
        """Every registered circuit, by id."""
        return _records(self.storage.fetch_rows(f"{_CIRCUIT_COLUMNS} ORDER BY c.circuit_id"), CircuitRecord)

    def circuit(self, circuit_id: str) -> CircuitRecord | None:
        """One registered circuit, or None."""
        found = _records(self.storage.fetch_rows(f"{_CIRCUIT_COLUMNS} WHERE c.circuit_id = ?", (circuit_id,)),
                         CircuitRecord)
        return found[0] if found else None

    def circuit_key(self, circuit_id: str) -> str | None:
        """The registered verification key's JSON text, or None."""
        rows = self.storage.fetch_rows("SELECT verification_key FROM circuits WHERE circuit_id = ?", (circuit_id,))
        return rows[0]["verification_key"] if rows else None

    def _insert_once(self, table: str, key_columns: tuple[str, ...], record: Any) -> bool:
        """Insert the record (its fields are the table's columns) unless its key exists; True when stored.

        Table and column names come from this module and the record types, never from a request.
        """
        columns = [f.name for f in fields(record)]
        match = " AND ".join(f"{column} = ?" for column in key_columns)
        with self.storage.transaction() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE {match}", tuple(getattr(record, c) for c in key_columns))
            if cursor.fetchone() is not None:
                return False
            cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                           tuple(getattr(record, name) for name in columns))
        return True

    # Snapshots

    def insert_snapshot(self, snapshot: SnapshotRecord) -> bool:
        """Publish a snapshot; False when its venue already has one under its id (snapshots are immutable)."""
        return self._insert_once("snapshots", ("venue", "snapshot_id"), snapshot)

    def snapshot(self, venue: str, snapshot_id: str) -> SnapshotRecord | None:
        """A venue's published snapshot, or None."""
        found = _records(self.storage.fetch_rows(
            "SELECT snapshot_id, venue, digest, published_by, published_at, document, signature FROM snapshots"
            " WHERE venue = ? AND snapshot_id = ?", (venue, snapshot_id)), SnapshotRecord)
        return found[0] if found else None

    def snapshot_venues(self, snapshot_id: str) -> list[str]:
        """The venues that published a snapshot under this id, by name."""
        rows = self.storage.fetch_all("SELECT venue FROM snapshots WHERE snapshot_id = ? ORDER BY venue",
                                      (snapshot_id,))
        return [str(row[0]) for row in rows]

    # Signed roots

    def insert_root(self, root: RootRecord) -> RootRecord | None:
        """Register a signed root: None when stored, else the record already stored under its id."""
        return None if self._insert_once("roots", ("root_id",), root) else self.root(root.root_id)

    def root(self, root_id: str) -> RootRecord | None:
        """A registered root, or None."""
        found = _records(self.storage.fetch_rows(
            "SELECT root_id, snapshot_id, venue, root, depth, leaf_count, document, registered_by, registered_at"
            " FROM roots WHERE root_id = ?", (root_id,)), RootRecord)
        return found[0] if found else None

    # Books

    def insert_book(self, book: BookRecord) -> BookRecord | None:
        """Store a verified book: None when stored, else the book already stored for its venue and snapshot."""
        return None if self._insert_once("books", ("venue", "snapshot_id"), book) else self.book(book.venue,
                                                                                                 book.snapshot_id)

    def book(self, venue: str, snapshot_id: str) -> BookRecord | None:
        """A venue's book for one of its snapshots, or None."""
        found = _records(self.storage.fetch_rows(
            "SELECT venue, snapshot_id, circuit_id, root, document, reserves, published_by, published_at FROM books"
            " WHERE venue = ? AND snapshot_id = ?", (venue, snapshot_id)), BookRecord)
        return found[0] if found else None

    # Venue keys

    def insert_venue_key(self, key: VenueKeyRecord) -> VenueKeyRecord | None:
        """Register a venue's key: None when stored, else the record already registered for the venue."""
        return None if self._insert_once("venue_keys", ("venue",), key) else self.venue_key(key.venue)

    def venue_key(self, venue: str) -> VenueKeyRecord | None:
        """A venue's registered key, or None."""
        found = _records(self.storage.fetch_rows(
            "SELECT venue, document, key_id, registered_at FROM venue_keys WHERE venue = ?", (venue,)), VenueKeyRecord)
        return found[0] if found else None

    # Receipts

    def insert_receipts(self, receipts: Iterable[ReceiptRecord]) -> list[ReceiptRecord]:
        """Store receipts in one transaction (committed before this returns); returns them as stored.

        A valid receipt verified with an API key (its verifier) is recorded in that key's history in the same
        transaction: its input digest, and an anonymous receipt's nullifier for its scope (any circuit or root).
        The receipt says whether the key had seen them before (an earlier request, or an earlier item of the
        same batch). Other keys' history is never read: nobody can make a showing look repeated to another.
        """
        stored = []
        with self.storage.transaction() as cursor:
            for receipt in receipts:
                if receipt.valid and receipt.verifier is not None:
                    cursor.execute(
                        "INSERT INTO verifier_proofs (verifier, input_digest, first_receipt_id) VALUES (?, ?, ?)"
                        " ON CONFLICT DO NOTHING", (receipt.verifier, receipt.input_digest, receipt.receipt_id))
                    receipt = replace(receipt, seen_before=cursor.rowcount == 0)
                    if receipt.mode == "anonymous" and receipt.nullifier is not None:
                        cursor.execute(
                            "INSERT INTO verifier_nullifiers (verifier, scope, nullifier, first_receipt_id)"
                            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                            (receipt.verifier, receipt.scope, receipt.nullifier, receipt.receipt_id))
                        receipt = replace(receipt, nullifier_seen_before=cursor.rowcount == 0)
                cursor.execute(
                    "INSERT INTO receipts (receipt_id, circuit_id, snapshot_id, commitment, context, proof, valid,"
                    " reason, input_digest, checked_at, mode, root_id, scope, nullifier, nullifier_seen_before, venue,"
                    " seen_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (receipt.receipt_id, receipt.circuit_id, receipt.snapshot_id,
                     # The column predates anonymous receipts and is NOT NULL: '' stands for "no commitment".
                     "" if receipt.commitment is None else receipt.commitment, receipt.context,
                     receipt.proof_hex, int(receipt.valid), receipt.reason, receipt.input_digest, receipt.checked_at,
                     receipt.mode, receipt.root_id, receipt.scope, receipt.nullifier,
                     None if receipt.nullifier_seen_before is None else int(receipt.nullifier_seen_before),
                     receipt.venue, None if receipt.seen_before is None else int(receipt.seen_before)))
                if receipt.attestation is not None:
                    cursor.execute("INSERT INTO receipt_attestations (receipt_id, attestation) VALUES (?, ?)",
                                   (receipt.receipt_id, receipt.attestation))
                stored.append(receipt)
        return stored

    def receipt(self, receipt_id: str) -> ReceiptRecord | None:
        """A receipt with its snapshot's digest, or None."""
        # Snapshots are immutable and never deleted, so the join always finds the one that was checked.
        rows = self.storage.fetch_rows(
            "SELECT r.receipt_id, r.circuit_id, r.snapshot_id, s.digest AS snapshot_digest, r.commitment, r.context,"
            " r.proof AS proof_hex, r.valid, r.reason, r.input_digest, r.checked_at, a.attestation, r.mode, r.root_id,"
            " r.scope, r.nullifier, r.nullifier_seen_before, r.venue, r.seen_before"
            " FROM receipts r JOIN snapshots s ON s.venue = r.venue AND s.snapshot_id = r.snapshot_id"
            " LEFT JOIN receipt_attestations a ON a.receipt_id = r.receipt_id WHERE r.receipt_id = ?", (receipt_id,))
        if not rows:
            return None
        row = rows[0]
        seen, nullifier_seen = row["seen_before"], row["nullifier_seen_before"]
        return _records([{**row, "valid": bool(row["valid"]), "commitment": row["commitment"] or None,
                          "seen_before": None if seen is None else bool(seen),
                          "nullifier_seen_before": None if nullifier_seen is None else bool(nullifier_seen)}],
                        ReceiptRecord)[0]

