"""The SQLite state database: editions, subscribers, the send ledger, caches.

Each component owns its tables and their migrations (``ensure_schema``), versioned in one
``schema_versions`` table, so components evolve independently and a database made by an
older syndicate is upgraded in place on first use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from ..errors import StateError, db_error

BUSY_TIMEOUT_SECONDS = 30.0


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the state database in WAL mode with foreign keys on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions ("
            " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
    except sqlite3.Error as exc:
        conn.close()
        # Garbage bytes, a full disk, a read-only mount: one line naming the file.
        raise db_error(exc, path) or exc from None
    return conn


def ensure_schema(conn: sqlite3.Connection, component: str, migrations: Sequence[str]) -> None:
    """Apply the component's migrations not yet applied; migration N brings it to version N.

    Runs inside one IMMEDIATE transaction so two processes starting at once cannot both
    migrate. A database newer than this code is refused rather than misread.
    """
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


def backup_copy(conn: sqlite3.Connection, suffix: str) -> Path | None:
    """Copy the open database to ``<db><suffix>`` before an upgrade (once: an existing copy is
    kept, so a rerun never overwrites the pre-upgrade state). The copy is written to a temp
    name and renamed, so a crash leaves no half copy under the final name. None for an
    in-memory database."""
    source = database_file(conn)
    if source is None:
        return None
    target = source.with_name(source.name + suffix)
    if target.exists():
        return target
    temp = target.with_name(target.name + ".tmp")
    temp.unlink(missing_ok=True)
    copy = sqlite3.connect(temp)
    try:
        conn.backup(copy)
    finally:
        copy.close()
    temp.replace(target)
    return target


def database_file(conn: sqlite3.Connection) -> Path | None:
    """The file of the connection's main database, or None (in memory)."""
    row = conn.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row is not None and row[2] else None
