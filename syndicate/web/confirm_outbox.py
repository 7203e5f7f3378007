"""The confirmation outbox: subscribe requests wait in the state database; a worker mails them.

The subscribe form must answer the same way, in the same time, for every address, or it
tells anyone who is subscribed. So the request path only validates the address and inserts
one row here, whatever the address's standing; the decision (new, pending, active,
suppressed) and the mail happen in ``drain``, which ``syndicate serve`` (and the WSGI app,
in every worker process) runs on a background thread.

The outbox is durable: a request survives the relay being down (it is retried with backoff
until its link would expire) and the process dying (the next ``serve`` picks it up; a row a
dead process had claimed is free again after ``LEASE`` seconds). Delivery is at least once: a
crash between the relay's "250 OK" and our bookkeeping sends the same link again.

Each mailed row keeps the nonce its link carries, the subscriber's status and change time
when the link was made (``basis``), and when the link was used: that is what makes a link
single-use and unable to undo an unsubscribe (``optin.confirm_subscription``).
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..delivery import choices, subscriptions
from ..delivery.subscribers import (
    Status,
    Subscriber,
    add_subscriber,
    ensure_current,
    ensure_subscribers,
    get_subscriber,
    set_status,
)
from ..delivery.tokens import load_secret
from ..delivery.transports import PermanentFailure, TransportDown, TransportFailure
from ..errors import SyndicateError
from ..store.database import Connection, connect
from .optin import (
    ConfirmToken,
    Outcome,
    basis,
    build_confirmation,
    make_confirm_token,
    send_confirmation,
    verify_confirm_token,
)

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger("syndicate.web")

COMPONENT = "confirm_outbox"
MIGRATIONS = (
    """
    CREATE TABLE confirm_outbox (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL,
        address_key TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        requested REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        nonce TEXT UNIQUE,
        expires INTEGER,
        basis TEXT NOT NULL DEFAULT '',
        used REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try REAL NOT NULL DEFAULT 0,
        outcome TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX confirm_outbox_due ON confirm_outbox (state, next_try);
    CREATE INDEX confirm_outbox_key ON confirm_outbox (address_key, requested);
    CREATE INDEX confirm_outbox_email ON confirm_outbox (email)
    """,
    # [newsletters]: the ids ticked on the form (separated by spaces; "" = the defaults).
    """
    ALTER TABLE confirm_outbox ADD COLUMN newsletters TEXT NOT NULL DEFAULT ''
    """,
)

# At most this many confirmation emails per mailbox (``address_key``) per rate window, from
# however many client IPs, processes and restarts: no one can mail-bomb an inbox with us.
ADDRESS_LIMIT = 3
LEASE = 120.0  # seconds a claimed row is left alone (then a crashed sender's row is retried)
FIRST_RETRY = 30.0
MAX_RETRY = 1800.0
POLL = 15.0  # the worker also looks for due retries and other processes' rows this often


def address_key(normalized: str) -> str:
    """The mailbox an address reaches, for the per-address limit.

    ``normalized`` is email-validator's form (IDNA, lower-case domain: full-width
    letters and ideographic dots in the domain are plain already). The local part is folded further
    (compatibility forms, case) and loses a ``+tag``: most providers deliver all of these to
    one mailbox, and merging keys can only make the limit stricter, never send more.
    """
    local, _, domain = normalized.rpartition("@")
    local = unicodedata.normalize("NFKC", local).casefold().partition("+")[0]
    return f"{local}@{domain.lower()}"


def ensure_outbox(conn: Connection) -> None:
    """Create or upgrade the outbox table (cheap once current)."""
    ensure_current(conn, COMPONENT, MIGRATIONS)


def enqueue(
    conn: Connection,
    address: str,
    *,
    name: str,
    now: float,
    newsletters: Sequence[str] = (),
) -> None:
    """Queue a confirmation for a normalised ``address``: the same one insert for every address.

    ``newsletters``: the (checked) ids the reader ticked; the confirmation confirms them."""
    ensure_outbox(conn)
    conn.execute(
        "INSERT INTO confirm_outbox (email, address_key, name, requested, next_try, newsletters)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            address,
            address_key(address),
            " ".join(name.split())[:200],
            now,
            now,
            " ".join(newsletters),
        ),
    )


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    email: str
    address_key: str
    name: str
    requested: float
    nonce: str | None
    expires: int | None
    attempts: int
    newsletters: str = ""


def _claim(conn: Connection, now: float) -> _Row | None:
    """Take the oldest due row for ``LEASE`` seconds (atomic: one process gets it)."""
    row = conn.execute(
        "UPDATE confirm_outbox SET next_try = ?, attempts = attempts + 1 WHERE id = ("
        " SELECT id FROM confirm_outbox WHERE state = 'queued' AND next_try <= ?"
        " ORDER BY next_try, id LIMIT 1)"
        " RETURNING id, email, address_key, name, requested, nonce, expires, attempts,"
        " newsletters",
        (now + LEASE, now),
    ).fetchone()
    return _Row(*row) if row is not None else None


def _finish(conn: Connection, row_id: int, state: str, outcome: str) -> None:
    conn.execute(
        "UPDATE confirm_outbox SET state = ?, outcome = ? WHERE id = ?", (state, outcome, row_id)
    )


def drain(config: Config, *, secret: bytes, clock: Callable[[], float] = time.time) -> int:
    """Process every due request; returns how many were looked at. Never raises for one row."""
    conn = connect(config.state_target)
    try:
        ensure_subscribers(conn)
        ensure_outbox(conn)
        if config.model.newsletters:
            choices.ensure(config, conn)
        done = 0
        while (row := _claim(conn, clock())) is not None:
            done += 1
            try:
                _process(config, conn, row, secret=secret, now=clock())
            except (SyndicateError, ValueError) as exc:
                log.error("confirmation email to %s not sent: %s", row.email, exc)
                _finish(conn, row.id, "failed", str(exc))
        return done
    finally:
        conn.close()


def _process(
    config: Config, conn: Connection, row: _Row, *, secret: bytes, now: float
) -> None:
    """Decide what a request leads to, then mail its link (or schedule a retry)."""
    prepared = _prepare(config, conn, row, now=now)
    if prepared is None:
        return
    nonce, expires = prepared
    moment = datetime.fromtimestamp(now, UTC)
    token = make_confirm_token(
        secret, row.email, expires=datetime.fromtimestamp(expires, UTC), nonce=nonce
    )
    confirmation = build_confirmation(config, row.email, token=token, now=moment)
    try:
        send_confirmation(config, confirmation)
    except PermanentFailure as exc:
        log.warning("confirmation email to %s refused: %s", row.email, exc)
        _finish(conn, row.id, "failed", f"refused: {exc}")
        return
    except (TransportFailure, TransportDown) as exc:
        wait = min(FIRST_RETRY * 2 ** (row.attempts - 1), MAX_RETRY)
        if now + wait >= expires:
            log.error("confirmation email to %s given up: %s", row.email, exc)
            _finish(conn, row.id, "failed", f"gave up: {exc}")
            return
        log.warning("confirmation email to %s not sent (retry in %.0f s): %s", row.email, wait, exc)
        conn.execute(
            "UPDATE confirm_outbox SET next_try = ?, outcome = ? WHERE id = ?",
            (now + wait, str(exc), row.id),
        )
        return
    log.info("confirmation email sent to %s", row.email)
    _finish(conn, row.id, "sent", "sent")


def _prepare(
    config: Config, conn: Connection, row: _Row, *, now: float
) -> tuple[str, int] | None:
    """(nonce, expiry) of the link to mail, or None when nothing is to be sent (row done)."""
    settings = config.model.subscribe
    conn.execute("BEGIN IMMEDIATE")
    try:
        if row.nonce is not None and row.expires is not None:  # a retry: the same link
            conn.execute("COMMIT")
            return row.nonce, row.expires
        recent = conn.execute(
            "SELECT COUNT(*) FROM confirm_outbox WHERE address_key = ? AND state = 'sent'"
            " AND requested > ?",
            (row.address_key, now - settings.rate_window),
        ).fetchone()[0]
        current = get_subscriber(conn, row.email)
        many = bool(config.model.newsletters)
        skip = _skip_reason(current, recent, wants_more=many and _wants_more(conn, current, row))
        if skip is not None:
            _finish(conn, row.id, "skipped", skip)
            conn.execute("COMMIT")
            log.info("subscribe request for %s: %s, nothing sent", row.email, skip)
            return None
        if current is None:
            current, _ = add_subscriber(
                conn, row.email, name=row.name, source="web", status=Status.PENDING
            )
        if many:  # the ticked newsletters wait for the click, as the subscriber does
            choices.choose(config, conn, current, row.newsletters.split(), how="form", pending=True)
        nonce = secrets.token_urlsafe(16)
        expires = int(
            (datetime.fromtimestamp(now, UTC) + timedelta(hours=settings.confirm_hours)).timestamp()
        )
        conn.execute(
            "UPDATE confirm_outbox SET nonce = ?, expires = ?, basis = ? WHERE id = ?",
            (nonce, expires, basis(current), row.id),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return nonce, expires


def _wants_more(conn: Connection, current: Subscriber | None, row: _Row) -> bool:
    """An active subscriber asking (on the form) for a newsletter they do not have yet."""
    if current is None or current.status is not Status.ACTIVE:
        return False
    have = {
        sub.newsletter
        for sub in subscriptions.subscriptions_of(conn, current.id)
        if sub.status is subscriptions.SubStatus.ACTIVE
    }
    return bool(set(row.newsletters.split()) - have)


def _skip_reason(
    current: Subscriber | None, recent: int, *, wants_more: bool = False
) -> str | None:
    if recent >= ADDRESS_LIMIT:
        return "limited"
    if current is not None and current.status is Status.ACTIVE and not wants_more:
        return "already active"
    if current is not None and current.status in (Status.BOUNCED, Status.COMPLAINED):
        return "suppressed"
    return None


def spend(conn: Connection, nonce: str, address: str, now: datetime) -> str | None:
    """Use the link with ``nonce``: its basis if it was unused, else None.

    Every other unused link of the address is spent with it, so an older link cannot move
    the subscriber again later. Call inside a transaction.
    """
    ensure_outbox(conn)
    row = conn.execute(
        "SELECT basis, used, email FROM confirm_outbox WHERE nonce = ?", (nonce,)
    ).fetchone()
    if row is None or row["used"] is not None or row["email"] != address:
        return None
    conn.execute(
        "UPDATE confirm_outbox SET used = ? WHERE email = ? AND used IS NULL AND nonce IS NOT NULL",
        (now.timestamp(), address),
    )
    return str(row["basis"])


def confirm_subscription(
    conn: Connection, token: str, *, secret: bytes, now: datetime
) -> tuple[str, Outcome | None]:
    """Activate the subscriber a genuine, unused token names; returns (address, outcome).

    Outcome ``SENT`` here means "activated now"; ``ALREADY`` a used link of a subscriber who
    is active; ``SUPPRESSED`` a bounced/complaining address, which stays suppressed; None a
    link that may not move anything any more: used, from another request, or the reader
    changed status since it was sent (unsubscribed, for one). Every link of the address is
    spent once one of them confirms.
    """
    found = verify_confirm_token(secret, token, now=now)
    ensure_subscribers(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = get_subscriber(conn, found.address)
        outcome = _confirm(conn, found, current, spend(conn, found.nonce, found.address, now))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found.address, outcome


def _confirm(
    conn: Connection,
    found: ConfirmToken,
    current: Subscriber | None,
    recorded: str | None,
) -> Outcome | None:
    """The decision of ``confirm_subscription``; ``recorded`` is the request's basis, None
    when the link was used already or names no request of ours."""
    if current is None:
        return None
    if current.status in (Status.BOUNCED, Status.COMPLAINED):
        return Outcome.SUPPRESSED
    if recorded is None:
        return Outcome.ALREADY if current.status is Status.ACTIVE else None
    if recorded != basis(current) or current.status not in (
        Status.PENDING,
        Status.UNSUBSCRIBED,
        Status.ACTIVE,
    ):
        return None
    if current.status is not Status.ACTIVE:
        set_status(conn, found.address, Status.ACTIVE, reason="confirmed (double opt-in)")
    if subscriptions.installed(conn):
        subscriptions.activate_pending(conn, current.id, how="form (double opt-in)")
    return Outcome.SENT


def untried_count(conn: Connection) -> int:
    """How many requests have not come to the end of a first attempt (waiting for a retry
    does not count): tests wait for it to reach 0."""
    ensure_outbox(conn)
    row = conn.execute(
        "SELECT COUNT(*) FROM confirm_outbox WHERE state = 'queued' AND outcome = ''"
    ).fetchone()
    return int(row[0])


class OutboxWorker:
    """A daemon thread that drains the outbox when woken, and every ``POLL`` seconds."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="confirm-outbox", daemon=True)

    def start(self) -> None:
        """Start the thread; it drains what earlier runs left at once."""
        self._thread.start()

    def wake(self) -> None:
        """A new request is queued: look now."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current drain and end the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                drain(self.config, secret=load_secret())
            except (SyndicateError, sqlite3.Error, OSError) as exc:
                log.error("confirmation outbox: %s", exc)
            self._wake.wait(POLL)
