"""The newsletter's web archive: every sent edition as a page, an index, and an editions feed.

"Sent" means its first copies are out: an edition still being sent (deferred or uncertain
recipients) is archived too, since its readers already hold the view-in-browser link.

``<out>/newsletter/EDITION/index.html`` is the email's own HTML with the per-recipient parts
made neutral (archive_page.py). ``<out>/newsletter/index.html`` lists every edition newest first;
``<out>/newsletter/rss.xml`` and ``atom.xml`` announce them. It is what the emails'
view-in-browser links (``MessageSettings.archive_url``) point at.

The page is stored in the state database when the edition is sent (``archive_sent``, called
by the send run), so rebuilding later gives the same bytes even after an article was edited
or deleted. Editions sent before the archive existed are rendered from content/ as it is now,
in memory, on every build. Builds only read the database; output is deterministic and
unchanged files are left alone.
"""

from __future__ import annotations

import html as html_lib
import json
import logging
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..config import newsletter_config
from ..content.articles import load_articles
from ..delivery.ledger import RowState, summary
from ..delivery.settings import MessageSettings, subscribe_url
from ..errors import Problem, StateError, SyndicateError
from ..exporters._feedgen import GENERATOR, GENERATOR_URI, rss_bytes
from ..files import WriteReport, write_artifacts
from ..model import Artifact
from ..store.database import Connection, connect, ensure_schema, has_table
from ..text.templates import render_template, template_environment
from .archive_notes import Notes, content_notes, with_corrections
from .archive_page import FOLDER, folder_of, page_html, web_html
from .render import render_edition
from .state import get_edition, list_editions, load_edition
from .stream import placement

if TYPE_CHECKING:
    from ..build.pipeline import BuildResult
    from ..config import Config
    from ..delivery.rendered import RenderedEdition

log = logging.getLogger("syndicate.archive")

