"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Created: ${create_date}
"""

from __future__ import annotations

from syndicate.store.migrations.bridge import run

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None

# Portable SQL in the state code's dialect (``?`` placeholders, INTEGER, TEXT ... COLLATE
# NOCASE only where the table already uses it): translated for PostgreSQL by ``run``.
STATEMENTS: tuple[str, ...] = (
)


def upgrade() -> None:
    run(STATEMENTS)


def downgrade() -> None:
    raise NotImplementedError("restore the backup taken before `syndicate db upgrade`")
