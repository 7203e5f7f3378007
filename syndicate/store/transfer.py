"""``syndicate db copy``: move an embedded SQLite state to an empty PostgreSQL database.

Both sides are at the code's head revision (the SQLite file is upgraded in place first, the
target must have been made by ``syndicate db upgrade``), so they have the same tables and
columns. Every table is copied with PostgreSQL's COPY, in one transaction that also holds the
writer lock, in an order where a row's foreign keys already exist; explicit ids are kept and
each identity sequence is moved past them. The row counts of every table are compared inside
that transaction: any difference rolls the whole copy back. The source is read in one
snapshot (a read transaction), so a sender writing meanwhile cannot tear it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StateError
from . import postgres
from .migrations import HEAD
from .schema import behind_message, ensure_current, refuse_newer, revision
from .sqlite import connect_sqlite

# Bookkeeping each side keeps for itself, not state to copy.
OWN_TABLES = frozenset({"alembic_version", "schema_versions"})


@dataclass(frozen=True, slots=True)
class Copied:
    """One table's row counts: in the SQLite file, and in PostgreSQL after the copy."""

    table: str
    source: int
    target: int


def copy_state(source: Path, url: str) -> list[Copied]:
    """Copy every state table from the SQLite file ``source`` to the empty database at
    ``url``; return the counts, table by table. Raises StateError, with nothing written,
    if the target is not at the head revision, already holds state, or a count differs."""
    if not source.exists():
        raise StateError(f"no state database at {source}: nothing to copy")
    src = connect_sqlite(source)
    dst = postgres.connect(url)
    try:
        ensure_current(src)
        found = revision(dst)
        if found != HEAD:
            if found is not None:
                refuse_newer(found)
            raise StateError(f"{postgres.redact(url)}: {behind_message(found)} first")
        tables = _ordered_tables(dst)
        _same_tables(src, tables, source)
        full = [f"{t} ({n} rows)" for t in tables if (n := _count(dst, t))]
        if full:
            raise StateError(
                f"{postgres.redact(url)} already holds state ({', '.join(full[:3])}"
                f"{', ...' if len(full) > 3 else ''}): copy only into an empty database, "
                "made by `syndicate db upgrade`"
            )
        src.execute("BEGIN")  # one snapshot of the source for the rows and the counts
        try:
            return _copy(src, dst, tables)
        finally:
            src.execute("ROLLBACK")
    finally:
        dst.close()
        src.close()


def _copy(src: sqlite3.Connection, dst: postgres.PgConnection, tables: list[str]) -> list[Copied]:
    raw = dst.raw
    counts: list[Copied] = []
    try:
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (postgres.WRITER_LOCK_KEY,))
            for table in tables:
                columns = _columns(dst, table)
                names = ", ".join(columns)
                with raw.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in src.execute(f"SELECT {names} FROM {table}"):
                        copy.write_row(tuple(row))
                for column in _identity_columns(dst, table):
                    raw.execute(
                        f"SELECT setval(pg_get_serial_sequence(%s, %s),"
                        f" COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)",
                        (table, column),
                    )
                counts.append(Copied(table, _count(src, table), _count(dst, table)))
            wrong = [c for c in counts if c.source != c.target]
            if wrong:
                raise StateError(
                    "the copy was rolled back: row counts differ in "
                    + ", ".join(f"{c.table} ({c.source} in the file, {c.target} copied)" for c in wrong)
                )
    except StateError:
        raise
    except Exception as exc:
        if getattr(exc, "sqlstate", None) is None:
            raise
        raise StateError(
            f"the copy was rolled back, nothing was written: {str(exc).strip().splitlines()[0]}"
        ) from exc
    return counts


def _ordered_tables(dst: postgres.PgConnection) -> list[str]:
    """The target's state tables, each after every table its foreign keys point to."""
    tables = sorted(
        row[0]
        for row in dst.execute(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
        )
        if row[0] not in OWN_TABLES
    )
    needs: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in dst.execute(
        "SELECT c.relname, p.relname FROM pg_catalog.pg_constraint k"
        " JOIN pg_catalog.pg_class c ON c.oid = k.conrelid"
        " JOIN pg_catalog.pg_class p ON p.oid = k.confrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE k.contype = 'f' AND n.nspname = current_schema()"
    ):
        if child in needs and parent != child:
            needs[child].add(parent)
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, parents in needs.items() if not parents - set(ordered))
        if not ready:
            raise StateError(f"foreign keys form a cycle among {', '.join(sorted(needs))}")
        for table in ready:
            ordered.append(table)
            del needs[table]
    return ordered


def _same_tables(src: sqlite3.Connection, tables: list[str], source: Path) -> None:
    here = {
        row[0]
        for row in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("sqlite_") and row[0] not in OWN_TABLES
    }
    extra = sorted(here - set(tables))
    if extra:
        raise StateError(
            f"{source} has tables the target lacks ({', '.join(extra)}); "
            "is the target at the same revision (`syndicate db current`)?"
        )


def _columns(dst: postgres.PgConnection, table: str) -> list[str]:
    return [
        row[0]
        for row in dst.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
    ]


def _identity_columns(dst: postgres.PgConnection, table: str) -> list[str]:
    return [
        row[0]
        for row in dst.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = ? AND is_identity = 'YES'",
            (table,),
        )
    ]


def _count(conn: Any, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
