"""The send ledger: one row per (edition, address), so a send is resumable and exactly-once.

Row states::

    queued ──claim──> sending ──> sent                 (the transport accepted it)
                         │   ├──> failed(reason)       (refused for good: 5xx, or gave up)
                         │   ├──> deferred(retry_at)   (4xx: try again later in this run or the next)
                         │   └──> queued               (connection lost before the hand-off)
                         └── (process died) ── stays "sending": uncertain
    queued/deferred ──> skipped(reason)                (no longer active when its turn came)

A row is moved to ``sending`` and committed *before* the message is handed to the transport,
and to its outcome *after*. A crash between the two leaves the row in ``sending``: the message
may or may not have gone out, and by default it is not sent again (at-most-once for those few;
``requeue_uncertain`` chooses otherwise). Every other row is either finished or has never been
handed over, which is what makes a rerun safe.

The database is in WAL mode with ``synchronous=NORMAL``: commits survive the sending process
being killed; a power cut may lose the last few commits (see README, "Sending").
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from ..errors import db_error
from ..store.database import Connection, connect
from ..store.sqlite import BUSY_TIMEOUT_SECONDS
from ..text.words import plural
from .subscribers import Status, ensure_current, ensure_subscribers, utcnow
from .subscriptions import ACTIVE_SUBSCRIPTION_SQL
from .suppressions import ensure_bounces_schema, record_refusal


class RowState(StrEnum):
    """Where one recipient of one edition stands."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEFERRED = "deferred"
    SKIPPED = "skipped"


FINAL = frozenset({RowState.SENT, RowState.FAILED, RowState.SKIPPED})

