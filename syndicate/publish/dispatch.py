"""The edition half of ``publish``: finish what an earlier run started, then send what is due.

Order matters for crash safety. A new edition is planned and rendered first (nothing stored, so
a template error leaves no trace and is retried next run), then its period is recorded as
``sending``, then the edition is marked ``sending`` and handed to the ledger-driven send. A run
killed after the period row exists is resumed by the next run (re-planned at the same "now" if
the edition record never got written), so a period never gets a second edition, and the ledger
sees to it that no recipient gets one edition twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from ..config import Config
from ..content.articles import load_articles
from ..crashpoints import crash_point, crash_transport
from ..delivery.ledger import summary
from ..delivery.send import NoSubscribers, graceful_sigterm
from ..delivery.settings import TransportSettings
from ..delivery.subscribers import Status, count_by_status, ensure_subscribers
from ..delivery.tokens import load_secret
from ..delivery.transports.make import make_transport
from ..edition.render import render_edition
from ..edition.sending import plan_leased, send_edition
from ..edition.state import (
    ensure_editions_schema,
    get_edition,
    list_editions,
    load_edition,
    mark_sent,
)
from ..edition.stream import is_placed
from ..model import Article, Edition
from ..store.database import Connection
from ..text.words import plural
from . import periods
from .schedule import Schedule, local_label

if TYPE_CHECKING:
    from ..delivery.rendered import RenderedEdition
    from .run import PublishReport


ON_NEW_MARK = "on-new-published"


class Editions:
    """One run's edition work against one state database connection."""

    def __init__(
        self,
        config: Config,
        conn: Connection,
        now: datetime,
        report: PublishReport,
        *,
        published: int | None = None,
        feeds_changed: bool = True,
    ) -> None:
        """``published``/``feeds_changed`` come from this run's build: when the feeds did not
        change and as many articles are published as at the last on-new check, nothing new can
        have appeared, and the on-new check skips reading every article again."""
        self.config = config
        self.conn = conn
        self.now = now
        self.report = report
        self.published = published
        self.feeds_changed = feeds_changed

    @cached_property
    def articles(self) -> Sequence[Article]:
        """Every article in content/, read once per run (only when an edition needs them)."""
        return load_articles(self.config.content_dir, self.config.publication).articles

    def run(self, schedule: Schedule) -> None:
        """Resume unfinished editions; then, if none is left unfinished, send a due one."""
        periods.ensure_periods(self.conn)
        ensure_editions_schema(self.conn)
        self.resume()
        if self.report.waiting:
            return  # an older edition still has recipients to send to: it goes first
        self.send_due(schedule)

    # --- resuming ------------------------------------------------------------------------

    def resume(self) -> None:
        """Finish every period and edition left in ``sending`` by a killed or failed run."""
        handled: set[str] = set()
        for period in periods.unfinished(self.conn):
            record = get_edition(self.conn, period.edition_id) if period.edition_id else None
            if record is not None and record.status == "sent":
                periods.finish(self.conn, period.period, "sent")
                handled.add(record.id)
                continue
            if record is not None and record.status == "sending":
                edition = load_edition(self.config, record, articles=self.articles)
            else:
                # Killed before the edition was stored: plan it again exactly as it was planned.
                replanned = plan_leased(
                    self.config, self.conn, now=period.planned_at, articles=self.articles
                )
                if replanned is None:
                    periods.finish(self.conn, period.period, "empty")
                    self.report.act(f"edition for {self._label(period)}: nothing left to send")
                    continue
                edition = replanned
                periods.finish(self.conn, period.period, "sending", edition_id=edition.id)
            handled.add(edition.id)
            self.deliver(edition, period.period, resumed=True)
        for record in list_editions(self.conn, status="sending"):
            if is_placed(self.conn, record.id):
                continue  # a newsletter's edition: only [newsletters] may send it
            if record.id not in handled:  # e.g. an `email --send` that was interrupted
                edition = load_edition(self.config, record, articles=self.articles)
                self.deliver(edition, None, resumed=True)

    # --- the due edition -------------------------------------------------------------------

    def send_due(self, schedule: Schedule) -> None:
        """Send the edition for the current period if the schedule says one is due."""
        if schedule.kind == "off":
            return
        on_new = schedule.kind == "on-new"
        due_at = self.now if on_new else schedule.last_due(self.now)
        if due_at is None or (not on_new and periods.covered(self.conn, due_at) is not None):
            return
        key = periods.period_key(due_at, on_new=on_new)
        label = local_label(due_at, schedule.zone)
        seen = str(self.published)
        if on_new and self._unchanged_since_last_check(seen):
            return
        edition = plan_leased(self.config, self.conn, now=self.now, articles=self.articles)
        count = len(edition.articles) if edition is not None else 0
        if on_new and self.published is not None and not self.report.dry_run:
            periods.set_mark(self.conn, ON_NEW_MARK, seen)
        if on_new:
            if count < schedule.min_articles:
                return  # not enough new articles yet: nothing happened, nothing to record
        elif edition is None:
            self._close(key, due_at, "empty", f"edition due {label}: no new articles, none sent")
            return
        elif count < schedule.min_articles:
            self._close(
                key,
                due_at,
                "skipped",
                f"edition due {label}: {plural(count, 'new article')}, fewer than min_articles = "
                f"{schedule.min_articles}; they wait for the next edition",
            )
            return
        assert edition is not None
        rendered = self._render(edition)
        subscribers = self._active_subscribers()
        if self.report.dry_run:
            self.report.act(
                f"edition {edition.id} due {label}: would send {plural(count, 'article')} to "
                f"{plural(subscribers, 'active subscriber')}"
            )
            return
        if not subscribers:
            self._close(
                key,
                due_at,
                "skipped",
                f"edition due {label}: no active subscribers; none sent, the articles wait",
            )
            return

        load_secret()  # a missing secret is a config error: fail before claiming the period
        periods.record(
            self.conn,
            key,
            due_at=due_at,
            planned_at=self.now,
            state="sending",
            edition_id=edition.id,
            articles=count,
        )
        crash_point("planned")
        self.deliver(edition, key, resumed=False, rendered=rendered)

    def _unchanged_since_last_check(self, seen: str) -> bool:
        if self.feeds_changed or self.published is None or self.report.dry_run:
            return False
        return periods.get_mark(self.conn, ON_NEW_MARK) == seen

    def _close(self, key: str, due_at: datetime, state: periods.State, line: str) -> None:
        if not self.report.dry_run:
            periods.record(self.conn, key, due_at=due_at, planned_at=self.now, state=state)
        self.report.act(line)

    # --- sending ---------------------------------------------------------------------------

    def deliver(
        self,
        edition: Edition,
        period: str | None,
        *,
        resumed: bool,
        rendered: RenderedEdition | None = None,
    ) -> None:
        """Send ``edition`` through the ledger (which marks it ``sending``, then ``sent``)."""
        if self.report.dry_run:
            waiting = summary(self.conn, edition.id).pending
            self.report.act(
                f"edition {edition.id}: would resume sending ({plural(waiting, 'recipient')} pending)"
            )
            return
        # Another process sending it (an editor's `email --send`, publish on another host)
        # is no reason to wait: the senders share the edition's recipients (delivery.claims).
        if rendered is None:
            rendered = self._render(edition)
        crash_point("rendered")

        try:
            # SIGTERM (systemd stopping the unit) lets messages in flight finish and be
            # recorded instead of leaving their recipients uncertain.
            with graceful_sigterm():
                result = send_edition(
                    self.config,
                    self.conn,
                    edition,
                    rendered,
                    transport=crash_transport(
                        make_transport(TransportSettings.from_config(self.config))
                    ),
                )
        except NoSubscribers:
            if period is not None:
                periods.finish(self.conn, period, "skipped")
            self.report.act(f"edition {edition.id}: no active subscribers; none sent")
            return
        crash_point("sent")
        self.report.act(("resumed " if resumed else "") + result.summary())
        if not result.complete:
            self.report.pending += result.pending
            self.report.waiting += result.deferred + result.queued
            if result.deferred or result.queued:
                self.report.warnings.append(
                    f"edition {edition.id}: {plural(result.deferred + result.queued, 'recipient')} "
                    "not delivered yet; the next run resumes"
                )
            if result.uncertain:
                self.report.warnings.append(
                    f"edition {edition.id}: {plural(result.uncertain, 'recipient')} uncertain (a run "
                    "died while handing their message over); decide with `syndicate email "
                    "--send --resend-uncertain` or `--skip-uncertain`; `syndicate email "
                    f"--status {edition.id}` lists them"
                )
            if result.stopped:  # why the run stopped (a dead server, a refused login)
                self.report.warnings.append(f"edition {edition.id}: stopped: {result.stopped}")
            for error in dict.fromkeys(result.errors):  # cron mail: each distinct error once
                if error not in result.stopped:
                    self.report.warnings.append(f"edition {edition.id}: {error}")
            return
        # send_edition marks a complete edition sent itself; this only makes sure of it.
        mark_sent(self.conn, edition, at=self.now)
        if period is not None:
            periods.finish(self.conn, period, "sent")
        self.report.editions_sent.append(edition.id)

    def _render(self, edition: Edition) -> RenderedEdition:
        return render_edition(self.config, edition)

    def _active_subscribers(self) -> int:
        ensure_subscribers(self.conn)
        return count_by_status(self.conn).get(str(Status.ACTIVE), 0)

    def _label(self, period: periods.Period) -> str:
        return local_label(period.due_at, self.config.publication.timezone)

