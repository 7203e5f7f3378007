"""The state database: per-component schema versions, applied once, upgraded in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.errors import StateError
from syndicate.store.database import connect, ensure_schema


def test_migrations_apply_in_order_and_only_once(tmp_path: Path) -> None:
    db = tmp_path / "state" / "s.db"
    conn = connect(db)
    ensure_schema(conn, "things", ["CREATE TABLE things (id INTEGER PRIMARY KEY)"])
    ensure_schema(conn, "things", ["CREATE TABLE things (id INTEGER PRIMARY KEY)"])
    conn.close()
    upgraded = connect(db)
    ensure_schema(
        upgraded,
        "things",
        ["CREATE TABLE things (id INTEGER PRIMARY KEY)", "ALTER TABLE things ADD COLUMN name TEXT"],
    )
    columns = [row["name"] for row in upgraded.execute("PRAGMA table_info(things)")]
    assert columns == ["id", "name"]
    assert upgraded.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    ensure_schema(conn, "things", ["CREATE TABLE a (x)", "CREATE TABLE b (x)"])
    with pytest.raises(StateError, match="newer than this syndicate"):
        ensure_schema(conn, "things", ["CREATE TABLE a (x)"])
