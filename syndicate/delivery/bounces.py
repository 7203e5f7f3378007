"""Bounces and complaints: stop mailing addresses that fail or that report us as spam.

Mailbox providers judge a sender by how often it mails dead addresses and how often readers
complain; continuing to mail either ruins delivery for everyone else. Sources:

* DSNs in a Maildir, an mbox or single message files. flufl.bounce (the detectors Mailman
  uses, covering RFC 3464 and the MTA dialects that predate it) finds the failed recipients;
  the RFC 3464 ``Status`` field of each recipient then tells hard (5.x.x) from soft (4.x.x).
* ARF feedback reports (RFC 5965, ``message/feedback-report``): complaints from feedback loops.
* Amazon SES notifications (JSON, raw or wrapped in an SNS envelope): Bounce and Complaint.

Hard bounces and complaints suppress an address at once; soft bounces after
``[bounces] soft_limit`` of them in a row (``soft_streak``: consecutive sent editions in the
ledger, else distinct failed messages, since the address was last (re)activated). Every event is recorded in ``bounce_events``; suppressed addresses are listed in
``suppressions`` so a later import cannot bring them back unless told to (``--resubscribe``).
Processing the same mailbox twice records nothing new.
"""

from __future__ import annotations

import email
import hashlib
import json
import logging
import mailbox
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import Problem, UsageError
from ..state import ensure_schema
from .subscribers import (
    InvalidAddress,
    Status,
    ensure_subscribers,
    get_subscriber,
    normalize_email,
    utcnow,
)

if TYPE_CHECKING:
    from ..config import Config

COMPONENT = "bounces"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE bounce_events (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'reset')),
        status TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        reference TEXT NOT NULL,
        occasion TEXT NOT NULL DEFAULT '',
        happened TEXT NOT NULL,
        recorded TEXT NOT NULL,
        UNIQUE (reference, email, kind)
    );
    CREATE INDEX bounce_events_email ON bounce_events (email, id);
    CREATE TABLE suppressions (
        email TEXT PRIMARY KEY COLLATE NOCASE,
        kind TEXT NOT NULL,
        reason TEXT NOT NULL,
        created TEXT NOT NULL
    )
    """,
)

Kind = Literal["hard", "soft", "complaint"]
SUPPRESSED_STATUS: dict[str, Status] = {
    "hard": Status.BOUNCED,
    "soft": Status.BOUNCED,
    "complaint": Status.COMPLAINED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BounceEvent:
    """One failed or complained-about recipient, as read from one notification."""

    email: str
    kind: Kind
    status: str = ""  # the RFC 3464 status code, e.g. "5.1.1"
    detail: str = ""  # the diagnostic text or feedback type, for people reading the log
    source: str = ""  # where it came from: "dsn", "arf" or "ses"
    reference: str  # unique id of the notification, so re-processing records nothing twice
    occasion: str = ""  # the Message-ID of our message that failed, when known
    happened: str = ""  # ISO time of the notification


@dataclass(slots=True)
class BounceReport:
    """What a processing run found and did."""

    messages: int = 0
    recorded: int = 0
    duplicates: int = 0
    suppressed: list[tuple[str, str]] = field(default_factory=list)  # (email, reason)
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI."""
        return (
            f"read {self.messages} notifications: {self.recorded} new events "
            f"({self.duplicates} already recorded), {len(self.suppressed)} addresses suppressed"
        )


def ensure_bounces_schema(conn: sqlite3.Connection) -> None:
    """Create or upgrade the bounce tables."""
    row = conn.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (COMPONENT,)
    ).fetchone()
    if row is None or row[0] != len(MIGRATIONS):
        ensure_schema(conn, COMPONENT, MIGRATIONS)


# --- reading DSNs and feedback reports -------------------------------------------------------


def _status_class(status: str) -> str:
    return status.strip()[:1]


def _recipient_fields(msg: Message) -> dict[str, tuple[str, str, str]]:
    """address -> (action, status, diagnostic) from every message/delivery-status part."""
    found: dict[str, tuple[str, str, str]] = {}
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        payload = part.get_payload()
        if not isinstance(payload, list):
            continue
        for block in payload[1:]:  # the first block is per-message, the rest per-recipient
            if not isinstance(block, Message):
                continue
            action = str(block.get("action", "")).strip().lower()
            status = str(block.get("status", "")).strip().split()[0:1]
            diagnostic = " ".join(str(block.get("diagnostic-code", "")).split())
            for header in ("original-recipient", "final-recipient", "x-actual-recipient"):
                value = str(block.get(header, ""))
                address = value.split(";", 1)[-1].strip().strip("<>").lower()
                if "@" in address:
                    found.setdefault(address, (action, status[0] if status else "", diagnostic))
    return found


