"""The incremental-build cache: ``build-cache.sqlite`` next to the state database.

Why SQLite and not a pickle: a one-article edit updates a few rows in a transaction instead of
rewriting a file holding 100,000 records; a crash mid-write leaves the previous cache intact;
a damaged file raises ``sqlite3.DatabaseError`` rather than loading wrong data; and rows are
``marshal`` records, which, unlike pickle, run no code when read. The cache is disposable:
any doubt (version, config, templates, a damaged row or file) means it is emptied and the build
starts cold, so it can make a build faster but never make a feed wrong.

Tables: ``sources`` (per content file: stat key, content hash, front-matter record),
``rendered`` (per article input key: html and fallback summary), ``outputs`` (per output file:
digest of the inputs it was made from, and its size and mtime after writing).
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .. import __version__
from ..model import Correction
from .result import Notes

if TYPE_CHECKING:
    from ..content.sources import Source
    from ..errors import Problem

FORMAT = 3  # bump whenever a record's layout or meaning changes
FILENAME = "build-cache.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache_info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    rel TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha TEXT NOT NULL, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rendered (key TEXT PRIMARY KEY, html TEXT NOT NULL,
    summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (out TEXT PRIMARY KEY, scan TEXT NOT NULL,
    lower TEXT NOT NULL, upper TEXT NOT NULL, articles INTEGER NOT NULL, warnings BLOB NOT NULL,
    paths BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot_corrections (out TEXT PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outputs (out TEXT NOT NULL, path TEXT NOT NULL, digest TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, PRIMARY KEY (out, path));
"""
_TABLES = ("sources", "rendered", "outputs", "snapshots", "snapshot_corrections")
# The parts whose code shapes feed bytes (paths under the syndicate package).
OUTPUT_PARTS = ("__init__.py", "model.py", "files.py", "content", "text", "build", "exporters")


@dataclass(frozen=True, slots=True)
class CachedSource:
    """What the cache remembers of one content file."""

    size: int
    mtime_ns: int
    sha: str
    record: bytes


@dataclass(frozen=True, slots=True)
class CachedOutput:
    """What the cache remembers of one output file."""

    digest: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The outcome of the last successful build into one output folder.

    If the content files' stats hash to ``scan`` again and the clock has not crossed any
    article's publication moment (``lower <= now < upper``), the selection, every feed's inputs
    and the warnings are what they were, and the build only has to confirm its files on disk.
    """

    scan: str
    lower: datetime | None  # the latest moment an included article became visible
    upper: datetime | None  # the next moment a waiting (embargoed, future) article becomes visible
    articles: int
    warnings: tuple[tuple[str, str, int | None, str], ...]  # (kind, path, line, message)
    paths: tuple[str, ...]
    corrections: Notes = ()  # every article's correction notes, for the archive pages

    def covers(self, now: datetime) -> bool:
        """Whether the same articles are visible at ``now`` as at the snapshot's build."""
        return (self.lower is None or self.lower <= now) and (
            self.upper is None or now < self.upper
        )


def make_snapshot(
    scanned: str,
    sources: Sequence[Source],
    now: datetime,
    warnings: Sequence[Problem],
    paths: Sequence[PurePosixPath],
) -> Snapshot:
    """What a no-op rebuild needs to know to trust this build's output (see Snapshot)."""
    visible = [s.article.visible_from for s in sources if not s.article.draft]
    lower = max((v for v in visible if v <= now), default=None)
    upper = min((v for v in visible if v > now), default=None)
    kept: list[tuple[str, str, int | None, str]] = [
        ("content", source.stat.rel, line, message)
        for source in sources
        for line, message in source.warnings
    ]
    count = len(kept)
    kept += [("output", str(w.path), w.line, w.message) for w in warnings[count:]]
    published = sum(1 for v in visible if v <= now)
    return Snapshot(
        scanned, lower, upper, published, tuple(kept), tuple(map(str, paths)), notes_of(sources)
    )


def notes_of(sources: Iterable[Source]) -> Notes:
    """(article id, its corrections) for every article that has any, in source order."""
    return tuple((s.article.id, s.article.corrections) for s in sources if s.article.corrections)


