"""An edition's send: the lock, its state (``draft`` -> ``sending`` -> ``sent``), the ledger
run (``delivery.send.deliver``) and the archive page, in that order.

An edition becomes ``sent`` only when the ledger says every recipient is handled; until then a
rerun (``syndicate email --send``, or ``publish``) resumes it. ``send_edition`` has no click in
it: the CLI, ``publish`` and the library API all call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from ..config import Config
from ..delivery import claims, retention
from ..delivery import ledger as ledger_db
from ..delivery.clicks import register_links
from ..delivery.engine import Progress
from ..delivery.ledger import RowState
from ..delivery.rendered import RenderedEdition
from ..delivery.send import SendReport, check_recipients, deliver, recipients_due
from ..delivery.settings import DeliverySettings, app_url
from ..delivery.tokens import load_secret
from ..delivery.tracking import track_clicks
from ..delivery.transports import Transport
from ..delivery.transports.make import make_transport
from ..errors import DeliveryError, UsageError
from ..model import Article, Edition
from ..store.database import Connection
from ..store.lease import LeaseBusy, edition_lease
from .archive import archive_sent
from .render import render_edition
from .state import (
    ensure_editions_schema,
    get_edition,
    list_editions,
    load_edition,
    mark_sending,
    mark_sent,
    plan_edition,
)
from .stream import is_placed

LEASE_WAIT_SECONDS = 30.0  # others hold the edition lease for moments, not for a send


def send_lock_path(state_db: Path) -> Path:
    """``state/syndicate.db`` -> ``state/syndicate.db.send.lock``: the edition lease's file
    (``store.lease.edition_lease``), which a correction notice's send still holds throughout."""
    return state_db.with_name(state_db.name + ".send.lock")


def send_edition(
    config: Config,
    conn: Connection,
    edition: Edition,
    rendered: RenderedEdition,
    *,
    resend_uncertain: bool = False,
    skip_uncertain: bool = False,
    progress: Progress | None = None,
    transport: Transport | None = None,
) -> SendReport:
    """Send ``edition`` to every active subscriber who does not have it yet.

    Safe to call again after any crash or stop: it resumes from the ledger, and any number
    of processes (on any hosts sharing the state) may call it for the same edition at once:
    they claim its recipients in batches (``delivery.claims``). Marks the edition ``sending``
    first and ``sent`` only when every recipient is handled, under the edition lease. Raises
    NoSubscribers when there is nobody to send to, SecretMissing without $SYNDICATE_SECRET.
    """
    if resend_uncertain and skip_uncertain:
        raise DeliveryError("choose one of resend_uncertain and skip_uncertain")
    settings = DeliverySettings.from_config(config)
    secret = load_secret()
    chosen = transport or make_transport(settings.transport)
    lease = edition_lease(config.state_target, config.state_db)
    try:
        with lease.hold(wait=True, timeout=LEASE_WAIT_SECONDS):
            ensure_editions_schema(conn)
            check_recipients(conn, edition.id)
            mark_sending(conn, edition)
            outgoing = _tracked(config, conn, rendered, secret)
        # No lease while messages go out: other senders of this edition share the ledger.
        report, after = deliver(
            settings,
            conn,
            outgoing,
            secret=secret,
            transport=chosen,
            resend_uncertain=resend_uncertain,
            skip_uncertain=skip_uncertain,
            progress=progress,
        )
        with lease.hold(wait=True, timeout=LEASE_WAIT_SECONDS):
            if after.complete:
                mark_sent(conn, edition)
            if after[RowState.SENT]:
                # The view-in-browser page, at once: also while some recipients are pending.
                archive_sent(config, conn, rendered)
    except LeaseBusy as exc:
        raise DeliveryError(_busy(exc)) from None
    return report


def plan_leased(
    config: Config, conn: Connection, *, now: datetime, articles: Sequence[Article]
) -> Edition | None:
    """``plan_edition`` under the edition lease (``publish``): a sender starting at the same
    moment sees the edition it may record either wholly or not at all, so the two plan the
    same edition and never an edition and a second one with the same articles."""
    try:
        with edition_lease(config.state_target, config.state_db).hold(
            wait=True, timeout=LEASE_WAIT_SECONDS
        ):
            return plan_edition(config, conn, now=now, articles=articles)
    except LeaseBusy as exc:
        raise DeliveryError(_busy(exc)) from None


def _busy(exc: LeaseBusy) -> str:
    return (
        f"another syndicate process holds the edition lease "
        f"({exc.holder or 'see ' + str(exc.path)}) for longer than "
        f"{LEASE_WAIT_SECONDS:g} s (a correction notice being sent?); try again later"
    )


