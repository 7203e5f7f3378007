"""The send ledger: one row per (edition, address), so a send is resumable and exactly-once.

Row states::

    queued ──claim──> sending ──> sent                 (the transport accepted it)
                         │   ├──> failed(reason)       (refused for good: 5xx, or gave up)
                         │   ├──> deferred(retry_at)   (4xx: try again later in this run or the next)
                         │   └──> queued               (connection lost before the hand-off)
                         └── (process died) ── stays "sending": uncertain
    queued/deferred ──> skipped(reason)                (no longer active when its turn came)

Several send runs (*workers*, ``claims``) may work on one edition. A worker first claims a
batch of ``queued`` rows in one commit (``worker``, ``lease_until``; the rows stay ``queued``).
Per message it then commits the ``sending`` mark, as late as possible (for SMTP once MAIL,
RCPT and DATA were accepted, just before the body), and only then hands the message over. The
outcome of a message (``sent``, ``failed`` ...) is not committed on its own: it rides with
the worker's next commit: the next message's ``sending`` mark, the next batch claim, a lease
renewal, or the flush a worker does whenever it has nothing to send at once. One commit per
message instead of two, and a batch's claim in one more.

Why nobody gets two copies, wherever a SIGKILL strikes:

1. A message is handed over only after *its own* row's ``queued``/``deferred`` -> ``sending``
   update was committed, and that update is conditional on the row being ``queued`` or
   ``deferred``. SQLite runs writers one at a time (``BEGIN IMMEDIATE``; PostgreSQL: row
   locks), so of any number of workers racing for a row exactly one sees the condition true.
   Claims and leases decide only who *tries* first; the conditional mark decides who sends, so
   an expired lease taken over while its old holder still runs costs a ``NotClaimed``, never
   a second copy.
2. No path moves a ``sending`` row back to ``queued`` except ``release`` (the transport says
   nothing was handed over: the connection broke before the body's final dot) and the
   operator's ``--resend-uncertain``; a takeover never does. ``--resend-uncertain`` and
   ``--skip-uncertain`` touch only rows whose worker is not alive (finished, or lease expired),
   so rows in flight elsewhere are safe from them too.
3. Hence a crash leaves, per connection, at most one row that may have gone out without its
   outcome on record: the message in flight (marked, body sent, reply not yet recorded), or
   the message before it (replied, its outcome waiting for the next commit). Never both: the
   next mark commits the previous outcome in the same transaction, before the next body goes
   out. Such a row stays ``sending``: *uncertain*, reported, not resent by default.
4. Everything else is either final (committed) or was never handed over (``queued``,
   ``deferred``, claimed or not): a rerun or a surviving worker may send it, once, by 1.
   A killed worker's claimed rows become claimable when its lease expires (at once when a
   worker on the same host sees its pid gone); its deferred rows when it is no longer alive.

What a SIGKILL leaves, by moment: while claiming (before COMMIT): nothing, the transaction
rolls back; holding claimed rows: they stay ``queued`` with the dead worker's lease, taken
over after it expires; during a message's envelope: that row untouched (``queued``), the
previous message's outcome lost, so that one row is uncertain; between the mark and the
reply: that row uncertain; after the reply, before the next commit: that row uncertain.

The database is in WAL mode with ``synchronous=NORMAL``: commits survive the sending process
being killed; a power cut may lose the last few commits (see README, "Sending"), which could
send those few messages again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from ..store.database import Connection
from ..text.words import plural
from . import claims
from .retention import first_queued as pruned_first_queued
from .retention import totals as pruned_totals
from .subscribers import Status, ensure_current, utcnow


class RowState(StrEnum):
    """Where one recipient of one edition stands."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEFERRED = "deferred"
    SKIPPED = "skipped"


FINAL = frozenset({RowState.SENT, RowState.FAILED, RowState.SKIPPED})


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
    worker: str = ""  # the send run that claimed it last (``claims``)


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
    ensure_current(conn)


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


ENQUEUE_BATCH = 10_000  # subscribers read and queued at a time (memory: ~5 MB a batch)


