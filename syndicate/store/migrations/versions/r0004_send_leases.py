"""send leases: several senders share one edition (delivery/claims.py): who holds a row,
until when, and who took part

Revision ID: 0004
Revises: 0003
Created: 2026-12-06 07:26:37.626965
"""

from __future__ import annotations

from syndicate.store.migrations.bridge import Statements

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# SQL as the state code writes it (SQLite's type names, portable syntax: docs/architecture.md,
# "Adding a migration"), translated for PostgreSQL as the running code's statements are.
STATEMENTS: tuple[str, ...] = (
    "ALTER TABLE deliveries ADD COLUMN worker TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE deliveries ADD COLUMN lease_until TEXT",
    """
    CREATE TABLE send_workers (
        edition TEXT NOT NULL,
        worker TEXT NOT NULL,
        host TEXT NOT NULL,
        pid BIGINT NOT NULL,
        started TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        lease_until TEXT NOT NULL,
        claimed BIGINT NOT NULL DEFAULT 0,
        finished TEXT,
        PRIMARY KEY (edition, worker)
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
        "DROP TABLE send_workers",
        "ALTER TABLE deliveries DROP COLUMN lease_until",
        "ALTER TABLE deliveries DROP COLUMN worker",
    )
)
