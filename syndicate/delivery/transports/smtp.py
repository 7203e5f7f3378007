"""The ``smtp`` transport: smtplib, one reused connection per session, outcomes classified.

The SMTP dialogue is driven step by step (MAIL, RCPT, DATA, body, final reply) rather than
through ``sendmail`` so that a broken connection can be placed exactly: before the body's
final dot it is harmless (reconnect and send again); after it, the server may already have
the message, and the outcome is uncertain.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import (
    Claim,
    ConnectionLost,
    NotClaimed,
    PermanentFailure,
    PooledTransport,
    TemporaryFailure,
    TransportDown,
    TransportFailure,
    UncertainDelivery,
    Unreachable,
    WireMessage,
)

if TYPE_CHECKING:
    from ...config import SmtpConfig

_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_NO_SUCH_USER = re.compile(
    r"user unknown|unknown user|no such (user|mailbox)|does not exist|invalid recipient"
    r"|recipient (address )?rejected|mailbox unavailable|address rejected",
    re.IGNORECASE,
)
_EOLS = re.compile(rb"\r\n|\r|\n")


def describe(code: int, reply: bytes | str) -> str:
    """``550 5.1.1 <x@y>: user unknown`` as one line, for the ledger."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}".strip()


def is_bad_address(code: int, reply: str) -> bool:
    """A permanent refusal that means the mailbox does not exist (suppress the address).

    5.1.x enhanced codes say so exactly (5.1.1 bad mailbox, 5.1.2 bad domain, 5.1.10 null MX);
    servers without enhanced codes get a look at the usual wording of 550/551/553.
    """
    if not 500 <= code < 600:
        return False
    enhanced = _ENHANCED.search(reply)
    if enhanced:
        return enhanced.group(2) == "1"
    return code in (550, 551, 553) and bool(_NO_SUCH_USER.search(reply))


def refusal(code: int, reply: bytes | str) -> TemporaryFailure | PermanentFailure:
    """The outcome exception for a non-success reply code."""
    text = describe(code, reply)
    if 400 <= code < 500 or code < 0:
        return TemporaryFailure(text)
    return PermanentFailure(text, bounce=is_bad_address(code, text))


