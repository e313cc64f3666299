"""Database connections: SQLite (default, WAL) or PostgreSQL through psycopg, '?' placeholders for both.

The SQL itself (schema and queries) lives in repository.py.

Every write commits before the response is sent; SQLite runs with
synchronous=FULL so a receipt returned to a client survives kill -9 and power loss.
Driver errors leave as three service errors: a lost or locked database is
StorageUnavailable (503, retry), a unique-key race between workers is
StorageConflict (409), a value the database cannot hold (PostgreSQL refuses NUL
characters in text) is StorageRefused (422); a broken connection is dropped and
reopened on next use.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class StorageUnavailable(Exception):
    """The database cannot be reached or stayed locked (the request may be retried)."""


class StorageConflict(Exception):
    """A write broke a uniqueness rule (another worker inserted the same id first)."""


class StorageRefused(Exception):
    """The database cannot store or compare a value (a NUL character in PostgreSQL text)."""


class Storage:
    """A tiny DB-API wrapper: one schema, two drivers, '?' placeholders everywhere."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgres = url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        # SQLite lets one writer in at a time, and a thread that finds the lock taken sleeps in
        # SQLite's busy handler (1, 2, 5, 10, ... 100 ms steps) however soon the lock frees: the
        # threads of this process queue on a lock of their own instead and wake the moment it
        # frees. Other processes on the same file still meet the busy handler (timeout=30).
        self._write_lock = threading.RLock() if not self.is_postgres else None
        if not self.is_postgres and not url.startswith("sqlite:///"):
            raise ValueError(f"unsupported database url {url!r}: use sqlite:///path or postgresql://...")

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
        if connection is not None and self.is_postgres and (connection.closed or connection.broken):
            connection = None
        if connection is None:
            try:
                connection = self._connect()
            except Exception as exc:  # noqa: BLE001 - any driver failure to connect means unavailable
                raise StorageUnavailable(f"cannot open the database: {exc}") from None
            self._local.connection = connection
        return connection

    def _discard(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001, S110 - the connection is already unusable
                pass

    @staticmethod
    def _rollback_quietly(connection: Any) -> None:
        try:
            connection.rollback()
        except Exception:  # noqa: BLE001, S110 - a dead connection cannot roll back; _translate drops it
            pass

    def _translate(self, exc: Exception) -> Exception | None:
        """The service error for a driver error, None for anything else (a bug: let it surface)."""
        integrity: type[Exception] = sqlite3.IntegrityError
        operational: type[Exception] = sqlite3.OperationalError
        refused: tuple[type[Exception], ...] = ()
        if self.is_postgres:
            import psycopg

            integrity, operational = psycopg.IntegrityError, psycopg.OperationalError
            refused = (psycopg.DataError,)
        if isinstance(exc, integrity):
            return StorageConflict(str(exc))
        if isinstance(exc, refused):
            return StorageRefused(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if isinstance(exc, operational):
            self._discard()
            return StorageUnavailable(f"database unavailable: {exc}")
        return None

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.is_postgres else statement

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one committed transaction (rolled back on error)."""
        if self._write_lock is None:
            with self._transaction() as cursor:
                yield cursor
            return
        with self._write_lock, self._transaction() as cursor:
            yield cursor

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        connection = self._start()
        cursor = connection.cursor()
        try:
            yield _Cursor(cursor, self)
            connection.commit()
        except BaseException as exc:
            self._rollback_quietly(connection)
            translated = self._translate(exc) if isinstance(exc, Exception) else None
            if translated is not None:
                raise translated from None
            raise

    def _start(self) -> Any:
        """A connection inside a fresh write transaction, reconnecting once if the old one died."""
        for attempt in (1, 2):
            connection = self._connection()
            try:
                # SQLite: take the write lock now, so two writers queue instead of deadlocking.
                # PostgreSQL: a round trip that finds a connection killed by a server restart
                # before the caller's statements run (they cannot be replayed from here).
                connection.execute("BEGIN IMMEDIATE" if not self.is_postgres else "SELECT 1")
                return connection
            except Exception as exc:
                if self.is_postgres:
                    self._rollback_quietly(connection)
                translated = self._translate(exc)
                if translated is None:
                    raise
                if attempt == 2:
                    raise translated from None
        raise AssertionError("unreachable")

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one write in its own transaction."""
        with self.transaction() as cursor:
            cursor.execute(statement, params)

    def fetch_one(self, statement: str, params: Sequence[Any] = ()) -> tuple | None:
        """First row of a query, or None."""
        rows = self._read(statement, params, one=True)
        return rows[0] if rows else None

    def fetch_all(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        """All rows of a query."""
        return self._read(statement, params, one=False)

    def fetch_rows(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """All rows of a query as {column name: value}."""
        return self._read(statement, params, one=False, named=True)

    def _read(self, statement: str, params: Sequence[Any], one: bool, named: bool = False) -> list:
        # A read is retried once on a fresh connection: after a database restart every
        # pooled connection is dead, and the first use is what finds out.
        for attempt in (1, 2):
            connection = self._connection()
            try:
                cursor = connection.cursor()
                cursor.execute(self._sql(statement), tuple(params))
                rows = [cursor.fetchone()] if one else cursor.fetchall()
                if self.is_postgres:
                    connection.commit()  # end the implicit transaction so later reads see new rows
                rows = [row for row in rows if row is not None]
                if named:
                    names = [column[0] for column in cursor.description]
                    return [dict(zip(names, row)) for row in rows]
                return rows
            except Exception as exc:
                if self.is_postgres:
                    self._rollback_quietly(connection)  # else the connection refuses every later statement
                translated = self._translate(exc)
                if translated is None:
                    raise
                if attempt == 2 or isinstance(translated, (StorageConflict, StorageRefused)):
                    raise translated from None
        raise AssertionError("unreachable")


class _Cursor:
    def __init__(self, cursor: Any, storage: Storage) -> None:
        self.cursor, self.storage = cursor, storage

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(self.storage._sql(statement), tuple(params))

    def fetchone(self) -> Any:
        return self.cursor.fetchone()

    def fetchall(self) -> list:
        return self.cursor.fetchall()

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed (0 for an INSERT ... ON CONFLICT DO NOTHING that conflicted)."""
        return self.cursor.rowcount
