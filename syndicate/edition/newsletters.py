"""Editions of several newsletters from one content stream, each reader at their own cadence.

For a publication with ``[newsletters]``, planning an edition of newsletter N for cadence C:

1. ``refresh``: N's stream (``edition.stream``) gains every newly published article that
   belongs to N (section or tag), numbered in the order they appeared.
2. New subscriptions of cadence C are placed where C's last edition ended.
3. The receiving subscribers of C are grouped by floor (how far along N's stream they have
   been served). Nearly everyone shares one floor; a reader who changed cadence mid-week
   has another. Each group gets one edition carrying the articles after its floor (at most
   ``max_articles``, oldest owed first; the edition shows them newest first).
4. ``commit``: the edition, its placement, its ledger rows (exactly that group) and the
   group's new floor are written in one transaction, before anything is sent.

So an article reaches a subscriber at most once per newsletter, and whatever cadence they
pick and whenever they change it, every article after their floor reaches them exactly
once: the ledger rows and ``edition_articles`` show which edition carried it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..config import (
    CADENCES,
    Config,
    Newsletter,
    ScheduleConfig,
    configured_newsletters,
    default_newsletter_ids,
    find_newsletter,
    newsletter_config,
)
from ..content.articles import render_article, select_published
from ..delivery import ledger as ledger_db
from ..delivery import subscriptions as subs
from ..delivery.settings import MessageSettings
from ..errors import StateError, UsageError
from ..model import Article, Edition, newest_first
from ..store.database import Connection
from . import stream
from .render import render_subject
from .state import (
    ensure_editions_schema,
    get_edition,
    insert_edition,
    load_edition,
    next_edition_id,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """One edition to make: its articles, the stretch of the stream, how many get it."""

    newsletter: str
    cadence: str
    floor: int
    upto: int
    articles: tuple[Article, ...]
    recipients: int


def ensure_newsletters(config: Config, conn: Connection) -> None:
    """Every table a newsletter publication needs, upgraded in place (backup first)."""
    ensure_editions_schema(conn)
    ledger_db.ensure_ledger(conn)
    subs.ensure_subscriptions(conn, default_newsletter_ids(config))
    stream.ensure_stream(conn)


def cadence_groups(newsletter: Newsletter) -> list[tuple[str, tuple[str, ...]]]:
    """(label, stored cadence values) for each edition stream of a newsletter.

    Without ``cadences``: one stream, the schedule's (label ``""``). With them: one per
    cadence; subscriptions that chose none (``""``) follow the default cadence.
    """
    # A cadence the config no longer offers follows the default, so an edit of ``cadences``
    # never leaves a reader without editions.
    orphans = tuple(c for c in CADENCES if c not in newsletter.cadences)
    if not newsletter.cadences:
        return [("", ("", *orphans))]
    return [
        (cadence, (cadence, "", *orphans) if cadence == newsletter.default_cadence else (cadence,))
        for cadence in newsletter.cadences
    ]


def cadence_schedule(newsletter: Newsletter, cadence: str) -> ScheduleConfig:
    """The ``[schedule]``-shaped table for one cadence of a newsletter."""
    table = newsletter.settings
    kind = {"": table.schedule, "immediate": "on-new"}.get(cadence, cadence)
    return ScheduleConfig(email=kind, day=table.day, time=table.time, min_articles=1)


def refresh(
    config: Config,
    conn: Connection,
    newsletter: Newsletter,
    articles: Sequence[Article],
    now: datetime,
) -> int:
    """Add newly published articles of the newsletter to its stream; returns how many.

    The first time, only the newest ``max_articles`` are owed (the first edition is what
    a one-newsletter publication's first edition would be); older ones, and for a default
    newsletter those sent in one-newsletter editions before the upgrade, are not.
    """
    published = [
        article
        for article in select_published(articles, now)
        if newsletter.matches(article.section, article.tags)
    ]
    ordered = sorted(published, key=lambda a: (a.date, a.id))
    baseline: set[str] = set()
    if not stream.started(conn, newsletter.id):
        limit = newsletter_config(config, newsletter.id).model.email.max_articles
        baseline = {a.id for a in newest_first(published)[limit:]}
        if newsletter.default:
            baseline |= stream.legacy_delivered(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        added = stream.extend(conn, newsletter.id, [a.id for a in ordered], baseline=baseline)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return added


def plan(
    config: Config,
    conn: Connection,
    newsletter: Newsletter,
    cadence: str,
    articles: Sequence[Article],
    *,
    now: datetime,
    segment: Mapping[str, str] | None = None,
    min_articles: int | None = None,
) -> list[Plan]:
    """The editions due for one cadence of a newsletter: one per floor group (see module).

    Places new subscriptions first (a write); nothing else is stored.
    """
    groups = dict(cadence_groups(newsletter))
    if cadence not in groups:
        offered = ", ".join(newsletter.cadences) or "none (the newsletter has one schedule)"
        raise UsageError(f"newsletter {newsletter.id!r} offers no cadence {cadence!r}: {offered}")
    stored = groups[cadence]
    settings = newsletter_config(config, newsletter.id).model
    limit = settings.email.max_articles
    least = settings.schedule.min_articles if min_articles is None else min_articles
    mark = stream.watermark(conn, newsletter.id, stored)
    subs.place(conn, newsletter.id, stored, mark or 0)
    published = {a.id: a for a in select_published(articles, now)}
    plans = []
    for floor, count in subs.floors(conn, newsletter.id, stored, segment).items():
        chosen, upto = _owed(conn, newsletter.id, floor, published, limit)
        if len(chosen) < least:
            continue
        plans.append(
            Plan(
                newsletter=newsletter.id,
                cadence=cadence,
                floor=floor,
                upto=upto,
                articles=tuple(newest_first(chosen)),
                recipients=count,
            )
        )
    return plans


def preview_plan(
    config: Config,
    conn: Connection,
    newsletter: Newsletter,
    articles: Sequence[Article],
    *,
    now: datetime,
) -> Plan | None:
    """The edition most readers of the newsletter would get next (for previews and test
    copies), or what a new reader would get when nobody is subscribed yet."""
    best: Plan | None = None
    for cadence, _ in cadence_groups(newsletter):
        for candidate in plan(config, conn, newsletter, cadence, articles, now=now, min_articles=1):
            if best is None or candidate.recipients > best.recipients:
                best = candidate
    if best is not None:
        return best
    published = {a.id: a for a in select_published(articles, now)}
    label = newsletter.default_cadence
    stored = dict(cadence_groups(newsletter))[label]
    floor = stream.watermark(conn, newsletter.id, stored) or 0
    limit = newsletter_config(config, newsletter.id).model.email.max_articles
    chosen, upto = _owed(conn, newsletter.id, floor, published, limit)
    if not chosen:
        return None
    return Plan(
        newsletter=newsletter.id,
        cadence=label,
        floor=floor,
        upto=upto,
        articles=tuple(newest_first(chosen)),
        recipients=0,
    )


def _owed(
    conn: Connection,
    newsletter: str,
    floor: int,
    published: Mapping[str, Article],
    limit: int,
) -> tuple[list[Article], int]:
    """The owed articles after ``floor`` (oldest first, at most ``limit``) and how far they
    reach. An article withdrawn since it entered the stream is passed over."""
    chosen: list[Article] = []
    upto = floor
    for seq, article_id in stream.owed(conn, newsletter, floor):
        if len(chosen) == limit:
            break
        upto = seq
        if article_id in published:
            chosen.append(published[article_id])
    return chosen, upto


def edition_for(config: Config, conn: Connection, item: Plan, *, now: datetime) -> Edition:
    """The Edition (id, rendered articles, subject) for a plan; nothing is stored."""
    nconfig = newsletter_config(config, item.newsletter)
    prefix = f"{item.newsletter}-" + (f"{item.cadence}-" if item.cadence else "")
    day = now.astimezone(config.publication.timezone).date()
    edition_id = next_edition_id(conn, day, prefix)
    rendered = tuple(render_article(article, config.publication) for article in item.articles)
    subject = render_subject(nconfig, edition_id=edition_id, created=now, articles=rendered)
    return Edition(
        id=edition_id, created=now, articles=rendered, subject=subject, newsletter=item.newsletter
    )


def commit(
    config: Config,
    conn: Connection,
    item: Plan,
    edition: Edition,
    *,
    segment: Mapping[str, str] | None = None,
) -> int:
    """Store the edition as ``sending`` with its placement, queue its group of readers in
    the ledger and move their floor, all in one transaction. Returns the recipients queued.

    After this, the send itself (``edition.sending.send_edition``) only works the ledger, so
    a crash anywhere later is resumed without planning anything again.
    """
    domain = MessageSettings.from_config(config).domain
    stored = dict(cadence_groups(find_newsletter(config, item.newsletter)))[item.cadence]
    conn.execute("BEGIN IMMEDIATE")
    try:
        if get_edition(conn, edition.id) is not None:
            conn.execute("DELETE FROM editions WHERE id = ? AND status = 'draft'", (edition.id,))
        insert_edition(conn, edition, status="sending")
        stream.place_edition(
            conn,
            stream.Placement(
                edition_id=edition.id,
                newsletter=item.newsletter,
                cadence=item.cadence,
                floor=item.floor,
                upto=item.upto,
            ),
            segment=_segment_text(segment),
        )
        readers = subs.recipients(conn, item.newsletter, stored, item.floor, segment)
        ledger_db.enqueue_rows(conn, edition.id, domain, readers)
        moved = subs.advance(conn, item.newsletter, stored, item.floor, item.upto, segment)
        if moved != len(readers):  # cannot happen inside one transaction; never guess
            raise StateError(f"edition {edition.id}: {len(readers)} readers but {moved} moved")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(readers)


def _segment_text(segment: Mapping[str, str] | None) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted((segment or {}).items()))


def load_newsletter_edition(
    config: Config, conn: Connection, edition_id: str, articles: Sequence[Article]
) -> Edition:
    """A stored newsletter edition rebuilt from content/ (to resume its send)."""
    record = get_edition(conn, edition_id)
    where = stream.placement(conn, edition_id)
    if record is None or where is None:
        raise StateError(f"no newsletter edition {edition_id!r}")
    edition = load_edition(newsletter_config(config, where.newsletter), record, articles=articles)
    return Edition(
        id=edition.id,
        created=edition.created,
        articles=edition.articles,
        subject=edition.subject,
        newsletter=where.newsletter,
    )


def removed_newsletters(config: Config, conn: Connection) -> dict[str, int]:
    """Newsletter ids with subscriptions in the database but no ``[newsletters.<id>]``
    (a renamed or removed newsletter): id -> active subscriptions, for ``validate``."""
    known = {item.id for item in configured_newsletters(config)}
    return {
        name: count for name, count in subs.newsletter_ids_in_use(conn).items() if name not in known
    }
