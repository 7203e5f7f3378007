"""Sending one rendered edition to every active subscriber, resumably; and the test copy.

Delivery knows the ledger, not the edition's life: ``deliver`` takes settings, a rendered
message and the subscribers table, and leaves ledger rows. ``edition.sending`` wraps it with
the send lock and the edition's state (``draft`` -> ``sending`` -> ``sent``) and archiving.

Rows left ``sending`` by a crash are *uncertain*: they keep the edition ``sending`` and the
exit code 3 until the operator decides, with ``resend_uncertain`` (send them again; some may
get two copies) or ``skip_uncertain`` (count them as done; some may have none).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..errors import DeliveryError, TemplateError
from ..store.database import Connection
from ..text.words import plural
from . import ledger as ledger_db
from . import retention, subscriptions
from .dkim import signer_for
from .engine import Engine, Job, Progress, Tally
from .ledger import LedgerSummary, RowState, message_id
from .ledger_run import Ledger, open_ledger
from .message import Recipient
from .personalize import Personalizer
from .sendruns import SendRun, record_run
from .settings import DeliverySettings, MessageSettings
from .subscribers import normalize_email
from .tokens import load_secret, make_token, preferences_url, unsubscribe_url
from .transports import (
    ConnectionLost,
    PermanentFailure,
    TemporaryFailure,
    Transport,
    TransportDown,
    UncertainDelivery,
    unledgered,
)
from .transports.make import make_transport

if TYPE_CHECKING:
    from .rendered import ReaderFill, ReaderKey, ReaderTemplates, RenderedEdition

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
    what: str = "edition"  # what was sent: an edition, or a correction notice

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
            f"{self.what} {self.edition} via {self.transport}: sent {self.sent}, deferred "
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


def recipient_for(
    settings: MessageSettings,
    edition_id: str,
    secret: bytes,
    email: str,
    name: str,
    message_id: str,
    newsletter: str = "",
) -> Recipient:
    """The per-recipient values: signed unsubscribe link, view-in-browser URL, Message-ID.

    A newsletter's edition links the reader's preferences page instead, with a token signed
    for that newsletter: its one-click POST (List-Unsubscribe) leaves only that newsletter.
    """
    if newsletter:
        link = preferences_url(settings.preferences_base, secret, email, newsletter)
    else:
        link = unsubscribe_url(settings.unsubscribe_base, make_token(secret, email))
    return Recipient(
        email=email,
        name=name,
        unsubscribe_url=link,
        view_url=settings.archive_url(edition_id),
        message_id=message_id,
    )


READER_COPIES = 256  # rendered copies kept per send for templates that use ``reader``


def message_builder(
    settings: DeliverySettings,
    rendered: RenderedEdition,
    secret: bytes,
    *,
    date: datetime,
    attributes: Mapping[str, Mapping[str, str]] | None = None,
    newsletters: Mapping[str, str] | None = None,
) -> Callable[[Job], bytes]:
    """Job -> final wire bytes: personalised (no MJML), then DKIM-signed if configured.

    ``attributes`` (by address) matter only when the templates use ``reader``. When every
    use is a plain ``{{ reader.x }}``, the edition is rendered once more with a placeholder
    per attribute and each reader's values are spliced in like their address (no MJML per
    reader); otherwise each distinct combination of the attributes they read is rendered once
    (the most recent READER_COPIES kept) and personalised like any edition. ``newsletters`` (by lower-case
    address) names the newsletter whose preferences link a reader's copy carries, where it is
    not the edition's own (a correction notice's readers came from several).
    """
    per_reader = rendered.per_reader
    filler = _filler(per_reader, rendered.marker)
    if filler is not None:
        personalize = Personalizer(settings.message, filler.rendered, date=date, reader=filler)
        per_reader = None
    else:
        personalize = Personalizer(settings.message, rendered, date=date)
    signer = signer_for(settings.dkim)
    edition_id = rendered.edition.id
    newsletter = rendered.edition.newsletter
    letterhead = settings.message
    known = attributes or {}
    chosen = newsletters or {}
    copies: OrderedDict[ReaderKey, Personalizer] = OrderedDict()
    lock = threading.Lock()

    def personalizer(email: str) -> Personalizer:
        if per_reader is None:
            return personalize
        key = per_reader.key(known.get(email, {}))
        with lock:
            found = copies.get(key)
            if found is not None:
                copies.move_to_end(key)
                return found
        try:
            copy = per_reader.render(dict(key))
        except TemplateError as exc:
            # Only this reader's values break the template (the edition rendered without
            # them): their row fails with the reason, the rest of the send goes on.
            raise DeliveryError(
                f"the template fails with this reader's attributes: {exc}"
            ) from None
        made = Personalizer(letterhead, copy, date=date)
        with lock:
            copies[key] = made
            if len(copies) > READER_COPIES:
                copies.popitem(last=False)
        return made

    def build(job: Job) -> bytes:
        recipient = recipient_for(
            letterhead,
            edition_id,
            secret,
            job.email,
            job.name,
            job.message_id,
            chosen.get(job.email.lower(), newsletter),
        )
        if filler is not None:
            message = personalize(recipient, known.get(job.email, {}))
        else:
            message = personalizer(job.email)(recipient)
        return signer.sign(message) if signer is not None else message

    return build


def _filler(per_reader: ReaderTemplates | None, marker: str) -> ReaderFill | None:
    """The one-render path for templates that use only plain ``{{ reader.x }}``, if it holds."""
    if per_reader is None:
        return None
    try:
        return per_reader.filler(marker)
    except TemplateError:
        return None  # some reader's values break the template: each copy renders on its own


def check_recipients(conn: Connection, edition_id: str) -> None:
    """NoSubscribers when the edition has no ledger rows and nobody is active to add."""
    ledger_db.ensure_ledger(conn)
    if not ledger_db.summary(conn, edition_id).total and not _active_count(conn):
        raise NoSubscribers(
            "no active subscribers; add some with `syndicate subscribers add` or "
            "`syndicate subscribers import FILE.csv`"
        )


def deliver(
    settings: DeliverySettings,
    conn: Connection,
    rendered: RenderedEdition,
    *,
    secret: bytes,
    transport: Transport,
    resend_uncertain: bool = False,
    skip_uncertain: bool = False,
    progress: Progress | None = None,
    recipients: Sequence[str] | None = None,
    newsletters: Mapping[str, str] | None = None,
) -> tuple[SendReport, LedgerSummary]:
    """Send ``rendered`` to every active subscriber who does not have it yet, through the
    ledger: resumable after any crash or stop, never a second copy to anyone.

    ``recipients`` narrows the send to those addresses (those of them still active): a
    correction notice goes only to the readers who got the article. ``newsletters`` (by
    lower-case address) gives a reader's newsletter where the edition has none of its own (a
    notice): that reader's copy links its preferences, and goes out only while the reader
    still has that newsletter.

    The caller holds the send lock and keeps the edition's own state (``edition.sending``);
    this only touches the ledger. ``secret`` signs the unsubscribe links (``load_secret``).
    Returns the run's report and the ledger's counts after it.
    """
    if resend_uncertain and skip_uncertain:
        raise DeliveryError("choose one of resend_uncertain and skip_uncertain")
    chosen = transport
    started = time.monotonic()
    edition_id = rendered.edition.id
    newsletter = rendered.edition.newsletter
    ledger_db.ensure_ledger(conn)
    known = ledger_db.summary(conn, edition_id).total
    domain = settings.message.domain
    # A newsletter's edition got its recipients when it was planned (edition.newsletters);
    # late subscribers are owed its articles in their next edition, not this one.
    if retention.pruned(conn, edition_id) is not None:
        added = 0  # finished long ago and folded into totals: nobody is added again
    elif recipients is not None:
        added = ledger_db.enqueue_addresses(conn, edition_id, domain, recipients)
    elif newsletter:
        added = 0
    else:
        added = ledger_db.enqueue(conn, edition_id, domain)
    if added and known:
        log.info("%s added to edition %s", plural(added, "new subscriber"), edition_id)
    ledger_db.reap_dead_senders(conn, edition_id)
    if resend_uncertain:
        count = ledger_db.requeue_uncertain(conn, edition_id)
        log.info("resending %s", plural(count, "uncertain recipient"))
    elif skip_uncertain:
        count = ledger_db.skip_uncertain(conn, edition_id)
        log.info("counted %s as done", plural(count, "uncertain recipient"))
    before = ledger_db.summary(conn, edition_id)
    due = before[RowState.QUEUED] + before[RowState.DEFERRED]
    tally = Tally()
    began = datetime.now(UTC).isoformat(timespec="seconds")
    if due:
        readers = subscriptions.attributes_by_email(conn) if rendered.per_reader else None
        build = message_builder(
            settings,
            rendered,
            secret,
            date=datetime.now(UTC),
            attributes=readers,
            newsletters=newsletters,
        )
        shared = open_ledger(settings.state_db)
        try:
            ledger = Ledger(
                shared, edition_id, newsletter, newsletters, lease=settings.policy.lease
            )
            engine = Engine(
                chosen, ledger, build, settings.message.envelope_sender, settings.policy
            )
            tally = engine.run(due, progress)
        finally:
            shared.close()
    after = ledger_db.summary(conn, edition_id)
    uncertain = ledger_db.uncertain_count(conn, edition_id)
    report = _report(edition_id, chosen.name, tally, after, time.monotonic() - started, uncertain)
    if due:
        record_run(conn, _run_of(report, began))
    return report, after


def _run_of(report: SendReport, began: str) -> SendRun:
    """The run's line in the send-run log (``report`` reads it for duration and rate)."""
    return SendRun(
        edition=report.edition,
        transport=report.transport,
        started=began,
        seconds=report.seconds,
        sent=report.sent,
        failed=report.failed,
        deferred=report.deferred,
        skipped=report.skipped,
    )


