"""retention totals: what `db prune` keeps of a folded send (delivery/retention.py)

Revision ID: 0002
Revises: 0001
Created: 2026-12-06 07:24:29.206319
"""

from __future__ import annotations

from syndicate.store.migrations.bridge import Statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQL as the state code writes it (SQLite's type names, portable syntax: docs/architecture.md,
# "Adding a migration"), translated for PostgreSQL as the running code's statements are.
STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE delivery_totals (
        edition TEXT NOT NULL,
        state TEXT NOT NULL,
        total BIGINT NOT NULL,
        PRIMARY KEY (edition, state)
    )
    """,
    """
    CREATE TABLE delivery_reasons (
        edition TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL,
        total BIGINT NOT NULL,
        PRIMARY KEY (edition, state, reason)
    )
    """,
    """
    CREATE TABLE pruned_editions (
        edition TEXT NOT NULL PRIMARY KEY,
        recipients BIGINT NOT NULL,
        first_queued TEXT NOT NULL,
        last_updated TEXT NOT NULL,
        unsubscribes BIGINT NOT NULL,
        pruned_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE pruned_bounce_events (
        event_id BIGINT NOT NULL PRIMARY KEY,
        edition TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE pruned_recipients (
        edition TEXT NOT NULL PRIMARY KEY,
        digests BLOB NOT NULL
    )
    """,
    """
    CREATE TABLE retention_runs (
        name TEXT NOT NULL PRIMARY KEY,
        last_run TEXT NOT NULL
    )
    """,
)

# Only the statements: SQLite start-up may apply them without loading Alembic. For more (data
# moved in Python, SQLite's copy-and-rename), replace this with a `def upgrade() -> None:`.
upgrade = Statements(STATEMENTS)


# What upgrade added, removed in reverse order (`syndicate db downgrade` is not offered; Alembic
# can run it, and a test takes each revision down and up again).
downgrade = Statements(
    (
        "DROP TABLE retention_runs",
        "DROP TABLE pruned_recipients",
        "DROP TABLE pruned_bounce_events",
        "DROP TABLE pruned_editions",
        "DROP TABLE delivery_reasons",
        "DROP TABLE delivery_totals",
    )
)