MIGRATIONS = (
    """
    CREATE TABLE deliveries (
        edition TEXT NOT NULL,
        email TEXT NOT NULL COLLATE NOCASE,
        subscriber_id INTEGER,
        state TEXT NOT NULL DEFAULT 'queued',
        message_id TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        retry_at TEXT,
        reason TEXT NOT NULL DEFAULT '',
        provider_id TEXT NOT NULL DEFAULT '',
        queued_at TEXT NOT NULL,
        updated TEXT NOT NULL,
        PRIMARY KEY (edition, email)
    );
    CREATE INDEX deliveries_state ON deliveries (edition, state)
    """,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """A ledger row that is due to be sent, with what personalisation needs."""

    email: str
    name: str
    message_id: str
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One ledger row as stored, for status reports and tests."""

    edition: str
    email: str
    state: RowState
    message_id: str
    attempts: int
    retry_at: str | None
    reason: str
    provider_id: str
    updated: str


@dataclass(frozen=True, slots=True)
class LedgerSummary:
    """Counts of an edition's rows by state."""

    edition: str
    counts: dict[str, int]

    def __getitem__(self, state: RowState) -> int:
        return self.counts.get(str(state), 0)

    @property
    def total(self) -> int:
        """Rows in the ledger for this edition."""
        return sum(self.counts.values())

    @property
    def pending(self) -> int:
        """Rows that may still be sent: queued, deferred, or uncertain (left in sending)."""
        return self[RowState.QUEUED] + self[RowState.DEFERRED] + self[RowState.SENDING]

    @property
    def complete(self) -> bool:
        """Every row finished: sent, failed for good, or skipped. Only then is it 'sent'."""
        return self.total > 0 and self.pending == 0

    def describe(self) -> str:
        """One line: ``edition: 498 sent, 1 failed, ...``."""
        parts = [f"{self.counts[state]} {state}" for state in sorted(self.counts)]
        return f"{self.edition}: {plural(self.total, 'recipient')}: " + (", ".join(parts) or "none")


def ensure_ledger(conn: Connection) -> None:
    """Create or upgrade the ledger table (and the subscribers table it reads from)."""
    ensure_subscribers(conn)
    ensure_current(conn, "ledger", MIGRATIONS)
    ensure_bounces_schema(conn)  # ``Ledger.bounced`` records refusals there, mid-transaction


def message_id(edition: str, email: str, domain: str) -> str:
    """The recipient's Message-ID: deterministic from (edition, address), on our domain.

    A resend of an uncertain message carries the same Message-ID, which lets many receivers
    drop the second copy.
    """
    return message_ids(edition, domain)(email)


def message_ids(edition: str, domain: str) -> Callable[[str], str]:
    """``message_id`` for many addresses of one edition: the edition's part made once."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in edition)
    prefix = f"{edition}\0".encode()
    sha256 = hashlib.sha256

    def make(email: str) -> str:
        digest = sha256(prefix + email.lower().encode()).hexdigest()[:24]
        return f"<{safe}.{digest}@{domain}>"

    return make


def enqueue(conn: Connection, edition: str, domain: str) -> int:
    """Add a queued row for every active subscriber not yet in this edition's ledger.

    Returns the number of rows added. Rows already present keep their state, so calling this
    at the start of every run is what makes the run resumable.
    """
    ensure_ledger(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        fresh = conn.execute(
            "SELECT s.id, s.email FROM subscribers s WHERE s.status = ? AND NOT EXISTS"
            " (SELECT 1 FROM deliveries d WHERE d.edition = ? AND d.email = s.email)"
            " ORDER BY s.id",
            (str(Status.ACTIVE), edition),
        ).fetchall()
        enqueue_rows(conn, edition, domain, [(row["id"], row["email"]) for row in fresh])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(fresh)


def enqueue_rows(
    conn: Connection, edition: str, domain: str, recipients: list[tuple[int, str]]
) -> None:
    """Queued rows for exactly these (subscriber id, email) recipients, inside the caller's
    transaction: a newsletter's edition is planned per group of readers, not for everyone."""
    now = utcnow()
    make_id = message_ids(edition, domain)
    conn.executemany(
        "INSERT INTO deliveries"
        " (edition, email, subscriber_id, state, message_id, queued_at, updated)"
        " VALUES (?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT DO NOTHING",
        [(edition, email, sid, make_id(email), now, now) for sid, email in recipients],
    )


def enqueue_addresses(
    conn: Connection, edition: str, domain: str, addresses: Iterable[str]
) -> int:
    """Like ``enqueue``, for a send to chosen readers only (a correction notice): a queued
    row for each of ``addresses`` that is an active subscriber not yet in this ledger key.

    Everyone else is left out: an address that unsubscribed, bounced or complained since is
    not added, and ``Ledger.claim`` checks again just before each message goes out.
    """
    ensure_ledger(conn)
    wanted = sorted({address.lower() for address in addresses})
    conn.execute("BEGIN IMMEDIATE")
    try:
        fresh = [
            row
            for start in range(0, len(wanted), 500)
            for row in conn.execute(
                "SELECT s.id, s.email FROM subscribers s WHERE s.status = ? AND NOT EXISTS"
                " (SELECT 1 FROM deliveries d WHERE d.edition = ? AND d.email = s.email)"
                f" AND s.email IN ({','.join('?' * len(wanted[start : start + 500]))})"
                " ORDER BY s.id",
                (str(Status.ACTIVE), edition, *wanted[start : start + 500]),
            )
        ]
        enqueue_rows(conn, edition, domain, [(row["id"], row["email"]) for row in fresh])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(fresh)


def due(conn: Connection, edition: str) -> list[Pending]:
    """Rows to send in this run: queued and deferred ones, in subscription order."""
    ensure_ledger(conn)
    rows = conn.execute(
        "SELECT d.email, COALESCE(s.name, '') AS name, d.message_id, d.attempts"
        " FROM deliveries d LEFT JOIN subscribers s ON s.email = d.email"
        " WHERE d.edition = ? AND d.state IN ('queued', 'deferred')"
        " ORDER BY d.subscriber_id, d.email",
        (edition,),
    ).fetchall()
    return [
        Pending(
            email=r["email"], name=r["name"], message_id=r["message_id"], attempts=r["attempts"]
        )
        for r in rows
    ]


def summary(conn: Connection, edition: str) -> LedgerSummary:
    """How many of an edition's rows are in each state."""
    ensure_ledger(conn)
    rows = conn.execute(
        "SELECT state, COUNT(*) FROM deliveries WHERE edition = ? GROUP BY state", (edition,)
    )
    return LedgerSummary(edition, {row[0]: row[1] for row in rows})


def editions(conn: Connection) -> list[LedgerSummary]:
    """A summary for every edition the ledger knows, oldest first."""
    ensure_ledger(conn)
    names = [
        row[0]
        for row in conn.execute(
            "SELECT edition FROM deliveries GROUP BY edition ORDER BY MIN(queued_at), edition"
        )
    ]
    return [summary(conn, name) for name in names]


def rows(
    conn: Connection, edition: str, state: RowState | None = None
) -> Iterator[Delivery]:
    """An edition's rows, optionally only those in one state."""
    ensure_ledger(conn)
    query = "SELECT * FROM deliveries WHERE edition = ?"
    params: tuple[str, ...] = (edition,)
    if state is not None:
        query += " AND state = ?"
        params += (str(state),)
    for row in conn.execute(query + " ORDER BY subscriber_id, email", params):
        yield Delivery(
            edition=row["edition"],
            email=row["email"],
            state=RowState(row["state"]),
            message_id=row["message_id"],
            attempts=row["attempts"],
            retry_at=row["retry_at"],
            reason=row["reason"],
            provider_id=row["provider_id"],
            updated=row["updated"],
        )


def requeue_uncertain(conn: Connection, edition: str) -> int:
    """Put rows left in ``sending`` back in the queue: the operator chose at-least-once."""
    ensure_ledger(conn)
    cursor = conn.execute(
        "UPDATE deliveries SET state = 'queued', reason = 'resent after uncertain outcome',"
        " updated = ? WHERE edition = ? AND state = 'sending'",
        (utcnow(), edition),
    )
    return cursor.rowcount


def skip_uncertain(conn: Connection, edition: str) -> int:
    """Count rows left in ``sending`` as done without resending: the operator chose
    at-most-once for them (most were probably delivered)."""
    ensure_ledger(conn)
    cursor = conn.execute(
        "UPDATE deliveries SET state = 'skipped',"
        " reason = 'outcome unknown; not resent (operator chose --skip-uncertain)',"
        " updated = ? WHERE edition = ? AND state = 'sending'",
        (utcnow(), edition),
    )
    return cursor.rowcount


def open_ledger(path: Path | str) -> Connection:
    """A connection that worker threads may share (callers serialise use with a lock)."""
    if not isinstance(path, Path):
        return connect(path)  # PostgreSQL: psycopg connections may be shared by threads
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        conn.close()
        raise db_error(exc, path) or exc from None
    return conn


class Ledger:
    """The per-message writes of a send run, safe to call from several worker threads."""

    def __init__(
        self,
        conn: Connection,
        edition: str,
        newsletter: str = "",
        newsletters: Mapping[str, str] | None = None,
    ) -> None:
        """``newsletter``: the edition belongs to it, and a row is sent only while its
        subscriber still has that newsletter (a change made mid-send is honoured).
        ``newsletters``: the same per address (lower-case), for a send whose readers came
        from several newsletters (a correction notice); an address not in it uses
        ``newsletter``."""
        self._conn = conn
        self._edition = edition
        self._newsletter = newsletter
        self._newsletters = newsletters or {}
        self._lock = threading.Lock()

    def _update(self, sql: str, params: tuple[object, ...]) -> int:
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def claim(self, email: str) -> bool | None:
        """Mark a row ``sending`` before its hand-off.

        True: claimed, go ahead. False: the row is no longer due (another run has it).
        None: the subscriber is no longer active; the row was marked ``skipped``.
        """
        now = utcnow()
        subscribed: str = ""
        extra: tuple[str, ...] = ()
        newsletter = self._newsletters.get(email.lower(), self._newsletter)
        if newsletter:
            subscribed, extra = " AND " + ACTIVE_SUBSCRIPTION_SQL, (email, newsletter)
        with self._lock:
            # The common case in one statement (one commit): still active, still due.
            cursor = self._conn.execute(
                "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated = ?"
                " WHERE edition = ? AND email = ? AND state IN ('queued', 'deferred')"
                " AND EXISTS (SELECT 1 FROM subscribers WHERE email = ? AND status = ?)"
                + subscribed,
                (now, self._edition, email, email, str(Status.ACTIVE), *extra),
            )
            if cursor.rowcount == 1:
                return True
            row = self._conn.execute(
                "SELECT status FROM subscribers WHERE email = ?", (email,)
            ).fetchone()
            left = (
                bool(newsletter)
                and not self._conn.execute(
                    "SELECT " + ACTIVE_SUBSCRIPTION_SQL, (email, newsletter)
                ).fetchone()[0]
            )
            if row is not None and row[0] == Status.ACTIVE and not left:
                return False  # active, but the row is not due: another run has it
            why = "no longer subscribed" if row is None else f"subscriber is {row[0]}"
            if row is not None and row[0] == Status.ACTIVE and left:
                why = f"unsubscribed from {newsletter}"
            skipped = self._conn.execute(
                "UPDATE deliveries SET state = 'skipped', reason = ?, updated = ?"
                " WHERE edition = ? AND email = ? AND state IN ('queued', 'deferred')",
                (why, now, self._edition, email),
            ).rowcount
            return None if skipped else False

    def sent(self, email: str, provider_id: str) -> None:
        """The transport accepted the message."""
        self._update(
            "UPDATE deliveries SET state = 'sent', reason = '', retry_at = NULL,"
            " provider_id = ?, updated = ? WHERE edition = ? AND email = ?",
            (provider_id[:500], utcnow(), self._edition, email),
        )

    def failed(self, email: str, reason: str) -> None:
        """Refused for good; ``reason`` is the server's reply."""
        self._update(
            "UPDATE deliveries SET state = 'failed', reason = ?, retry_at = NULL, updated = ?"
            " WHERE edition = ? AND email = ?",
            (reason[:1000], utcnow(), self._edition, email),
        )

    def bounced(self, email: str, reason: str) -> None:
        """Refused because the address does not exist: fail the row, mark the subscriber."""
        now = utcnow()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "UPDATE deliveries SET state = 'failed', reason = ?, retry_at = NULL,"
                    " updated = ? WHERE edition = ? AND email = ?",
                    (reason[:1000], now, self._edition, email),
                )
                self._conn.execute(
                    "UPDATE subscribers SET status = ?, reason = ?, updated = ? WHERE email = ?",
                    (str(Status.BOUNCED), f"bounced: {reason}"[:1000], now, email),
                )
                record_refusal(self._conn, email, reason, edition=self._edition)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def deferred(self, email: str, reason: str, delay: float) -> None:
        """Refused for now; retry after ``delay`` seconds (this run or the next)."""
        now = datetime.now(UTC)
        retry_at = (now + timedelta(seconds=delay)).isoformat(timespec="seconds")
        self._update(
            "UPDATE deliveries SET state = 'deferred', reason = ?, retry_at = ?, updated = ?"
            " WHERE edition = ? AND email = ?",
            (reason[:1000], retry_at, now.isoformat(timespec="seconds"), self._edition, email),
        )

    def release(self, email: str) -> None:
        """Nothing was handed over (connection lost before DATA): back to the queue."""
        self._update(
            "UPDATE deliveries SET state = 'queued', attempts = MAX(attempts - 1, 0),"
            " updated = ? WHERE edition = ? AND email = ? AND state = 'sending'",
            (utcnow(), self._edition, email),
        )

    def uncertain(self, email: str, reason: str) -> None:
        """The outcome is unknown: the row stays ``sending`` with the reason recorded."""
        self._update(
            "UPDATE deliveries SET reason = ?, updated = ? WHERE edition = ? AND email = ?",
            (f"outcome unknown: {reason}"[:1000], utcnow(), self._edition, email),
        )
