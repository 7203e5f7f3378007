"""The log of send runs: when each run of an edition's send started, how long it took, and
what it handed over, so a report can tell the send's duration and rate.

The ledger keeps per-recipient outcomes with second-precision times; a run's own clock
(``time.monotonic``) is the honest measure of how fast it sent. A component of its own
(``send_runs``): the ledger's table stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.database import Connection, ensure_schema

COMPONENT = "send_runs"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE send_runs (
        id INTEGER PRIMARY KEY,
        edition TEXT NOT NULL,
        transport TEXT NOT NULL,
        started TEXT NOT NULL,
        seconds REAL NOT NULL,
        sent INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        deferred INTEGER NOT NULL,
        skipped INTEGER NOT NULL
    );
    CREATE INDEX send_runs_edition ON send_runs (edition, id)
    """,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendRun:
    """One run of one edition's send, as recorded when it ended."""

    edition: str
    transport: str
    started: str
    seconds: float
    sent: int
    failed: int
    deferred: int
    skipped: int


def ensure_send_runs(conn: Connection) -> None:
    """Create or upgrade the send-run table (cheap once current)."""
    row = conn.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (COMPONENT,)
    ).fetchone()
    if row is None or row[0] != len(MIGRATIONS):
        ensure_schema(conn, COMPONENT, MIGRATIONS)


def record_run(conn: Connection, run: SendRun) -> None:
    """Append one finished run."""
    ensure_send_runs(conn)
    conn.execute(
        "INSERT INTO send_runs (edition, transport, started, seconds, sent, failed, deferred,"
        " skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run.edition,
            run.transport,
            run.started,
            run.seconds,
            run.sent,
            run.failed,
            run.deferred,
            run.skipped,
        ),
    )


def edition_runs(conn: Connection, edition: str) -> list[SendRun]:
    """The runs of an edition's send, oldest first."""
    ensure_send_runs(conn)
    rows = conn.execute("SELECT * FROM send_runs WHERE edition = ? ORDER BY id", (edition,))
    return [
        SendRun(
            edition=row["edition"],
            transport=row["transport"],
            started=row["started"],
            seconds=row["seconds"],
            sent=row["sent"],
            failed=row["failed"],
            deferred=row["deferred"],
            skipped=row["skipped"],
        )
        for row in rows
    ]
