"""Shared state storage: the SQLite or PostgreSQL connection, the one schema (Alembic
revisions in ``migrations``, checked at start-up by ``schema``), ``db copy`` and the run lock.

Every part that keeps state opens it through here, so where state lives is one decision.

May import: errors, files.
"""