def _encode_notes(notes: Notes) -> bytes:
    return marshal.dumps(
        tuple(
            (article_id, tuple((c.date.isoformat(), c.text, c.kind) for c in corrections))
            for article_id, corrections in notes
        )
    )


def _decode_notes(record: bytes) -> Notes:
    return tuple(
        (
            article_id,
            tuple(
                Correction(date=datetime.fromisoformat(when), text=text, kind=kind)
                for when, text, kind in corrections
            ),
        )
        for article_id, corrections in marshal.loads(record)
    )


def scan_digest(entries: Iterable[tuple[str, int, int]]) -> str:
    """A hash of every content file's (path, size, mtime_ns): equal means nothing was touched."""
    digest = hashlib.blake2b(digest_size=20)
    for rel, size, mtime_ns in entries:
        digest.update(f"{rel}\0{size}\0{mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_path(state_db: Path) -> Path:
    """Where the cache lives: the state database's folder."""
    return state_db.parent / FILENAME


def fingerprint(parts: Iterable[bytes], template_dirs: Sequence[Path]) -> str:
    """A hash of everything that shapes output besides the articles: version, cache format,
    config bytes, exporter names, every template file, and syndicate's own modules' stat."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"syndicate {__version__} cache {FORMAT}\0".encode())
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    for folder in template_dirs:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode() + b"\0")
                digest.update(path.read_bytes())
    # Development installs change code without changing the version: the stat of the modules
    # that shape feed bytes is a cheap proxy that keeps a stale cache from outliving an edit.
    package = Path(__file__).parent.parent
    for name in _output_modules(package):
        st = (package / name).stat()
        digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _output_modules(package: Path) -> list[str]:
    """Every module of ``OUTPUT_PARTS``, relative to the package, in a stable order."""
    names: list[str] = []
    for part in OUTPUT_PARTS:
        path = package / part
        if path.is_dir():
            names += sorted(p.relative_to(package).as_posix() for p in path.rglob("*.py"))
        elif path.is_file():
            names.append(part)
    return names


class BuildCache:
    """An open cache whose rows all belong to one fingerprint (else it was emptied)."""

    def __init__(self, conn: sqlite3.Connection, *, fresh: bool) -> None:
        self.conn = conn
        self.fresh = fresh  # True when the cache started empty (new, invalidated or damaged)

    @classmethod
    def open(cls, path: Path, key: str) -> BuildCache:
        """Open (or create) the cache for ``key``; a damaged or foreign file starts over."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return cls._open(path, key)
        except sqlite3.DatabaseError:
            # Not a database, or damaged: it only ever held derived data, so start over.
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return cls._open(path, key)

    @classmethod
    def _open(cls, path: Path, key: str) -> BuildCache:
        # A cold build saves its inputs on a thread while this one serialises feeds (one user
        # at a time: the build waits for that save before it touches the cache again).
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            # A rollback journal: a crash mid-write leaves the previous cache intact. Not WAL:
            # a cold build writes ~20 MB (records and rendered bodies) in one transaction, and
            # WAL writes it twice (log, then checkpoint), twice the CPU of the whole save.
            # Large pages suit the rendered bodies (a new file only; no effect on an old one).
            conn.execute("PRAGMA page_size=16384")
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM cache_info WHERE name = 'key'").fetchone()
            fresh = row is None or row[0] != key
            if fresh:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    for table in _TABLES:
                        conn.execute(f"DELETE FROM {table}")
                    conn.execute(
                        "INSERT OR REPLACE INTO cache_info (name, value) VALUES ('key', ?)", (key,)
                    )
        except BaseException:
            conn.close()
            raise
        return cls(conn, fresh=fresh)

    def close(self) -> None:
        """Close the connection (the cache stays on disk for the next build)."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def sources(self) -> dict[str, CachedSource]:
        """Every cached content file by its path relative to the content directory."""
        if self.fresh:
            return {}
        rows = self.conn.execute("SELECT rel, size, mtime_ns, sha, record FROM sources")
        return {
            rel: CachedSource(size, mtime, sha, bytes(rec)) for rel, size, mtime, sha, rec in rows
        }

    def rendered(self, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Cached (html, summary) for the given article input keys."""
        if self.fresh or not keys:
            return {}
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, html, summary in self.conn.execute(
                f"SELECT key, html, summary FROM rendered WHERE key IN ({marks})",
                chunk,
            ):
                found[key] = (html, summary)
        return found

    def outputs(self, out: str) -> dict[str, CachedOutput]:
        """What the last builds wrote under output folder ``out``, by relative path."""
        if self.fresh:
            return {}
        rows = self.conn.execute(
            "SELECT path, digest, size, mtime_ns FROM outputs WHERE out = ?", (out,)
        )
        return {path: CachedOutput(digest, size, mtime) for path, digest, size, mtime in rows}

    def snapshot(self, out: str) -> Snapshot | None:
        """The last successful build's snapshot for output folder ``out``, if any."""
        if self.fresh:
            return None
        row = self.conn.execute(
            "SELECT scan, lower, upper, articles, warnings, paths FROM snapshots WHERE out = ?",
            (out,),
        ).fetchone()
        if row is None:
            return None
        scan, lower, upper, articles, warnings, paths = row
        notes = self.conn.execute(
            "SELECT record FROM snapshot_corrections WHERE out = ?", (out,)
        ).fetchone()
        try:
            return Snapshot(
                scan,
                datetime.fromisoformat(lower) if lower else None,
                datetime.fromisoformat(upper) if upper else None,
                articles,
                tuple(marshal.loads(warnings)),
                tuple(marshal.loads(paths)),
                _decode_notes(notes[0]) if notes else (),
            )
        except (ValueError, TypeError, EOFError):
            return None  # damaged: the full path decides instead

    def save_snapshot(self, out: str, snapshot: Snapshot | None) -> None:
        """Remember (or, with None, forget) the last successful build into ``out``."""
        with self.conn:
            self.conn.execute("DELETE FROM snapshot_corrections WHERE out = ?", (out,))
            if snapshot is None:
                self.conn.execute("DELETE FROM snapshots WHERE out = ?", (out,))
                return
            if snapshot.corrections:
                self.conn.execute(
                    "INSERT INTO snapshot_corrections (out, record) VALUES (?, ?)",
                    (out, _encode_notes(snapshot.corrections)),
                )
            self.conn.execute(
                "INSERT OR REPLACE INTO snapshots"
                " (out, scan, lower, upper, articles, warnings, paths) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    out,
                    snapshot.scan,
                    snapshot.lower.isoformat() if snapshot.lower else "",
                    snapshot.upper.isoformat() if snapshot.upper else "",
                    snapshot.articles,
                    marshal.dumps(snapshot.warnings),
                    marshal.dumps(snapshot.paths),
                ),
            )

    def save(
        self,
        *,
        sources: Iterable[tuple[str, int, int, str, bytes]],
        removed: Iterable[str],
        rendered: Iterable[tuple[str, str, str]],
        keep_rendered: Iterable[str] | None,
        out: str,
        outputs: Iterable[tuple[str, str, int, int]],
    ) -> None:
        """Record one build's changes in a single transaction.

        ``keep_rendered`` (when given) names every rendered body still in use; others are
        dropped so the cache does not grow with every edit forever.
        """
        conn = self.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT OR REPLACE INTO sources (rel, size, mtime_ns, sha, record)"
                " VALUES (?, ?, ?, ?, ?)",
                sources,
            )
            conn.executemany("DELETE FROM sources WHERE rel = ?", ((rel,) for rel in removed))
            conn.executemany(
                "INSERT OR REPLACE INTO rendered (key, html, summary) VALUES (?, ?, ?)", rendered
            )
            if keep_rendered is not None:
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
                conn.execute("DELETE FROM keep")
                conn.executemany(
                    "INSERT OR IGNORE INTO keep (key) VALUES (?)", ((k,) for k in keep_rendered)
                )
                conn.execute("DELETE FROM rendered WHERE key NOT IN (SELECT key FROM keep)")
            conn.executemany(
                "INSERT OR REPLACE INTO outputs (out, path, digest, size, mtime_ns)"
                " VALUES (?, ?, ?, ?, ?)",
                ((out, path, digest, size, mtime) for path, digest, size, mtime in outputs),
            )
