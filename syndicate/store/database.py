"""The state database, whichever back-end holds it: opening it, and each component's schema.

The embedded default is a SQLite file (``store.sqlite``); ``[state] url`` names a PostgreSQL
server shared by several hosts (``store.postgres``). SQLite's ``sqlite3.Connection`` has the
``Connection`` shape natively, and ``PgConnection`` gives a psycopg connection the same one, so
state code is written and type-checked once for both.

Each component owns its tables and their migrations (``ensure_schema``), versioned in one
``schema_versions`` table, so components evolve independently and a database made by an
older syndicate is upgraded in place on first use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import StateError
from . import postgres
from .sqlite import SCHEMA_VERSIONS, connect_sqlite


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
            return postgres.connect(target, prepare=_prepare_postgres)
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


def _prepare_postgres(conn: Connection) -> None:
    """First use of a PostgreSQL store by this process: what every component expects there."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS citext")
        conn.execute(SCHEMA_VERSIONS)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


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


def ensure_schema(conn: Connection, component: str, migrations: Sequence[str]) -> None:
    """Apply the component's migrations not yet applied; migration N brings it to version N.

    Runs inside one IMMEDIATE transaction (on PostgreSQL: under the writer advisory lock) so
    two processes starting at once cannot both migrate. A database newer than this code is
    refused rather than misread.
    """
    if is_postgres(conn):
        key = (getattr(conn, "url", ""), component, len(migrations))
        if key in _current:
            return
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT version FROM schema_versions WHERE component = ?", (component,)
        ).fetchone()
        current = row[0] if row else 0
        if current > len(migrations):
            raise StateError(
                f"state database has {component} schema v{current}, newer than this syndicate "
                f"(v{len(migrations)}); upgrade syndicate"
            )
        for version in range(current + 1, len(migrations) + 1):
            for statement in migrations[version - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_versions (component, version) VALUES (?, ?)"
            " ON CONFLICT(component) DO UPDATE SET version = excluded.version",
            (component, len(migrations)),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if isinstance(conn, postgres.PgConnection) and not conn.sandboxed:
        _current.add(key)  # (a sandbox's tables vanish with it: check again next time)


# (url, component, version) already checked in this process: a PostgreSQL round trip saved.
_current: set[tuple[str, str, int]] = set()
