"""Shared state storage: the SQLite connection, schema migrations and the run lock.

Every part that keeps state opens it through here, so where state lives is one decision.

May import: errors, files.
"""
