"""The start-up stamp: lets ``syndicate build`` say "nothing changed" before it imports the core.

A no-op build (cron, every minute) already stops early (``pipeline._unchanged``), but only
after pydantic has validated the config and the build machinery is imported: ~0.25 s of a
0.35 s run. When such a no-op finishes, the CLI writes a stamp (``build-stamp`` beside the
build cache) holding everything it depended on, and the next ``syndicate build`` checks it
right after reading argv, with the standard library only:

- a digest (``key``) of what shapes the output besides the articles: the config file's bytes
  and absolute path, the working directory, ``$HOME`` (``~`` in config paths), the ``--out``
  given, syndicate's version and the stat of every file of the package, the interpreter, the
  bytes of every template (the publication's and the built-in ones), and the stat of every
  ``sys.path`` folder (installing or removing a distribution, such as an exporter plugin,
  changes its folder);
- a digest of the content files' paths, sizes and mtimes, as the build's own scan saw them
  (``content/walk.py`` walks for both, so the two see the same files);
- the window of time in which the same articles are visible (an embargo ending, a
  future-dated article becoming due, ends it);
- the stat of every output file as the build cache recorded it after writing, of the output
  folders, the work folder's manifest and temp folder, the build cache itself, and the absence
  of a state database (with one, the build also writes the newsletter archive: not covered);
- the lines the no-op printed, which are printed again (with this run's seconds).

Anything unequal, unreadable or missing means "not sure": the normal build runs, and it
removes the stamp first, so a stamp never outlives the state it was written for. Everything
recorded was taken before or while the no-op ran (the key before the config was loaded, the
stats by the build's scan, the outputs' as the cache recorded them), so a change made while it
ran shows as a difference next time: a stamp can be stale, never wrong.

Only the standard library is imported here (and ``syndicate.__version__``): that is the point.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import time
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from .. import __version__
from ..content.walk import walk_content

FORMAT = 1  # bump whenever the stamp's layout or meaning changes
STAMP_NAME = "build-stamp"
# The state database's default ([state] db; ``config.sections.StateConfig``, tested equal):
# the stamp lives in its folder, found here without validating the config.
DEFAULT_STATE_DB = "state/syndicate.db"
# Content files changed this recently may change again without a visible stat change (the
# build cache's RACY_NS): no stamp is written while one is that fresh.
RACY_NS = 2_000_000_000
# (path, size, mtime_ns), or (path, -1, -1) for "must not exist"
Check = tuple[str, int, int]
_ABSENT = (-1, -1)
_T = TypeVar("_T")


class Replay(NamedTuple):
    """What a confirmed no-op prints: warnings (stderr), then the summary around its seconds."""

    warnings: tuple[str, ...]
    before_seconds: str
    after_seconds: str


def stamp_file(state_db: Path) -> Path:
    """Where the stamp lives: beside the build cache, in the state database's folder."""
    return state_db.parent / STAMP_NAME


def config_key(config_path: Path, out: str | None) -> bytes | None:
    """The digest of everything but the articles that a build's output depends on (see the
    module docstring), or None if the config cannot be read."""
    try:
        text = config_path.read_bytes()
    except OSError:
        return None
    return _key(config_path.absolute(), text, out)


def content_digest(entries: Sequence[Check]) -> bytes:
    """The digest of the content files' (relative path, size, mtime_ns), in scan order.

    One string for the whole list, hashed once (entry by entry cost a fifth of the check).
    Not ``marshal``: its bytes depend on how objects are shared, not only on their values."""
    text = "\n".join([f"{rel}\0{size}\0{mtime}" for rel, size, mtime in entries])
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=20).digest()


def racy(entries: Sequence[Check]) -> bool:
    """Whether a content file changed so recently that it may change again unseen."""
    recent = time.time_ns() - RACY_NS
    return any(mtime >= recent for _, _, mtime in entries)


def check(config_path: Path, out: str | None, *, now_ns: int | None = None) -> Replay | None:
    """The lines to print if a build now would find nothing to do, else None (run the build).

    Reads the config's bytes, the stamp and the stats it lists; imports nothing more."""
    if os.environ.get("SYNDICATE_DATABASE_URL"):
        return None  # a PostgreSQL state store: the archive may change; build normally
    try:
        text = config_path.read_bytes()
        state_db = _state_db(config_path.absolute(), text)
        if state_db is None:
            return None
        stamp = _load(stamp_file(state_db))
    except OSError:
        return None
    if stamp is None or stamp.key != _key(config_path.absolute(), text, out):
        return None
    now = (time.time_ns() if now_ns is None else now_ns) // 1000
    if not (stamp.lower <= now and (stamp.upper is None or now < stamp.upper)):
        return None  # a publication moment was crossed: the selection may differ
    if not _stats_match(stamp.checks):
        return None
    try:
        found = walk_content(stamp.content_dir)
    except OSError:
        return None
    entries = [("/".join(parts), size, mtime) for parts, _, size, mtime, _ in found]
    if content_digest(entries) != stamp.content:
        return None
    return stamp.replay