def _tracked(
    config: Config, conn: Connection, rendered: RenderedEdition, secret: bytes
) -> RenderedEdition:
    """The edition as it goes out: with ``[tracking] clicks`` its HTML links pass through the
    click redirector (registered first, so no reader meets a link that 404s); else as is.
    The archive page keeps the direct links either way."""
    if not config.model.tracking.clicks:
        return rendered
    base = app_url(config)
    tracked = track_clicks(rendered, secret=secret, base=base)
    register_links(conn, tracked.links)
    per_reader = rendered.per_reader
    if per_reader is None:
        return tracked.rendered
    known = {(link.link_id, link.url) for link in tracked.links}

    def render(attributes: Mapping[str, str]) -> RenderedEdition:
        # Each reader's copy is tracked too; one with a link the edition's copy lacks (an
        # attribute in a URL) keeps its direct links: that click URL was never registered.
        copy = per_reader.render(attributes)
        again = track_clicks(copy, secret=secret, base=base)
        found = {(link.link_id, link.url) for link in again.links}
        return again.rendered if found <= known else copy

    return replace(tracked.rendered, per_reader=replace(per_reader, render=render))


@dataclass(frozen=True, slots=True, kw_only=True)
class Chosen:
    """The edition `email --to/--send` works on, rendered, with how many recipients are due."""

    edition: Edition
    rendered: RenderedEdition
    resumed: bool
    due: int


def select_edition(
    config: Config,
    conn: Connection,
    *,
    now: datetime,
    since: datetime | None = None,
    slugs: Sequence[str] = (),
) -> Chosen | None:
    """An unfinished edition if there is one (it is resumed), else the next planned one;
    None when there is nothing to send. Renders it once (MJML runs here, not per message)."""
    # Under the edition lease, which ``send_edition`` holds to mark an edition ``sending``:
    # a sender started alongside another either sees that edition recorded (and joins it)
    # or plans before it is, the same edition; never a second edition of the same articles.
    try:
        with edition_lease(config.state_target, config.state_db).hold(
            wait=True, timeout=LEASE_WAIT_SECONDS
        ):
            edition = find_resumable(config, conn)
            resumed = edition is not None
            if edition is not None and (since is not None or slugs):
                raise UsageError(
                    f"edition {edition.id} is still being sent; finish it first with "
                    "`syndicate email --send` (without --since/--article)"
                )
            if edition is None:
                edition = plan_edition(config, conn, now=now, since=since, slugs=slugs)
    except LeaseBusy as exc:
        raise DeliveryError(_busy(exc)) from None
    if edition is None:
        return None
    rendered = render_edition(config, edition)
    return Chosen(
        edition=edition,
        rendered=rendered,
        resumed=resumed,
        due=recipients_due(conn, edition.id),
    )


def find_resumable(config: Config, conn: Connection) -> Edition | None:
    """The oldest edition left ``sending`` (a run that stopped or crashed), rebuilt from
    content/, or None. ``--send`` and ``publish`` finish it before planning a new one."""
    ensure_editions_schema(conn)
    sending = [r for r in list_editions(conn, status="sending") if not is_placed(conn, r.id)]
    if not sending:
        return None
    return load_edition(config, sending[-1])


def status_lines(conn: Connection, edition_id: str) -> list[str]:
    """``--status EDITION``: the edition's state, its ledger counts, and every row that is
    not simply sent (failed, deferred, uncertain, skipped, queued) with its reason.
    ``latest`` names the edition most recently queued."""
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
    senders = claims.workers(conn, edition_id)
    if senders:
        lines.append(
            f"senders: {len(senders)}; claimed {sum(w.claimed for w in senders)}, sent "
            f"{sum(w.sent for w in senders)}, failed {sum(w.failed for w in senders)}, "
            f"live {sum(w.lease == 'live' for w in senders)}"
        )
        lines.extend(worker.describe() for worker in senders)
    live = claims.live_senders_of(conn, edition_id)
    labels = {
        RowState.SENDING: "uncertain",
        RowState.FAILED: "failed",
        RowState.DEFERRED: "deferred",
        RowState.SKIPPED: "skipped",
        RowState.QUEUED: "queued",
    }
    for state, label in labels.items():
        for row in ledger_db.rows(conn, edition_id, state):
            if state == RowState.SENDING and row.worker in live:
                continue  # in flight right now, not uncertain
            extra = f" retry after {row.retry_at}" if row.retry_at and label == "deferred" else ""
            reason = f": {row.reason}" if row.reason else ""
            lines.append(f"  {label} {row.email} {row.message_id}{extra}{reason}")
    kept = retention.pruned(conn, edition_id)
    if kept is not None:
        lines.append(
            f"  pruned {kept.pruned_at[:10]} ([state] keep_ledger_days): per-address rows "
            f"folded into these totals; sent {kept.first_queued[:10]} to {kept.last_updated[:10]}"
        )
        named = {str(key): label for key, label in labels.items()}
        for kind, reason, count in kept.reasons:
            lines.append(f"  {named.get(kind, kind)} x{count}: {reason}")
    return lines
