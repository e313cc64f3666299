"""Persistence: SQLite (default, WAL) or PostgreSQL through psycopg, with the same SQL.

Every write commits before the response is sent; SQLite runs with
synchronous=FULL so a receipt returned to a client survives kill -9 and power loss.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
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
)


class Storage:
    """A tiny DB-API wrapper: one schema, two drivers, '?' placeholders everywhere."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgres = url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        if not self.is_postgres and not url.startswith("sqlite:///"):
            raise ValueError(f"unsupported database url {url!r}: use sqlite:///path or postgresql://...")
        with self.transaction() as cursor:
            for statement in SCHEMA:
                cursor.execute(statement)

    def _connect(self) -> Any:
        if self.is_postgres:
            import psycopg

            return psycopg.connect(self.url)
        path = self.url[len("sqlite:///") :]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _connection(self) -> Any:
        # One connection per thread: sqlite3 and psycopg connections are not shared across threads.
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
        return connection

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.is_postgres else statement

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one committed transaction (rolled back on error)."""
        connection = self._connection()
        cursor = connection.cursor()
        if not self.is_postgres:
            cursor.execute("BEGIN IMMEDIATE")
        try:
            yield _Cursor(cursor, self)
        except BaseException:
            connection.rollback()
            raise
        else:
            connection.commit()

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one write in its own transaction."""
        with self.transaction() as cursor:
            cursor.execute(statement, params)

    def fetch_one(self, statement: str, params: Sequence[Any] = ()) -> tuple | None:
        """First row of a query, or None."""
        cursor = self._connection().cursor()
        cursor.execute(self._sql(statement), tuple(params))
        row = cursor.fetchone()
        if self.is_postgres:
            self._connection().commit()
        return row

    def fetch_all(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        """All rows of a query."""
        cursor = self._connection().cursor()
        cursor.execute(self._sql(statement), tuple(params))
        rows = cursor.fetchall()
        if self.is_postgres:
            self._connection().commit()
        return rows

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            return self.fetch_one("SELECT 1") is not None
        except Exception:  # noqa: BLE001 - readiness reports any driver failure as not ready
            return False


class _Cursor:
    def __init__(self, cursor: Any, storage: Storage) -> None:
        self.cursor, self.storage = cursor, storage

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(self.storage._sql(statement), tuple(params))

    def fetchone(self) -> Any:
        return self.cursor.fetchone()
