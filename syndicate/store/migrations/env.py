"""Alembic's environment for the state database, driven by ``store.migrations.runner``.

The runner hands over an open SQLAlchemy connection (``config.attributes["connection"]``), or,
for ``syndicate db upgrade --sql`` (offline), the dialect's name and where to print. No
alembic.ini, no URL in a file: the state target comes from syndicate's own config.
"""

from __future__ import annotations

import sys

from alembic import context

from syndicate.store.postgres import WRITER_LOCK_KEY

config = context.config

if context.is_offline_mode():
    context.configure(
        dialect_name=config.attributes["dialect"],
        literal_binds=True,
        transactional_ddl=True,
        output_buffer=config.attributes.get("output", sys.stdout),
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes["connection"]
    context.configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # The writer lock (what BEGIN IMMEDIATE takes there): hosts upgrading at once wait
            # for the first, then find the revision applied; senders wait for the new schema.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")
        context.run_migrations()
