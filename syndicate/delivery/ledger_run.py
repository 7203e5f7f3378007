"""The writes of one send run (one *worker*): batch claims, leases, the per-message mark and
its outcome, batched into as few commits as the exactly-once argument allows.

``ledger`` holds the table, its states and the argument why no recipient gets two copies;
``claims`` the batch claim and the leases. This is the object the send engine writes through.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..errors import db_error
from ..store.database import Connection, connect, is_postgres, keep_prepared
from ..store.sqlite import BUSY_TIMEOUT_SECONDS
from . import claims
from .ledger import Pending
from .subscribers import Status, utcnow
from .subscriptions import ACTIVE_SUBSCRIPTION_SQL
from .suppressions import record_refusal


def open_ledger(path: Path | str) -> Connection:
    """A connection that worker threads may share (callers serialise use with a lock)."""
    if not isinstance(path, Path):
        shared = connect(path)  # PostgreSQL: psycopg connections may be shared by threads
        keep_prepared(shared)  # a run's few statements, thousands of times each
        return shared
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
    """The writes of one send run (one *worker*), safe to call from several worker threads.

    Batches: ``claim_batch`` takes rows for this worker in one commit; the outcome of a
    message is not committed on its own but queued in memory (``_outcomes``) and written in
    the same transaction as the next ``claim`` (the ``sending`` mark that must precede the
    next hand-off), the next batch claim, a lease renewal, or ``flush``; whichever comes
    first. ``ledger``'s module docstring says why that keeps every recipient to one copy.
    """

    def __init__(
        self,
        conn: Connection,
        edition: str,
        newsletter: str = "",
        newsletters: Mapping[str, str] | None = None,
        *,
        worker: str = "",
        lease: float = 60.0,
    ) -> None:
        """``newsletter``: the edition belongs to it, and a row is sent only while its
        subscriber still has that newsletter (a change made mid-send is honoured).
        ``newsletters``: the same per address (lower-case), for a send whose readers came
        from several newsletters (a correction notice); an address not in it uses
        ``newsletter``. ``worker`` names this run in the ledger (default: a new
        ``host:pid:random``); ``lease`` is how long its claims hold without renewal."""
        self._conn = conn
        self._edition = edition
        self._newsletter = newsletter
        self._newsletters = newsletters or {}
        self._lock = threading.Lock()
        self._outcomes: list[tuple[str, tuple[object, ...]]] = []
        self._touched: list[str] = []  # the address of each queued outcome (``_combined``)
        self._postgres = is_postgres(conn)
        self.worker = worker or claims.new_worker_id()
        self.lease = lease
        self._registered = False

    # --- the transaction every write goes through ----------------------------------------

    def _write(self, sql: str = "", params: tuple[object, ...] = (), email: str = "") -> int:
        """Run ``sql`` (if any) after the queued outcomes, all in one commit; its rowcount.

        Called with ``self._lock`` held. With no outcome queued a single statement commits
        on its own (SQLite's implicit transaction), saving the BEGIN/COMMIT round trips. On
        PostgreSQL the transaction takes no global writer lock (``claims.begin``): row locks
        make the conditional ``sending`` mark atomic, so senders do not queue behind each
        other; and the outcomes ride in the same single statement as the mark where they
        may (``_combined``): one round trip and one commit per message."""
        conn = self._conn
        if not self._outcomes:
            return conn.execute(sql, params).rowcount if sql else 0
        combined = self._combined(sql, params, email) if self._postgres else None
        if combined is not None:
            count = conn.execute(*combined).rowcount
            self._cleared()
            return count if sql else 0
        claims.begin(conn)
        try:
            for queued, args in self._outcomes:
                conn.execute(queued, args)
            count = conn.execute(sql, params).rowcount if sql else 0
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._cleared()
        return count

    def _combined(
        self, sql: str, params: tuple[object, ...], email: str
    ) -> tuple[str, tuple[object, ...]] | None:
        """The queued outcomes and ``sql`` as one PostgreSQL statement, or None.

        Each outcome becomes a data-modifying CTE of the last statement: a single statement
        is atomic on its own, so this commits exactly what BEGIN ... COMMIT around them would,
        in one round trip (a statement in autocommit needs no BEGIN or COMMIT). The CTEs all
        run on one snapshot, so this holds only while no two of them touch the same row:
        otherwise (an in-run retry of an address whose deferral is still queued) None, and
        the caller takes the transaction. Every statement keeps its own WHERE clause, so the
        conditional ``sending`` mark is the same check as alone; its rowcount is the
        statement's."""
        touched = self._touched
        if len(set(touched)) != len(touched) or (sql and email.lower() in touched):
            return None
        statements = [queued for queued, _ in self._outcomes]
        values = [value for _, args in self._outcomes for value in args]
        if sql:
            statements.append(sql)
            values.extend(params)
        last = statements.pop()
        ctes = ", ".join(f"o{n} AS ({queued})" for n, queued in enumerate(statements))
        return (f"WITH {ctes} {last}" if ctes else last), tuple(values)

    def _cleared(self) -> None:
        """The queued outcomes are committed."""
        self._outcomes.clear()
        self._touched.clear()

    def _outcome(self, sql: str, params: tuple[object, ...], email: str) -> None:
        """Queue an outcome for ``email``'s row for the next commit (the class docstring)."""
        with self._lock:
            self._outcomes.append((sql, params))
            self._touched.append(email.lower())

    def flush(self) -> None:
        """Commit the queued outcomes now (a worker with nothing to send next calls this)."""
        with self._lock:
            self._write()

    # --- claims and leases (``claims``) --------------------------------------------------

    def claim_batch(self, size: int) -> list[Pending]:
        """Claim up to ``size`` free rows for this worker in one commit (with any queued
        outcomes); the rows with their subscribers' names, in subscription order."""
        conn = self._conn
        with self._lock:
            claims.begin(conn)
            try:
                for queued, args in self._outcomes:
                    conn.execute(queued, args)
                if not self._registered:
                    claims.register(conn, self._edition, self.worker, self.lease)
                claims.reap(conn, self._edition)
                taken = claims.claim_batch(
                    conn, self._edition, self.worker, size=size, lease=self.lease
                )
                names = _names(conn, [row.email for row in taken])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._cleared()
            self._registered = True
        return [
            Pending(
                email=row.email,
                name=names.get(row.email.lower(), ""),
                message_id=row.message_id,
                attempts=row.attempts,
            )
            for row in taken
        ]

    def renew(self) -> None:
        """Extend this worker's lease and its rows' (the heartbeat), with queued outcomes."""
        conn = self._conn
        with self._lock:
            if not self._registered:
                return
            claims.begin(conn)
            try:
                for queued, args in self._outcomes:
                    conn.execute(queued, args)
                claims.renew(conn, self._edition, self.worker, self.lease)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._cleared()

    def let_go(self, email: str) -> None:
        """This run will not try ``email`` again: its claim ends now, so another worker (or
        the next run) may take it."""
        self._outcome(
            "UPDATE deliveries SET lease_until = NULL WHERE edition = ? AND email = ?"
            " AND worker = ? AND state = 'queued'",
            (self._edition, email, self.worker),
            email,
        )

    def busy_elsewhere(self) -> int:
        """Rows other live workers hold or have in flight (``claims.busy_elsewhere``)."""
        with self._lock:
            self._write()
            return claims.busy_elsewhere(self._conn, self._edition, self.worker)

    def finish(self) -> None:
        """The run is over: commit what is queued, free the rows it still holds."""
        conn = self._conn
        with self._lock:
            if not self._registered:
                self._write()
                return
            claims.begin(conn)
            try:
                for queued, args in self._outcomes:
                    conn.execute(queued, args)
                claims.release(conn, self._edition, self.worker)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._cleared()

    # --- one message ---------------------------------------------------------------------

    def claim(self, email: str) -> bool | None:
        """Mark a row ``sending`` before its hand-off, committed with the queued outcomes.

        True: go ahead. False: the row is no longer due (another worker or run has it).
        None: the subscriber is no longer active; the row was marked ``skipped``.
        """
        now = utcnow()
        subscribed: str = ""
        extra: tuple[str, ...] = ()
        newsletter = self._newsletters.get(email.lower(), self._newsletter)
        if newsletter:
            subscribed, extra = " AND " + ACTIVE_SUBSCRIPTION_SQL, (email, newsletter)
        with self._lock:
            # The common case in one statement: still active, still due. Not ``worker = ?``:
            # whoever moves the row out of queued/deferred first sends it, and nobody else.
            marked = self._write(
                "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated = ?,"
                " worker = ? WHERE edition = ? AND email = ? AND state IN ('queued', 'deferred')"
                " AND EXISTS (SELECT 1 FROM subscribers WHERE email = ? AND status = ?)"
                + subscribed,
                (now, self.worker, self._edition, email, email, str(Status.ACTIVE), *extra),
                email,
            )
            if marked == 1:
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
                "UPDATE deliveries SET state = 'skipped', reason = ?, updated = ?, worker = ?"
                " WHERE edition = ? AND email = ? AND state IN ('queued', 'deferred')",
                (why, now, self.worker, self._edition, email),
            ).rowcount
            return None if skipped else False

    def sent(self, email: str, provider_id: str) -> None:
        """The transport accepted the message (committed with the next write)."""
        self._outcome(
            "UPDATE deliveries SET state = 'sent', reason = '', retry_at = NULL,"
            " provider_id = ?, updated = ? WHERE edition = ? AND email = ?",
            (provider_id[:500], utcnow(), self._edition, email),
            email,
        )

    def failed(self, email: str, reason: str) -> None:
        """Refused for good; ``reason`` is the server's reply."""
        self._outcome(
            "UPDATE deliveries SET state = 'failed', reason = ?, retry_at = NULL, updated = ?"
            " WHERE edition = ? AND email = ?",
            (reason[:1000], utcnow(), self._edition, email),
            email,
        )

    def bounced(self, email: str, reason: str) -> None:
        """Refused because the address does not exist: fail the row, mark the subscriber."""
        now = utcnow()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for queued, args in self._outcomes:
                    self._conn.execute(queued, args)
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
            self._cleared()

    def deferred(self, email: str, reason: str, delay: float) -> None:
        """Refused for now; retry after ``delay`` seconds (this run or the next)."""
        now = datetime.now(UTC)
        retry_at = (now + timedelta(seconds=delay)).isoformat(timespec="seconds")
        self._outcome(
            "UPDATE deliveries SET state = 'deferred', reason = ?, retry_at = ?, updated = ?"
            " WHERE edition = ? AND email = ?",
            (reason[:1000], retry_at, now.isoformat(timespec="seconds"), self._edition, email),
            email,
        )

    def release(self, email: str) -> None:
        """Nothing was handed over (connection lost before DATA): back to the queue."""
        self._outcome(
            "UPDATE deliveries SET state = 'queued', attempts = CASE WHEN attempts > 0"
            " THEN attempts - 1 ELSE 0 END, updated = ?"
            " WHERE edition = ? AND email = ? AND state = 'sending'",
            (utcnow(), self._edition, email),
            email,
        )

    def uncertain(self, email: str, reason: str) -> None:
        """The outcome is unknown: the row stays ``sending`` with the reason recorded."""
        self._outcome(
            "UPDATE deliveries SET reason = ?, updated = ? WHERE edition = ? AND email = ?",
            (f"outcome unknown: {reason}"[:1000], utcnow(), self._edition, email),
            email,
        )


def _names(conn: Connection, emails: list[str]) -> dict[str, str]:
    """Subscribers' names by lower-case address, for a claimed batch (personalisation)."""
    names: dict[str, str] = {}
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        for row in conn.execute(
            "SELECT email, name FROM subscribers"
            f" WHERE email IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            names[row[0].lower()] = row[1] or ""
    return names
