"""The edition half of ``publish`` for a publication with ``[newsletters]``.

Per run: finish every newsletter edition an earlier run left ``sending``; then, for each
newsletter and each of its cadences, if that cadence is due (``immediate`` and ``on-new``:
every run; ``daily``, ``weekly``, cron: once per due moment, remembered in
``publish_periods`` under ``nl/<id>/<cadence>@``), plan its editions
(``edition.newsletters``), store each with its recipients before sending, and send.

Crash safety comes from the planning: an edition, its ledger rows and its readers' new
floor are written in one transaction, so a run killed after that resumes the send, and a
run killed before it plans the same edition again. A period is recorded after its editions
are stored; a crash in between re-plans the period and finds nothing owed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from ..config import Config, Newsletter, configured_newsletters, newsletter_config
from ..content.articles import load_articles
from ..crashpoints import crash_point
from ..delivery import subscriptions
from ..edition import newsletters as planner
from ..edition.render import render_edition
from ..edition.state import ensure_editions_schema, list_editions, load_edition
from ..edition.stream import is_placed, unfinished
from ..model import Article
from ..store.database import Connection
from ..text.words import plural
from . import periods
from .dispatch import Editions
from .schedule import local_label, make_schedule

if TYPE_CHECKING:
    from .run import PublishReport


class NewsletterEditions:
    """One run's work for every configured newsletter."""

    def __init__(
        self, config: Config, conn: Connection, now: datetime, report: PublishReport
    ) -> None:
        self.config = config
        self.conn = conn
        self.now = now
        self.report = report

    @cached_property
    def articles(self) -> Sequence[Article]:
        """Every article in content/, read once per run."""
        return load_articles(self.config.content_dir, self.config.publication).articles

    def run(self) -> None:
        """Resume unfinished editions, then send what is due (see module docstring)."""
        periods.ensure_periods(self.conn)
        ensure_editions_schema(self.conn)
        planner.ensure_newsletters(self.config, self.conn)
        self.resume()
        if self.report.waiting:
            return
        for newsletter in configured_newsletters(self.config):
            planner.refresh(self.config, self.conn, newsletter, self.articles, self.now)
            for cadence, _ in planner.cadence_groups(newsletter):
                self.send_due(newsletter, cadence)

    def resume(self) -> None:
        """Send the rest of every newsletter edition left ``sending``; an edition of the
        one-newsletter days left unfinished by the upgrade goes out as it was started."""
        for record in list_editions(self.conn, status="sending"):
            if not is_placed(self.conn, record.id):
                edition = load_edition(self.config, record, articles=self.articles)
                Editions(self.config, self.conn, self.now, self.report).deliver(
                    edition, None, resumed=True
                )
        for edition_id in unfinished(self.conn):
            edition = planner.load_newsletter_edition(
                self.config, self.conn, edition_id, self.articles
            )
            self._editions(edition.newsletter).deliver(edition, None, resumed=True)

    def send_due(self, newsletter: Newsletter, cadence: str) -> None:
        """Plan and send one cadence's editions if it is due now."""
        table = planner.cadence_schedule(newsletter, cadence)
        schedule = make_schedule(table, self.config.publication.timezone)
        name = f"{newsletter.id}" + (f" ({cadence})" if cadence else "")
        if schedule.kind == "off":
            return
        due_at: datetime | None = self.now
        prefix = periods.newsletter_prefix(newsletter.id, cadence)
        if schedule.clocked:
            due_at = schedule.last_due(self.now)
            if due_at is None or periods.covered(self.conn, due_at, prefix) is not None:
                return
        assert due_at is not None
        plans = planner.plan(
            self.config, self.conn, newsletter, cadence, self.articles, now=self.now
        )
        label = local_label(due_at, schedule.zone)
        if self.report.dry_run:
            for item in plans:
                self.report.act(
                    f"newsletter {name} due {label}: would send {plural(len(item.articles), 'article')}"
                    f" to {plural(item.recipients, 'subscriber')}"
                )
            return
        made = []
        for item in plans:
            edition = planner.edition_for(self.config, self.conn, item, now=self.now)
            # Rendered before anything is stored: a template error leaves no trace.
            rendered = render_edition(newsletter_config(self.config, newsletter.id), edition)
            queued = planner.commit(self.config, self.conn, item, edition)
            crash_point("planned")
            made.append((edition, rendered, queued))
        if schedule.clocked:
            key = prefix + periods.period_key(due_at)
            state: periods.State = "sent" if made else "empty"
            periods.record(
                self.conn,
                key,
                due_at=due_at,
                planned_at=self.now,
                state=state,
                edition_id=made[0][0].id if made else None,
                articles=sum(len(e.articles) for e, _, _ in made),
            )
            if not made and not cadence:  # a cadence nobody chose is not worth a line
                self.report.act(f"newsletter {name} due {label}: nothing new, none sent")
        for edition, rendered, _ in made:
            self._editions(newsletter.id).deliver(edition, None, resumed=False, rendered=rendered)

    def _editions(self, newsletter: str) -> Editions:
        return Editions(
            newsletter_config(self.config, newsletter), self.conn, self.now, self.report
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    """One line of ``syndicate newsletters``."""

    id: str
    title: str
    default: bool
    active: int
    by_cadence: dict[str, int]
    schedule: str
    next_due: str


def overview(config: Config, conn: Connection, now: datetime) -> list[Overview]:
    """Every configured newsletter with its receiving subscribers and its next due time."""
    planner.ensure_newsletters(config, conn)
    counts = subscriptions.active_counts(conn)
    zone = config.publication.timezone
    lines = []
    for newsletter in configured_newsletters(config):
        described = []
        upcoming: list[datetime] = []
        on_publish = False
        for cadence, _ in planner.cadence_groups(newsletter):
            schedule = make_schedule(planner.cadence_schedule(newsletter, cadence), zone)
            described.append((f"{cadence}: " if cadence else "") + schedule.describe())
            if schedule.kind == "on-new":
                on_publish = True
            moment = schedule.next_due(now)
            if moment is not None:
                upcoming.append(moment)
        if on_publish:
            due = "every publish run with new articles"
            if upcoming:
                due += f"; next scheduled {local_label(min(upcoming), zone)}"
        elif upcoming:
            due = local_label(min(upcoming), zone)
        else:
            due = "off (send with `syndicate email --newsletter ID --send`)"
        lines.append(
            Overview(
                id=newsletter.id,
                title=newsletter.title,
                default=newsletter.default,
                active=counts.get(newsletter.id, 0),
                by_cadence=_by_cadence(conn, newsletter),
                schedule="; ".join(described),
                next_due=due,
            )
        )
    return lines


def _by_cadence(conn: Connection, newsletter: Newsletter) -> dict[str, int]:
    """Receiving readers per cadence; those who chose none count under the default."""
    counts: dict[str, int] = {}
    for cadence, number in subscriptions.cadence_counts(conn, newsletter.id).items():
        label = cadence if cadence in newsletter.cadences else newsletter.default_cadence
        counts[label] = counts.get(label, 0) + number
    return counts
