"""The state database's one schema, versioned by Alembic (``versions/``, ``env.py``).

Revision ``0001`` (the baseline) is the schema every component had when Alembic took over,
made by the frozen per-component chains in ``legacy`` (which also upgrade a database made by
any earlier syndicate). Every later change is a new revision file in ``versions/``; add its
id to ``REVISIONS`` (docs/architecture.md, "Adding a migration"). ``REVISIONS`` lets the
start-up check (``store.schema``) compare a database's revision with the code's without
loading Alembic or SQLAlchemy; tests/test_db.py checks it against Alembic's own history.

Part of ``store``: may import errors, files.
"""

from __future__ import annotations

# Every revision, oldest first; the last is the head this code needs.
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004")
BASELINE = REVISIONS[0]
HEAD = REVISIONS[-1]