def record(
    key: bytes,
    content: Sequence[Check],
    *,
    state_db: Path,
    content_dir: Path,
    window: tuple[int | None, int | None],
    outputs: Iterable[Check],
    watched: Iterable[Path],
    replay: Replay,
) -> bool:
    """Write the stamp of a build that found nothing to do: ``key`` taken before it loaded the
    config, ``content`` the stats its scan found, ``outputs`` as the build cache recorded them,
    ``watched`` the files and folders whose stat must stay as it is now (or stay absent).
    False if not written."""
    if racy(content):
        return False
    lower, upper = window
    checks = [*outputs, *(_stat(path) for path in watched)]
    data = (
        FORMAT,
        key,
        content_digest(content),
        str(content_dir),
        -(2**62) if lower is None else lower,
        upper,
        tuple(checks),
        replay.warnings,
        replay.before_seconds,
        replay.after_seconds,
    )
    path = stamp_file(state_db)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(marshal.dumps(data))
        temp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()
        return False
    return True


def forget(state_db: Path) -> None:
    """Remove the stamp: a build is about to change what it described."""
    with contextlib.suppress(OSError):
        stamp_file(state_db).unlink()


# --- helpers ---------------------------------------------------------------------------------


def _state_db(config_path: Path, text: bytes) -> Path | None:
    """[state] db resolved as ``Config.state_db`` does, from the TOML alone (None if unsure)."""
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    state = data.get("state", {})
    value = state.get("db", DEFAULT_STATE_DB) if isinstance(state, dict) else None
    if not isinstance(value, str) or not value or state.get("url"):
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else config_path.parent / path


def _key(config_path: Path, text: bytes, out: str | None) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    head = (
        FORMAT,
        __version__,
        sys.version,
        sys.executable,
        str(config_path),
        str(Path.cwd()),
        os.environ.get("HOME", ""),
        out,
    )
    digest.update(repr(head).encode())
    digest.update(b"\0")
    digest.update(text)
    package = Path(__file__).resolve().parent.parent
    digest.update(repr(_tree_stats(package)).encode())
    builtin = package / "templates"
    if not builtin.is_dir():
        builtin = package.parent / "templates"  # a source checkout, as the build cache finds it
    for folder in (config_path.parent / "templates", builtin):
        digest.update(f"\0templates {folder}\0".encode())
        for rel, path in _files(folder):
            digest.update(rel.encode() + b"\0")
            try:
                digest.update(Path(path).read_bytes())
            except OSError:
                digest.update(b"\0unreadable\0")
    for entry in sys.path:
        digest.update(repr(_stat(Path(entry or "."))).encode())
    return digest.digest()


def _files(folder: Path) -> list[tuple[str, str]]:
    """Every file below ``folder`` as (relative path, path), sorted; none if it is missing."""
    found: list[tuple[str, str]] = []

    def walk(directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir():
                    if entry.name != "__pycache__":
                        walk(entry.path, f"{prefix}{entry.name}/")
                else:
                    found.append((prefix + entry.name, entry.path))

    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        walk(str(folder), "")
    found.sort()
    return found


def _tree_stats(folder: Path) -> list[Check]:
    """(relative path, size, mtime_ns) of every file of the package (bytecode caches aside)."""
    stats: list[Check] = []
    for rel, path in _files(folder):
        try:
            st = Path(path).stat()
        except OSError:
            stats.append((rel, *_ABSENT))
            continue
        stats.append((rel, st.st_size, st.st_mtime_ns))
    return stats


def _stat(path: Path) -> Check:
    try:
        st = path.stat()
    except OSError:
        return (str(path), *_ABSENT)
    return (str(path), st.st_size, st.st_mtime_ns)


def _stats_match(checks: Iterable[Check]) -> bool:
    for path, size, mtime in checks:
        try:
            st = Path(path).stat()
        except OSError:
            if (size, mtime) != _ABSENT:
                return False
            continue
        if st.st_size != size or st.st_mtime_ns != mtime:
            return False
    return True


class _Stamp(NamedTuple):
    key: bytes
    content: bytes
    content_dir: str
    lower: int  # microseconds since the epoch
    upper: int | None
    checks: tuple[Check, ...]
    replay: Replay


def _load(path: Path) -> _Stamp | None:
    """The stamp, or None if it is missing, damaged or of another format."""
    try:
        data = marshal.loads(path.read_bytes())
    except (FileNotFoundError, ValueError, EOFError, TypeError):
        return None
    try:
        (fmt, key, content, content_dir, lower, upper, checks, warnings, before, after) = data
        if fmt != FORMAT:
            return None
        stamp = _Stamp(
            key=_typed(key, bytes),
            content=_typed(content, bytes),
            content_dir=_typed(content_dir, str),
            lower=_typed(lower, int),
            upper=None if upper is None else _typed(upper, int),
            checks=tuple(
                (_typed(p, str), _typed(size, int), _typed(mtime, int)) for p, size, mtime in checks
            ),
            replay=Replay(
                tuple(_typed(line, str) for line in warnings),
                _typed(before, str),
                _typed(after, str),
            ),
        )
    except (TypeError, ValueError):
        return None  # not the shape this version writes
    return stamp


def _typed(value: object, kind: type[_T]) -> _T:
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}")
    return value