def enqueue(conn: Connection, edition: str, domain: str) -> int:
    """Add a queued row for every active subscriber not yet in this edition's ledger.

    Returns the number of rows added. Rows already present keep their state, so calling this
    at the start of every run is what makes the run resumable. Subscribers are read in
    batches by id, all in one transaction: a million-reader list once held ~470 MB of rows
    in every sender process at its start.
    """
    ensure_ledger(conn)
    added = 0
    after = -(2**63)  # below every id: ids are 64-bit integers on both back-ends
    conn.execute("BEGIN IMMEDIATE")
    try:
        while True:
            fresh = [
                (row["id"], row["email"])
                for row in conn.execute(
                    "SELECT s.id, s.email FROM subscribers s WHERE s.status = ? AND s.id > ?"
                    " AND NOT EXISTS (SELECT 1 FROM deliveries d"
                    " WHERE d.edition = ? AND d.email = s.email)"
                    " ORDER BY s.id LIMIT ?",
                    (str(Status.ACTIVE), after, edition, ENQUEUE_BATCH),
                )
            ]
            if not fresh:
                break
            enqueue_rows(conn, edition, domain, fresh)
            added += len(fresh)
            after = fresh[-1][0]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return added


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


def summary(conn: Connection, edition: str) -> LedgerSummary:
    """How many of an edition's rows are in each state, rows folded by retention included
    (``retention.py``): a pruned edition counts as it did before."""
    ensure_ledger(conn)
    rows = conn.execute(
        "SELECT state, COUNT(*) FROM deliveries WHERE edition = ? GROUP BY state", (edition,)
    )
    counts: dict[str, int] = {row[0]: row[1] for row in rows}
    for state, total in pruned_totals(conn, edition).items():
        counts[state] = counts.get(state, 0) + total
    return LedgerSummary(edition, counts)


def editions(conn: Connection) -> list[LedgerSummary]:
    """A summary for every edition the ledger knows (pruned ones too), oldest first."""
    ensure_ledger(conn)
    began = pruned_first_queued(conn)
    for name, first in conn.execute(
        "SELECT edition, MIN(queued_at) FROM deliveries GROUP BY edition"
    ):
        began[name] = min(first, began.get(name, first))
    return [summary(conn, name) for name in sorted(began, key=lambda e: (began[e], e))]


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
            worker=row["worker"],
        )


def requeue_uncertain(conn: Connection, edition: str) -> int:
    """Put rows left in ``sending`` back in the queue: the operator chose at-least-once."""
    ensure_ledger(conn)
    cursor = conn.execute(
        "UPDATE deliveries SET state = 'queued', reason = 'resent after uncertain outcome',"
        " lease_until = NULL, updated = ? WHERE edition = ? AND state = 'sending'"
        " AND worker NOT IN (" + claims.LIVE_WORKERS_SQL + ")",
        (utcnow(), edition, edition, claims.stamp()),
    )
    return cursor.rowcount


def skip_uncertain(conn: Connection, edition: str) -> int:
    """Count rows left in ``sending`` as done without resending: the operator chose
    at-most-once for them (most were probably delivered)."""
    ensure_ledger(conn)
    cursor = conn.execute(
        "UPDATE deliveries SET state = 'skipped',"
        " reason = 'outcome unknown; not resent (operator chose --skip-uncertain)',"
        " updated = ? WHERE edition = ? AND state = 'sending'"
        " AND worker NOT IN (" + claims.LIVE_WORKERS_SQL + ")",
        (utcnow(), edition, edition, claims.stamp()),
    )
    return cursor.rowcount


def reap_dead_senders(conn: Connection, edition: str) -> int:
    """``claims.reap`` in its own transaction: this host's dead senders' leases end now."""
    ensure_ledger(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        count = claims.reap(conn, edition)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return count


def uncertain_count(conn: Connection, edition: str) -> int:
    """Rows left ``sending`` by a run that is over (finished, or its lease expired): the
    uncertain ones. A live worker's ``sending`` rows are simply in flight."""
    ensure_ledger(conn)
    row = conn.execute(
        "SELECT COUNT(*) FROM deliveries WHERE edition = ? AND state = 'sending'"
        " AND worker NOT IN (" + claims.LIVE_WORKERS_SQL + ")",
        (edition, edition, claims.stamp()),
    ).fetchone()
    return int(row[0])
