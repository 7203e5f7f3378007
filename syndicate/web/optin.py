"""Double opt-in: a form stores a ``pending`` subscriber and mails a signed, expiring link;
only following that link (and pressing the button on its page) makes the address ``active``.

Proving that the reader owns the address keeps typos, pranks and bots off the list, which is
what keeps complaint and bounce rates low. Pending subscribers never get editions: the send
queues ``active`` addresses only. The confirmation token is the unsubscribe token scheme of
``tokens.py`` with the expiry and a one-time nonce bound into the signed purpose
(``confirm:<unix time>:<nonce>``), so a changed expiry breaks the signature and an old link
stops working when it should. The nonce names the request in the confirmation outbox
(``confirm_outbox.py``): a link works once, and only while the subscriber is as it was when
the link was made, so a reader who unsubscribed afterwards stays unsubscribed.

No text a stranger typed reaches the mail: the confirmation names the publication and the
address only (the form's ``name`` is stored, never sent to the address it was typed for).

The web side (``syndicate/web_subscribe.py``) only parses requests and shows pages; everything
that decides lives here, with no HTTP in sight, so it is testable and reusable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ..delivery.dkim import sign_message
from ..delivery.message import POLICY, message_bytes
from ..delivery.settings import DkimSettings, MessageSettings, TransportSettings, app_url
from ..delivery.subscribers import (
    Subscriber,
    normalize_email,
)
from ..delivery.tokens import BadToken, make_token, verify_token
from ..delivery.transports import (
    ConnectionLost,
    Session,
    TransportDown,
    UncertainDelivery,
    unledgered,
)
from ..delivery.transports.make import make_transport
from ..text.templates import render_template, template_environment

if TYPE_CHECKING:
    import jinja2

    from ..config import Config

CONFIRM = "confirm"
CONFIRM_TEXT_TEMPLATE = "confirm.txt.j2"
CONFIRM_HTML_TEMPLATE = "confirm.html.j2"


class TokenExpired(BadToken):
    """A genuine confirmation token whose time is up: the reader should subscribe again."""

    def __init__(self) -> None:
        super().__init__("confirmation link expired", forged=False)


class Outcome(StrEnum):
    """What a subscribe request led to. The web page is the same for all of them, so the
    form cannot be used to find out who is subscribed."""

    SENT = "sent"  # a confirmation email went out
    ALREADY = "already"  # already active: nothing sent
    SUPPRESSED = "suppressed"  # bounced or complained: never mailed again
    BOT = "bot"  # the honeypot field was filled in: nothing stored, nothing sent


# --- URLs ------------------------------------------------------------------------------------


def confirm_url(config: Config, token: str) -> str:
    """The link in the confirmation email."""
    return f"{app_url(config)}/confirm?token={token}"


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased; "" for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def allowed_origins(config: Config) -> frozenset[str]:
    """Origins whose pages may post our forms: the publication's site and the app itself."""
    return frozenset(o for o in (origin(config.publication.base_url), origin(app_url(config))) if o)


def safe_redirect(config: Config, target: str) -> str | None:
    """``target`` as an absolute URL if it stays on the publication's site, else None.

    Accepts a path (``/thanks/``) or a full URL under ``[publication] base_url``; anything
    else (another host, ``//evil.example``, ``javascript:``, a backslash trick) is refused, so
    the form cannot be used to bounce readers to someone else's page.
    """
    target = target.strip()
    if not target or any(ch in target for ch in "\r\n\\\t") or target.startswith("//"):
        return None
    base = config.publication.base_url.rstrip("/") + "/"
    resolved = urljoin(base, target)
    home = urlsplit(base)
    parts = urlsplit(resolved)
    if (parts.scheme, parts.netloc.lower()) != (home.scheme, home.netloc.lower()):
        return None
    if not (parts.path + "/").startswith(home.path):
        return None
    return resolved


# --- tokens ----------------------------------------------------------------------------------


def make_confirm_token(secret: bytes, address: str, *, expires: datetime, nonce: str) -> str:
    """``<unix expiry>.<nonce>.<signed address>``: for confirming one request, until ``expires``."""
    stamp = int(expires.timestamp())
    if not _NONCE.fullmatch(nonce):
        raise ValueError(f"not a confirmation nonce: {nonce!r}")
    return f"{stamp}.{nonce}.{make_token(secret, address, f'{CONFIRM}:{stamp}:{nonce}')}"


_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True, slots=True)
class ConfirmToken:
    """What a genuine, unexpired confirmation token says: the address and the request's nonce."""

    address: str
    nonce: str


