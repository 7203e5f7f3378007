"""The exception hierarchy: every user-facing failure is a SyndicateError with a pointed message."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input file, printed as ``path:line: message``."""

    path: PurePath | str
    line: int | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        prefix = "warning: " if self.warning else ""
        return f"{where}: {prefix}{self.message}"


class SyndicateError(Exception):
    """Base of every error the CLI reports as a clean message instead of a traceback."""

    exit_code = 1


class ProblemsError(SyndicateError):
    """Several problems found at once; the message lists all of them, one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(ProblemsError):
    """config.toml is missing, malformed or holds a wrong value."""

    @classmethod
    def single(cls, path: PurePath | str, line: int | None, message: str) -> ConfigError:
        """One config problem as an error."""
        return cls([Problem(path, line, message)])


class ContentError(ProblemsError):
    """One or more articles cannot be read."""


class IngestError(ProblemsError):
    """One or more sources of ``syndicate import`` could not be imported (one line each)."""


class TemplateError(SyndicateError):
    """A template (Jinja2 or MJML) failed; the message names the template file and line."""


class ExportError(SyndicateError):
    """An exporter failed or a plugin could not be loaded."""


class DeliveryError(SyndicateError):
    """Sending failed in a way the run cannot continue from."""


class StateError(SyndicateError):
    """The state database is unusable (newer schema, corrupt file, locked too long)."""


class UsageError(SyndicateError):
    """A command was asked for something impossible (bad WHEN, unknown slug, ...)."""


# --- failures of the machine rather than of the input ----------------------------------------
# Failures of the machine rather than of the input: a full disk, a read-only mount, a file
# without permission, a damaged state database.
#
# They already fail safe (output is written to temp files and renamed, state changes are
# transactions), so what the operator needs is one line naming the file and what to do, not a
# traceback: ``explain`` turns such an exception into a ``SyndicateError`` with that line, and
# ``naming`` attaches the file's name to an ``OSError`` raised by a write on an open file
# descriptor (``write()``, ``fsync()``), which carries none.


class StorageError(SyndicateError):
    """A file could not be written or read for a reason outside syndicate (space, mounts,
    permissions); the message names it and what to check."""


_OS_ADVICE = {
    errno.ENOSPC: "no space left on the device; free some space and run again",
    errno.EDQUOT: "disk quota exceeded; free some space or raise the quota and run again",
    errno.EROFS: (
        "read-only file system; remount it read-write, or point the setting that names "
        "this path at a writable folder"
    ),
    errno.EACCES: (
        "permission denied; check the owner and mode of the file and its folder, and which "
        "user runs syndicate"
    ),
    errno.EPERM: (
        "operation not permitted; check the owner and mode of the file and its folder, and "
        "which user runs syndicate"
    ),
    errno.EFBIG: "file too large for this system's limits; check `ulimit -f`",
}

# SQLite result codes (sqlite3.Error.sqlite_errorname) and what to do about each.
_DB_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_DB_ADVICE = {
    "SQLITE_FULL": "the disk is full; free some space and run again",
    "SQLITE_READONLY": (
        "it cannot be written (read-only file or mount); check the owner and mode of the file "
        "and its folder, and which user runs syndicate"
    ),
    "SQLITE_CANTOPEN": (
        "it cannot be opened; check that its folder exists and is writable by the user that "
        "runs syndicate"
    ),
    "SQLITE_IOERR": "the disk failed to read or write it; check free space and the disk",
    "SQLITE_PERM": "permission denied; check the owner and mode of the file and its folder",
}


@contextmanager
def naming(path: Path | str) -> Iterator[None]:
    """Within the block, an OSError without a file name gets ``path`` as its file name."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(path)
        raise


def os_error(exc: OSError) -> StorageError | None:
    """``PATH: no space left on the device; ...`` for the errors a person must fix, else None."""
    advice = _OS_ADVICE.get(exc.errno or 0)
    if advice is None:
        return None
    where = _where(exc.filename)
    also = f" (and {exc.filename2})" if exc.filename2 is not None else ""
    return StorageError(f"{where}{also}: {advice}")


def _where(filename: object) -> str:
    """The file to name: a writer's temp file (``.atom.xml.k3j2.tmp``) is named by its folder,
    the place the operator has to look at."""
    if filename is None:
        return "a file"
    path = Path(os.fsdecode(filename) if isinstance(filename, str | bytes) else str(filename))
    if path.name.startswith(".") and path.name.endswith(".tmp"):
        return f"{path.parent}{os.sep} (writing a temp file in it)"
    return str(path)


def db_error(exc: sqlite3.Error, path: Path | str) -> StateError | None:
    """``PATH: the state database is damaged ...`` for an SQLite failure of the file at
    ``path``, or None when the error is not about the file (a bug is still a traceback)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    code = name.split("_")[0:2]
    base = "_".join(code)  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    if base in _DB_DAMAGED or "malformed" in str(exc) or "not a database" in str(exc):
        return StateError(
            f"{path}: the state database is damaged ({exc}); restore it from your latest "
            "backup (stop cron first), or move it aside to start an empty one (subscribers "
            "and the send history are then lost)"
        )
    if base in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return StateError(
            f"{path}: the state database stayed locked by another process ({exc}); "
            "run again when it has finished"
        )
    advice = _DB_ADVICE.get(base)
    if advice is None:
        return None
    return StateError(f"{path}: {advice} ({exc})")


def explain(exc: BaseException, state_db: Path | None) -> SyndicateError | None:
    """The one-line error for a machine failure, or None when ``exc`` is something else.

    An SQLite error that reaches the CLI comes from the state database (the build cache
    handles its own by rebuilding), so it is named by ``state_db`` when that is known.
    """
    if isinstance(exc, OSError):
        return os_error(exc)
    if isinstance(exc, sqlite3.Error):
        return db_error(exc, state_db if state_db is not None else "the state database")
    return None
