"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Created: ${create_date}
"""

from __future__ import annotations

from syndicate.store.migrations.bridge import Statements

revision = "${up_revision}"
down_revision = "${down_revision}"
branch_labels = None
depends_on = None

# SQL as the state code writes it (SQLite's type names, portable syntax: docs/architecture.md,
# "Adding a migration"), translated for PostgreSQL as the running code's statements are.
STATEMENTS: tuple[str, ...] = (
)

# Only the statements: SQLite start-up may apply them without loading Alembic. For more (data
# moved in Python, SQLite's copy-and-rename), replace this with a `def upgrade() -> None:`.
upgrade = Statements(STATEMENTS)


def downgrade() -> None:
    raise NotImplementedError("restore the backup taken before `syndicate db upgrade`")
