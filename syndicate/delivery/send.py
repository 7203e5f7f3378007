"""Sending an edition to every active subscriber, resumably; and the one-off test copy.

Edition states (``editions.status``): ``draft`` (planned or previewed) -> ``sending`` (the
ledger has rows; some recipients may already have it) -> ``sent`` (every ledger row is
final: sent, failed for good, or skipped). An edition becomes ``sent`` only when the ledger
says so; until then a rerun (``syndicate email --send``, or ``publish``) resumes it.

Rows left ``sending`` by a crash are *uncertain*: they keep the edition ``sending`` and the
exit code 3 until the operator decides, with ``resend_uncertain`` (send them again; some may
get two copies) or ``skip_uncertain`` (count them as done; some may have none).

``send_edition`` has no click in it: the CLI and ``publish`` both call it.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DeliveryError, UsageError
from ..text.words import plural
from . import ledger as ledger_db
from .engine import Engine, Job, Progress, RetryPolicy, Tally
from .ledger import LedgerSummary, RowState
from .transports import (
    ConnectionLost,
    PermanentFailure,
    TemporaryFailure,
    Transport,
    TransportDown,
    UncertainDelivery,
    make_transport,
    unledgered,
)

if TYPE_CHECKING:
    from ..config import Config
    from ..edition.render import RenderedEdition
    from ..model import Edition
    from .message import Recipient

log = logging.getLogger("syndicate.delivery")

EXIT_OK = 0
EXIT_PENDING = 3


class NoSubscribers(DeliveryError):
    """There is nobody to send to: the edition is left as it was."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendReport:
    """The outcome of one send run.

    ``sent``, ``failed``, ``skipped`` count what this run did; ``deferred``, ``uncertain`` and
    ``queued`` are what the ledger still holds open for the edition after the run.
    """

    edition: str
    transport: str
    sent: int
    deferred: int
    failed: int
    skipped: int
    uncertain: int
    queued: int
    bounced: int
    total: int
    sent_total: int
    seconds: float
    stopped: str = ""
    errors: tuple[str, ...] = ()

    @property
    def pending(self) -> int:
        """Recipients who may still get this edition (the rerun's work)."""
        return self.deferred + self.uncertain + self.queued

    @property
    def complete(self) -> bool:
        """Every recipient handled: the edition is ``sent``."""
        return self.pending == 0

    @property
    def exit_code(self) -> int:
        """0 when every recipient is handled, 3 when any is still pending (rerun resumes)."""
        return EXIT_OK if self.complete else EXIT_PENDING

    def summary(self) -> str:
        """One line: ``edition 2026-11-30 via smtp: sent 498, deferred 1, ...``."""
        rate = f", {self.sent / self.seconds:.0f}/s" if self.sent and self.seconds > 0 else ""
        line = (
            f"edition {self.edition} via {self.transport}: sent {self.sent}, deferred "
            f"{self.deferred}, failed {self.failed}, skipped {self.skipped}, uncertain "
            f"{self.uncertain}"
            + (f", queued {self.queued}" if self.queued else "")
            + f" ({self.sent_total} of {plural(self.total, 'recipient')} have it; "
            f"{self.seconds:.1f} s{rate})"
        )
        return line

    def advice(self) -> list[str]:
        """What the operator should do next, if anything."""
        notes = []
        if self.stopped:
            notes.append(f"stopped: {self.stopped}")
        if self.uncertain:
            notes.append(
                f"{plural(self.uncertain, 'recipient')} uncertain (the run ended while their message "
                "was being handed over): rerun with --resend-uncertain to send them again, or "
                "--skip-uncertain to count them as done; `syndicate email --status "
                f"{self.edition}` lists them"
            )
        if self.deferred or self.queued:
            notes.append("some recipients are still pending: rerun to resume")
        return notes


def send_lock_path(state_db: Path) -> Path:
    """``state/syndicate.db`` -> ``state/syndicate.db.send.lock`` (one sender at a time)."""
    return state_db.with_name(state_db.name + ".send.lock")


