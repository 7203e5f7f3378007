"""web limits: the rate limits every serve process shares (web/limits.py)

Revision ID: 0003
Revises: 0002
Created: 2026-12-06 07:25:55.068478
"""

from __future__ import annotations

from syndicate.store.migrations.bridge import Statements

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# SQL as the state code writes it (SQLite's type names, portable syntax: docs/architecture.md,
# "Adding a migration"), translated for PostgreSQL as the running code's statements are.
STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE web_limits (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        at BIGINT NOT NULL,
        nonce TEXT NOT NULL
    )
    """,
    "CREATE INDEX web_limits_key ON web_limits (scope, key, at)",
    "CREATE INDEX web_limits_at ON web_limits (at)",
)

# Only the statements: SQLite start-up may apply them without loading Alembic. For more (data
# moved in Python, SQLite's copy-and-rename), replace this with a `def upgrade() -> None:`.
upgrade = Statements(STATEMENTS)


# What upgrade added, removed in reverse order (`syndicate db downgrade` is not offered; Alembic
# can run it, and a test takes each revision down and up again).
downgrade = Statements(("DROP TABLE web_limits",))
