"""Transports: the one small interface every way of handing over a message implements.

A ``Transport`` opens ``Session`` objects (an SMTP connection, an SES client, a Maildir);
the send run gives each worker thread its own session. ``Session.send`` either returns (the
message was accepted; the return value is the provider's id or reply) or raises one of the
outcome exceptions below, which tell the ledger what happened:

==================  ===========================================  ==================
exception           meaning                                      ledger row becomes
==================  ===========================================  ==================
TemporaryFailure    refused for now (4xx, throttling)            deferred
PermanentFailure    refused for good (5xx); ``bounce`` on 5.1.x   failed
ConnectionLost      nothing was handed over; reconnect, retry    queued
Unreachable         cannot connect (refused, unknown host, TLS)  queued; at a run's
                                                                 first connection,
                                                                 the run stops
UncertainDelivery   lost after the hand-off began (after DATA)   stays "sending"
TransportDown       cannot send at all (login, sender refused)   run stops
NotClaimed          the ledger gave the row to nobody: not sent  unchanged
==================  ===========================================  ==================

``send`` calls its ``claim`` argument at the last moment before the message itself goes out
(for SMTP: after MAIL and RCPT were accepted and DATA was sent, its commit overlapping
the server's answer; always before the body), which marks the ledger
row "sending". Anything that goes wrong before it leaves the row as it was, so a crash during
the envelope's round trips costs a retry, not an "uncertain" recipient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from ...errors import DeliveryError


class WireMessage(bytes):
    """Message bytes that come with their SMTP DATA payload (CRLF line ends, leading dots
    doubled, the terminating dot), made while the message was spliced together: most of a
    message is the same for every recipient, so its dots are doubled once per send, not
    found again in every copy (``smtp.wire_format`` costs ~100 us on a 45 kB message). The
    SMTP session sends ``payload``; every other transport sees plain bytes."""

    payload: bytes


class TransportFailure(Exception):
    """Base of the per-message outcomes; ``reason`` is what the server or library said."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(TransportFailure):
    """Try again later: SMTP 4xx, an API's throttling answer."""


class PermanentFailure(TransportFailure):
    """Refused for good: SMTP 5xx. ``bounce`` marks a bad address (5.1.x)."""

    def __init__(self, reason: str, *, bounce: bool = False) -> None:
        super().__init__(reason)
        self.bounce = bounce


class ConnectionLost(TransportFailure):
    """The connection broke before the message was handed over: safe to retry at once."""


class Unreachable(ConnectionLost):
    """No connection could be made at all: refused, unknown host, no answer, TLS failed.

    After the server was reached once in a run this is an outage, retried like any lost
    connection; at the run's first connection it is almost always a wrong setting or a dead
    server, which the retries' minutes of waiting cannot cure, so the run stops at once.
    ``reason`` names the server and what to check.
    """


class UncertainDelivery(TransportFailure):
    """The connection broke after the message was handed over: it may or may not be sent."""


class NotClaimed(TransportFailure):
    """``claim`` said no (another run has the row, or the subscriber left): nothing was sent."""


Claim = Callable[[], bool]  # marks the ledger row "sending"; False: do not send


def unledgered() -> bool:
    """The ``claim`` of a message no ledger tracks (a test copy, an opt-in confirmation)."""
    return True


def claimed_or_stop(claim: Claim) -> None:
    """Call ``claim``; raise NotClaimed if the ledger says not to send."""
    if not claim():
        raise NotClaimed("not claimed")


class TransportDown(DeliveryError):
    """The transport cannot send anything (bad login, sender refused, no boto3): stop."""


class Session(Protocol):
    """One connection's worth of sending; used by one thread at a time."""

    def prepare(self) -> None:
        """Connect now if not connected, so no ledger row is 'sending' while we connect.

        Raises ConnectionLost (try again) or TransportDown (give up).
        """
        ...

    def send(self, sender: str, recipient: str, message: bytes, *, claim: Claim) -> str:
        """Hand over one message for one envelope recipient; returns the provider's id.

        ``claim`` is called once, right before the message itself is handed over; if it
        returns False nothing is sent and NotClaimed is raised.
        """
        ...

    def close(self) -> None:
        """Release the connection (quietly: the run is over or the link is already gone)."""
        ...


class Transport(Protocol):
    """A way of sending; ``sessions`` is how many may be used at once, ``rate`` msgs/s."""

    name: str
    sessions: int
    rate: float

    def open(self) -> Session:
        """A new session; connecting may happen lazily on the first ``send``."""
        ...


SettingsT = TypeVar("SettingsT")


class PooledTransport(Generic[SettingsT]):
    """A transport whose sessions are parallel connections sharing one ``settings``.

    The send run opens ``sessions`` of them (one per worker thread) and paces all of them
    together to ``rate`` messages per second (0: as fast as the server takes them).
    """

    name: str  # set by each subclass: "smtp", "ses"

    def __init__(self, settings: SettingsT, *, sessions: int = 1, rate: float = 0.0) -> None:
        self.settings = settings
        self.sessions = sessions
        self.rate = rate