def verify_confirm_token(secret: bytes, token: str, *, now: datetime) -> ConfirmToken:
    """The address and nonce of a genuine, unexpired token; BadToken (or TokenExpired) else."""
    stamp, dot, rest = token.partition(".")
    nonce, dot2, signed = rest.partition(".")
    if not dot or not dot2 or not stamp.isdigit() or len(stamp) > 12 or stamp != str(int(stamp)):
        raise BadToken("malformed token", forged=False)
    if not _NONCE.fullmatch(nonce):
        raise BadToken("malformed token", forged=False)
    address = verify_token(secret, signed, f"{CONFIRM}:{stamp}:{nonce}")
    if int(stamp) < now.timestamp():
        raise TokenExpired()
    return ConfirmToken(address, nonce)


# --- the flow --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirmation:
    """A confirmation email ready for the transport."""

    sender: str  # envelope sender
    recipient: str
    message: bytes
    url: str


def build_confirmation(config: Config, address: str, *, token: str, now: datetime) -> Confirmation:
    """The signed confirmation email for ``address`` carrying ``token``."""
    url = confirm_url(config, token)
    message = confirmation_message(config, address, url, now=now)
    envelope = parseaddr(message["From"])[1]
    signed = sign_message(DkimSettings.from_config(config), message_bytes(message))
    return Confirmation(sender=envelope, recipient=address, message=signed, url=url)


def basis(subscriber: Subscriber) -> str:
    """The subscriber's state a confirmation may move: status and when it last changed."""
    return f"{subscriber.status}|{subscriber.updated}"


def confirmation_message(config: Config, address: str, url: str, *, now: datetime) -> EmailMessage:
    """The confirmation email: plain text and HTML from ``confirm.txt.j2``/``confirm.html.j2``.

    ``subscriber_name`` is always empty: the name was typed by whoever filled in the form,
    and the mail goes to someone who may never have seen it (a stranger's text in our mail
    is how sign-up forms get used for spam). The address is checked again before it goes
    into ``To``.
    """
    pub = config.publication
    context = {
        "publication": pub,
        "email": address,
        "subscriber_name": "",
        "confirm_url": url,
        "hours": config.model.subscribe.confirm_hours,
    }
    text = render_template(_environment(config, False), CONFIRM_TEXT_TEMPLATE, **context)
    html = render_template(_environment(config, True), CONFIRM_HTML_TEMPLATE, **context)
    msg = EmailMessage(policy=POLICY)
    letterhead = MessageSettings.from_config(config)
    msg["From"] = letterhead.sender
    msg["To"] = normalize_email(address)
    msg["Subject"] = f"Confirm your subscription to {pub.title}"
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = make_msgid("confirm", domain=pub.domain)
    msg["List-Id"] = letterhead.list_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for part in msg.iter_parts():
        del part["MIME-Version"]
    return msg


def _environment(config: Config, autoescape: bool) -> jinja2.Environment:
    """The publication's template environment, made once per process (Jinja2 then compiles
    each template once and keeps it; it still notices an edited override file)."""
    return _environment_for(config.templates_dir, autoescape)


@lru_cache(maxsize=16)
def _environment_for(folder: Path, autoescape: bool) -> jinja2.Environment:
    return template_environment(folder, autoescape=autoescape)


class ConfirmationSender:
    """Hands confirmation emails to the configured transport, over one session for a batch:
    one SMTP connection (EHLO, STARTTLS, AUTH once) for every confirmation of a drain."""

    def __init__(self, config: Config) -> None:
        self._transport = make_transport(TransportSettings.from_config(config))
        self._session: Session | None = None

    def send(self, confirmation: Confirmation) -> str:
        """Send one; returns the provider's id. Raises the transport's failure exceptions
        (``TransportFailure``, ``TransportDown``); after one that may have left the connection
        in doubt, the next send starts a new session."""
        if self._session is None:
            self._session = self._transport.open()
        try:
            self._session.prepare()  # connects once; a no-op while the connection is up
            return self._session.send(
                confirmation.sender, confirmation.recipient, confirmation.message, claim=unledgered
            )
        except (ConnectionLost, UncertainDelivery, TransportDown):
            self.close()
            raise

    def close(self) -> None:
        """End the session (QUIT); a later ``send`` opens a new one."""
        session, self._session = self._session, None
        if session is not None:
            session.close()


def send_confirmation(config: Config, confirmation: Confirmation) -> str:
    """Send one confirmation email over a session of its own; returns the provider's id."""
    sender = ConfirmationSender(config)
    try:
        return sender.send(confirmation)
    finally:
        sender.close()
