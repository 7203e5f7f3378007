"""Newsletter editions: which articles go into the next one, and the record of what was sent.

The default selection is the RSS-to-email rule: every published article not yet in an edition
that was sent (or is being sent), newest first, capped by ``[email] max_articles``. Editions
live in the state database (component ``editions``) so the rule survives restarts, and so the
delivery side can mark an edition ``sending`` and then ``sent``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from ..config import Config
from ..content.articles import load_articles, render_article, select_published
from ..errors import StateError, UsageError
from ..model import Article, Edition, newest_first
from ..store.database import Connection, Row, connect, ensure_schema
from .render import render_subject

COMPONENT = "editions"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE editions (
        id TEXT PRIMARY KEY,
        created TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('draft', 'sending', 'sent')),
        subject TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE TABLE edition_articles (
        edition_id TEXT NOT NULL REFERENCES editions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        article_id TEXT NOT NULL,
        PRIMARY KEY (edition_id, position)
    );
    CREATE INDEX edition_articles_article ON edition_articles(article_id)
    """,
)

Status = Literal["draft", "sending", "sent"]
# Editions whose articles never go out again under the default rule. "sending" counts: some
# subscribers already have it, and the delivery side resumes that edition rather than a new one.
DELIVERED: tuple[Status, ...] = ("sending", "sent")


@dataclass(frozen=True, slots=True, kw_only=True)
class EditionRecord:
    """An edition as the state database remembers it (article ids, not article bodies)."""

    id: str
    created: datetime
    status: Status
    subject: str
    article_ids: tuple[str, ...]
    sent_at: datetime | None = None


def ensure_editions_schema(conn: Connection) -> None:
    """Create or upgrade the editions tables; every function here expects them."""
    ensure_schema(conn, COMPONENT, MIGRATIONS)


def open_state(config: Config) -> Connection:
    """The publication's state database, opened (created on first use) with editions tables."""
    conn = connect(config.state_target)
    ensure_editions_schema(conn)
    return conn


def plan_edition(
    config: Config,
    conn: Connection,
    *,
    now: datetime,
    since: datetime | None = None,
    slugs: Sequence[str] = (),
    articles: Sequence[Article] | None = None,
) -> Edition | None:
    """The next edition at ``now``, or None when there is nothing new to send.

    ``articles`` are the loaded articles (default: read from ``[content] dir``); only those
    published at ``now`` are eligible. ``since`` and ``slugs`` replace the default rule (see
    ``select_articles``). Nothing is written: ``record_edition`` saves the plan.
    """
    if articles is None:
        articles = load_articles(config.content_dir, config.publication).articles
    published = select_published(articles, now)
    chosen = select_articles(
        published,
        excluded_ids=delivered_article_ids(conn),
        max_articles=config.model.email.max_articles,
        since=since,
        slugs=slugs,
        all_articles=articles,
    )
    if not chosen:
        return None
    rendered = tuple(render_article(article, config.publication) for article in chosen)
    edition_id = next_edition_id(conn, now.astimezone(config.publication.timezone).date())
    subject = render_subject(config, edition_id=edition_id, created=now, articles=rendered)
    return Edition(id=edition_id, created=now, articles=rendered, subject=subject)


def select_articles(
    published: Sequence[Article],
    *,
    excluded_ids: Iterable[str],
    max_articles: int,
    since: datetime | None = None,
    slugs: Sequence[str] = (),
    all_articles: Sequence[Article] = (),
) -> list[Article]:
    """Pick an edition's articles from the published ones, newest first.

    Default: those whose id is not in ``excluded_ids``, at most ``max_articles``. ``since``:
    every published article dated at or after it (already-sent ones included), at most
    ``max_articles``. ``slugs``: exactly those articles, uncapped, added to the ``since``
    selection when both are given. An unknown or unpublished slug is a UsageError.
    """
    if not slugs and since is None:
        excluded = set(excluded_ids)
        return newest_first([a for a in published if a.id not in excluded])[:max_articles]
    chosen: dict[str, Article] = {}
    if since is not None:
        for article in newest_first([a for a in published if a.date >= since])[:max_articles]:
            chosen[article.id] = article
    by_slug = {article.slug: article for article in published}
    known = {article.slug for article in all_articles}
    problems = []
    for slug in slugs:
        if slug in by_slug:
            chosen[by_slug[slug].id] = by_slug[slug]
        elif slug in known:
            problems.append(f"{slug!r} is not published yet (draft, embargoed or future-dated)")
        else:
            problems.append(f"no article with slug {slug!r}")
    if problems:
        raise UsageError("--article: " + "; ".join(problems))
    return newest_first(list(chosen.values()))


def delivered_article_ids(conn: Connection) -> set[str]:
    """Ids of articles in an edition that was sent or is being sent."""
    rows = conn.execute(
        "SELECT DISTINCT ea.article_id FROM edition_articles ea"
        " JOIN editions e ON e.id = ea.edition_id"
        f" WHERE e.status IN ({', '.join('?' for _ in DELIVERED)})",
        DELIVERED,
    )
    return {row[0] for row in rows}


