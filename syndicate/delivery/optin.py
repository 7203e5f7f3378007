"""Double opt-in: a form stores a ``pending`` subscriber and mails a signed, expiring link;
only following that link (and pressing the button on its page) makes the address ``active``.

Proving that the reader owns the address keeps typos, pranks and bots off the list, which is
what keeps complaint and bounce rates low. Pending subscribers never get editions: the send
queues ``active`` addresses only. The confirmation token is the unsubscribe token scheme of
``tokens.py`` with the expiry bound into the signed purpose (``confirm:<unix time>``), so a
changed expiry breaks the signature and an old link stops working when it should.

The web side (``syndicate/web_subscribe.py``) only parses requests and shows pages; everything
that decides lives here, with no HTTP in sight, so it is testable and reusable.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from .subscribers import (
    Status,
    add_subscriber,
    ensure_subscribers,
    get_subscriber,
    normalize_email,
    set_status,
)
from .tokens import BadToken, make_token, verify_token

if TYPE_CHECKING:
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


def app_url(config: Config) -> str:
    """The public root of the web app: ``[subscribe] url``, else the unsubscribe URL's origin."""
    from .message import unsubscribe_base

    if config.model.subscribe.url:
        return config.model.subscribe.url
    parts = urlsplit(unsubscribe_base(config))
    return f"{parts.scheme}://{parts.netloc}"


def subscribe_url(config: Config) -> str:
    """Where the subscribe form lives (and posts to)."""
    return f"{app_url(config)}/subscribe"


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


def make_confirm_token(secret: bytes, address: str, *, expires: datetime) -> str:
    """``<unix expiry>.<signed address>``: valid until ``expires``, for confirming only."""
    stamp = int(expires.timestamp())
    return f"{stamp}.{make_token(secret, address, f'{CONFIRM}:{stamp}')}"


def verify_confirm_token(secret: bytes, token: str, *, now: datetime) -> str:
    """The address of a genuine, unexpired token; BadToken (or TokenExpired) otherwise."""
    stamp, dot, rest = token.strip().partition(".")
    if not dot or not stamp.isdigit() or len(stamp) > 12:
        raise BadToken("malformed token", forged=False)
    address = verify_token(secret, rest, f"{CONFIRM}:{stamp}")
    if int(stamp) < now.timestamp():
        raise TokenExpired()
    return address


# --- the flow --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirmation:
    """A confirmation email ready for the transport."""

    sender: str  # envelope sender
    recipient: str
    message: bytes
    url: str


def request_subscription(
    config: Config,
    conn: sqlite3.Connection,
    email: str,
    *,
    name: str = "",
    secret: bytes,
    now: datetime,
) -> tuple[Outcome, Confirmation | None]:
    """Store a pending subscriber and make its confirmation email (the caller sends it).

    Raises ``InvalidAddress`` for an address email-validator refuses. An active address gets
    no email (it is subscribed already); a bounced or complaining one never gets mail again.
    An unsubscribed reader may subscribe again: the row stays unsubscribed until confirmed.
    """
    ensure_subscribers(conn)
    address = normalize_email(email)
    name = " ".join(name.split())[:200]
    existing = get_subscriber(conn, address)
    if existing is None:
        existing, _ = add_subscriber(conn, address, name=name, source="web", status=Status.PENDING)
    if existing.status is Status.ACTIVE:
        return Outcome.ALREADY, None
    if existing.status in (Status.BOUNCED, Status.COMPLAINED):
        return Outcome.SUPPRESSED, None
    hours = config.model.subscribe.confirm_hours
    token = make_confirm_token(secret, address, expires=now + timedelta(hours=hours))
    url = confirm_url(config, token)
    message = confirmation_message(config, address, name or existing.name, url, now=now)
    envelope = parseaddr(message["From"])[1]
    from .dkim import sign_message
    from .message import message_bytes

    signed = sign_message(config, message_bytes(message))
    return Outcome.SENT, Confirmation(sender=envelope, recipient=address, message=signed, url=url)


def confirm_subscription(
    conn: sqlite3.Connection, token: str, *, secret: bytes, now: datetime
) -> tuple[str, Outcome | None]:
    """Activate the subscriber a genuine token names; returns (address, outcome).

    Outcome ``SENT`` here means "activated now"; ``ALREADY`` a repeated click; ``SUPPRESSED``
    a bounced/complaining address, which stays suppressed; None an address no longer stored.
    """
    address = verify_confirm_token(secret, token, now=now)
    ensure_subscribers(conn)
    current = get_subscriber(conn, address)
    if current is None:
        return address, None
    if current.status is Status.ACTIVE:
        return address, Outcome.ALREADY
    if current.status in (Status.BOUNCED, Status.COMPLAINED):
        return address, Outcome.SUPPRESSED
    set_status(conn, address, Status.ACTIVE, reason="confirmed (double opt-in)")
    return address, Outcome.SENT


def confirmation_message(
    config: Config, address: str, name: str, url: str, *, now: datetime
) -> EmailMessage:
    """The confirmation email: plain text and HTML from ``confirm.txt.j2``/``confirm.html.j2``."""
    from ..templates import render_template, template_environment
    from .message import POLICY, list_id, sender

    pub = config.publication
    context = {
        "publication": pub,
        "email": address,
        "subscriber_name": name,
        "confirm_url": url,
        "hours": config.model.subscribe.confirm_hours,
    }
    text = render_template(
        template_environment(config, autoescape=False), CONFIRM_TEXT_TEMPLATE, **context
    )
    html = render_template(
        template_environment(config, autoescape=True), CONFIRM_HTML_TEMPLATE, **context
    )
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender(config)
    msg["To"] = address
    msg["Subject"] = f"Confirm your subscription to {pub.title}"
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = make_msgid("confirm", domain=pub.domain)
    msg["List-Id"] = list_id(config)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for part in msg.iter_parts():
        del part["MIME-Version"]
    return msg


def send_confirmation(config: Config, confirmation: Confirmation) -> str:
    """Hand the confirmation email to the configured transport; returns the provider's id.

    Raises the transport's failure exceptions (``TransportFailure``, ``TransportDown``).
    """
    from .transports import make_transport, unledgered

    session = make_transport(config).open()
    try:
        session.prepare()
        return session.send(
            confirmation.sender, confirmation.recipient, confirmation.message, claim=unledgered
        )
    finally:
        session.close()


# --- rate limiting ---------------------------------------------------------------------------


class RateLimiter:
    """At most ``limit`` events per key in any ``window`` seconds; in memory, thread-safe.

    Per process: behind several workers each keeps its own count, which still bounds abuse
    to ``limit x workers``. Keys are dropped once their window has passed, so memory stays
    proportional to recent visitors.
    """

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = 0.0

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; False when it is over the limit (not counted then)."""
        now = self._clock()
        with self._lock:
            if now - self._last_sweep > self.window:
                self._sweep(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        stale = [
            key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self.window
        ]
        for key in stale:
            del self._hits[key]
