"""Test hook: make ``publish`` SIGKILL itself at a named point, to prove crash recovery.

``SYNDICATE_CRASH_AT=NAME`` or ``NAME:N`` (``build:1``, ``send:3``) kills the process with
SIGKILL, the one signal nothing can catch, at that point: the same as a power cut or the OOM
killer as far as files and the state database are concerned. Unset, as in production, every
check is one environment lookup and nothing else changes (``crash_transport`` returns the
transport it was given).

Points: ``locked`` (lock taken), ``build:N`` (N-th article rendered), ``staged:N``
(N-th feed staged in a temp file, while build workers still serialise others; ``build`` too), ``built`` (feeds written),
``announced`` (deploy and pings done), ``planned`` (period recorded), ``rendered`` (edition
rendered), ``send:N`` (N-th message handed to the transport, before the ledger records it: the
worst moment for duplicates; also in ``email --correction SLUG --send``), ``sent`` (send run finished, before the period is closed), ``prune:N`` (the N-th edition's
ledger rows folded into totals, before that transaction commits).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .delivery.transports import Claim, Session, Transport

CRASH_ENV = "SYNDICATE_CRASH_AT"


def crash_point(name: str, count: int | None = None) -> None:
    """SIGKILL this process if $SYNDICATE_CRASH_AT names this point (and ``count`` reached N)."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point == name and (not nth or (count is not None and count >= int(nth))):
        os.kill(os.getpid(), signal.SIGKILL)


def crash_transport(inner: Transport) -> Transport:
    """``inner`` wrapped to die after the N-th hand-over if $SYNDICATE_CRASH_AT asks for
    ``send:N``; else ``inner`` itself."""
    if not os.environ.get(CRASH_ENV, "").startswith("send:"):
        return inner
    return _CrashingTransport(inner)


class _CrashingTransport:
    """Counts messages handed over across all sessions and calls ``crash_point("send", n)``."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.name = inner.name
        self.sessions = inner.sessions
        self.rate = inner.rate
        self._count = 0
        self._lock = threading.Lock()

    def open(self) -> Session:
        return _CrashingSession(self, self.inner.open())

    def handed_over(self) -> None:
        with self._lock:
            self._count += 1
            crash_point("send", self._count)


class _CrashingSession:
    def __init__(self, owner: _CrashingTransport, inner: Session) -> None:
        self.owner = owner
        self.inner = inner

    def prepare(self) -> None:
        self.inner.prepare()

    def send(self, sender: str, recipient: str, message: bytes, *, claim: Claim) -> str:
        reply = self.inner.send(sender, recipient, message, claim=claim)
        self.owner.handed_over()
        return reply

    def close(self) -> None:
        self.inner.close()
