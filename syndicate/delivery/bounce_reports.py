"""Bounce and complaint notifications, parsed: DSNs, ARF feedback reports, SES JSON.

* DSNs: flufl.bounce (the detectors Mailman uses, covering RFC 3464 and the MTA dialects that
  predate it) finds the failed recipients; the RFC 3464 ``Status`` field of each recipient
  then tells hard (5.x.x) from soft (4.x.x).
* ARF feedback reports (RFC 5965, ``message/feedback-report``): complaints from feedback loops.
* Amazon SES notifications (JSON, raw or wrapped in an SNS envelope): Bounce and Complaint.

Each turns into ``BounceEvent``s; nothing here touches the database or the file system.
"""

from __future__ import annotations

import email
import hashlib
import json
import logging
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

from .subscribers import utcnow
from .suppressions import BounceEvent, Kind


class UnreadableMessage(ValueError):
    """A message the parsers cannot read (a detector crashed on it); the caller skips it."""


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


def _detector(exc: BaseException) -> str:
    """The module whose code raised ``exc`` (the innermost frame), e.g. flufl's ``yale``."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    module = str(tb.tb_frame.f_globals.get("__name__", "")) if tb is not None else ""
    if module.startswith("flufl.bounce._detectors."):
        return f"flufl.bounce {module.rsplit('.', 1)[-1]} detector"
    return module or "parser"


def dsn_events(msg: Message, raw: bytes) -> list[BounceEvent]:
    """The hard and soft bounces (and ARF complaints) reported by one message.

    Raises ``UnreadableMessage`` when parsing it fails: flufl.bounce's heuristic detectors
    assume a well-formed bounce (Yale indexes the From: addresses, so a message without From:
    raises IndexError), and a stranger's mail may be anything.
    """
    from flufl.bounce import all_failures  # flufl.bounce only when reports are read

    # flufl.bounce logs every detector it tries at INFO, and a detector's crash with its
    # traceback at ERROR before re-raising it: we report that crash as one warning instead.
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)
    try:
        reference = _reference(msg, raw)
        complaints = complaint_events(msg, reference)
        if complaints:
            return complaints
        temporary, permanent = all_failures(msg)
        fields = _recipient_fields(msg)
        occasion = _original_message_id(msg)
        happened = _when(msg)
    except Exception as exc:  # third-party heuristics on untrusted input
        raise UnreadableMessage(
            f"unreadable ({_detector(exc)}: {type(exc).__name__}: {exc})"
        ) from exc
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