COMPONENT = "archive"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE edition_archive (
        edition_id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        created TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        html TEXT NOT NULL,
        articles TEXT NOT NULL,
        stored TEXT NOT NULL
    )
    """,
)
INDEX_TEMPLATE = "archive.html.j2"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivedArticle:
    """An article as the archive index and feed list it."""

    title: str
    url: str
    summary: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivedEdition:
    """One sent edition, as the archive publishes it."""

    id: str
    subject: str
    created: datetime
    sent_at: datetime
    html: str
    articles: tuple[ArchivedArticle, ...]
    article_ids: tuple[str, ...] = ()  # the articles' ids, in the same order (from the state)


def snapshot(config: Config, rendered: RenderedEdition, *, sent_at: datetime) -> ArchivedEdition:
    """The archive entry for a rendered edition."""
    edition = rendered.edition
    return ArchivedEdition(
        id=edition.id,
        subject=edition.subject,
        created=edition.created,
        sent_at=sent_at,
        html=page_html(config, rendered),
        articles=tuple(
            ArchivedArticle(title=a.title, url=a.url, summary=a.summary or a.dek)
            for a in edition.articles
        ),
    )


def store(conn: Connection, entry: ArchivedEdition) -> bool:
    """Keep the entry (the first one stored for an edition wins); True if it was new."""
    ensure_schema(conn, COMPONENT, MIGRATIONS)
    articles = json.dumps(
        [{"title": a.title, "url": a.url, "summary": a.summary} for a in entry.articles],
        ensure_ascii=False,
    )
    cursor = conn.execute(
        "INSERT OR IGNORE INTO edition_archive"
        " (edition_id, subject, created, sent_at, html, articles, stored)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            entry.subject,
            entry.created.isoformat(),
            entry.sent_at.isoformat(),
            entry.html,
            articles,
            datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),  # as SQLite's datetime('now')
        ),
    )
    return cursor.rowcount == 1


def archive_sent(config: Config, conn: Connection, rendered: RenderedEdition) -> None:
    """The send run's hook, once the first copies of an edition are out: store its page and
    publish the archive into ``[feeds] out``, so the view-in-browser link works at once.

    Not only once the edition is ``sent``: recipients deferred for hours (greylisting) or
    rows left uncertain by a crash keep it ``sending``, while everyone else already holds an
    email whose view-in-browser link must not lead nowhere.
    """
    record = get_edition(conn, rendered.edition.id)
    if record is None or record.status not in ("sending", "sent"):
        return
    if record.status == "sending" and not summary(conn, record.id)[RowState.SENT]:
        return
    sent_at = record.sent_at or datetime.now(UTC)  # first copies out: stored once, kept
    try:
        store(conn, snapshot(config, rendered, sent_at=sent_at))
        _, problems = write_archive(config, config.feeds_dir)
    except (SyndicateError, OSError, sqlite3.Error) as exc:
        # The mail went out; a page that failed must not turn the send into an error.
        log.warning(
            "archive: edition %s not published: %s (the next build retries)", record.id, exc
        )
        return
    for problem in problems:
        log.warning("%s", problem)


def sent_editions(config: Config) -> tuple[list[ArchivedEdition], list[Problem]]:
    """Every sent edition, newest first: stored pages, else rendered from content/ now.

    Only reads the state database (a dry run or a build must not change state); a database
    that does not exist yet means no edition was ever sent.
    """
    db = config.state_db
    if not config.state_url and not db.exists():
        return [], []
    conn = connect(config.state_target)
    try:
        if not has_table(conn, "editions"):
            return [], []

        stored = _stored(conn) if has_table(conn, "edition_archive") else {}
        # Editions still being sent are listed once their page was stored (first copies out).
        records = list_editions(conn, status="sent") + [
            r for r in list_editions(conn, status="sending") if r.id in stored
        ]
    finally:
        conn.close()
    entries: list[ArchivedEdition] = []
    problems: list[Problem] = []
    missing = [r for r in records if r.id not in stored]
    articles = None
    for record in records:
        if not _SAFE_ID.match(record.id):
            problems.append(Problem(db, None, f"edition id {record.id!r} is not a safe path", True))
            continue
        if record.id in stored:
            entries.append(replace(stored[record.id], article_ids=record.article_ids))
            continue

        if articles is None and missing:
            articles = load_articles(config.content_dir, config.publication).articles
        try:
            edition = load_edition(config, record, articles=articles)
        except StateError as exc:
            problems.append(Problem(db, None, f"archive: {exc}; its page is not published", True))
            continue
        sent_at = record.sent_at or record.created
        made = snapshot(config, render_edition(config, edition), sent_at=sent_at)
        entries.append(replace(made, article_ids=record.article_ids))
    entries.sort(key=lambda e: (e.sent_at, e.id), reverse=True)
    return entries, problems


def archive_artifacts(
    config: Config,
    entries: Sequence[ArchivedEdition],
    notes: Notes | None = None,
    folder: PurePosixPath = FOLDER,
) -> list[Artifact]:
    """The archive's files: one page per edition, the index, RSS and Atom (none if empty).

    An edition's page shows the correction notes of the articles it carried (``notes``),
    under each article and marked as added after sending; the index and the feeds say what
    was sent, and stay as they were. ``folder``: ``newsletter/`` or a newsletter's own.
    """
    if not entries:
        return []
    files = [
        Artifact(
            folder / entry.id / "index.html",
            web_html(
                with_corrections(
                    config,
                    entry.html,
                    [(i, a.url) for i, a in zip(entry.article_ids, entry.articles, strict=False)],
                    notes or {},
                    made=entry.created,
                )
            ).encode("utf-8"),
            "text/html",
        )
        for entry in entries
    ]
    files.append(Artifact(folder / "index.html", _index(config, entries, folder), "text/html"))
    files.append(
        Artifact(
            folder / "rss.xml", _feed(config, entries, folder, atom=False), "application/rss+xml"
        )
    )
    files.append(
        Artifact(
            folder / "atom.xml", _feed(config, entries, folder, atom=True), "application/atom+xml"
        )
    )
    return files


def write_archive(
    config: Config, out: Path, notes: Notes | None = None
) -> tuple[WriteReport, list[Problem]]:
    """Write the archive under ``out``; only files whose bytes changed are touched.

    ``notes`` are the articles' corrections as the build found them; without them (a send
    run) they are read from content/, so a page never loses its notes. With
    ``[newsletters]`` each newsletter has its own archive, index and editions feed under
    ``archive/<id>/``; editions from the one-newsletter days stay under ``newsletter/``.
    """
    entries, problems = sent_editions(config)
    if entries and notes is None:
        notes, unread = content_notes(config)
        problems += unread
    if not config.model.newsletters:
        return write_artifacts(out, archive_artifacts(config, entries, notes)), problems
    owners = _newsletter_of(config, [entry.id for entry in entries])
    groups: dict[str, list[ArchivedEdition]] = {}
    for entry in entries:
        groups.setdefault(owners.get(entry.id, ""), []).append(entry)
    files: list[Artifact] = []
    for name, group in groups.items():
        if name and name not in config.model.newsletters:
            continue  # a removed newsletter: its pages stay as they were written
        shown = newsletter_config(config, name) if name else config
        if name:
            titled = f"{config.publication.title}: {config.model.newsletters[name].title}"
            shown = replace(shown, publication=replace(shown.publication, title=titled))
        files += archive_artifacts(shown, group, notes, folder_of(name))
    return write_artifacts(out, files), problems


def _newsletter_of(config: Config, edition_ids: Sequence[str]) -> dict[str, str]:
    """edition id -> newsletter id, for the editions of several newsletters."""
    conn = connect(config.state_target)
    try:
        if not has_table(conn, "newsletter_editions"):
            return {}
        found = {}
        for edition_id in edition_ids:
            where = placement(conn, edition_id)
            if where is not None:
                found[edition_id] = where.newsletter
        return found
    finally:
        conn.close()


def with_archive(config: Config, out: Path, result: BuildResult) -> BuildResult:
    """``build``'s hook: write the archive next to the feeds and fold it into the result."""
    report, problems = write_archive(config, out, dict(result.corrections))
    if not report.written and not report.unchanged and not problems:
        return result
    merged = WriteReport(
        written=[*result.report.written, *report.written],
        unchanged=[*result.report.unchanged, *report.unchanged],
    )
    return replace(result, report=merged, warnings=(*result.warnings, *problems))




