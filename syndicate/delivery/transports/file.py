"""The ``file`` transport: every message goes into a Maildir ``outbox/`` (the default).

It needs no server, so a new user sees real messages at once, any mail client can open the
folder, and tests can read exactly what would have been sent. Maildir writes each message to
``tmp/`` and renames it into ``new/``, so a crash never leaves half a message behind.
"""

from __future__ import annotations

import mailbox
from pathlib import Path

from . import Claim, TransportDown, claimed_or_stop


class FileSession:
    """Adds messages to one Maildir."""

    def __init__(self, outbox: Path) -> None:
        try:
            self._box = mailbox.Maildir(outbox, factory=None, create=True)
        except OSError as exc:
            raise TransportDown(f"cannot open outbox {outbox}: {exc}") from None
        self._outbox = outbox

    def prepare(self) -> None:
        """The Maildir is opened in the constructor: nothing to do."""

    def send(self, sender: str, recipient: str, message: bytes, *, claim: Claim) -> str:
        """Store the message; returns its Maildir key."""
        claimed_or_stop(claim)
        try:
            return str(self._box.add(message))
        except OSError as exc:
            raise TransportDown(f"cannot write to outbox {self._outbox}: {exc}") from None

    def close(self) -> None:
        """Nothing to release: every message is already on disk."""


class FileTransport:
    """Writes into ``outbox`` (a Maildir: ``cur/``, ``new/``, ``tmp/``)."""

    name = "file"
    sessions = 1
    rate = 0.0

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def open(self) -> FileSession:
        """A session writing into the outbox, created on first use."""
        return FileSession(self.outbox)
