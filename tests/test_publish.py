"""``syndicate publish``: embargoes, dry runs, the lock, deploy, output and exit codes."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from conftest import Hub, Publication, Run, article, state_of

from syndicate.store.lock import lock_path, run_lock
from syndicate.store.shared_lock import state_lock

pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def titles(feed: Path) -> list[str]:
    parsed = feedparser.parse(feed.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return [entry.title for entry in parsed.entries]


def test_embargoed_article_is_absent_a_minute_before_and_present_a_minute_after(
    make_pub: Publication, run: Run
) -> None:
    lift = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
    root = make_pub(
        {
            "old.md": article("Old news", date="2026-11-01T09:00:00+01:00"),
            "scoop.md": article(
                "The scoop", date="2026-11-19T09:00:00+01:00", publish_at=lift.isoformat()
            ),
        }
    )
    before = run(root, "publish", "--now", (lift - timedelta(minutes=1)).isoformat())
    assert before.exit_code == 0, before.stderr
    assert titles(root / "feeds" / "rss.xml") == ["Old news"]
    assert "The scoop" not in (root / "feeds" / "feed.json").read_text(encoding="utf-8")
    after = run(root, "publish", "--now", (lift + timedelta(minutes=1)).isoformat())
    assert after.exit_code == 0, after.stderr
    assert titles(root / "feeds" / "rss.xml") == ["The scoop", "Old news"]
    assert titles(root / "feeds" / "atom.xml") == ["The scoop", "Old news"]


def test_dry_run_says_what_would_happen_and_changes_nothing(
    make_pub: Publication, run: Run, hub: Hub
) -> None:
    root = make_pub(
        {"a.md": article("Alpha", date="2026-11-02T09:00:00+01:00")},
        feeds=f'websub_hub = "{hub.url}"',
        extra='[publish]\ndeploy = "touch deployed"\n',
    )
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = run(root, "publish", "--dry-run", "--now", NOW.isoformat())
    assert result.exit_code == 0, result.stderr
    assert "feeds: would write 3 changed files: atom.xml, feed.json, rss.xml" in result.stdout
    assert "deploy: would run 'touch deployed'" in result.stdout
    assert f"websub: would notify {hub.url} of 3 feed(s)" in result.stdout
    assert "no edition due; schedule: off" in result.stdout
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert hub.pings == []

    # after a real run, a dry run has nothing to write, deploy or ping
    assert run(root, "publish", "--now", NOW.isoformat()).exit_code == 0
    state_files = {p: p.stat().st_mtime_ns for p in (root / "state").iterdir()}
    again = run(root, "publish", "--dry-run", "--now", NOW.isoformat())
    assert "would" not in again.stdout, again.stdout
    assert {p: p.stat().st_mtime_ns for p in (root / "state").iterdir()} == state_files


def test_a_held_lock_makes_publish_exit_0_at_once_without_doing_anything(
    make_pub: Publication, run: Run
) -> None:
    root = make_pub({"a.md": article("Alpha")})
    with state_lock(state_of(root), lock_path(root / "state" / "syndicate.db")):
        quiet = run(root, "publish")
        assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""
        loud = run(root, "--verbose", "publish")
        assert loud.exit_code == 0
        assert "another run holds the lock" in loud.stdout
        assert f"pid {os.getpid()}" in loud.stdout
    assert not (root / "feeds").exists()
    assert run(root, "publish").exit_code == 0
    assert (root / "feeds" / "rss.xml").exists()


def test_verbose_prints_one_line_per_action(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha", tags=["x"])})
    result = run(root, "--verbose", "publish", "--now", NOW.isoformat())
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("feeds: wrote 6 changed files: atom.xml, feed.json, rss.xml")
    assert len(lines) == 1, lines
    assert run(root, "--verbose", "publish", "--now", NOW.isoformat()).stdout == ""


def test_broken_article_is_an_error_on_stderr_with_exit_1_and_no_writes(
    make_pub: Publication, run: Run
) -> None:
    root = make_pub({"a.md": article("Alpha"), "b.md": "+++\ntitle = 'x'\n+++\nno date\n"})
    result = run(root, "publish", "--now", NOW.isoformat())
    assert result.exit_code == 1
    assert "b.md" in result.stderr and "date" in result.stderr
    assert result.stdout == ""
    assert not (root / "feeds").exists()


def test_deploy_runs_before_pings_and_a_failed_deploy_is_retried(
    make_pub: Publication, run: Run, hub: Hub
) -> None:
    root = make_pub(
        {"a.md": article("Alpha")},
        feeds=f'websub_hub = "{hub.url}"',
        extra='[publish]\ndeploy = "echo no route to host >&2; exit 7"\n',
    )
    failed = run(root, "publish", "--now", NOW.isoformat())
    assert failed.exit_code == 1
    assert "exit code 7: no route to host" in failed.stderr and "next run retries" in failed.stderr
    assert hub.pings == []  # the hub must not fetch feeds the host does not have yet
    config = (root / "config.toml").read_text(encoding="utf-8")
    deploy = 'mkdir -p site && cp -R "$SYNDICATE_FEEDS_DIR"/. site/'
    (root / "config.toml").write_text(
        config.replace('"echo no route to host >&2; exit 7"', f"'{deploy}'"), encoding="utf-8"
    )
    fixed = run(root, "--verbose", "publish", "--now", NOW.isoformat())
    assert fixed.exit_code == 0, fixed.stderr
    assert "deploy: ran" in fixed.stdout
    assert titles(root / "site" / "rss.xml") == ["Alpha"]
    assert len(hub.pings) == 3
    # nothing changed since: no deploy, no ping
    quiet = run(root, "--verbose", "publish", "--now", NOW.isoformat())
    assert quiet.stdout == "" and len(hub.pings) == 3


def test_temp_files_left_by_a_killed_writer_are_removed(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha")})
    assert run(root, "publish", "--now", NOW.isoformat()).exit_code == 0
    stale = root / "feeds" / "tags" / ".rss.xml.k2j4.tmp"
    fresh = root / "feeds" / ".atom.xml.x9q1.tmp"
    for path in (stale, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"<half")
    old = time.time() - 600
    os.utime(stale, (old, old))
    result = run(root, "--verbose", "publish", "--now", NOW.isoformat())
    assert result.exit_code == 0
    assert not stale.exists() and fresh.exists()  # a fresh one may belong to a live writer
    assert "removed 1 temp file(s)" in result.stdout


def test_a_lock_held_for_hours_is_an_error_on_stderr(make_pub: Publication, run: Run, state_backend: str) -> None:
    if state_backend == "postgresql":
        pytest.skip("forges the lock file's note; a database lock is released with its session")
    root = make_pub({"a.md": article("Alpha")})
    lock = lock_path(root / "state" / "syndicate.db")
    with run_lock(lock):
        lock.write_text(f"pid {os.getpid()} since 2020-01-01T00:00:00Z\n", encoding="utf-8")
        result = run(root, "publish")
    assert result.exit_code == 1  # cron mails it: a stuck run never goes unnoticed
    assert f"(held by pid {os.getpid()} since 2020-01-01T00:00:00Z" in result.stderr
    assert "[publish] lock_timeout = 7200 s): is that run stuck?" in result.stderr


def test_lock_timeout_is_configurable_and_a_short_overlap_stays_quiet(
    make_pub: Publication, run: Run,
    state_backend: str,
) -> None:
    if state_backend == "postgresql":
        pytest.skip("forges the lock file's note; a database lock is released with its session")
    root = make_pub({"a.md": article("Alpha")}, extra="[publish]\nlock_timeout = 60\n")
    lock = lock_path(root / "state" / "syndicate.db")
    with run_lock(lock):
        result = run(root, "publish")  # the holder has just started
        assert result.exit_code == 0 and result.stderr == "", result.stderr
        stamp = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lock.write_text(f"pid {os.getpid()} since {stamp}\n", encoding="utf-8")
        result = run(root, "publish")
    assert result.exit_code == 1
    assert "error: no run could take the lock for 3 min" in result.stderr


def test_a_lock_whose_holder_is_gone_is_an_error_at_once(make_pub: Publication, run: Run, state_backend: str) -> None:
    if state_backend == "postgresql":
        pytest.skip("forges the lock file's note; a database lock is released with its session")
    root = make_pub({"a.md": article("Alpha")})
    lock = lock_path(root / "state" / "syndicate.db")
    dead = subprocess.Popen(["true"])  # a pid that certainly exited
    dead.wait()
    # A leftover process of a killed run (its pid in the file is gone) still holds the lock.
    with run_lock(lock):
        lock.write_text(f"pid {dead.pid} since 2026-01-01T00:00:00Z\n", encoding="utf-8")
        started = time.monotonic()
        result = run(root, "publish")
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    assert f"although its holder (pid {dead.pid}) is gone" in result.stderr
    assert "fuser -v" in result.stderr
    # once nobody holds it, the dead pid in the file is no obstacle
    assert run(root, "publish", "--now", NOW.isoformat()).exit_code == 0


def test_wait_runs_once_the_holder_is_done(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha")})
    lock = lock_path(root / "state" / "syndicate.db")
    holding = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with run_lock(lock):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    result = run(root, "publish", "--wait", "--now", NOW.isoformat())
    thread.join()
    assert result.exit_code == 0, result.stderr
    assert time.monotonic() - started >= 0.25
    assert (root / "feeds" / "rss.xml").exists()


def test_a_hanging_deploy_is_killed_after_its_timeout(make_pub: Publication, run: Run) -> None:
    root = make_pub(
        {"a.md": article("Alpha")},
        extra='[publish]\ndeploy = "sleep 30 & sleep 30"\ndeploy_timeout = 0.3\n',
    )
    started = time.monotonic()
    result = run(root, "publish", "--now", NOW.isoformat())
    assert time.monotonic() - started < 10
    assert result.exit_code == 1
    assert "did not finish within 0.3 s; killed" in result.stderr