def _stored(conn: Connection) -> dict[str, ArchivedEdition]:
    found = {}
    for row in conn.execute("SELECT * FROM edition_archive"):
        found[row["edition_id"]] = ArchivedEdition(
            id=row["edition_id"],
            subject=row["subject"],
            created=datetime.fromisoformat(row["created"]),
            sent_at=datetime.fromisoformat(row["sent_at"]),
            html=row["html"],
            articles=tuple(ArchivedArticle(**item) for item in json.loads(row["articles"])),
        )
    return found


def _index(
    config: Config, entries: Sequence[ArchivedEdition], folder: PurePosixPath = FOLDER
) -> bytes:
    pub = config.publication
    env = template_environment(config, autoescape=True)
    feeds = f"{pub.feeds.url}/{folder}"
    editions = [
        {
            "id": entry.id,
            "href": f"{entry.id}/",
            "subject": entry.subject,
            "sent_at": entry.sent_at,
            "date_text": entry.sent_at.astimezone(pub.timezone).date().isoformat(),
            "articles": entry.articles,
        }
        for entry in entries
    ]
    text = render_template(
        env,
        INDEX_TEMPLATE,
        publication=pub,
        editions=editions,
        rss_url=f"{feeds}/rss.xml",
        atom_url=f"{feeds}/atom.xml",
        index_url=f"{feeds}/",
        subscribe_url=subscribe_url(config),
    )
    return text.encode("utf-8")


def _summary_html(entry: ArchivedEdition) -> str:
    items = "".join(
        f'<li><a href="{html_lib.escape(a.url, quote=True)}">{html_lib.escape(a.title)}</a>'
        + (f": {html_lib.escape(a.summary)}" if a.summary else "")
        + "</li>"
        for a in entry.articles
    )
    return f"<ul>{items}</ul>"


def _feed(
    config: Config,
    entries: Sequence[ArchivedEdition],
    folder: PurePosixPath = FOLDER,
    *,
    atom: bool,
) -> bytes:
    """RSS 2.0 or Atom 1.0 of the editions; every date comes from the state, never "now"."""
    # lazy: feedgen loads only when the archive's feeds are rewritten (an edition was sent),
    # never on a no-op build
    from feedgen.feed import FeedGenerator

    pub = config.publication
    feeds = f"{pub.feeds.url}/{folder}"
    self_url = f"{feeds}/{'atom.xml' if atom else 'rss.xml'}"
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(f"{pub.title}: newsletter")
    description = f"Every edition of the {pub.title} newsletter."
    fg.subtitle(description)
    fg.description(description)
    fg.language(pub.language)
    fg.generator(GENERATOR, uri=GENERATOR_URI)
    author = {"name": pub.author.name if pub.author is not None else pub.title}
    if pub.author is not None and pub.author.email:
        author["email"] = pub.author.email
    fg.author(author)
    fg.link(
        href=self_url, rel="self", type="application/atom+xml" if atom else "application/rss+xml"
    )
    fg.link(href=f"{feeds}/", rel="alternate", type="text/html")  # last: the RSS channel link
    newest = max(entry.sent_at for entry in entries)
    fg.updated(newest)
    fg.lastBuildDate(newest)
    letterhead = MessageSettings.from_config(config)
    for entry in entries:
        url = letterhead.archive_url(entry.id)
        fe = fg.add_entry(order="append")
        fe.title(entry.subject)
        fe.link(href=url, rel="alternate", type="text/html")
        fe.published(entry.sent_at)
        fe.updated(entry.sent_at)
        if atom:
            fe.summary(_summary_html(entry), type="html")
            fe.id(url)
        else:
            fe.description(_summary_html(entry))
            fe.guid(url, permalink=True)
    data: bytes = fg.atom_str(pretty=True) if atom else rss_bytes(fg)
    return data
