"""The state database: one schema at the head revision, made on first use, checked cheaply."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.errors import StateError
from syndicate.store.database import connect
from syndicate.store.migrations import HEAD, legacy
from syndicate.store.schema import ensure_current, revision


def test_first_use_makes_the_schema_once_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "state" / "s.db"
    conn = connect(db)
    ensure_current(conn)
    ensure_current(conn)
    conn.close()
    again = connect(db)
    assert revision(again) == HEAD
    assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0] == 0


def test_a_component_newer_than_its_frozen_chain_is_refused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    conn.execute(legacy.SCHEMA_VERSIONS)
    conn.execute("INSERT INTO schema_versions VALUES ('subscribers', 7)")
    with pytest.raises(StateError, match="subscribers schema v7, newer than this syndicate"):
        ensure_current(conn)
    assert revision(conn) is None  # rolled back: nothing half-made
