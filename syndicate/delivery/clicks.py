"""The click store: each tracked link of an edition and how often it was followed, nothing more.

One row per (edition, link): the exact URL the edition linked to, its place in the edition and
an aggregate counter. There is deliberately no per-click row, no time of a click, no subscriber
id, no IP address and no user agent: a count cannot be turned back into who read what
(``[tracking] clicks``; the README says what is and is not recorded). A component of its own
(``clicks``), so the ledger and subscriber tables stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..store.database import Connection, ensure_schema

COMPONENT = "clicks"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tracked_links (
        edition TEXT NOT NULL,
        link_id TEXT NOT NULL,
        url TEXT NOT NULL,
        position INTEGER NOT NULL,
        clicks INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (edition, link_id)
    )
    """,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackedLink:
    """One link of one edition: its id in click URLs, its target and its click count."""

    edition: str
    link_id: str
    url: str
    position: int
    clicks: int = 0


def ensure_clicks_schema(conn: Connection) -> None:
    """Create or upgrade the click table (cheap once current)."""
    row = conn.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (COMPONENT,)
    ).fetchone()
    if row is None or row[0] != len(MIGRATIONS):
        ensure_schema(conn, COMPONENT, MIGRATIONS)


def register_links(conn: Connection, links: Iterable[TrackedLink]) -> None:
    """Remember an edition's tracked links before it is sent; a resumed send adds nothing
    twice and never resets a count."""
    ensure_clicks_schema(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT OR IGNORE INTO tracked_links (edition, link_id, url, position)"
            " VALUES (?, ?, ?, ?)",
            [(link.edition, link.link_id, link.url, link.position) for link in links],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def link_target(conn: Connection, edition: str, link_id: str) -> str | None:
    """The URL a tracked link stands for, or None when the edition has no such link."""
    ensure_clicks_schema(conn)
    row = conn.execute(
        "SELECT url FROM tracked_links WHERE edition = ? AND link_id = ?", (edition, link_id)
    ).fetchone()
    return str(row[0]) if row else None


def count_click(conn: Connection, edition: str, link_id: str) -> None:
    """Add one to the link's counter: the only thing a click leaves behind."""
    conn.execute(
        "UPDATE tracked_links SET clicks = clicks + 1 WHERE edition = ? AND link_id = ?",
        (edition, link_id),
    )


def edition_links(conn: Connection, edition: str) -> list[TrackedLink]:
    """An edition's tracked links in the order they appear in it, with their counts."""
    ensure_clicks_schema(conn)
    rows = conn.execute(
        "SELECT * FROM tracked_links WHERE edition = ? ORDER BY position, link_id", (edition,)
    )
    return [
        TrackedLink(
            edition=row["edition"],
            link_id=row["link_id"],
            url=row["url"],
            position=row["position"],
            clicks=row["clicks"],
        )
        for row in rows
    ]
