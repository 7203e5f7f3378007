"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, recording every message, with faults.

``with smtp_server() as inbox:`` runs an aiosmtpd Controller in a thread (``inbox.port``);
``inbox.messages`` are the accepted messages (``.recipients``, ``.message`` parsed,
``.data`` raw) and ``inbox.to(address)`` those for one address. ``Faults`` make the handler
answer 451 to every Nth RCPT, 550 5.1.1 for chosen addresses, drop the connection at the Nth
MAIL (before any message: a clean reconnect case) or right after storing the Nth message,
before replying (the "disconnect after DATA" case: delivered, but the client cannot know).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller


class Mail:
    """One message as the server accepted it; ``message`` is parsed on first use."""

    __slots__ = ("_message", "data", "mail_from", "recipients")

    def __init__(self, mail_from: str, recipients: tuple[str, ...], data: bytes) -> None:
        self.mail_from = mail_from
        self.recipients = recipients
        self.data = data
        self._message: EmailMessage | None = None

    @property
    def message(self) -> EmailMessage:
        if self._message is None:
            parsed = BytesParser(policy=policy.default).parsebytes(self.data)
            assert isinstance(parsed, EmailMessage)
            self._message = parsed
        return self._message

    @property
    def rcpt_to(self) -> tuple[str, ...]:
        """The envelope recipients (same as ``recipients``)."""
        return self.recipients

    def parsed(self) -> EmailMessage:
        """The parsed message (same as ``message``)."""
        return self.message

    def __repr__(self) -> str:
        return f"Mail(from={self.mail_from!r}, to={self.recipients!r}, {len(self.data)} bytes)"


Received = Mail


@dataclass
class Faults:
    """What the server does wrong, and when (counters are 1-based, across connections)."""

    tempfail_every_rcpt: int = 0
    bounce: set[str] = field(default_factory=set)
    drop_at_mail: set[int] = field(default_factory=set)
    drop_after_data: set[int] = field(default_factory=set)
    busy_mails: int = 0  # the first N MAIL commands get "421 busy", the connection kept open
    rcpt_delay: float = 0.0  # seconds each RCPT answer takes (a slow, distant server)


class Handler:
    """aiosmtpd handler that records messages and injects ``Faults``."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.messages: list[Mail] = []
        self.lock = threading.Lock()
        self.mails = 0
        self.rcpts = 0
        self.tempfails = 0
        self.drops = 0
        self.peers: set[tuple[str, int]] = set()  # client (address, port): one per connection

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.mails += 1
            self.peers.add(tuple(session.peer))
            drop = self.mails in self.faults.drop_at_mail
            busy = self.mails <= self.faults.busy_mails
            if drop:
                self.drops += 1
        if busy:
            return "421 4.3.2 Service busy, try again later"
        if drop:
            server.transport.abort()
            return "421 4.4.2 dropped by the test"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.rcpts += 1
            every = self.faults.tempfail_every_rcpt
            if every and self.rcpts % every == 0:
                self.tempfails += 1
                return "451 4.3.0 Try again later"
        if self.faults.rcpt_delay:
            await asyncio.sleep(self.faults.rcpt_delay)
        if address.lower() in self.faults.bounce:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(
                Mail(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            )
            number = len(self.messages)
            drop = number in self.faults.drop_after_data
            if drop:
                self.drops += 1
        if drop:
            server.transport.abort()
        return f"250 2.0.0 Ok: queued as Q{number}"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def per_recipient(self) -> Counter[str]:
        """How many copies each envelope recipient got."""
        with self.lock:
            return Counter(rcpt.lower() for m in self.messages for rcpt in m.recipients)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpSink:
    """aiosmtpd on 127.0.0.1:port in a background thread; use as a context manager."""

    def __init__(self, faults: Faults | None = None, **server: Any) -> None:
        """``server`` goes to aiosmtpd (tls_context=, authenticator=, ssl_context= ...)."""
        self.handler = Handler(faults)
        self.port = free_port()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **server)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[Mail]:
        """Every accepted message, in arrival order."""
        return self.handler.messages

    def to(self, address: str) -> list[Mail]:
        """The messages whose envelope recipients include ``address`` (any case)."""
        wanted = address.lower()
        with self.handler.lock:
            return [m for m in self.messages if wanted in (r.lower() for r in m.recipients)]


Inbox = SmtpSink


@contextmanager
def smtp_server(faults: Faults | None = None, **server: Any) -> Iterator[SmtpSink]:
    """A running SMTP sink for the block."""
    with SmtpSink(faults, **server) as sink:
        yield sink