def _kind_for(status_class: str, default: Kind) -> Kind:
    if status_class == "5":
        return "hard"
    if status_class == "4":
        return "soft"
    return default


def _original_message_id(msg: Message) -> str:
    """The Message-ID of the message that bounced, from the returned copy or its headers."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message) and inner.get("message-id"):
                return str(inner["message-id"]).strip()
        if kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                headers = email.message_from_bytes(raw)
                if headers.get("message-id"):
                    return str(headers["message-id"]).strip()
    # Exchange and Gmail also thread the report to the failed message.
    return str(msg.get("in-reply-to", "")).strip()


def _when(msg: Message) -> str:
    try:
        return parsedate_to_datetime(str(msg["date"])).isoformat()
    except (TypeError, ValueError, IndexError):
        return utcnow()


def _reference(msg: Message, raw: bytes) -> str:
    message_id = str(msg.get("message-id", "")).strip()
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def complaint_events(msg: Message, reference: str) -> list[BounceEvent]:
    """Complaints in an ARF report (RFC 5965): the reporting recipient, from the report fields
    or, when the provider redacts them, from the To of our returned message."""
    report = next(
        (p for p in msg.walk() if p.get_content_type() == "message/feedback-report"), None
    )
    if report is None:
        return []
    fields: Message | None = None
    payload = report.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        fields = payload[0]
    elif isinstance(payload, str):
        fields = email.message_from_string(payload)
    feedback = str(fields.get("feedback-type", "abuse")).strip() if fields else "abuse"
    addresses = []
    if fields is not None:
        addresses = [
            parseaddr(str(value))[1] for value in fields.get_all("original-rcpt-to", []) or []
        ]
    occasion = _original_message_id(msg)
    if not any("@" in a for a in addresses):
        for part in msg.walk():
            if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
                inner = part.get_payload(0) if part.is_multipart() else None
                if inner is None:
                    raw = part.get_payload(decode=True)
                    inner = email.message_from_bytes(raw) if isinstance(raw, bytes) else None
                if isinstance(inner, Message) and inner.get("to"):
                    addresses = [parseaddr(str(inner["to"]))[1]]
                    break
    return [
        BounceEvent(
            email=address,
            kind="complaint",
            detail=f"feedback-type: {feedback}",
            source="arf",
            reference=reference,
            occasion=occasion,
            happened=_when(msg),
        )
        for address in dict.fromkeys(a for a in addresses if "@" in a)
    ]


def dsn_events(msg: Message, raw: bytes) -> list[BounceEvent]:
    """The hard and soft bounces (and ARF complaints) reported by one message."""
    from flufl.bounce import all_failures

    # flufl.bounce logs every detector it tries at INFO: noise on our console.
    logging.getLogger("flufl.bounce").setLevel(logging.WARNING)
    reference = _reference(msg, raw)
    complaints = complaint_events(msg, reference)
    if complaints:
        return complaints
    temporary, permanent = all_failures(msg)
    fields = _recipient_fields(msg)
    occasion = _original_message_id(msg)
    happened = _when(msg)
    events = []
    sets: tuple[tuple[frozenset[bytes], Kind], ...] = ((permanent, "hard"), (temporary, "soft"))
    for failed, default in sets:
        for raw_address in sorted(failed):
            address = raw_address.decode("ascii", "replace")
            action, status, diagnostic = fields.get(address.lower(), ("", "", ""))
            # The Status class is authoritative where the DSN has one: a "failed" action with
            # a 4.x.x status is a message given up after retries, not a dead mailbox.
            kind = _kind_for(_status_class(status), default)
            events.append(
                BounceEvent(
                    email=address,
                    kind=kind,
                    status=status,
                    detail=diagnostic or action,
                    source="dsn",
                    reference=reference,
                    occasion=occasion,
                    happened=happened,
                )
            )
    return events


# --- reading SES notifications ---------------------------------------------------------------


def ses_events(document: Any, reference_hint: str = "") -> list[BounceEvent]:
    """Events from one SES notification: raw SES JSON, an SNS envelope, or a list of either."""
    if isinstance(document, list):
        return [event for item in document for event in ses_events(item, reference_hint)]
    if not isinstance(document, dict):
        return []
    if document.get("Type") == "Notification" and isinstance(document.get("Message"), str):
        try:
            inner = json.loads(document["Message"])
        except json.JSONDecodeError:
            return []
        return ses_events(inner, str(document.get("MessageId", reference_hint)))
    kind_name = str(document.get("notificationType") or document.get("eventType") or "")
    mail = document.get("mail") if isinstance(document.get("mail"), dict) else {}
    occasion = str(mail.get("messageId", "")) if mail else ""
    if kind_name == "Bounce" and isinstance(document.get("bounce"), dict):
        bounce = document["bounce"]
        permanent = bounce.get("bounceType") == "Permanent"
        reference = str(bounce.get("feedbackId") or reference_hint or occasion)
        events = []
        for recipient in bounce.get("bouncedRecipients", []):
            if not isinstance(recipient, dict):
                continue
            status = str(recipient.get("status", ""))
            kind: Kind = "hard" if permanent else "soft"
            events.append(
                BounceEvent(
                    email=str(recipient.get("emailAddress", "")),
                    kind=kind,
                    status=status,
                    detail=str(
                        recipient.get("diagnosticCode")
                        or f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
                    ),
                    source="ses",
                    reference=reference,
                    occasion=occasion,
                    happened=str(bounce.get("timestamp") or utcnow()),
                )
            )
        return events
    if kind_name == "Complaint" and isinstance(document.get("complaint"), dict):
        complaint = document["complaint"]
        reference = str(complaint.get("feedbackId") or reference_hint or occasion)
        return [
            BounceEvent(
                email=str(recipient.get("emailAddress", "")),
                kind="complaint",
                detail=f"feedback-type: {complaint.get('complaintFeedbackType', 'abuse')}",
                source="ses",
                reference=reference,
                occasion=occasion,
                happened=str(complaint.get("timestamp") or utcnow()),
            )
            for recipient in complaint.get("complainedRecipients", [])
            if isinstance(recipient, dict)
        ]
    return []


# --- walking the inputs ----------------------------------------------------------------------


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


# --- applying events to the store ------------------------------------------------------------


def _has_suppressions(conn: sqlite3.Connection) -> bool:
    # A read must not migrate: callers (an import) may be inside a transaction already.
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'suppressions'"
    ).fetchone()
    return row is not None


def is_suppressed(conn: sqlite3.Connection, address: str) -> str | None:
    """Why the address must not be mailed (e.g. ``hard bounce 5.1.1``), or None."""
    if not _has_suppressions(conn):
        return None
    row = conn.execute("SELECT reason FROM suppressions WHERE email = ?", (address,)).fetchone()
    return str(row[0]) if row else None


def suppressed_status(conn: sqlite3.Connection, address: str) -> tuple[Status, str] | None:
    """(status, reason) a suppressed address must keep (bounced/complained), or None."""
    if not _has_suppressions(conn):
        return None
    row = conn.execute(
        "SELECT kind, reason FROM suppressions WHERE email = ?", (address,)
    ).fetchone()
    return (SUPPRESSED_STATUS[str(row[0])], str(row[1])) if row else None


def lift_suppression(conn: sqlite3.Connection, address: str, *, why: str) -> bool:
    """Forget a suppression (an editor re-subscribes with the reader's renewed consent).

    A ``reset`` event restarts the soft-bounce count. True if there was one to lift.
    """
    if not _has_suppressions(conn):
        return False
    cursor = conn.execute("DELETE FROM suppressions WHERE email = ?", (address,))
    now = utcnow()
    conn.execute(
        "INSERT OR IGNORE INTO bounce_events"
        " (email, kind, detail, source, reference, happened, recorded)"
        " VALUES (?, 'reset', ?, 'resubscribe', ?, ?, ?)",
        (address, why, f"reset:{now}:{address}", now, now),
    )
    return cursor.rowcount > 0


def list_suppressions(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every suppressed address as (email, kind, reason), oldest first."""
    if not _has_suppressions(conn):
        return []
    rows = conn.execute("SELECT email, kind, reason FROM suppressions ORDER BY created, email")
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def soft_streak(conn: sqlite3.Connection, address: str) -> int:
    """Soft bounces in a row since the last hard bounce, complaint or reset.

    Where the bounced messages are in the send ledger (by Message-ID, or SES message id), "in
    a row" is literal: the address's sent editions are walked from the newest one that
    soft-bounced back in time, and the walk stops at the first edition that did not bounce
    (it was delivered). Editions sent after that newest bounce do not count either way: their
    bounces may still be on their way. Otherwise, each failed message counts once.
    """
    row = conn.execute(
        "SELECT COALESCE(MAX(id), 0) FROM bounce_events WHERE email = ? AND kind != 'soft'",
        (address,),
    ).fetchone()
    occasions = {
        str(r[0]) if r[0] else str(r[1])
        for r in conn.execute(
            "SELECT occasion, reference FROM bounce_events"
            " WHERE email = ? AND kind = 'soft' AND id > ?",
            (address, row[0]),
        )
    }
    sent = _sent_messages(conn, address)
    if not any(ids & occasions for ids in sent):
        return len(occasions)
    streak = 0
    for ids in sent:  # newest first
        if ids & occasions:
            streak += 1
        elif streak:
            break
    return streak


def _sent_messages(conn: sqlite3.Connection, address: str) -> list[set[str]]:
    """Per edition sent to ``address``, newest first: the ids a bounce may name it by."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'"
    ).fetchone()
    if exists is None:
        return []
    rows = conn.execute(
        "SELECT message_id, provider_id FROM deliveries WHERE email = ? AND state = 'sent'"
        " ORDER BY queued_at DESC, edition DESC",
        (address,),
    )
    return [{str(r[0]), str(r[1])} - {""} for r in rows]


def record_refusal(conn: sqlite3.Connection, address: str, reason: str, *, edition: str) -> None:
    """An SMTP 5.1.x refusal during a send: record it and suppress the address like a hard
    bounce. Runs inside the caller's transaction (the tables exist: ``ensure_ledger``)."""
    now = utcnow()
    status = next(iter(re.findall(r"\b5\.\d{1,3}\.\d{1,3}\b", reason)), "")
    conn.execute(
        "INSERT OR IGNORE INTO bounce_events (email, kind, status, detail, source, reference,"
        " occasion, happened, recorded) VALUES (?, 'hard', ?, ?, 'smtp', ?, '', ?, ?)",
        (address, status, reason[:500], f"smtp:{edition}:{address.lower()}", now, now),
    )
    conn.execute(
        "INSERT INTO suppressions (email, kind, reason, created) VALUES (?, 'hard', ?, ?)"
        " ON CONFLICT(email) DO NOTHING",
        (address, f"refused while sending: {reason}"[:500], now),
    )


def record_events(
    conn: sqlite3.Connection, events: Iterable[BounceEvent], *, soft_limit: int
) -> BounceReport:
    """Record each event once and suppress the addresses that must not be mailed again."""
    ensure_bounces_schema(conn)
    ensure_subscribers(conn)  # migrations need their own transaction: run them first
    report = BounceReport()
    conn.execute("BEGIN IMMEDIATE")
    try:
        for event in events:
            _record_one(conn, event, soft_limit, report)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return report


def _record_one(
    conn: sqlite3.Connection, event: BounceEvent, soft_limit: int, report: BounceReport
) -> None:
    try:
        address = normalize_email(event.email)
    except InvalidAddress as exc:
        report.problems.append(Problem(event.reference, None, f"skipped: {exc}", True))
        return
    cursor = conn.execute(
        "INSERT OR IGNORE INTO bounce_events (email, kind, status, detail, source, reference,"
        " occasion, happened, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            address,
            event.kind,
            event.status,
            event.detail[:500],
            event.source,
            event.reference,
            event.occasion,
            event.happened or utcnow(),
            utcnow(),
        ),
    )
    if cursor.rowcount == 0:
        report.duplicates += 1
        return
    report.recorded += 1
    if event.kind == "complaint":
        reason = f"complaint ({event.detail or 'abuse'})"
    elif event.kind == "hard":
        reason = f"hard bounce {event.status}".rstrip()
    else:
        streak = soft_streak(conn, address)
        if streak < soft_limit:
            return
        reason = f"{streak} soft bounces in a row (last {event.status or 'unknown'})"
    _suppress(conn, address, event.kind, reason, report)


def _suppress(
    conn: sqlite3.Connection, address: str, kind: Kind, reason: str, report: BounceReport
) -> None:
    existing = conn.execute("SELECT kind FROM suppressions WHERE email = ?", (address,)).fetchone()
    # A complaint outranks a bounce: keep the strongest reason on record.
    if existing is None or (kind == "complaint" and existing[0] != "complaint"):
        conn.execute(
            "INSERT INTO suppressions (email, kind, reason, created) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(email) DO UPDATE SET kind = excluded.kind, reason = excluded.reason",
            (address, kind, reason, utcnow()),
        )
        report.suppressed.append((address, reason))
    subscriber = get_subscriber(conn, address)
    status = SUPPRESSED_STATUS[kind]
    if subscriber is not None and subscriber.status is not Status.COMPLAINED:
        conn.execute(
            "UPDATE subscribers SET status = ?, reason = ?, updated = ? WHERE email = ?",
            (str(status), reason, utcnow(), address),
        )


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
