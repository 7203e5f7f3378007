"""The library API: a publication as a Python object, for a newsroom's own scripts.

``Publication.load("config.toml")`` (or the publication's folder) gives the same operations the
CLI offers -- build, preview the next edition, digest, import, subscribers, validate, publish,
report --
without click, by calling the very core functions the commands call. Errors are the
SyndicateError subclasses the CLI reports (ConfigError, ContentError, UsageError ...), so a
script catches ``SyndicateError`` and prints ``str(exc)``; nothing here prints or exits.

It sits at the top of the layers next to ``cli/``: it may import any part, and no part imports
it. ``from syndicate import Publication`` loads it lazily (``syndicate/__init__.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from .build.digest import make_digest
from .build.pipeline import BuildResult
from .build.validation import validate
from .config import DEFAULT_CONFIG, Config, load_config
from .content.articles import load_articles, load_published, render_article
from .content.when import now_utc, parse_datetime, parse_when
from .delivery.choices import check_ids, choose
from .delivery.choices import ensure as ensure_choices
from .delivery.send import SendReport
from .delivery.subscribers import (
    Status,
    Subscriber,
    add_subscriber,
    count_by_status,
    ensure_subscribers,
    list_subscribers,
    remove_subscriber,
    unsubscribe,
)
from .edition.lint import lint_email
from .edition.newsletter_send import render_newsletter_preview
from .edition.notice_send import find_article, notice_for, send_notice
from .edition.preview import (
    DEFAULT_OUT,
    EditionPreview,
    NothingNew,
    Preview,
    render_preview,
    write_preview,
)
from .edition.state import open_state
from .errors import ContentError, Problem, UsageError
from .ingest.importer import ImportReport, import_sources, options_for
from .model import Article
from .publish.run import PublishReport, publish
from .publish.site import build
from .report.numbers import Report, gather
from .store.database import Connection, connect

__all__ = [
    "BuildResult",
    "EditionPreview",
    "ImportReport",
    "Preview",
    "Publication",
    "PublishReport",
    "Subscriber",
]

When = datetime | str
"""A moment: an aware or naive ``datetime`` (naive ones are in the publication's timezone),
or what the CLI takes as WHEN: an ISO date/date-time, or a span before now (``7d``, ``24h``)."""

Progress = Callable[[int, int], None]


class Publication:
    """One publication (a config.toml and its content), with what the CLI can do to it.

    Every method reads the files afresh, so edits made between calls are seen; ``now``
    arguments pretend the time, as the CLI's ``--now`` does (default: the current time).
    """

    def __init__(self, config: Config) -> None:
        self._config = config

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Publication:
        """Load a publication from its config.toml, or from the folder holding one.

        Raises ConfigError (missing file, bad TOML, a wrong value: every problem with its line).
        """
        chosen = Path(path)
        if chosen.is_dir():
            chosen = chosen / DEFAULT_CONFIG
        return cls(load_config(chosen))

    def __repr__(self) -> str:
        return f"Publication({str(self._config.path)!r})"

    @property
    def config(self) -> Config:
        """The validated configuration (``config.model`` holds every config.toml key)."""
        return self._config

    @property
    def root(self) -> Path:
        """The publication folder: the one holding config.toml."""
        return self._config.root

    @property
    def title(self) -> str:
        """[publication] title."""
        return self._config.publication.title

    # -- content ------------------------------------------------------------------------

    def articles(self, now: When | None = None, *, render: bool = True) -> list[Article]:
        """The articles published at ``now`` (no drafts, no embargoed ones), newest first.

        ``render=True`` fills in each article's sanitized ``html`` and ``summary`` as the
        feeds show them; ``render=False`` is faster when only the front matter is wanted.
        Raises ContentError listing every broken article.
        """
        published, _ = load_published(self._config, self._moment(now))
        if not render:
            return published
        return [render_article(article, self._config.publication) for article in published]

    def validate(self, *, email: bool = False, now: When | None = None) -> list[Problem]:
        """Every problem ``syndicate validate`` reports, errors and warnings alike (a problem's
        ``warning`` tells them apart); an empty list means the publication is valid.

        ``email=True`` also renders the next edition and lints it (``validate --email``).
        A broken config.toml already failed in ``load``.
        """
        try:
            problems = list(validate(self._config))
        except ContentError as exc:
            problems = list(exc.problems)
        if email and not any(not problem.warning for problem in problems):
            problems += lint_email(self._config, now=self._moment(now)).problems
        return problems

    def import_sources(
        self,
        paths: Iterable[str | os.PathLike[str]],
        into: str | os.PathLike[str] | None = None,
        *,
        fmt: str = "auto",
        date: When | None = None,
        tags: Sequence[str] = (),
        section: str = "",
        timezone: str | None = None,
        dry_run: bool = False,
        force: bool = False,
    ) -> ImportReport:
        """Turn raw text, HTML or Markdown files into content files, as ``syndicate import``.

        ``into`` defaults to the [content] dir. A source that cannot be imported does not stop
        the others: it is listed in the report's ``problems`` (raise ``IngestError(problems)``
        to fail as the CLI does); ``imported`` says what happened to each of the others.
        """
        options = options_for(
            self._config,
            into=Path(into) if into is not None else None,
            zone_name=timezone,
            when=date if isinstance(date, str) else None,
            fmt=fmt,
            tags=tags,
            section=section,
            dry_run=dry_run,
            force=force,
        )
        if isinstance(date, datetime):
            options = replace(options, date=parse_datetime(date, options.publication.timezone))
        return import_sources([Path(path) for path in paths], options)

    # -- output -------------------------------------------------------------------------

    def build(
        self,
        out: str | os.PathLike[str] | None = None,
        now: When | None = None,
        *,
        use_cache: bool = True,
        progress: Progress | None = None,
    ) -> BuildResult:
        """Write the feeds (and the newsletter archive) as ``syndicate build``; default out is
        [feeds] out. ``progress(done, total)`` is called while article bodies render.

        Raises ContentError before anything is written when an article is broken.
        """
        return build(
            self._config,
            out=Path(out) if out is not None else None,
            now=self._moment(now) if now is not None else None,
            progress=progress,
            cache=use_cache,
        )

    def digest(
        self,
        since: When | None = None,
        until: When | None = None,
        section: str | Sequence[str] | None = None,
        tag: str | Sequence[str] | None = None,
        full: bool | None = None,
        now: When | None = None,
    ) -> str:
        """The plain-text digest of ``[since, until)`` as ``syndicate digest`` prints it
        (default: the seven days before ``until``, which defaults to now).

        ``section`` and ``tag`` take one name or several; ``full`` overrides [digest] full.
        Returns "" when no article was published in the period.
        """
        moment = self._moment(now)
        result = make_digest(
            self._config,
            since=self._moment(since, moment) if since is not None else None,
            until=self._moment(until, moment) if until is not None else None,
            sections=_names(section),
            tags=_names(tag),
            full=full,
            now=moment,
        )
        return result.text

    # -- the newsletter -----------------------------------------------------------------

    def next_edition(
        self,
        now: When | None = None,
        since: When | None = None,
        slugs: Sequence[str] = (),
        *,
        newsletter: str | None = None,
    ) -> EditionPreview | None:
        """The next edition as ``syndicate email`` previews it, in memory: ``.html``,
        ``.text`` and ``.eml`` bytes for the stand-in subscriber, ``.id``, ``.subject``.
        None when no published article is waiting (and ``since``/``slugs`` chose none).

        Nothing is sent; like the CLI's preview, the plan is saved as a draft edition in
        the state database. ``since`` and ``slugs`` choose the articles instead of "every
        article not sent yet". With ``[newsletters]``, ``newsletter`` names the one (its
        next edition for most of its readers; ``since``/``slugs`` do not apply).
        """
        moment = self._moment(now)
        if self._config.model.newsletters or newsletter is not None:
            if newsletter is None or since is not None or slugs:
                raise UsageError(
                    "with [newsletters], name one (newsletter=ID); since/slugs do not apply"
                )
            found = render_newsletter_preview(self._config, newsletter, now=moment)
            return None if isinstance(found, NothingNew) else found
        preview = render_preview(
            self._config,
            now=moment,
            since=self._moment(since, moment) if since is not None else None,
            slugs=tuple(slugs),
        )
        return None if isinstance(preview, NothingNew) else preview

    def write_preview(
        self,
        out_dir: str | os.PathLike[str] | None = None,
        now: When | None = None,
        since: When | None = None,
        slugs: Sequence[str] = (),
        *,
        newsletter: str | None = None,
    ) -> Preview | None:
        """``syndicate email``: write the next edition's EDITION.html/.txt/.eml to ``out_dir``
        (default ``newsletter/`` in the publication folder); None when nothing is waiting."""
        preview = self.next_edition(now=now, since=since, slugs=slugs, newsletter=newsletter)
        if preview is None:
            return None
        folder = Path(out_dir) if out_dir is not None else self._config.resolve(DEFAULT_OUT)
        return write_preview(preview, folder)

    def publish(
        self, now: When | None = None, *, dry_run: bool = False, wait: bool = False
    ) -> PublishReport:
        """What cron runs (``syndicate publish``): build the feeds, deploy, and send the
        edition if the schedule says one is due. ``dry_run`` writes and sends nothing.

        Steps after the feeds are written report their failures in the returned report
        (``errors``, ``exit_code``) so the others still run; broken content raises.
        """
        return publish(
            self._config,
            now=self._moment(now) if now is not None else None,
            dry_run=dry_run,
            wait=wait,
        )

    def send_correction(self, slug: str) -> SendReport:
        """``syndicate email --correction SLUG --send``: the notice of the article's latest
        correction to exactly the readers who got it in an edition; resumable, and a call
        once every reader is handled sends nothing (``report.exit_code`` 3: still pending).
        Needs ``SYNDICATE_SECRET``; raises UsageError for an unknown or uncorrected slug."""
        article = find_article(
            load_articles(self._config.content_dir, self._config.publication).articles, slug
        )
        conn = open_state(self._config)
        try:
            return send_notice(self._config, conn, notice_for(conn, article))
        finally:
            conn.close()

    # -- subscribers --------------------------------------------------------------------

    def add_subscriber(
        self,
        email: str,
        name: str = "",
        *,
        resubscribe: bool = False,
        newsletters: Sequence[str] = (),
        cadence: str = "",
    ) -> Subscriber:
        """Add an active subscriber (an existing address is left as it is, unless
        ``resubscribe``); a suppressed address is added with its suppressed status.
        Raises UsageError (InvalidAddress) for an address that is not one.

        With ``[newsletters]``: ``newsletters`` (ids; none = the defaults for a new
        address) and ``cadence`` (where offered), as ``subscribers add --newsletter``."""
        many = bool(self._config.model.newsletters)
        if newsletters or cadence:
            check_ids(self._config, newsletters)
        with self._subscribers() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                subscriber, created = add_subscriber(
                    conn, email, name=name, source="api", resubscribe=resubscribe
                )
                if many and (created or newsletters or resubscribe):
                    choose(self._config, conn, subscriber, newsletters, cadence=cadence, how="api")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return subscriber

    def subscribers_list(self, status: Status | str | None = None) -> list[Subscriber]:
        """Subscribers in the order they were added, or only those with ``status``."""
        with self._subscribers() as conn:
            return list(list_subscribers(conn, Status(status) if status else None))

    def subscriber_counts(self) -> dict[str, int]:
        """How many subscribers have each status."""
        with self._subscribers() as conn:
            return count_by_status(conn)

    def unsubscribe(self, email: str) -> Subscriber | None:
        """Stop mailing an address but keep its record; None when it is unknown."""
        with self._subscribers() as conn:
            return unsubscribe(conn, email, how="api")

    def remove_subscriber(self, email: str) -> bool:
        """Delete an address and its data (erasure requests); False when it is unknown."""
        with self._subscribers() as conn:
            return remove_subscriber(conn, email)

    def report(
        self,
        edition: str | None = None,
        *,
        since: When | None = None,
        last: int = 10,
        newsletter: str | None = None,
    ) -> Report:
        """``syndicate report``: what happened to ``edition`` (or ``latest``), or to the
        editions sent since ``since``, or the last ``last``; ``Report.as_dict()`` is ``--json``."""
        conn = open_state(self._config)
        try:
            return gather(
                conn,
                edition=edition,
                since=None if since is None else self._moment(since),
                last=0 if since is not None else last,
                newsletter=newsletter,
            )
        finally:
            conn.close()

    # -- helpers ------------------------------------------------------------------------

    @contextmanager
    def _subscribers(self) -> Iterator[Connection]:
        """The state database with the subscribers table, closed when the block ends."""
        conn = connect(self._config.state_target)
        try:
            ensure_subscribers(conn)
            if self._config.model.newsletters:
                ensure_choices(self._config, conn)  # upgrades an old database (backup first)
            yield conn
        finally:
            conn.close()

    def _moment(self, value: When | None, now: datetime | None = None) -> datetime:
        """A WHEN as an aware datetime, as the CLI reads --now/--since/--until."""
        zone = self._config.publication.timezone
        if value is None:
            return now or now_utc()
        if isinstance(value, datetime):
            return parse_datetime(value, zone)
        return parse_when(value, now or now_utc(), zone)


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """One name or several, as a tuple."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
