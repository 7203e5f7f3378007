"""Bounces and complaints: stop mailing addresses that fail or that report us as spam.

``syndicate bounces process`` reads notifications from Maildirs, mbox files, single message
files and SES JSON files (``read_notifications``), parses each with ``bounce_reports`` and hands
the events to ``suppressions``, which records them and applies the suppression policy.
Processing the same mailbox twice records nothing new.
"""

from __future__ import annotations

import email
import hashlib
import json
import mailbox
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Problem, UsageError
from .bounce_reports import dsn_events, ses_events
from .suppressions import BounceEvent, BounceReport, list_suppressions, record_events

if TYPE_CHECKING:
    from ..config import Config


def _json_documents(path: Path, text: str) -> list[Any]:
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    # JSON Lines: one notification per line, as an SQS dump or a log export writes them.
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_notifications(paths: Iterable[Path], report: BounceReport) -> Iterator[BounceEvent]:
    """Every event in the given Maildirs, mbox files, message files and SES JSON files."""
    for path in paths:
        if path.is_dir():
            if (path / "cur").is_dir() or (path / "new").is_dir():
                box = mailbox.Maildir(path, factory=None, create=False)
                for key in sorted(box.keys()):
                    yield from _message_events(path, box.get_bytes(key), report)
            else:
                for child in sorted(p for p in path.iterdir() if not p.name.startswith(".")):
                    yield from read_notifications([child], report)
            continue
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file or directory") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc}") from None
        stripped = data.lstrip()
        if stripped[:1] in (b"{", b"["):
            try:
                documents = _json_documents(path, data.decode("utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                report.problems.append(Problem(path, None, f"not SES notification JSON: {exc}"))
                continue
            for document in documents:
                report.messages += 1
                events = ses_events(document, hashlib.sha256(data).hexdigest())
                if not events:
                    report.problems.append(
                        Problem(path, None, "no Bounce or Complaint notification in it", True)
                    )
                yield from events
        elif data.startswith(b"From "):
            mbox = mailbox.mbox(path, factory=None, create=False)
            try:
                for key in mbox.keys():
                    yield from _message_events(path, mbox.get_bytes(key), report)
            finally:
                mbox.close()
        else:
            yield from _message_events(path, data, report)


def _message_events(path: Path, raw: bytes, report: BounceReport) -> list[BounceEvent]:
    report.messages += 1
    msg = email.message_from_bytes(raw)
    events = dsn_events(msg, raw)
    if not events:
        subject = " ".join(str(msg.get("subject", "(no subject)")).split())
        report.problems.append(
            Problem(path, None, f"not a bounce or complaint: {subject[:80]!r}", True)
        )
    return events


def process_paths(
    conn: sqlite3.Connection, paths: Iterable[Path], *, soft_limit: int
) -> BounceReport:
    """``syndicate bounces process``: read every notification, then record and suppress."""
    reading = BounceReport()
    events = list(read_notifications(paths, reading))
    result = record_events(conn, events, soft_limit=soft_limit)
    result.messages = reading.messages
    result.problems = reading.problems + result.problems
    return result


def process_for_config(config: Config, paths: Iterable[Path]) -> BounceReport:
    """Process notification files against the publication's state database."""
    from ..state import connect

    conn = connect(config.state_db)
    try:
        return process_paths(conn, paths, soft_limit=config.model.bounces.soft_limit)
    finally:
        conn.close()


def suppressions_for_config(config: Config) -> list[tuple[str, str, str]]:
    """Every suppressed address of the publication, for ``syndicate bounces list``."""
    from ..state import connect

    conn = connect(config.state_db)
    try:
        return list_suppressions(conn)
    finally:
        conn.close()
