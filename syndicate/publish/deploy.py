"""The optional deploy step: copy the output folder to the static host before the hub is told.

``[publish] deploy`` is a shell command (``rsync ...``, ``aws s3 sync ...``, ``rclone sync ...``)
that ``publish`` runs whenever the output folder differs from what was last deployed. A WebSub
hub fetches a feed as soon as it is pinged, so the pings wait until the command succeeded. What
was deployed is remembered as a signature of the folder listing (and the command), so a failed
or killed deploy, a manual ``syndicate build`` and the newsletter archive written by a send are
all deployed by the next run, and an unchanged folder is never deployed twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ..config import Config
from ..store.database import Connection, ensure_schema

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE deploy_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        signature TEXT NOT NULL DEFAULT '',
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


def _ensure(conn: Connection) -> None:
    ensure_schema(conn, "deploy", MIGRATIONS)


def deploy_needed(conn: Connection, signature: str) -> bool:
    """True when the folder (or the command) changed since the last successful deploy."""
    _ensure(conn)
    row = conn.execute("SELECT signature FROM deploy_state WHERE id = 1").fetchone()
    return row is None or row[0] != signature


def run_deploy(
    config: Config, conn: Connection, command: str, signature: str
) -> DeployOutcome:
    """Run the deploy command in the publication folder; remember ``signature`` on success.

    The command gets ``SYNDICATE_FEEDS_DIR`` and ``SYNDICATE_FEEDS_URL`` in its environment and
    inherits the rest (credentials such as AWS_* come from there, never from config). It is
    killed with its whole process group after ``[publish] deploy_timeout`` seconds.
    """
    _ensure(conn)
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
        "INSERT INTO deploy_state (id, signature, last_success, last_error) VALUES (1, ?, ?, '')"
        " ON CONFLICT(id) DO UPDATE SET signature = excluded.signature,"
        " last_success = excluded.last_success, last_error = ''",
        (signature, datetime.now(UTC).isoformat()),
    )
    return DeployOutcome(True, f"deploy: ran {command!r} in {seconds:.1f} s")


def _failed(conn: Connection, message: str) -> DeployOutcome:
    conn.execute(
        "INSERT INTO deploy_state (id, last_error) VALUES (1, ?)"
        " ON CONFLICT(id) DO UPDATE SET last_error = excluded.last_error",
        (message,),
    )
    return DeployOutcome(False, message + "; the next run retries")
