"""One run at a time: an advisory ``flock`` on a file next to the state database.

``flock`` locks belong to the open file, so the kernel drops them when the process dies, however
it dies (SIGKILL, OOM killer, power cut): a killed run never leaves a lock that blocks the next
one, and there is no stale-lock guessing by PID or age. The file itself stays; its content (PID
and start time of the holder) is only for the "another run holds the lock" message.

The catch is ``fork``: a forked child shares the parent's open file, and with it the lock, so a
build worker that outlived a killed run would hold the lock for ever. Every forked child closes
the descriptors of the locks its parent holds at once (``os.register_at_fork``, before any of
the child's own code runs): only the process that took a lock ever holds it. ``holder_alive``
tells a caller when the lock file names a process that no longer exists (an outside process
inherited the lock, e.g. a worker of an older version).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..errors import StateError, naming
from ..files import pid_alive

POLL_SECONDS = 0.05
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_HELD: set[int] = set()  # descriptors of the locks this process holds (closed in a fork)


def _close_held_in_child() -> None:
    """In a freshly forked child: let go of the parent's locks (only the parent holds them).

    Closing the child's copy of the descriptor does not release the parent's lock (``flock``
    is released when the last descriptor of the open file closes, or by ``LOCK_UN``, which
    this must never call)."""
    for fd in _HELD:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_in_child)


class LockBusy(Exception):
    """Another process holds the lock; ``holder`` says who, as far as the lock file tells."""

    def __init__(self, path: Path, holder: str) -> None:
        self.path = path
        self.holder = holder
        super().__init__(f"another run holds the lock {path}" + (f" ({holder})" if holder else ""))

    @property
    def pid(self) -> int | None:
        """The holder's pid, as its lock file says (None if it does not say)."""
        match = re.match(r"pid (\d+)(?: on (\S+))?", self.holder)
        if match is None or (match.group(2) and match.group(2) != socket.gethostname()):
            return None  # another host's process (a PostgreSQL lock): not ours to look up
        return int(match.group(1))

    @property
    def holder_alive(self) -> bool:
        """False when the lock file names a process that is gone: then someone else (a
        leftover child of that process) holds the lock, and waiting will not help."""
        pid = self.pid
        return pid is None or pid_alive(pid)

    @property
    def since(self) -> datetime | None:
        """When the holder took the lock, as its lock file says (None if it does not say)."""
        _, _, stamp = self.holder.partition(" since ")
        try:
            return datetime.strptime(stamp.strip(), STAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return None


def lock_path(state_db: Path) -> Path:
    """``state/syndicate.db`` -> ``state/syndicate.db.lock``."""
    return state_db.with_name(state_db.name + ".lock")


@contextmanager
def run_lock(path: Path, *, wait: bool = False, timeout: float | None = None) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` for the block; raise LockBusy if it is taken.

    With ``wait`` the call blocks until the holder finishes (or ``timeout`` seconds pass, then
    LockBusy). The lock is released when the block ends or the process dies.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StateError(f"cannot open lock file {path}: {exc.strerror}") from None
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise StateError(f"cannot lock {path}: {exc.strerror}") from None
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                raise LockBusy(path, _holder(fd))
            if deadline is None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # sleep in the kernel until it is free
                break
            time.sleep(POLL_SECONDS)
        with naming(path):  # a full disk fails here first: name the file
            _describe_holder(fd)
        _HELD.add(fd)
        yield path
    finally:
        # Closing the descriptor releases the flock; the file stays for the next run.
        _HELD.discard(fd)
        os.close(fd)


def _describe_holder(fd: int) -> None:
    stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
    note = f"pid {os.getpid()} since {stamp}\n".encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, note, 0)


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""

    return True
