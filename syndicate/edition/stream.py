"""Each newsletter's article stream, and which stretch of it each edition carried.

``newsletter_stream`` numbers a newsletter's articles in the order they first appeared
(``seq``, from 1; 0 marks articles that were already there, or already sent, when the
newsletter started and are owed to nobody). ``newsletter_editions`` says which newsletter
and cadence an edition belongs to and which stretch of the stream it carried: every
article with ``floor < seq <= upto`` (at most ``max_articles`` of them). Together with each
subscription's floor (``delivery.subscriptions``) this is the whole of "what is new since
the last edition", per newsletter and per reader.

These tables sit beside ``editions`` (which keeps its meaning: one row per edition, the
articles in ``edition_articles``) rather than changing it, so the one-newsletter code and
the ledger read exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..delivery.subscriber_table import ensure_current, utcnow
from ..store.database import Connection

COMPONENT = "newsletter_stream"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE newsletter_stream (
        newsletter TEXT NOT NULL,
        article_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        added TEXT NOT NULL,
        PRIMARY KEY (newsletter, article_id)
    );
    CREATE INDEX newsletter_stream_seq ON newsletter_stream (newsletter, seq);
    CREATE TABLE newsletter_editions (
        edition_id TEXT PRIMARY KEY REFERENCES editions(id) ON DELETE CASCADE,
        newsletter TEXT NOT NULL,
        cadence TEXT NOT NULL DEFAULT '',
        floor INTEGER NOT NULL,
        upto INTEGER NOT NULL,
        segment TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX newsletter_editions_newsletter ON newsletter_editions (newsletter, cadence)
    """,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where an edition sits in its newsletter's stream."""

    edition_id: str
    newsletter: str
    cadence: str
    floor: int
    upto: int


def ensure_stream(conn: Connection) -> None:
    """Create or upgrade the tables (the editions tables must exist first)."""
    ensure_current(conn, COMPONENT, MIGRATIONS)


def installed(conn: Connection) -> bool:
    """Whether this database has newsletter placements (a [newsletters] publication used it)."""
    row = conn.execute("SELECT 1 FROM schema_versions WHERE component = ?", (COMPONENT,)).fetchone()
    return row is not None


def extend(
    conn: Connection,
    newsletter: str,
    article_ids: Sequence[str],
    *,
    baseline: set[str],
) -> int:
    """Append the articles not yet in the stream, in the given order (oldest first).

    ``baseline`` ids go in with seq 0: they were there before the newsletter started (or
    went out in an edition of the one-newsletter days) and are owed to nobody. Returns how
    many articles were added with a real position.
    """
    known = {
        row[0]
        for row in conn.execute(
            "SELECT article_id FROM newsletter_stream WHERE newsletter = ?", (newsletter,)
        )
    }
    fresh = [article_id for article_id in article_ids if article_id not in known]
    if not fresh:
        return 0
    top = conn.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM newsletter_stream WHERE newsletter = ?", (newsletter,)
    ).fetchone()[0]
    rows = []
    now = utcnow()
    added = 0
    for article_id in fresh:
        if article_id in baseline:
            rows.append((newsletter, article_id, 0, now))
        else:
            added += 1
            rows.append((newsletter, article_id, top + added, now))
    conn.executemany(
        "INSERT INTO newsletter_stream (newsletter, article_id, seq, added) VALUES (?, ?, ?, ?)",
        rows,
    )
    return added


def started(conn: Connection, newsletter: str) -> bool:
    """Whether the newsletter's stream has been filled before."""
    row = conn.execute(
        "SELECT 1 FROM newsletter_stream WHERE newsletter = ? LIMIT 1", (newsletter,)
    ).fetchone()
    return row is not None


def owed(conn: Connection, newsletter: str, floor: int) -> list[tuple[int, str]]:
    """(seq, article id) of the stream after ``floor``, oldest first."""
    rows = conn.execute(
        "SELECT seq, article_id FROM newsletter_stream WHERE newsletter = ? AND seq > ?"
        " ORDER BY seq",
        (newsletter, floor),
    )
    return [(row[0], row[1]) for row in rows]


