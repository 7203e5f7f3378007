"""The record of correction notices: the state database component ``corrections``.

``correction_notices`` holds one row per notice: its ledger key, the article id and the
correction's moment (``Correction.key``), and whether ``publish`` already told the operator
about it (``asked``), is sending it or has sent it. It keeps a notice's key for life (a later
change of the article's slug does not make a second notice) and lets a cron run see, with one
query per corrected article and nothing else loaded, that there is nothing to do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..store.database import Connection, ensure_schema

COMPONENT = "corrections"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE correction_notices (
        send_key TEXT PRIMARY KEY,
        article_id TEXT NOT NULL,
        correction TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('asked', 'sending', 'sent')),
        created TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (article_id, correction)
    )
    """,
)


def ensure_notices_table(conn: Connection) -> None:
    """Create or upgrade the notices table."""
    ensure_schema(conn, COMPONENT, MIGRATIONS)


def status_of(conn: Connection, article_id: str, correction: str) -> str | None:
    """``asked``, ``sending`` or ``sent`` for the notice of (article, correction key); None
    when there is none yet."""
    row = conn.execute(
        "SELECT status FROM correction_notices WHERE article_id = ? AND correction = ?",
        (article_id, correction),
    ).fetchone()
    return None if row is None else str(row[0])


def record(
    conn: Connection, key: str, article_id: str, correction: str, status: str
) -> None:
    """Record (or move on) a notice; a sent notice stays sent."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    conn.execute(
        "INSERT INTO correction_notices (send_key, article_id, correction, status, created,"
        " sent_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(send_key) DO UPDATE SET status = excluded.status,"
        " sent_at = COALESCE(correction_notices.sent_at, excluded.sent_at)"
        " WHERE correction_notices.status != 'sent'",
        (key, article_id, correction, status, now, now if status == "sent" else None),
    )