def next_edition_id(conn: Connection, day: date, prefix: str = "") -> str:
    """``YYYY-MM-DD``, or ``-2``, ``-3`` ... when that day already has a sending/sent edition.

    A draft's id is reused, so previewing twice on one day keeps the same id and files.
    ``prefix`` names a newsletter's editions (``climate-2026-11-06``).
    """
    base = prefix + day.isoformat()
    rows = conn.execute(
        "SELECT id, status FROM editions WHERE id = ? OR id LIKE ?", (base, f"{base}-%")
    ).fetchall()
    status = {row["id"]: row["status"] for row in rows}
    number = 1
    while True:
        candidate = base if number == 1 else f"{base}-{number}"
        if status.get(candidate, "draft") == "draft":
            return candidate
        number += 1


def record_edition(conn: Connection, edition: Edition, *, status: Status = "draft") -> None:
    """Save (or replace) an edition with its article ids; a sending/sent one is never replaced.

    Recording a ``sending`` edition that is already ``sending`` keeps it (a resumed run).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT status FROM editions WHERE id = ?", (edition.id,)).fetchone()
        if row is not None and row["status"] != "draft":
            if row["status"] == status == "sending":
                conn.execute("COMMIT")
                return
            raise StateError(
                f"edition {edition.id} is already {row['status']}; it cannot be changed"
            )
        conn.execute("DELETE FROM editions WHERE id = ?", (edition.id,))
        insert_edition(conn, edition, status=status)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def insert_edition(conn: Connection, edition: Edition, *, status: Status) -> None:
    """Insert an edition and its article ids, inside the caller's transaction."""
    conn.execute(
        "INSERT INTO editions (id, created, status, subject, sent_at) VALUES (?, ?, ?, ?, ?)",
        (
            edition.id,
            edition.created.isoformat(),
            status,
            edition.subject,
            _now_text() if status == "sent" else None,
        ),
    )
    conn.executemany(
        "INSERT INTO edition_articles (edition_id, position, article_id) VALUES (?, ?, ?)",
        [(edition.id, index, article.id) for index, article in enumerate(edition.articles)],
    )


def mark_sending(conn: Connection, edition: Edition) -> None:
    """Record that sending has begun: from now on its articles are out of the default rule."""
    record_edition(conn, edition, status="sending")


def mark_sent(conn: Connection, edition: Edition, *, at: datetime | None = None) -> None:
    """Record the edition as sent (saving it first if it was never recorded)."""
    record = get_edition(conn, edition.id)
    if record is None or record.status == "draft":
        record_edition(conn, edition, status="sending")
    conn.execute(
        "UPDATE editions SET status = 'sent', sent_at = ? WHERE id = ? AND status != 'sent'",
        ((at or datetime.now(UTC)).isoformat(), edition.id),
    )


def get_edition(conn: Connection, edition_id: str) -> EditionRecord | None:
    """The stored edition with this id, or None."""
    row = conn.execute("SELECT * FROM editions WHERE id = ?", (edition_id,)).fetchone()
    return _record(conn, row) if row is not None else None


def list_editions(conn: Connection, *, status: Status | None = None) -> list[EditionRecord]:
    """Stored editions, newest id first, optionally only those with one status."""
    if status is None:
        rows = conn.execute("SELECT * FROM editions ORDER BY created DESC, id DESC").fetchall()
    else:
        rows = conn.execute(
            "SELECT * FROM editions WHERE status = ? ORDER BY created DESC, id DESC", (status,)
        ).fetchall()
    return [_record(conn, row) for row in rows]


def load_edition(
    config: Config, record: EditionRecord, *, articles: Sequence[Article] | None = None
) -> Edition:
    """Rebuild a stored edition from content/ (to resume a send or publish the archive).

    The articles are read as they are now (corrections included); one that has since been
    deleted is a StateError naming it, rather than a silently shorter edition.
    """
    if articles is None:
        articles = load_articles(config.content_dir, config.publication).articles
    by_id = {article.id: article for article in articles}
    missing = [article_id for article_id in record.article_ids if article_id not in by_id]
    if missing:
        raise StateError(
            f"edition {record.id} names articles no longer in content/: {', '.join(missing)}"
        )
    return Edition(
        id=record.id,
        created=record.created,
        subject=record.subject,
        articles=tuple(
            render_article(by_id[article_id], config.publication)
            for article_id in record.article_ids
        ),
    )


def _record(conn: Connection, row: Row) -> EditionRecord:
    ids = conn.execute(
        "SELECT article_id FROM edition_articles WHERE edition_id = ? ORDER BY position",
        (row["id"],),
    ).fetchall()
    return EditionRecord(
        id=row["id"],
        created=datetime.fromisoformat(row["created"]),
        status=row["status"],
        subject=row["subject"],
        article_ids=tuple(r[0] for r in ids),
        sent_at=datetime.fromisoformat(row["sent_at"]) if row["sent_at"] else None,
    )


def _now_text() -> str:
    return datetime.now(UTC).isoformat()