def top(conn: Connection, newsletter: str) -> int:
    """The newest position in the stream (0 when empty)."""
    row = conn.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM newsletter_stream WHERE newsletter = ?", (newsletter,)
    ).fetchone()
    return int(row[0])


def place_edition(conn: Connection, placement: Placement, segment: str = "") -> None:
    """Record an edition's newsletter, cadence and stretch (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO newsletter_editions (edition_id, newsletter, cadence, floor, upto, segment)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            placement.edition_id,
            placement.newsletter,
            placement.cadence,
            placement.floor,
            placement.upto,
            segment,
        ),
    )


def placement(conn: Connection, edition_id: str) -> Placement | None:
    """The newsletter placement of an edition, or None for a one-newsletter edition."""
    row = conn.execute(
        "SELECT * FROM newsletter_editions WHERE edition_id = ?", (edition_id,)
    ).fetchone()
    if row is None:
        return None
    return Placement(
        edition_id=row["edition_id"],
        newsletter=row["newsletter"],
        cadence=row["cadence"],
        floor=row["floor"],
        upto=row["upto"],
    )


def watermark(conn: Connection, newsletter: str, cadences: Sequence[str]) -> int | None:
    """How far the last whole-list edition of these cadences reached, or None if none yet:
    where a new subscriber of that cadence starts (they get what their peers get next)."""
    marks = ", ".join("?" for _ in cadences)
    row = conn.execute(
        "SELECT MAX(n.upto) FROM newsletter_editions n JOIN editions e ON e.id = n.edition_id"
        f" WHERE n.newsletter = ? AND n.cadence IN ({marks}) AND n.segment = ''"
        " AND e.status IN ('sending', 'sent')",
        (newsletter, *cadences),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def last_sent(conn: Connection, newsletter: str) -> str | None:
    """When the newsletter's most recent edition was created (ISO), or None."""
    row = conn.execute(
        "SELECT MAX(e.created) FROM newsletter_editions n JOIN editions e ON e.id = n.edition_id"
        " WHERE n.newsletter = ? AND e.status IN ('sending', 'sent')",
        (newsletter,),
    ).fetchone()
    return None if row is None else row[0]


def legacy_delivered(conn: Connection) -> set[str]:
    """Articles that went out in editions of the one-newsletter days (no placement)."""
    rows = conn.execute(
        "SELECT DISTINCT ea.article_id FROM edition_articles ea JOIN editions e"
        " ON e.id = ea.edition_id WHERE e.status IN ('sending', 'sent') AND NOT EXISTS"
        " (SELECT 1 FROM newsletter_editions n WHERE n.edition_id = e.id)"
    )
    return {row[0] for row in rows}


def unfinished(conn: Connection) -> list[str]:
    """Newsletter editions left ``sending``, oldest first."""
    rows = conn.execute(
        "SELECT e.id FROM editions e JOIN newsletter_editions n ON n.edition_id = e.id"
        " WHERE e.status = 'sending' ORDER BY e.created, e.id"
    )
    return [row[0] for row in rows]


def is_placed(conn: Connection, edition_id: str) -> bool:
    """Whether an edition belongs to one of several newsletters (False on a database that
    never had them): the one-newsletter code must not resume such an edition for everyone."""
    if not conn.execute(
        "SELECT 1 FROM schema_versions WHERE component = ?", (COMPONENT,)
    ).fetchone():
        return False
    row = conn.execute(
        "SELECT 1 FROM newsletter_editions WHERE edition_id = ?", (edition_id,)
    ).fetchone()
    return row is not None


def edition_ids_of(conn: Connection, newsletter: str) -> set[str] | None:
    """The ids of one newsletter's editions; None on a database that never had several
    newsletters (for reports filtering by newsletter)."""
    if not conn.execute(
        "SELECT 1 FROM schema_versions WHERE component = ?", (COMPONENT,)
    ).fetchone():
        return None
    rows = conn.execute(
        "SELECT edition_id FROM newsletter_editions WHERE newsletter = ?", (newsletter,)
    )
    return {row[0] for row in rows}
