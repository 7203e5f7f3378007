"""The suppression store: bounce and complaint events, and who must not be mailed again.

Mailbox providers judge a sender by how often it mails dead addresses and how often readers
complain, so hard bounces and complaints suppress an address at once; soft bounces after
``[bounces] soft_limit`` of them in a row (``soft_streak``: consecutive sent editions in the
ledger, else distinct failed messages, since the address was last (re)activated). Every event
is recorded once in ``bounce_events``; suppressed addresses are listed in ``suppressions`` so a
later import cannot bring them back unless told to (``--resubscribe``).

Where events come from is ``bounce_reports`` (parsing) and ``bounces`` (reading mailboxes);
this module only stores them and applies the policy, so the send ledger can use it without
loading any mail parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ..errors import Problem
from ..store.database import Connection, ensure_schema, has_table
from ..text.words import plural
from .subscriber_table import (
    InvalidAddress,
    Status,
    ensure_subscribers,
    get_subscriber,
    normalize_email,
    utcnow,
)

COMPONENT = "bounces"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE bounce_events (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'reset')),
        status TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        reference TEXT NOT NULL,
        occasion TEXT NOT NULL DEFAULT '',
        happened TEXT NOT NULL,
        recorded TEXT NOT NULL,
        UNIQUE (reference, email, kind)
    );
    CREATE INDEX bounce_events_email ON bounce_events (email, id);
    CREATE TABLE suppressions (
        email TEXT PRIMARY KEY COLLATE NOCASE,
        kind TEXT NOT NULL,
        reason TEXT NOT NULL,
        created TEXT NOT NULL
    )
    """,
)

