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
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..store.database import Connection, connect
from .bounce_reports import UnreadableMessage, dsn_events, ses_events
from .suppressions import (
    BounceEvent,
    BounceReport,
    list_suppressions,
    record_events,
)


def _unreadable(path: Path, what: str, exc: BaseException) -> Problem:
    """A warning for a notification nothing could read: named, skipped, the run goes on."""
    return Problem(path, None, f"{what}, skipped ({type(exc).__name__}: {exc})", True)


def _json_documents(path: Path, text: str) -> list[Any]:
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    # JSON Lines: one notification per line, as an SQS dump or a log export writes them.
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_notifications(paths: Iterable[Path], report: BounceReport) -> Iterator[BounceEvent]:
    """Every event in the given Maildirs, mbox files, message files and SES JSON files.

    A file or message that cannot be read (vanished, not a regular file, not parseable, or one a
    detector chokes on) becomes a warning naming it; every other one is still processed.
    """
    for path in paths:
        if path.is_dir():
            if (path / "cur").is_dir() or (path / "new").is_dir():
                yield from _maildir_events(path, report)
            else:
                try:
                    children = sorted(p for p in path.iterdir() if not p.name.startswith("."))
                except OSError as exc:
                    report.problems.append(_unreadable(path, "cannot list this folder", exc))
                    continue
                yield from read_notifications(children, report)
            continue
        data = _read_file(path, report)
        if data is None:
            continue
        stripped = data.lstrip()
        if stripped[:1] in (b"{", b"["):
            yield from _json_events(path, data, report)
        elif data.startswith(b"From "):
            yield from _mbox_events(path, report)
        else:
            yield from _message_events(path, data, report)


def _read_file(path: Path, report: BounceReport) -> bytes | None:
    """The bytes of one notification file, or None (and a warning) when it cannot be read."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            # A FIFO would block the run forever, a device could be endless.
            report.problems.append(Problem(path, None, "not a regular file, skipped", True))
            return None
        return path.read_bytes()
    except FileNotFoundError:
        report.problems.append(Problem(path, None, "no such file (a broken link?), skipped", True))
    except OSError as exc:
        report.problems.append(_unreadable(path, "cannot read", exc))
    return None


def _json_events(path: Path, data: bytes, report: BounceReport) -> list[BounceEvent]:
    try:
        documents = _json_documents(path, data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        report.problems.append(_unreadable(path, "not SES notification JSON", exc))
        return []
    found: list[BounceEvent] = []
    for document in documents:
        report.messages += 1
        try:
            events = ses_events(document, hashlib.sha256(data).hexdigest())
        except Exception as exc:  # noqa: BLE001 -- any shape a stranger's JSON takes
            report.problems.append(_unreadable(path, "unreadable SES notification", exc))
            continue
        if not events:
            report.problems.append(
                Problem(path, None, "no Bounce or Complaint notification in it", True)
            )
        found.extend(events)
    return found


def _mbox_events(path: Path, report: BounceReport) -> Iterator[BounceEvent]:
    try:
        mbox = mailbox.mbox(path, factory=None, create=False)
        try:
            raws = [mbox.get_bytes(key) for key in mbox.keys()]
        finally:
            mbox.close()
    except (OSError, mailbox.Error) as exc:
        report.problems.append(_unreadable(path, "cannot read this mbox", exc))
        return
    for raw in raws:
        yield from _message_events(path, raw, report)


def _maildir_events(path: Path, report: BounceReport) -> Iterator[BounceEvent]:
    try:
        box = mailbox.Maildir(path, factory=None, create=False)
        keys = sorted(box.keys())
    except (OSError, mailbox.Error) as exc:
        report.problems.append(_unreadable(path, "cannot read this Maildir", exc))
        return
    for key in keys:
        try:
            raw = box.get_bytes(key)
        except (OSError, KeyError, mailbox.Error) as exc:
            report.problems.append(_unreadable(path / key, "cannot read this message", exc))
            continue
        yield from _message_events(path, raw, report)


def _message_events(path: Path, raw: bytes, report: BounceReport) -> list[BounceEvent]:
    report.messages += 1
    if not raw.strip():
        report.problems.append(Problem(path, None, "an empty message, skipped", True))
        return []
    try:
        msg = email.message_from_bytes(raw)
        events = dsn_events(msg, raw)
    except UnreadableMessage as exc:
        report.problems.append(Problem(path, None, f"{exc}, skipped", True))
        return []
    if not events:
        subject = " ".join(str(msg.get("subject", "(no subject)")).split())
        report.problems.append(
            Problem(path, None, f"not a bounce or complaint: {subject[:80]!r}", True)
        )
    return events


def process_paths(
    conn: Connection, paths: Iterable[Path], *, soft_limit: int
) -> BounceReport:
    """``syndicate bounces process``: read every notification, then record and suppress."""
    reading = BounceReport()
    events = list(read_notifications(paths, reading))
    result = record_events(conn, events, soft_limit=soft_limit)
    result.messages = reading.messages
    result.problems = reading.problems + result.problems
    return result


def process_files(state_db: Path | str, paths: Iterable[Path], *, soft_limit: int) -> BounceReport:
    """Process notification files against the publication's state database."""
    conn = connect(state_db)
    try:
        return process_paths(conn, paths, soft_limit=soft_limit)
    finally:
        conn.close()


def suppressed_addresses(state_db: Path | str) -> list[tuple[str, str, str]]:
    """Every suppressed address of the publication, for ``syndicate bounces list``."""
    conn = connect(state_db)
    try:
        return list_suppressions(conn)
    finally:
        conn.close()
