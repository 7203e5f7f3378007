"""The state database, whichever back-end holds it: opening it, and each component's schema.

The embedded default is a SQLite file (``store.sqlite``); ``[state] url`` names a PostgreSQL
server shared by several hosts (``store.postgres``). SQLite's ``sqlite3.Connection`` has the
``Connection`` shape natively, and ``PgConnection`` gives a psycopg connection the same one, so
state code is written and type-checked once for both.

The schema is one, versioned by Alembic (``store.migrations``); ``store.schema`` checks it
when the state is first used (SQLite: upgraded in place; PostgreSQL: ``syndicate db upgrade``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from . import postgres
from .sqlite import connect_sqlite


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Row(Protocol):
    """A result row, read by position or by column name (sqlite3.Row, postgres.PgRow)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Connection(Protocol):
    """A state database connection (autocommit; transactions by explicit BEGIN/COMMIT)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, kind: Any, value: Any, traceback: Any, /) -> Any: ...

    @property
    def in_transaction(self) -> bool: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


def connect(target: Path | str) -> Connection:
    """Open the state database: a SQLite file (created if needed) or, for a ``postgresql://``
    URL, a connection from this process's PostgreSQL pool (``store.postgres``)."""
    if isinstance(target, str):
        if postgres.is_url(target):
            return postgres.connect(target)
        target = Path(target)
    return connect_sqlite(target)


def connect_readonly(target: Path | str) -> Connection:
    """A connection for reads that must not create or change anything (a SQLite file opened
    read-only; PostgreSQL reads need nothing special)."""
    if isinstance(target, str):
        return connect(target)
    conn = sqlite3.connect(f"{target.absolute().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def has_table(conn: Connection, name: str) -> bool:
    """Whether the state database has table ``name`` (reads that must not create tables)."""
    if is_postgres(conn):
        sql = "SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = ? AND schemaname = current_schema()"
    else:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(sql, (name,)).fetchone() is not None


def is_postgres(conn: Connection) -> bool:
    """Whether ``conn`` is the PostgreSQL state store (for the few statements that differ)."""
    return isinstance(conn, postgres.PgConnection)


def keep_prepared(conn: Connection) -> None:
    """Have the server keep ``conn``'s statements prepared from their second run on, for a
    connection that runs a few statements thousands of times (a send run's ledger). On
    PostgreSQL planning is most of such a statement's server CPU; sqlite3 already caches
    its prepared statements per connection."""
    if isinstance(conn, postgres.PgConnection):
        conn.keep_prepared()
