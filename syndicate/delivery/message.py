"""A rendered edition + one recipient -> the MIME message that recipient gets.

No MJML and no templates run here: the edition was rendered once, and each message only fills
the per-recipient placeholders by string replacement, so a 10,000-recipient send costs 10,000
string substitutions. Everything but To, Message-ID, the unsubscribe links and the address in
the footer is byte-identical across recipients (and across runs, given the same ``date``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from ..errors import DeliveryError
from .ledger import message_id
from .rendered import RenderedEdition
from .settings import MessageSettings, mailbox
from .tokens import unsubscribe_url

PREVIEW_ADDRESS = "subscriber@example.invalid"
PREVIEW_TOKEN = "preview"


class _UnfoldedUrlsHeader(UnstructuredHeader, BaseHeader):
    """List-Unsubscribe: folded only between its ``<...>`` items, never RFC 2047-encoded.

    The stock policy encodes any word longer than a line as ``=?utf-8?q?...?=``, which turns
    a long tokenised URL into garbage that no mailbox provider can follow.
    """

    def fold(self, *, policy: Any) -> str:
        linesep = str(policy.linesep)
        items = [item.strip() for item in str(self).split(",") if item.strip()]
        return f"{self.name}: " + f",{linesep} ".join(items) + linesep


def _policy() -> policy.EmailPolicy[EmailMessage]:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", _UnfoldedUrlsHeader)
    return policy.default.clone(header_factory=registry)


POLICY = _policy()
# CRLF line ends, as on the wire: what .eml files and SMTP expect.
WIRE_POLICY = POLICY.clone(linesep="\r\n")


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """Who one message is for, and the per-recipient values filled into it."""

    email: str
    name: str = ""
    unsubscribe_url: str
    view_url: str
    message_id: str

    def values(self) -> dict[str, str]:
        """The placeholder values, keyed like ``newsletter.PLACEHOLDER_FIELDS``."""
        return {
            "email": self.email,
            "name": self.name,
            "unsubscribe_url": self.unsubscribe_url,
            "view_url": self.view_url,
        }


def build_message(
    settings: MessageSettings,
    rendered: RenderedEdition,
    recipient: Recipient,
    *,
    date: datetime | None = None,
) -> EmailMessage:
    """The complete message: multipart/alternative, text/plain then text/html, both UTF-8 and
    quoted-printable (mjml's HTML is one very long line), with every list header.

    ``date`` defaults to the edition's creation time, so a message is reproducible; pass the
    send time when sending. Header values with CR/LF are refused (header injection).
    """
    _one_line("recipient address", recipient.email)
    _one_line("recipient name", recipient.name)
    _one_line("Message-ID", recipient.message_id)
    _one_line("unsubscribe URL", recipient.unsubscribe_url)
    _one_line("subject", rendered.subject)
    values = recipient.values()
    text = rendered.fill_text(values)
    html = rendered.fill_html(values)
    msg = EmailMessage(policy=POLICY)
    msg["From"] = settings.sender
    msg["To"] = mailbox(recipient.name, recipient.email)
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(date or rendered.edition.created)
    msg["Message-ID"] = recipient.message_id
    msg["List-Id"] = settings.list_id
    msg["List-Unsubscribe"] = ", ".join(
        f"<{url}>" for url in (recipient.unsubscribe_url, settings.unsubscribe_mailto) if url
    )
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for part in msg.iter_parts():
        # add_alternative leaves a MIME-Version on the part it wraps; only the top needs one.
        del part["MIME-Version"]
    # A boundary from the content instead of a random one keeps messages reproducible; "=_"
    # cannot occur in quoted-printable text, so it can never collide with a body line.
    digest = hashlib.sha256(f"{text}\0{html}".encode()).hexdigest()[:32]
    msg.set_boundary(f"=_syndicate_{digest}")
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent on the wire (CRLF line ends): for .eml files and transports."""
    return msg.as_bytes(policy=WIRE_POLICY)


def preview_recipient(settings: MessageSettings, rendered: RenderedEdition) -> Recipient:
    """The stand-in subscriber of preview files: ``subscriber@example.invalid``, token ``preview``.

    ``.invalid`` is reserved (RFC 2606): a preview that escapes by accident reaches no one.
    """
    edition_id = rendered.edition.id
    newsletter = rendered.edition.newsletter
    link = (
        f"{settings.preferences_base}?newsletter={newsletter}&token={PREVIEW_TOKEN}"
        if newsletter
        else unsubscribe_url(settings.unsubscribe_base, PREVIEW_TOKEN)
    )
    return Recipient(
        email=PREVIEW_ADDRESS,
        unsubscribe_url=link,
        view_url=settings.archive_url(edition_id),
        message_id=message_id(edition_id, PREVIEW_ADDRESS, settings.domain),
    )


def _one_line(what: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise DeliveryError(f"{what} contains a line break (CR/LF): {value!r}; refusing to send")