def _active_count(conn: Connection) -> int:
    row = conn.execute("SELECT COUNT(*) FROM subscribers WHERE status = 'active'").fetchone()
    return int(row[0])


def _report(
    edition_id: str,
    transport: str,
    tally: Tally,
    after: LedgerSummary,
    seconds: float,
    uncertain: int,
) -> SendReport:
    return SendReport(
        edition=edition_id,
        transport=transport,
        sent=tally.sent,
        deferred=after[RowState.DEFERRED],
        failed=tally.failed,
        skipped=tally.skipped,
        uncertain=uncertain,
        queued=after[RowState.QUEUED],
        bounced=tally.bounced,
        total=after.total,
        sent_total=after[RowState.SENT],
        seconds=seconds,
        stopped=tally.stopped,
        errors=tuple(tally.errors),
    )


def send_test(
    settings: DeliverySettings,
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
    email = normalize_email(address)
    secret = load_secret()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    mid = message_id(f"{rendered.edition.id}.test.{stamp}", email, settings.message.domain)
    build = message_builder(settings, rendered, secret, date=datetime.now(UTC))
    wire = build(Job(email=email, name="", message_id=mid, attempts=0))
    chosen = transport or make_transport(settings.transport)
    session = chosen.open()
    try:
        for _ in range(2):  # one reconnect for a stale or dropped connection
            try:
                session.prepare()
                return session.send(settings.message.envelope_sender, email, wire, claim=unledgered)
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


def recipients_due(conn: Connection, edition_id: str) -> int:
    """How many recipients a send of this edition would try now."""
    ledger_db.ensure_ledger(conn)
    if retention.pruned(conn, edition_id) is not None:
        return 0  # folded into totals: a rerun sends nothing
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