# A dot-atom local part at a plain domain: what every address we send to looks like, and
# what smtplib's quoteaddr returns as "<address>" after parsing it with the email package's
# pure-Python address parser (~10 us a call, two a message).
_DOT_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_PLAIN_ADDRESS = re.compile(_DOT_ATOM + r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def envelope_address(address: str) -> str:
    """``address`` as MAIL FROM and RCPT TO carry it: ``smtplib.quoteaddr``, the parse skipped
    for plain addresses."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def wire_format(message: bytes) -> bytes:
    """CRLF line ends, leading dots doubled and the terminating dot: ready for DATA."""
    crlf = message.count(b"\r\n")
    if message.count(b"\r") != crlf or message.count(b"\n") != crlf:
        message = _EOLS.sub(b"\r\n", message)
    if b"\r\n." in message:
        message = message.replace(b"\r\n.", b"\r\n..")
    if message.startswith(b"."):
        message = b"." + message
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message + b".\r\n"


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """What a session needs; the password is read from the environment when connecting."""

    host: str
    port: int
    security: str
    username: str
    password_env: str
    timeout: float


class SmtpSession:
    """One SMTP connection, opened on first use and reopened after it breaks."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        where = f"{s.host}:{s.port}"
        password = ""
        if s.username:
            password = os.environ.get(s.password_env, "")
            if not password:
                raise TransportDown(
                    f"[email.smtp] username is set but ${s.password_env} is empty; "
                    "export the SMTP password in that environment variable"
                )
        smtp: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise TransportDown(
                        f"SMTP server {where} does not offer STARTTLS; set [email.smtp] "
                        "security = 'tls' (implicit TLS, usually port 465) or 'none'"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, password)
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(smtp)
            raise TransportDown(
                f"SMTP login to {where} as {s.username!r} failed: "
                f"{describe(exc.smtp_code, exc.smtp_error)}"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            _quietly_close(smtp)
            raise TransportDown(f"TLS certificate of {where} not trusted: {exc}") from None
        except TransportDown:
            _quietly_close(smtp)
            raise
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            # Reached, but it hung up or greeted with 421: busy or restarting, try again.
            _quietly_close(smtp)
            raise ConnectionLost(
                f"cannot connect to {where}: {exc or type(exc).__name__}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(smtp)
            raise unreachable(s, exc) from None
        self._smtp = smtp
        return smtp

    def prepare(self) -> None:
        """Connect (EHLO, STARTTLS, AUTH) unless a connection is already open."""
        if self._smtp is None:
            self._connect()

    def send(self, sender: str, recipient: str, message: bytes, *, claim: Claim) -> str:
        """One SMTP transaction; returns the server's final reply (often its queue id).

        ``claim`` runs once the server has accepted MAIL and RCPT and DATA is on its way (its
        commit overlaps the server's answer), always before the body: if it says no, the
        connection is dropped before the body, so the server never gets a message."""
        smtp = self._smtp or self._connect()
        utf8 = not (sender.isascii() and recipient.isascii())
        try:
            if utf8:
                code, reply = smtp.mail(sender, ["SMTPUTF8"])
            else:
                smtp.putcmd("mail", f"FROM:{envelope_address(sender)}")
                code, reply = smtp.getreply()
            if code != 250:
                failure = self._refused(code, reply)
                if 500 <= code < 600:
                    raise TransportDown(
                        f"the SMTP server refuses the sender {sender}: {describe(code, reply)}; "
                        "check [email] from"
                    )
                raise failure
            smtp.putcmd("rcpt", f"TO:{envelope_address(recipient)}")
            code, reply = smtp.getreply()
            if code not in (250, 251):
                raise self._refused(code, reply)
            smtp.putcmd("data")
            # The claim's commit overlaps the server's answer to DATA. A refusal of DATA
            # is recorded against the claimed row as any other refusal (the engine claims
            # refused rows to record them); a row someone else has is never sent.
            claimed = claim()
            if not claimed:
                self._drop()  # before the body, hanging up withdraws the message
                raise NotClaimed("not claimed")
            code, reply = smtp.getreply()
            if code != 354:
                raise self._refused(code, reply)
            payload = message.payload if isinstance(message, WireMessage) else wire_format(message)
        except smtplib.SMTPNotSupportedError:
            raise PermanentFailure(
                f"the SMTP server cannot take the internationalised address {recipient} "
                "(no SMTPUTF8)"
            ) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise ConnectionLost(f"connection lost before the message was sent: {exc}") from None
        try:
            smtp.send(payload)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # sendall() failed, so the terminating dot never left: the server has no message.
            self._drop()
            raise ConnectionLost(f"connection lost while sending the message: {exc}") from None
        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise UncertainDelivery(
                f"connection lost after the message was sent, before the server's answer: {exc}"
            ) from None
        if code != 250:
            raise self._refused(code, reply, reset=False)  # the transaction is over anyway
        return describe(code, reply)

    def _refused(self, code: int, reply: bytes, *, reset: bool = True) -> TransportFailure:
        """What a refusal means, with the connection left ready for the next transaction.

        421 is the server closing the channel (busy, shutting down), not a verdict on this
        recipient: like a lost connection it counts no attempt, so a server that answers 421
        to everything for hours fails nobody (the message was refused, so a retry is safe).
        Any other code is the reply's verdict, after an RSET that clears the transaction.
        """
        if code == 421 or self._smtp is None:
            self._drop()
            if code == 421:
                return ConnectionLost(
                    f"the SMTP server is closing the connection: {describe(code, reply)}"
                )
        elif reset:
            try:
                self._smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
        return refusal(code, reply)

    def _drop(self) -> None:
        _quietly_close(self._smtp)
        self._smtp = None

    def close(self) -> None:
        """Say QUIT if the connection is still up."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            _quietly_close(smtp)


def unreachable(s: SmtpSettings, exc: BaseException) -> Unreachable | ConnectionLost:
    """Why connecting failed, in one line naming ``host:port`` and the setting to check."""
    where = f"{s.host}:{s.port}"
    start = f"cannot connect to the SMTP server {where}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.strerror or str(exc)
        return Unreachable(
            f"{start}: TLS failed ({reason}); check [email.smtp] security and port: "
            "'tls' is TLS from the start (usually port 465), 'starttls' upgrades a plain "
            "connection (usually 587), 'none' is plain (usually 25)"
        )
    if isinstance(exc, socket.gaierror):
        return Unreachable(
            f"{start}: host {s.host!r} not found ({exc.strerror}); check [email.smtp] host"
        )
    if isinstance(exc, ConnectionRefusedError):
        return Unreachable(
            f"{start}: connection refused; check that the server is running and "
            "[email.smtp] host and port"
        )
    if isinstance(exc, TimeoutError):
        return Unreachable(
            f"{start}: no answer within {s.timeout:g} s; check [email.smtp] host and port, "
            "and any firewall on the way"
        )
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionResetError):
        return Unreachable(
            f"{start}: {exc.strerror or exc}; check [email.smtp] host and port and the network"
        )
    return ConnectionLost(f"{start}: {exc or type(exc).__name__}")


def _quietly_close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass


class SmtpTransport(PooledTransport[SmtpSettings]):
    """Sends through an SMTP server with ``sessions`` parallel connections."""

    name = "smtp"

    @classmethod
    def from_config(cls, smtp: SmtpConfig) -> SmtpTransport:
        """Built from ``[email.smtp]``."""
        settings = SmtpSettings(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=smtp.username,
            password_env=smtp.password_env,
            timeout=smtp.timeout,
        )
        return cls(settings, sessions=smtp.connections, rate=smtp.rate)

    def open(self) -> SmtpSession:
        """A session; it connects on its first message."""
        return SmtpSession(self.settings)