def envelope_sender(config: Config) -> str:
    """The SMTP envelope sender (MAIL FROM): the From address."""
    from .message import sender

    return parseaddr(sender(config))[1]


def policy_from(config: Config) -> RetryPolicy:
    """``[email.sending]`` as the engine's retry policy."""
    s = config.model.email.sending
    return RetryPolicy(
        retries=s.retries,
        retry_delay=s.retry_delay,
        max_attempts=s.max_attempts,
        max_errors=s.max_errors,
    )


def recipient_for(
    config: Config, edition_id: str, secret: bytes, email: str, name: str, message_id: str
) -> Recipient:
    """The per-recipient values: signed unsubscribe link, view-in-browser URL, Message-ID."""
    from .message import Recipient, archive_url, unsubscribe_base
    from .tokens import make_token, unsubscribe_url

    return Recipient(
        email=email,
        name=name,
        unsubscribe_url=unsubscribe_url(unsubscribe_base(config), make_token(secret, email)),
        view_url=archive_url(config, edition_id),
        message_id=message_id,
    )


def message_builder(
    config: Config, rendered: RenderedEdition, secret: bytes, *, date: datetime
) -> Callable[[Job], bytes]:
    """Job -> final wire bytes: personalised (no MJML), then DKIM-signed if configured."""
    from .dkim import signer_from_config
    from .personalize import Personalizer

    personalize = Personalizer(config, rendered, date=date)
    signer = signer_from_config(config)
    edition_id = rendered.edition.id

    def build(job: Job) -> bytes:
        recipient = recipient_for(config, edition_id, secret, job.email, job.name, job.message_id)
        message = personalize(recipient)
        return signer.sign(message) if signer is not None else message

    return build


def send_edition(
    config: Config,
    conn: sqlite3.Connection,
    edition: Edition,
    rendered: RenderedEdition,
    *,
    resend_uncertain: bool = False,
    skip_uncertain: bool = False,
    progress: Progress | None = None,
    transport: Transport | None = None,
) -> SendReport:
    """Send ``edition`` to every active subscriber who does not have it yet.

    Safe to call again after any crash or stop: it resumes from the ledger. Marks the edition
    ``sending`` first and ``sent`` only when every recipient is handled. Raises
    NoSubscribers when there is nobody to send to, SecretMissing without $SYNDICATE_SECRET,
    DeliveryError when another process is sending.
    """
    from ..edition.state import ensure_editions_schema, mark_sending, mark_sent
    from ..store.lock import LockBusy, run_lock
    from .tokens import load_secret

    if resend_uncertain and skip_uncertain:
        raise DeliveryError("choose one of resend_uncertain and skip_uncertain")
    secret = load_secret()
    chosen = transport or make_transport(config)
    started = time.monotonic()
    try:
        with run_lock(send_lock_path(config.state_db)):
            ensure_editions_schema(conn)
            ledger_db.ensure_ledger(conn)
            domain = config.publication.domain
            known = ledger_db.summary(conn, edition.id).total
            if not known and not _active_count(conn):
                raise NoSubscribers(
                    "no active subscribers; add some with `syndicate subscribers add` or "
                    "`syndicate subscribers import FILE.csv`"
                )
            mark_sending(conn, edition)
            added = ledger_db.enqueue(conn, edition.id, domain)
            if added and known:
                log.info("%s added to edition %s", plural(added, "new subscriber"), edition.id)
            if resend_uncertain:
                count = ledger_db.requeue_uncertain(conn, edition.id)
                log.info("resending %s", plural(count, "uncertain recipient"))
            elif skip_uncertain:
                count = ledger_db.skip_uncertain(conn, edition.id)
                log.info("counted %s as done", plural(count, "uncertain recipient"))
            jobs = [Job.of(row) for row in ledger_db.due(conn, edition.id)]
            tally = Tally()
            if jobs:
                build = message_builder(config, rendered, secret, date=datetime.now(UTC))
                shared = ledger_db.open_ledger(config.state_db)
                try:
                    engine = Engine(
                        chosen,
                        ledger_db.Ledger(shared, edition.id),
                        build,
                        envelope_sender(config),
                        policy_from(config),
                    )
                    tally = engine.run(jobs, progress)
                finally:
                    shared.close()
            after = ledger_db.summary(conn, edition.id)
            if after.complete:
                mark_sent(conn, edition)
            if after[RowState.SENT]:
                from ..edition.archive import archive_sent

                # The view-in-browser page, at once: also while some recipients are pending.
                archive_sent(config, conn, rendered)
    except LockBusy as exc:
        raise DeliveryError(
            f"another syndicate process is sending ({exc.holder or 'see ' + str(exc.path)}); "
            "wait for it to finish"
        ) from None
    return _report(edition.id, chosen.name, tally, after, time.monotonic() - started)


