"""The log of send runs: when each run of an edition's send started, how long it took, and
what it handed over, so a report can tell the send's duration and rate.

The ledger keeps per-recipient outcomes with second-precision times; a run's own clock
(``time.monotonic``) is the honest measure of how fast it sent. A component of its own
(``send_runs``): the ledger's table stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.database import Connection
from ..store.schema import ensure_current


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
    ensure_current(conn)


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
