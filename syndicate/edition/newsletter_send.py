"""``syndicate email --newsletter ID``: preview, test copy and send of one newsletter.

The editor's side of ``edition.newsletters``: the same planning as ``publish``, for one
newsletter and one cadence, optionally to a segment (``--where city=Berlin``) only. A send
first finishes the newsletter's edition left ``sending`` by an interrupted run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..config import Config, find_newsletter, newsletter_config
from ..content.articles import load_articles
from ..delivery.engine import Progress
from ..delivery.message import build_message, message_bytes, preview_recipient
from ..delivery.rendered import RenderedEdition
from ..delivery.send import SendReport
from ..delivery.settings import MessageSettings
from ..errors import UsageError
from ..model import Article, Edition
from ..store.database import Connection
from . import newsletters as planner
from . import stream
from .preview import DEFAULT_OUT, EditionPreview, NothingNew, Preview, write_preview
from .render import render_edition
from .sending import send_edition
from .state import open_state


def preview_newsletter(
    config: Config, name: str, *, now: datetime, out: Path | None = None
) -> Preview | NothingNew:
    """Write the edition most of the newsletter's readers get next to ``out`` (files as
    ``syndicate email`` writes them: EDITION.html/.txt/.eml)."""
    preview = render_newsletter_preview(config, name, now=now)
    if isinstance(preview, NothingNew):
        return preview
    return write_preview(preview, out if out is not None else config.resolve(DEFAULT_OUT))


def render_newsletter_preview(
    config: Config, name: str, *, now: datetime
) -> EditionPreview | NothingNew:
    """The edition most of the newsletter's readers get next, rendered for the stand-in
    subscriber in memory (what ``preview_newsletter`` writes)."""
    newsletter = find_newsletter(config, name)
    loaded = load_articles(config.content_dir, config.publication)
    conn = open_state(config)
    try:
        planner.ensure_newsletters(config, conn)
        planner.refresh(config, conn, newsletter, loaded.articles, now)
        item = planner.preview_plan(config, conn, newsletter, loaded.articles, now=now)
        if item is None:
            return NothingNew(warnings=tuple(loaded.warnings))
        edition = planner.edition_for(config, conn, item, now=now)
    finally:
        conn.close()
    nconfig = newsletter_config(config, name)
    rendered = render_edition(nconfig, edition)
    letterhead = MessageSettings.from_config(nconfig)
    recipient = preview_recipient(letterhead, rendered)
    return EditionPreview(
        edition=edition,
        html=rendered.fill_html(recipient.values()).encode("utf-8"),
        text=rendered.fill_text(recipient.values()).encode("utf-8"),
        eml=message_bytes(build_message(letterhead, rendered, recipient)),
        recipient=recipient.email,
        warnings=tuple(loaded.warnings),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """The editions a send will go through: resumed first, then newly planned ones."""

    resumed: tuple[tuple[Edition, RenderedEdition], ...]
    planned: tuple[tuple[planner.Plan, Edition, RenderedEdition], ...]

    @property
    def recipients(self) -> int:
        """Readers of the planned editions (resumed ones report their own)."""
        return sum(item.recipients for item, _, _ in self.planned)

    @property
    def empty(self) -> bool:
        return not self.resumed and not self.planned


def prepare_send(
    config: Config,
    conn: Connection,
    name: str,
    *,
    now: datetime,
    cadence: str | None = None,
    segment: Mapping[str, str] | None = None,
    articles: list[Article] | None = None,
) -> Prepared:
    """What ``--send`` would do: the newsletter's unfinished editions, else the editions due
    for ``cadence`` (default: the newsletter's default cadence), rendered; nothing stored."""
    newsletter = find_newsletter(config, name)
    if articles is None:
        articles = list(load_articles(config.content_dir, config.publication).articles)
    nconfig = newsletter_config(config, name)
    planner.ensure_newsletters(config, conn)
    resumed = []
    for edition_id in stream.unfinished(conn):
        where = stream.placement(conn, edition_id)
        if where is not None and where.newsletter == name:
            edition = planner.load_newsletter_edition(config, conn, edition_id, articles)
            resumed.append((edition, render_edition(nconfig, edition)))
    if resumed:
        if segment:
            raise UsageError(
                f"newsletter {name!r} has an edition still being sent "
                f"({resumed[0][0].id}); finish it first with --send (without --where)"
            )
        return Prepared(resumed=tuple(resumed), planned=())
    chosen = newsletter.default_cadence if cadence is None else cadence
    planner.refresh(config, conn, newsletter, articles, now)
    planned = []
    for item in planner.plan(
        config, conn, newsletter, chosen, articles, now=now, segment=segment, min_articles=1
    ):
        edition = planner.edition_for(config, conn, item, now=now)
        planned.append((item, edition, render_edition(nconfig, edition, segment=segment)))
    return Prepared(resumed=(), planned=tuple(planned))


def send_prepared(
    config: Config,
    conn: Connection,
    prepared: Prepared,
    *,
    segment: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    resend_uncertain: bool = False,
    skip_uncertain: bool = False,
) -> list[SendReport]:
    """Send what ``prepare_send`` found: each planned edition is stored with its readers
    before its first message, so an interrupted send resumes with ``--send``."""
    reports = []
    for edition, rendered in prepared.resumed:
        nconfig = newsletter_config(config, edition.newsletter)
        reports.append(
            send_edition(
                nconfig,
                conn,
                edition,
                rendered,
                progress=progress,
                resend_uncertain=resend_uncertain,
                skip_uncertain=skip_uncertain,
            )
        )
    for item, edition, rendered in prepared.planned:
        planner.commit(config, conn, item, edition, segment=segment)
        nconfig = newsletter_config(config, edition.newsletter)
        reports.append(send_edition(nconfig, conn, edition, rendered, progress=progress))
    return reports


def state_connection(config: Config) -> Connection:
    """The state database with every newsletter table, for the CLI."""
    conn = open_state(config)
    planner.ensure_newsletters(config, conn)
    return conn
