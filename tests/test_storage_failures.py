"""A full disk, a read-only output folder and a damaged state database each end the run with
one line that names the file and what to do (exit 1), never a traceback.

The disk and mount failures are real: the CLI runs in a private mount namespace
(``unshare -m``) where a tiny, filled tmpfs or a read-only bind mount covers the folder it
writes to, so the kernel itself answers ENOSPC / EROFS. Root ignores permission bits, so a
chmod could not produce them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from syndicate.delivery.subscribers import add_subscriber
from syndicate.store.database import connect
from tests.conftest import Publication, Run, article

CLI = f'"{sys.executable}" -c "from syndicate.cli import main; main()"'
ARTICLES = {f"a{n}.md": article(f"Article {n}", date=f"2026-11-0{n}") for n in range(1, 4)}


def one_error_line(stderr: str, *expected: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    for text in expected:
        assert text in errors[0], stderr
    return errors[0]


def in_mount_namespace(root: Path, setup: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``syndicate ARGS`` after the shell ``setup`` (mounts), in a private mount namespace."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount in a private namespace here: {probe.stderr!r}")
    command = f"{setup} && exec {CLI} --config config.toml {' '.join(args)}"
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", command],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYNDICATE_SECRET": "s" * 40},
    )


def test_garbage_state_database(make_pub: Publication, run: Run) -> None:
    root = make_pub(ARTICLES)
    db = root / "state" / "syndicate.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(os.urandom(4096) * 4)
    for command in (["subscribers", "list"], ["publish"]):
        result = run(root, *command)
        assert result.exit_code == 1, result.output
        one_error_line(result.stderr, f"{db}: the state database is damaged", "backup")


def test_malformed_pages_found_while_reading(make_pub: Publication, run: Run) -> None:
    root = make_pub(ARTICLES)
    db = root / "state" / "syndicate.db"
    conn = connect(db)
    for n in range(300):
        add_subscriber(conn, f"reader{n}@example.com", name="x" * 200)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[2 * page :] = os.urandom(len(data) - 2 * page)  # header and first pages intact
    db.write_bytes(bytes(data))
    with pytest.raises(sqlite3.DatabaseError):  # the damage shows only once it is read
        sqlite3.connect(db).execute("SELECT * FROM subscribers").fetchall()

    result = run(root, "subscribers", "list")
    assert result.exit_code == 1, result.output
    one_error_line(result.stderr, f"{db}: the state database is damaged", "malformed", "backup")


def test_full_disk_under_the_output_folder(make_pub: Publication) -> None:
    root = make_pub(ARTICLES)
    (root / "feeds").mkdir()
    fill = "mount -t tmpfs -o size=64k tmpfs feeds && (head -c 1m /dev/zero > feeds/fill || true)"
    result = in_mount_namespace(root, fill, "build", "--no-cache")
    assert result.returncode == 1, result.stdout + result.stderr
    one_error_line(result.stderr, str(root / "feeds"), "no space left", "free some space")


def test_full_disk_under_the_state_folder(make_pub: Publication) -> None:
    root = make_pub(ARTICLES)
    (root / "state").mkdir()
    fill = "mount -t tmpfs -o size=64k tmpfs state && (head -c 1m /dev/zero > state/fill || true)"
    result = in_mount_namespace(root, fill, "publish")
    assert result.returncode == 1, result.stdout + result.stderr
    one_error_line(result.stderr, str(root / "state"), "free some space")


def test_read_only_output_folder(make_pub: Publication) -> None:
    root = make_pub(ARTICLES)
    (root / "feeds").mkdir()
    read_only = "mount --bind feeds feeds && mount -o remount,ro,bind feeds"
    result = in_mount_namespace(root, read_only, "build")
    assert result.returncode == 1, result.stdout + result.stderr
    one_error_line(result.stderr, str(root / "feeds"), "read-only file system", "writable")
