"""SIGKILL in the middle of a cold multi-process build: the next ``publish`` finishes the work.

A killed run must leave nothing behind that outlives it: no forked build worker (which would
hold the run lock for ever), no temp file in the published folder. These run the real CLI in
subprocesses, each first run in a session of its own, so that every process it made can be
found (and, if the test fails, killed) by its process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BASE_CONFIG, article, tree_bytes

from syndicate.build.workers import (
    RENDER_POOL_MIN,
    SERIALISE_POOL_MIN,
    default_jobs,
)

CLI = [sys.executable, "-c", "from syndicate.cli import main; main()"]
NOW = "2026-11-20T12:00:00+00:00"
ARTICLES = RENDER_POOL_MIN + 50
TAGS = 12  # 3 formats x (main + 12 tags + 3 sections) feed files: a serialise pool too

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or default_jobs() < 2, reason="needs Linux /proc and two cores"
)


def big_publication(root: Path) -> Path:
    """A publication past the worker-pool thresholds of both rendering and serialising."""
    assert 3 * (1 + TAGS) > SERIALISE_POOL_MIN
    body = "A paragraph of *text* with a [link](https://example.org/x).\n\n" * 3
    (root / "content").mkdir(parents=True)
    (root / "config.toml").write_text(BASE_CONFIG.format(feeds="", email="", extra=""))
    for name, text in {
        f"a{n:03d}.md": article(
            f"Article {n}",
            date=f"2026-11-{1 + n % 18:02d}T{n % 24:02d}:{n % 60:02d}:00+00:00",
            body=body,
            tags=[f"tag{n % TAGS}", f"tag{(n * 7) % TAGS}"],
            section=("news", "culture", "sport")[n % 3],
        )
        for n in range(ARTICLES)
    }.items():
        (root / "content" / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def clean_feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The feeds of a clean build of the publication: what a recovered run must produce."""
    clean = big_publication(tmp_path_factory.mktemp("clean") / "pub")
    done = subprocess.run(
        [*CLI, "--config", str(clean / "config.toml"), "build", "--now", NOW],
        cwd=clean,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return tree_bytes(clean / "feeds")


def start(root: Path, *args: str, crash: str = "", quiet: bool = False) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "SYNDICATE_CRASH_AT"}
    if crash:
        env["SYNDICATE_CRASH_AT"] = crash
    return subprocess.Popen(
        [*CLI, "--config", str(root / "config.toml"), *args],
        cwd=root,
        env=env,
        # A killed run's output is not read: a leftover worker would keep a pipe open.
        stdout=subprocess.DEVNULL if quiet else subprocess.PIPE,
        stderr=subprocess.DEVNULL if quiet else subprocess.PIPE,
        start_new_session=True,  # its own process group: every process it forks is findable
    )


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def temp_files(root: Path) -> list[Path]:
    return [p for p in (root / "feeds").rglob("*") if p.name.endswith(".tmp")]


def kill_mid_build(root: Path, how: str) -> int:
    """Start ``publish``, SIGKILL it while its build workers are alive; return its pid."""
    first = start(root, "publish", "--now", NOW, crash="" if how == "external" else how, quiet=True)
    try:
        if how == "external":
            deadline = time.monotonic() + 30
            while len(group_members(first.pid)) < 2:  # it forked its build workers: mid-build
                assert first.poll() is None, first.returncode
                assert time.monotonic() < deadline, "no build worker was ever forked"
                time.sleep(0.002)
            os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL, first.returncode
    except BaseException:
        kill_group(first.pid)
        raise
    return first.pid


@pytest.mark.parametrize("how", ["external", "build:30", "staged:5"])
def test_publish_after_sigkill_mid_build_completes_the_work(
    tmp_path: Path, clean_feeds: dict[str, bytes], how: str
) -> None:
    root = big_publication(tmp_path / "pub")
    pgid = kill_mid_build(root, how)
    killed_at = time.monotonic()
    try:
        # Workers die with the run that forked them (at once, not when they next wake).
        while group_members(pgid):
            assert time.monotonic() - killed_at < 3, f"left alive: {group_members(pgid)}"
            time.sleep(0.01)
        assert not temp_files(root)  # never where a static host serves them
        staged = list((root / ".feeds.syndicate" / "tmp").glob("*.tmp"))
        if how.startswith("staged"):
            assert staged, "the killed run had feeds staged in temp files"
        assert time.monotonic() - killed_at < 5
        second = start(root, "-v", "publish", "--now", NOW)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, (out, err)
        assert b"another run holds the lock" not in out + err, (out, err)
        if staged:
            assert f"removed {len(staged)} temp file(s) left by a killed run".encode() in out
        assert not list((root / ".feeds.syndicate" / "tmp").iterdir())
        assert tree_bytes(root / "feeds") == clean_feeds
        assert not temp_files(root)
    finally:
        kill_group(pgid)
