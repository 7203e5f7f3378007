"""WebSub: one ping per changed feed, none on a no-op run, retries, and a queue across runs."""

from __future__ import annotations

import socket
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import Hub, Publication, Run, article

from syndicate.publish import websub
from syndicate.store.database import connect

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FEEDS = 'websub_hub = "{hub}"'


def _db(root: Path) -> sqlite3.Connection:
    return connect(root / "state" / "syndicate.db")


def test_ping_is_a_form_encoded_publish_post(hub: Hub) -> None:
    websub.ping(hub.url, "https://news.test/feeds/rss.xml")
    assert hub.pings == [{"hub.mode": ["publish"], "hub.url": ["https://news.test/feeds/rss.xml"]}]
    assert hub.content_types == ["application/x-www-form-urlencoded"]


def test_5xx_and_429_are_retried_4xx_is_not(hub: Hub) -> None:
    naps: list[float] = []
    hub.statuses = [503, 429]
    websub.ping(hub.url, "https://news.test/a", sleep=naps.append)
    assert hub.topics() == ["https://news.test/a"]
    assert naps == [0.5, 1.0]
    hub.statuses = [400]
    try:
        websub.ping(hub.url, "https://news.test/b", sleep=naps.append)
    except websub.PingError as exc:
        assert not exc.retry and "400" in str(exc)
    else:
        raise AssertionError("a 400 must raise")
    assert naps == [0.5, 1.0]


def test_unreachable_hub_fails_after_all_attempts_within_the_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    naps: list[float] = []
    try:
        websub.ping(
            f"http://127.0.0.1:{port}/", "https://news.test/a", timeout=1, sleep=naps.append
        )
    except websub.PingError as exc:
        assert exc.retry and "unreachable" in str(exc)
    else:
        raise AssertionError("an unreachable hub must raise")
    assert len(naps) == websub.ATTEMPTS - 1


def test_queue_keeps_failed_urls_for_the_next_flush(tmp_path: Path, hub: Hub) -> None:
    conn = connect(tmp_path / "s.db")
    websub.queue(conn, hub.url, ["https://n.test/1", "https://n.test/2"], NOW)
    websub.queue(conn, hub.url, ["https://n.test/1"], NOW)  # queued once, not twice
    hub.statuses = [500, 500, 500]
    first = websub.flush(conn, hub.url, sleep=lambda _: None)
    assert first.sent == ["https://n.test/2"] and list(first.failed) == ["https://n.test/1"]
    assert websub.pending(conn, hub.url) == ["https://n.test/1"]
    second = websub.flush(conn, hub.url, sleep=lambda _: None)
    assert second.sent == ["https://n.test/1"] and websub.pending(conn, hub.url) == []
    assert sorted(hub.topics()) == ["https://n.test/1", "https://n.test/2"]


def test_publish_pings_once_per_changed_feed_and_never_on_a_no_op(
    make_pub: Publication, run: Run, hub: Hub
) -> None:
    root = make_pub(
        {
            "a.md": article("Alpha", date="2026-11-02T09:00:00+01:00", tags=["climate"]),
            "b.md": article("Beta", date="2026-11-03T09:00:00+01:00", section="City"),
        },
        feeds=FEEDS.format(hub=hub.url),
    )
    first = run(root, "publish", "--now", NOW.isoformat())
    assert first.exit_code == 0, first.output + first.stderr
    assert first.stdout == "" and first.stderr == ""  # silent for cron
    base = "https://news.test/feeds"
    main = [f"{base}/rss.xml", f"{base}/atom.xml", f"{base}/feed.json"]
    tag = [f"{base}/tags/climate/{name}" for name in ("rss.xml", "atom.xml", "feed.json")]
    section = [f"{base}/sections/city/{name}" for name in ("rss.xml", "atom.xml", "feed.json")]
    assert sorted(hub.topics()) == sorted(main + tag + section)

    hub.pings.clear()
    again = run(root, "publish", "--now", NOW.isoformat())
    assert again.exit_code == 0 and hub.pings == []

    # a new climate article changes the main and climate feeds, not the City ones
    (root / "content" / "c.md").write_text(
        article("Gamma", date="2026-11-04T09:00:00+01:00", tags=["climate"]), encoding="utf-8"
    )
    third = run(root, "--verbose", "publish", "--now", NOW.isoformat())
    assert third.exit_code == 0
    assert sorted(hub.topics()) == sorted(main + tag)
    assert f"websub: notified {hub.url} of 6 changed feed(s)" in third.stdout


def test_publish_with_hub_down_warns_keeps_the_queue_and_catches_up(
    make_pub: Publication, run: Run, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websub, "BACKOFF_SECONDS", 0.01)
    root = make_pub({"a.md": article("Alpha")}, feeds=FEEDS.format(hub=hub.url))
    hub.statuses = [503] * 9  # three feeds x three attempts
    down = run(root, "publish", "--now", NOW.isoformat())
    assert down.exit_code == 0
    assert down.stderr.count("warning: websub:") == 3 and "next run retries" in down.stderr
    assert hub.pings == []
    assert len(websub.pending(_db(root), hub.url)) == 3
    # the next run builds nothing new, but announces what the first run could not
    up = run(root, "publish", "--now", NOW.isoformat())
    assert up.exit_code == 0 and up.stderr == ""
    assert sorted(hub.topics()) == sorted(
        f"https://news.test/feeds/{name}" for name in ("rss.xml", "atom.xml", "feed.json")
    )
    assert websub.pending(_db(root), hub.url) == []


def test_no_hub_configured_means_no_queue(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha")})
    assert run(root, "publish", "--now", NOW.isoformat()).exit_code == 0
    tables = {
        row[0] for row in _db(root).execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert "websub_pending" not in tables


def test_feeds_changed_by_a_manual_build_are_announced_by_the_next_publish(
    make_pub: Publication, run: Run, hub: Hub
) -> None:
    root = make_pub({"a.md": article("Alpha")}, feeds=FEEDS.format(hub=hub.url))
    assert run(root, "publish", "--now", NOW.isoformat()).exit_code == 0
    assert len(hub.pings) == 3
    (root / "content" / "b.md").write_text(
        article("Bravo", date="2026-11-05T09:00:00+01:00"), encoding="utf-8"
    )
    assert run(root, "build", "--now", NOW.isoformat()).exit_code == 0  # an editor, by hand
    assert len(hub.pings) == 3
    result = run(root, "publish", "--now", NOW.isoformat())
    assert result.exit_code == 0
    assert len(hub.pings) == 6  # publish's own build changed nothing, yet the change is told
    assert run(root, "publish", "--now", NOW.isoformat()).exit_code == 0
    assert len(hub.pings) == 6
