"""The optional deploy step: copy changed feeds to the static host before the hub is told.

``[publish] deploy`` is a shell command (``rsync ...``, ``aws s3 sync ...``, ``rclone sync ...``)
that ``publish`` runs after a build that changed files. A WebSub hub fetches the feed as soon as
it is pinged, so the ping must wait until the files are live: the command runs first, and a
failing command holds the pings back. "Deploy needed" is remembered in the state database until
the command succeeds, so a failed or killed deploy is retried by the next run even though that
run's build changes nothing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from .config import Config
from .state import ensure_schema

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE deploy_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        needed_since TEXT,
        last_success TEXT,
        last_error TEXT NOT NULL DEFAULT ''
    )
    """,
)
OUTPUT_TAIL = 300


@dataclass(frozen=True, slots=True)
class DeployOutcome:
    """Whether the command succeeded, and one line saying what happened."""

    ok: bool
    message: str


def _ensure(conn: sqlite3.Connection) -> None:
    ensure_schema(conn, "deploy", MIGRATIONS)


def mark_deploy_needed(conn: sqlite3.Connection, now: datetime) -> None:
    """Remember that feeds changed and are not yet on the host (kept if already set)."""
    _ensure(conn)
    conn.execute(
        "INSERT INTO deploy_state (id, needed_since) VALUES (1, ?)"
        " ON CONFLICT(id) DO UPDATE SET needed_since = COALESCE(needed_since, excluded.needed_since)",
        (now.astimezone(UTC).isoformat(),),
    )


def deploy_pending(conn: sqlite3.Connection) -> bool:
    """True while changed feeds wait for a successful deploy."""
    _ensure(conn)
    row = conn.execute("SELECT needed_since FROM deploy_state WHERE id = 1").fetchone()
    return row is not None and row[0] is not None


def run_deploy(config: Config, conn: sqlite3.Connection, command: str) -> DeployOutcome:
    """Run the deploy command in the publication folder; clear the flag only on success.

    The command gets ``SYNDICATE_FEEDS_DIR`` and ``SYNDICATE_FEEDS_URL`` in its environment and
    inherits the rest (credentials such as AWS_* come from there, never from config). It is
    killed with its whole process group after ``[publish] deploy_timeout`` seconds.
    """
    timeout = config.model.publish.deploy_timeout
    env = {
        **os.environ,
        "SYNDICATE_FEEDS_DIR": str(config.feeds_dir),
        "SYNDICATE_FEEDS_URL": config.publication.feeds.url,
    }
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        shell=True,
        cwd=config.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return _failed(conn, f"deploy: {command!r} did not finish within {timeout:g} s; killed")
    seconds = time.monotonic() - started
    if process.returncode != 0:
        tail = output.decode("utf-8", "replace").strip()[-OUTPUT_TAIL:]
        detail = f": {tail.splitlines()[-1]}" if tail else ""
        return _failed(
            conn, f"deploy: {command!r} failed with exit code {process.returncode}{detail}"
        )
    conn.execute(
        "UPDATE deploy_state SET needed_since = NULL, last_success = ?, last_error = ''"
        " WHERE id = 1",
        (datetime.now(UTC).isoformat(),),
    )
    return DeployOutcome(True, f"deploy: ran {command!r} in {seconds:.1f} s")


def _failed(conn: sqlite3.Connection, message: str) -> DeployOutcome:
    conn.execute("UPDATE deploy_state SET last_error = ? WHERE id = 1", (message,))
    return DeployOutcome(False, message + "; the next run retries")
