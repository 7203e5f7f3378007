"""The shared rate limit on a real SQLite state database: a sliding window (never more than
the limit in any window, across a fixed boundary too), refused events not counted, keys
stored hashed, expired rows pruned, and two connections (two processes) counting as one."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.store.database import connect
from syndicate.web.limits import SharedLimit


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", "limits-test-secret-0123456789abcdef")


def test_sliding_window_refusals_not_counted_and_keys_hashed(tmp_path: Path) -> None:
    now = [1000.0]
    limit = SharedLimit("ip", 2, 10, clock=lambda: now[0])
    conn = connect(tmp_path / "state.db")
    try:
        assert limit.allow(conn, "192.0.2.1") and limit.allow(conn, "192.0.2.1")
        assert not limit.allow(conn, "192.0.2.1")  # third in the window
        assert limit.allow(conn, "192.0.2.2")  # another key has its own count
        now[0] = 1009.9  # refusals did not count, but the two events are still in the window
        assert not limit.allow(conn, "192.0.2.1")
        now[0] = 1010.0  # both left the window (a fixed 10 s bucket would have reset at 1010)
        assert limit.allow(conn, "192.0.2.1")
        keys = {row[0] for row in conn.execute("SELECT key FROM web_limits")}
        assert keys and not any("192.0.2" in key for key in keys)
        now[0] = 2000.0
        assert limit.allow(conn, "192.0.2.3")  # and the pruning removed what expired
        assert conn.execute("SELECT COUNT(*) FROM web_limits").fetchone()[0] == 1
    finally:
        conn.close()


def test_two_connections_count_against_one_limit(tmp_path: Path) -> None:
    first, second = connect(tmp_path / "state.db"), connect(tmp_path / "state.db")
    try:
        one, other = SharedLimit("mailbox", 3, 60), SharedLimit("mailbox", 3, 60)
        answers = [
            (one if n % 2 else other).allow(first if n % 2 else second, "a@example.com")
            for n in range(6)
        ]
    finally:
        first.close()
        second.close()
    assert answers == [True, True, True, False, False, False]