Kind = Literal["hard", "soft", "complaint"]
SUPPRESSED_STATUS: dict[str, Status] = {
    "hard": Status.BOUNCED,
    "soft": Status.BOUNCED,
    "complaint": Status.COMPLAINED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BounceEvent:
    """One failed or complained-about recipient, as read from one notification."""

    email: str
    kind: Kind
    status: str = ""  # the RFC 3464 status code, e.g. "5.1.1"
    detail: str = ""  # the diagnostic text or feedback type, for people reading the log
    source: str = ""  # where it came from: "dsn", "arf" or "ses"
    reference: str  # unique id of the notification, so re-processing records nothing twice
    occasion: str = ""  # the Message-ID of our message that failed, when known
    happened: str = ""  # ISO time of the notification


@dataclass(slots=True)
class BounceReport:
    """What a processing run found and did."""

    messages: int = 0
    recorded: int = 0
    duplicates: int = 0
    suppressed: list[tuple[str, str]] = field(default_factory=list)  # (email, reason)
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI."""
        return (
            f"read {plural(self.messages, 'notification')}: {plural(self.recorded, 'new event')} "
            f"({self.duplicates} already recorded), "
            f"{plural(len(self.suppressed), 'address', 'addresses')} suppressed"
        )


def ensure_bounces_schema(conn: Connection) -> None:
    """Create or upgrade the bounce tables."""
    row = conn.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (COMPONENT,)
    ).fetchone()
    if row is None or row[0] != len(MIGRATIONS):
        ensure_schema(conn, COMPONENT, MIGRATIONS)


def _has_suppressions(conn: Connection) -> bool:
    # A read must not migrate: callers (an import) may be inside a transaction already.
    return has_table(conn, "suppressions")


def is_suppressed(conn: Connection, address: str) -> str | None:
    """Why the address must not be mailed (e.g. ``hard bounce 5.1.1``), or None."""
    if not _has_suppressions(conn):
        return None
    row = conn.execute("SELECT reason FROM suppressions WHERE email = ?", (address,)).fetchone()
    return str(row[0]) if row else None


def suppressed_status(conn: Connection, address: str) -> tuple[Status, str] | None:
    """(status, reason) a suppressed address must keep (bounced/complained), or None."""
    if not _has_suppressions(conn):
        return None
    row = conn.execute(
        "SELECT kind, reason FROM suppressions WHERE email = ?", (address,)
    ).fetchone()
    return (SUPPRESSED_STATUS[str(row[0])], str(row[1])) if row else None


def lift_suppression(conn: Connection, address: str, *, why: str) -> bool:
    """Forget a suppression (an editor re-subscribes with the reader's renewed consent).

    A ``reset`` event restarts the soft-bounce count. True if there was one to lift.
    """
    if not _has_suppressions(conn):
        return False
    cursor = conn.execute("DELETE FROM suppressions WHERE email = ?", (address,))
    now = utcnow()
    conn.execute(
        "INSERT OR IGNORE INTO bounce_events"
        " (email, kind, detail, source, reference, happened, recorded)"
        " VALUES (?, 'reset', ?, 'resubscribe', ?, ?, ?)",
        (address, why, f"reset:{now}:{address}", now, now),
    )
    return cursor.rowcount > 0


def list_suppressions(conn: Connection) -> list[tuple[str, str, str]]:
    """Every suppressed address as (email, kind, reason), oldest first."""
    if not _has_suppressions(conn):
        return []
    rows = conn.execute("SELECT email, kind, reason FROM suppressions ORDER BY created, email")
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def soft_streak(conn: Connection, address: str) -> int:
    """Soft bounces in a row since the last hard bounce, complaint or reset.

    Where the bounced messages are in the send ledger (by Message-ID, or SES message id), "in
    a row" is literal: the address's sent editions are walked from the newest one that
    soft-bounced back in time, and the walk stops at the first edition that did not bounce
    (it was delivered). Editions sent after that newest bounce do not count either way: their
    bounces may still be on their way. Otherwise, each failed message counts once.
    """
    row = conn.execute(
        "SELECT COALESCE(MAX(id), 0) FROM bounce_events WHERE email = ? AND kind != 'soft'",
        (address,),
    ).fetchone()
    occasions = {
        str(r[0]) if r[0] else str(r[1])
        for r in conn.execute(
            "SELECT occasion, reference FROM bounce_events"
            " WHERE email = ? AND kind = 'soft' AND id > ?",
            (address, row[0]),
        )
    }
    sent = _sent_messages(conn, address)
    if not any(ids & occasions for ids in sent):
        return len(occasions)
    streak = 0
    for ids in sent:  # newest first
        if ids & occasions:
            streak += 1
        elif streak:
            break
    return streak


def _sent_messages(conn: Connection, address: str) -> list[set[str]]:
    """Per edition sent to ``address``, newest first: the ids a bounce may name it by."""
    if not has_table(conn, "deliveries"):
        return []
    rows = conn.execute(
        "SELECT message_id, provider_id FROM deliveries WHERE email = ? AND state = 'sent'"
        " ORDER BY queued_at DESC, edition DESC",
        (address,),
    )
    return [{str(r[0]), str(r[1])} - {""} for r in rows]


def record_refusal(conn: Connection, address: str, reason: str, *, edition: str) -> None:
    """An SMTP 5.1.x refusal during a send: record it and suppress the address like a hard
    bounce. Runs inside the caller's transaction (the tables exist: ``ensure_ledger``)."""
    now = utcnow()
    status = next(iter(re.findall(r"\b5\.\d{1,3}\.\d{1,3}\b", reason)), "")
    conn.execute(
        "INSERT OR IGNORE INTO bounce_events (email, kind, status, detail, source, reference,"
        " occasion, happened, recorded) VALUES (?, 'hard', ?, ?, 'smtp', ?, '', ?, ?)",
        (address, status, reason[:500], f"smtp:{edition}:{address.lower()}", now, now),
    )
    conn.execute(
        "INSERT INTO suppressions (email, kind, reason, created) VALUES (?, 'hard', ?, ?)"
        " ON CONFLICT(email) DO NOTHING",
        (address, f"refused while sending: {reason}"[:500], now),
    )


def record_events(
    conn: Connection, events: Iterable[BounceEvent], *, soft_limit: int
) -> BounceReport:
    """Record each event once and suppress the addresses that must not be mailed again."""
    ensure_bounces_schema(conn)
    ensure_subscribers(conn)  # migrations need their own transaction: run them first
    report = BounceReport()
    conn.execute("BEGIN IMMEDIATE")
    try:
        for event in events:
            _record_one(conn, event, soft_limit, report)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return report


def _record_one(
    conn: Connection, event: BounceEvent, soft_limit: int, report: BounceReport
) -> None:
    try:
        address = normalize_email(event.email)
    except InvalidAddress as exc:
        report.problems.append(Problem(event.reference, None, f"skipped: {exc}", True))
        return
    cursor = conn.execute(
        "INSERT OR IGNORE INTO bounce_events (email, kind, status, detail, source, reference,"
        " occasion, happened, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            address,
            event.kind,
            event.status,
            event.detail[:500],
            event.source,
            event.reference,
            event.occasion,
            event.happened or utcnow(),
            utcnow(),
        ),
    )
    if cursor.rowcount == 0:
        report.duplicates += 1
        return
    report.recorded += 1
    if event.kind == "complaint":
        reason = f"complaint ({event.detail or 'abuse'})"
    elif event.kind == "hard":
        reason = f"hard bounce {event.status}".rstrip()
    else:
        streak = soft_streak(conn, address)
        if streak < soft_limit:
            return
        reason = f"{streak} soft bounces in a row (last {event.status or 'unknown'})"
    _suppress(conn, address, event.kind, reason, report)


def _suppress(
    conn: Connection, address: str, kind: Kind, reason: str, report: BounceReport
) -> None:
    existing = conn.execute("SELECT kind FROM suppressions WHERE email = ?", (address,)).fetchone()
    # A complaint outranks a bounce: keep the strongest reason on record.
    if existing is None or (kind == "complaint" and existing[0] != "complaint"):
        conn.execute(
            "INSERT INTO suppressions (email, kind, reason, created) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(email) DO UPDATE SET kind = excluded.kind, reason = excluded.reason",
            (address, kind, reason, utcnow()),
        )
        report.suppressed.append((address, reason))
    subscriber = get_subscriber(conn, address)
    status = SUPPRESSED_STATUS[kind]
    if subscriber is not None and subscriber.status is not Status.COMPLAINED:
        conn.execute(
            "UPDATE subscribers SET status = ?, reason = ?, updated = ? WHERE email = ?",
            (str(status), reason, utcnow(), address),
        )