def _active_count(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COUNT(*) FROM subscribers WHERE status = 'active'").fetchone()
    return int(row[0])


def _report(
    edition_id: str, transport: str, tally: Tally, after: LedgerSummary, seconds: float
) -> SendReport:
    return SendReport(
        edition=edition_id,
        transport=transport,
        sent=tally.sent,
        deferred=after[RowState.DEFERRED],
        failed=tally.failed,
        skipped=tally.skipped,
        uncertain=after[RowState.SENDING],
        queued=after[RowState.QUEUED],
        bounced=tally.bounced,
        total=after.total,
        sent_total=after[RowState.SENT],
        seconds=seconds,
        stopped=tally.stopped,
        errors=tuple(tally.errors),
    )


def send_test(
    config: Config,
    rendered: RenderedEdition,
    address: str,
    *,
    transport: Transport | None = None,
) -> str:
    """One copy of the edition to ``address`` through the configured transport.

    The ledger is not touched, so the real send still reaches ``address`` if it is a
    subscriber. The copy has a unique Message-ID (receivers drop repeats of an old one).
    Returns the transport's reply; a refusal is a DeliveryError carrying the server's words.
    """
    from .ledger import message_id
    from .subscribers import normalize_email
    from .tokens import load_secret

    email = normalize_email(address)
    secret = load_secret()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    mid = message_id(f"{rendered.edition.id}.test.{stamp}", email, config.publication.domain)
    build = message_builder(config, rendered, secret, date=datetime.now(UTC))
    wire = build(Job(email=email, name="", message_id=mid, attempts=0))
    chosen = transport or make_transport(config)
    session = chosen.open()
    try:
        for _ in range(2):  # one reconnect for a stale or dropped connection
            try:
                session.prepare()
                return session.send(envelope_sender(config), email, wire, claim=unledgered)
            except ConnectionLost as exc:
                reason = exc.reason
                continue
            except (TemporaryFailure, PermanentFailure, UncertainDelivery) as exc:
                raise DeliveryError(f"test copy to {email} not sent: {exc.reason}") from None
            except TransportDown:
                raise
        raise DeliveryError(f"test copy to {email} not sent: {reason}")
    finally:
        session.close()


@dataclass(frozen=True, slots=True, kw_only=True)
class Chosen:
    """The edition `email --to/--send` works on, rendered, with how many recipients are due."""

    edition: Edition
    rendered: RenderedEdition
    resumed: bool
    due: int


def select_edition(
    config: Config,
    conn: sqlite3.Connection,
    *,
    now: datetime,
    since: datetime | None = None,
    slugs: Sequence[str] = (),
) -> Chosen | None:
    """An unfinished edition if there is one (it is resumed), else the next planned one;
    None when there is nothing to send. Renders it once (MJML runs here, not per message)."""
    from ..edition.render import render_edition
    from ..edition.state import plan_edition

    edition = find_resumable(config, conn)
    resumed = edition is not None
    if edition is not None and (since is not None or slugs):
        raise UsageError(
            f"edition {edition.id} is still being sent; finish it first with "
            "`syndicate email --send` (without --since/--article)"
        )
    if edition is None:
        edition = plan_edition(config, conn, now=now, since=since, slugs=slugs)
    if edition is None:
        return None
    rendered = render_edition(config, edition)
    return Chosen(
        edition=edition,
        rendered=rendered,
        resumed=resumed,
        due=recipients_due(conn, edition.id),
    )


def recipients_due(conn: sqlite3.Connection, edition_id: str) -> int:
    """How many recipients a send of this edition would try now."""
    ledger_db.ensure_ledger(conn)
    row = conn.execute(
        "SELECT (SELECT COUNT(*) FROM subscribers s WHERE s.status = 'active' AND NOT EXISTS"
        "  (SELECT 1 FROM deliveries d WHERE d.edition = ? AND d.email = s.email))"
        " + (SELECT COUNT(*) FROM deliveries WHERE edition = ?"
        "  AND state IN ('queued', 'deferred'))",
        (edition_id, edition_id),
    ).fetchone()
    return int(row[0])


@contextmanager
def graceful_sigterm() -> Iterator[None]:
    """SIGTERM (systemd stop, kill) ends a send like Ctrl-C: messages in flight finish and
    are recorded, so no recipient is left uncertain. Main thread only; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def find_resumable(config: Config, conn: sqlite3.Connection) -> Edition | None:
    """The oldest edition left ``sending`` (a run that stopped or crashed), rebuilt from
    content/, or None. ``--send`` and ``publish`` finish it before planning a new one."""
    from ..edition.state import ensure_editions_schema, list_editions, load_edition

    ensure_editions_schema(conn)
    sending = list_editions(conn, status="sending")
    if not sending:
        return None
    return load_edition(config, sending[-1])


def status_lines(conn: sqlite3.Connection, edition_id: str) -> list[str]:
    """``--status EDITION``: the edition's state, its ledger counts, and every row that is
    not simply sent (failed, deferred, uncertain, skipped, queued) with its reason.
    ``latest`` names the edition most recently queued."""
    from ..edition.state import ensure_editions_schema, get_edition

    ensure_editions_schema(conn)
    known = ledger_db.editions(conn)
    if edition_id == "latest":
        if not known:
            raise DeliveryError("the ledger is empty: no edition has been sent yet")
        edition_id = known[-1].edition
    record = get_edition(conn, edition_id)
    counts = ledger_db.summary(conn, edition_id)
    if record is None and not counts.total:
        names = ", ".join(s.edition for s in known[-5:]) or "none yet"
        raise DeliveryError(f"no edition {edition_id!r} (recent: {names})")
    lines = []
    if record is not None:
        when = f", sent {record.sent_at.isoformat(timespec='seconds')}" if record.sent_at else ""
        lines.append(f"edition {record.id}: {record.status}{when}; subject: {record.subject}")
    lines.append(counts.describe())
    labels = {
        RowState.SENDING: "uncertain",
        RowState.FAILED: "failed",
        RowState.DEFERRED: "deferred",
        RowState.SKIPPED: "skipped",
        RowState.QUEUED: "queued",
    }
    for state, label in labels.items():
        for row in ledger_db.rows(conn, edition_id, state):
            extra = f" retry after {row.retry_at}" if row.retry_at and label == "deferred" else ""
            reason = f": {row.reason}" if row.reason else ""
            lines.append(f"  {label} {row.email} {row.message_id}{extra}{reason}")
    return lines


__all__ = [
    "EXIT_OK",
    "EXIT_PENDING",
    "Chosen",
    "NoSubscribers",
    "SendReport",
    "TransportDown",
    "find_resumable",
    "graceful_sigterm",
    "recipients_due",
    "select_edition",
    "send_edition",
    "send_test",
    "status_lines",
]
