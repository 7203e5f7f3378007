"""The start-up check: is the state database's schema the one this code needs?

The schema is owned by Alembic (``store.migrations``); a database records its revision in
``alembic_version``. ``ensure_current`` compares it with the code's head in one query and
without loading Alembic or SQLAlchemy, then:

- SQLite (the embedded default): upgrades in place, as syndicate always has: nobody running
  one machine has to run a command after an update. The baseline is applied here directly
  (``legacy.apply``: what revision 0001 runs under Alembic), so a new database is made in a
  few milliseconds; so are later revisions that only run statements (``bridge.Statements``),
  and any other through Alembic (``migrations.runner``).
- PostgreSQL (shared by several hosts): never migrates by itself. A database behind the code,
  or empty, is a one-line error asking for ``syndicate db upgrade``; one newer than the code
  is refused. A process checks each URL once.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from ..errors import StateError
from . import postgres
from .database import Connection, has_table, is_postgres
from .lock import run_lock
from .migrations import BASELINE, HEAD, REVISIONS, legacy, runner
from .migrations.revisions import quick_steps
from .sqlite import backup_copy, database_file

VERSION_TABLE = "alembic_version"
# Alembic's own definition of its table, so either side may write it first.
VERSION_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL,"
    " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
)
UPGRADE_LOCK_TIMEOUT_SECONDS = 120.0


def revision(conn: Connection) -> str | None:
    """The database's schema revision, or None where Alembic never ran (empty, or made by a
    syndicate from before it)."""
    if is_postgres(conn):
        if not has_table(conn, VERSION_TABLE):
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    else:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:  # no such table: one query saved on the usual path
            return None
    return None if row is None else str(row[0])


def behind_message(found: str | None) -> str:
    """The one line for a PostgreSQL schema that needs ``syndicate db upgrade``."""
    at = found or "none (an empty database)"
    return (
        f"state database schema is at revision {at}, this syndicate needs {HEAD}: "
        "run `syndicate db upgrade`"
    )


def refuse_newer(found: str) -> None:
    """A revision this code does not know was made by a newer syndicate: never misread it."""
    if found not in REVISIONS:
        raise StateError(
            f"state database schema is at revision {found}, newer than this syndicate "
            f"(which knows up to {HEAD}); upgrade syndicate"
        )


def ensure_current(conn: Connection) -> None:
    """Check the schema before the state is used (see the module docstring). Cheap: one query
    when current (none for a PostgreSQL URL already checked by this process), so components
    call it wherever they used to create their tables."""
    if isinstance(conn, postgres.PgConnection):
        if conn.url in _checked:
            return
        found = revision(conn)
        if found != HEAD:
            if found is not None:
                refuse_newer(found)
            raise StateError(behind_message(found))
        _checked.add(conn.url)
        return
    if revision(conn) != HEAD:
        upgrade_sqlite(conn)


# PostgreSQL URLs found current by this process.
_checked: set[str] = set()


def upgrade_sqlite(conn: Connection) -> str:
    """Bring an embedded SQLite database to the head; return the revision it was at.

    A database that had subscribers but no newsletters is first copied aside
    (``<db>.before-newsletters.bak``), under a lock file beside it so that processes starting
    at once wait for one upgrade and one true copy. Then the baseline in one IMMEDIATE
    transaction (``legacy.apply`` respects each component's recorded version), and the later
    revisions: statement-only ones in one more (``apply_quick``), else through Alembic (each
    in one BEGIN IMMEDIATE transaction too). A second process waits, then finds them applied."""
    path = database_file(conn)
    was = revision(conn)
    guard: AbstractContextManager[object] = nullcontext()
    if path is not None and was is None and _needs_backup(conn):
        lock = path.with_name(path.name + ".upgrade.lock")
        guard = run_lock(lock, wait=True, timeout=UPGRADE_LOCK_TIMEOUT_SECONDS)
    with guard:
        found = revision(conn)
        if found is None:
            if path is not None and _needs_backup(conn):
                backup_copy(conn, legacy.BACKUP_SUFFIX)
            apply_baseline(conn)
            found = BASELINE
        refuse_newer(found)
        if found != HEAD and not apply_quick(conn):
            if path is None:
                raise StateError(f"cannot upgrade an in-memory state database from {found}")
            runner.upgrade(path)
    return was or "none"


def _needs_backup(conn: Connection) -> bool:
    try:
        return legacy.needs_backup(conn)
    except sqlite3.OperationalError:  # no schema_versions: a database nobody used yet
        return False


def apply_baseline(conn: Connection) -> bool:
    """Revision 0001 on this connection, without Alembic: what a new database (or one made
    before Alembic) gets. False if another process got there first. Used at SQLite start-up
    and by the tests to prepare PostgreSQL schemas quickly (tests/test_db.py checks that
    Alembic's upgrade makes the same tables)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if revision(conn) is not None:
            conn.execute("COMMIT")
            return False
        legacy.apply(conn, postgres=is_postgres(conn))
        stamp(conn, BASELINE)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def apply_quick(conn: Connection) -> bool:
    """The revisions after the database's, without Alembic, if every one only runs its
    statements (``bridge.Statements``; the SQL is the same Alembic would run). In one
    IMMEDIATE transaction: a second process waits, then finds them applied. False when one
    of them needs Alembic (nothing done then)."""
    found = revision(conn)
    if found is None or found == HEAD:
        return found == HEAD
    steps = quick_steps(found)
    if steps is None:
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        if revision(conn) == found:
            for _, statements in steps:
                for statement in statements:
                    conn.execute(statement)
            stamp(conn, HEAD)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def stamp(conn: Connection, rev: str) -> None:
    """Record ``rev`` as the database's revision (inside the caller's transaction)."""
    conn.execute(VERSION_TABLE_DDL)
    conn.execute("DELETE FROM alembic_version")
    conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (rev,))


def describe(target: Path | str) -> str:
    """Where the state lives, for messages (a URL's password hidden)."""
    return postgres.redact(target) if isinstance(target, str) else str(target)
