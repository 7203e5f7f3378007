"""Baseline: the schema every component had when Alembic took over.

Made by the frozen per-component chains (``store/migrations/legacy.py``), which start from
whatever ``schema_versions`` records: an empty database gets every table, and one made by an
earlier syndicate (each component at any version, or missing) is brought to the same schema
with its rows kept. The embedded SQLite store runs the same ``legacy.apply`` itself at start-up
(``store.schema``) so that a new database costs no Alembic import.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from syndicate.store.migrations import legacy
from syndicate.store.migrations.bridge import bound, is_postgres, run

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from alembic import context  # lazy: only loaded while Alembic runs a migration

    if context.is_offline_mode():  # `db upgrade --sql`: the script for an empty database
        run(legacy.fresh_script(postgres=is_postgres()))
        return
    legacy.apply(bound(), postgres=is_postgres())


def downgrade() -> None:
    """Every table the baseline made, dropped in reverse order with its rows and indexes: an
    empty database, as before the first upgrade (PostgreSQL's citext extension stays: other
    schemas of the database may use it)."""
    run(f"DROP TABLE {table}" for table in reversed(legacy.baseline_tables()))
