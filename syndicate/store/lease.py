"""Leases: the exclusive right to make one kind of decision, held for a short while.

Several senders may work on one edition at once (``delivery.claims``), but some decisions must
still be taken by one process at a time: choosing and recording an edition, moving its state
(``sending``, ``sent``). ``Lease`` is that promise in one small interface, and
``edition_lease`` picks its kind from where the state lives: a file lock next to a SQLite
database (``store.lock``: the kernel drops it when its holder dies), or a PostgreSQL session
advisory lock for a state shared by several hosts (``store.shared_lock``: the server drops it
when the holder's connection ends). ``publish``'s run lock (its schedule decisions) is the
same kind of lock, taken through ``shared_lock.state_lock`` directly.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from .lock import LockBusy
from .shared_lock import state_lock

__all__ = ["Lease", "LeaseBusy", "StateLease", "edition_lease"]

LeaseBusy = LockBusy  # another holder has it; ``holder`` says who, as far as is known


class Lease(Protocol):
    """One named decision right; ``hold`` raises LeaseBusy when it cannot be had."""

    def hold(
        self, *, wait: bool = False, timeout: float | None = None
    ) -> AbstractContextManager[object]:
        """Hold the lease for the block (waiting up to ``timeout`` seconds with ``wait``)."""
        ...


class StateLease:
    """A lease named by a lock file's path: that file's ``flock`` for a SQLite state, an
    advisory lock of the same name when ``target`` is a PostgreSQL URL."""

    def __init__(self, target: Path | str, path: Path) -> None:
        self.target = target
        self.path = path

    def hold(
        self, *, wait: bool = False, timeout: float | None = None
    ) -> AbstractContextManager[object]:
        """The lock for the block; LeaseBusy if taken (after ``timeout`` with ``wait``)."""
        return state_lock(self.target, self.path, wait=wait, timeout=timeout)


def edition_lease(target: Path | str, state_db: Path) -> Lease:
    """Held while an edition is chosen or its state moves (``sending``, ``sent``), and while
    a correction notice is sent; never while an edition's messages go out, so several
    senders can share one edition. ``target``: the state's file or URL."""
    return StateLease(target, state_db.with_name(state_db.name + ".send.lock"))
