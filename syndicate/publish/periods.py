"""Which schedule periods ``publish`` has dealt with: the memory that makes "due once" true.

One row per due moment (or per on-new trigger), written before the edition for it is sent, so
a run that dies mid-send is resumed by the next run instead of planning a second edition, a
period with nothing to send is not reconsidered when an article arrives the next day, and a
clock stepped back (NTP, --now back-fills) finds the later period already handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ..store.database import Connection, Row, ensure_schema

COMPONENT = "publish"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE publish_periods (
        period TEXT PRIMARY KEY,
        due_at TEXT NOT NULL,
        planned_at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'empty', 'skipped')),
        edition_id TEXT,
        articles INTEGER NOT NULL DEFAULT 0,
        updated TEXT NOT NULL
    );
    CREATE INDEX publish_periods_due ON publish_periods (due_at)
    """,
    """
    CREATE TABLE publish_marks (name TEXT PRIMARY KEY, value TEXT NOT NULL)
    """,
)

State = Literal["sending", "sent", "empty", "skipped"]
ON_NEW_PREFIX = "on-new@"
NEWSLETTER_PREFIX = "nl/"


def newsletter_prefix(newsletter: str, cadence: str) -> str:
    """``nl/climate/weekly@``: the period keys of one newsletter cadence."""
    return f"{NEWSLETTER_PREFIX}{newsletter}/{cadence or 'schedule'}@"


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """One handled period: its due moment, the run's "now" when it was planned, the outcome."""

    period: str
    due_at: datetime
    planned_at: datetime
    state: State
    edition_id: str | None
    articles: int

    @property
    def unfinished(self) -> bool:
        """An edition was started for it and not every recipient is done."""
        return self.state == "sending"


def ensure_periods(conn: Connection) -> None:
    """Create or upgrade the table; every function here expects it."""
    ensure_schema(conn, COMPONENT, MIGRATIONS)


def period_key(due_at: datetime, *, on_new: bool = False) -> str:
    """The period's name: its due moment in UTC (``on-new@...`` for on-new triggers)."""
    stamp = due_at.astimezone(UTC).isoformat(timespec="seconds")
    return f"{ON_NEW_PREFIX}{stamp}" if on_new else stamp


def covered(conn: Connection, due_at: datetime, prefix: str = "") -> Period | None:
    """The handled clock period at or after ``due_at``, if any: then that moment is not due.

    ``prefix`` (``newsletter_prefix``) looks at one newsletter cadence's periods only; without
    it, only the one-newsletter periods count.
    """
    if prefix:
        row = conn.execute(
            "SELECT * FROM publish_periods WHERE due_at >= ? AND period LIKE ?"
            " ORDER BY due_at DESC LIMIT 1",
            (_text(due_at), prefix + "%"),
        ).fetchone()
        return _period(row) if row is not None else None
    row = conn.execute(
        "SELECT * FROM publish_periods WHERE due_at >= ? AND period NOT LIKE ?"
        " AND period NOT LIKE ? ORDER BY due_at DESC LIMIT 1",
        (_text(due_at), ON_NEW_PREFIX + "%", NEWSLETTER_PREFIX + "%"),
    ).fetchone()
    return _period(row) if row is not None else None


def latest(conn: Connection) -> Period | None:
    """The most recently due handled period, for status messages."""
    row = conn.execute("SELECT * FROM publish_periods ORDER BY due_at DESC LIMIT 1").fetchone()
    return _period(row) if row is not None else None


def unfinished(conn: Connection) -> list[Period]:
    """Periods whose edition was started but not finished, oldest first."""
    rows = conn.execute(
        "SELECT * FROM publish_periods WHERE state = 'sending' ORDER BY due_at"
    ).fetchall()
    return [_period(row) for row in rows]


def record(
    conn: Connection,
    period: str,
    *,
    due_at: datetime,
    planned_at: datetime,
    state: State,
    edition_id: str | None = None,
    articles: int = 0,
) -> None:
    """Write a period's row (once): the insert is what claims the period."""
    conn.execute(
        "INSERT INTO publish_periods"
        " (period, due_at, planned_at, state, edition_id, articles, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            period,
            _text(due_at),
            _text(planned_at),
            state,
            edition_id,
            articles,
            _text(datetime.now(UTC)),
        ),
    )


def finish(
    conn: Connection, period: str, state: State, *, edition_id: str | None = None
) -> None:
    """Move an unfinished period to its outcome (sent, or empty when re-planning found none)."""
    conn.execute(
        "UPDATE publish_periods SET state = ?, edition_id = COALESCE(?, edition_id), updated = ?"
        " WHERE period = ?",
        (state, edition_id, _text(datetime.now(UTC)), period),
    )


def all_periods(conn: Connection) -> list[Period]:
    """Every handled period, oldest first (for tests and status output)."""
    rows = conn.execute("SELECT * FROM publish_periods ORDER BY due_at, period").fetchall()
    return [_period(row) for row in rows]


def _text(moment: datetime) -> str:
    # One fixed format in UTC so that string comparison in SQL is time order.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _period(row: Row) -> Period:
    return Period(
        period=row["period"],
        due_at=datetime.fromisoformat(row["due_at"]),
        planned_at=datetime.fromisoformat(row["planned_at"]),
        state=row["state"],
        edition_id=row["edition_id"],
        articles=row["articles"],
    )


def get_mark(conn: Connection, name: str) -> str | None:
    """A small remembered value (e.g. what the last on-new check saw), or None."""
    row = conn.execute("SELECT value FROM publish_marks WHERE name = ?", (name,)).fetchone()
    return None if row is None else str(row[0])


def set_mark(conn: Connection, name: str, value: str) -> None:
    """Remember ``value`` under ``name`` for the next run."""
    conn.execute(
        "INSERT INTO publish_marks (name, value) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (name, value),
    )
