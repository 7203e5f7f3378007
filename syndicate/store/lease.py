"""Leases: the exclusive right to make one kind of decision, held for a short while.

Several senders may work on one edition at once (``delivery.claims``), but some decisions must
still be taken by one process at a time: choosing and recording an edition, moving its state
(``sending``, ``sent``), publish's schedule decisions. ``Lease`` is that promise in one small
interface. Today it is a file lock next to the SQLite database (``FileLease``, the kernel
drops it when its holder dies); a store shared by several hosts replaces it with a database
lease with the same interface, chosen in ``edition_lease`` and ``schedule_lease``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from .lock import LockBusy, lock_path, run_lock

__all__ = ["FileLease", "Lease", "LeaseBusy", "edition_lease", "schedule_lease"]

LeaseBusy = LockBusy  # another holder has it; ``holder`` says who, as far as is known


class Lease(Protocol):
    """One named decision right; ``hold`` raises LeaseBusy when it cannot be had."""

    def hold(
        self, *, wait: bool = False, timeout: float | None = None
    ) -> AbstractContextManager[object]:
        """Hold the lease for the block (waiting up to ``timeout`` seconds with ``wait``)."""
        ...


class FileLease:
    """A lease as an ``flock`` on a file (``store.lock``): one host, any number of processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def hold(
        self, *, wait: bool = False, timeout: float | None = None
    ) -> AbstractContextManager[object]:
        """The file lock for the block; LeaseBusy if taken (after ``timeout`` with ``wait``)."""
        return run_lock(self.path, wait=wait, timeout=timeout)


def edition_lease(state_db: Path) -> Lease:
    """Held while an edition's state moves (``sending``, ``sent``) or a notice is sent;
    never while an edition's messages go out, so several senders can share one edition."""
    return FileLease(state_db.with_name(state_db.name + ".send.lock"))


def schedule_lease(state_db: Path) -> Lease:
    """Held for a whole ``publish`` run: its schedule decisions (is an edition due, which
    one) are made by one run at a time, so two cron runs never both start an edition."""
    return FileLease(lock_path(state_db))
