"""Telling the world about changed output: deploy the folder, then ping the WebSub hub.

What counts as changed is decided by looking at the output folder itself, not at what this run
wrote: ``write_if_changed`` keeps the size and mtime of every unchanged file, so a listing of
(path, size, mtime) says exactly which files changed since the last deploy and since the last
ping. That makes the announcement independent of who wrote the files (this run's build, a
manual ``syndicate build``, the newsletter archive written by a send) and of crashes: a run
killed after writing and before announcing leaves a difference that the next run announces.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..config import Config
from ..store.database import Connection, ensure_schema
from . import websub
from .deploy import deploy_needed, run_deploy

if TYPE_CHECKING:
    from .run import PublishReport

FEED_NAMES = frozenset({"rss.xml", "atom.xml", "feed.json"})
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE announced_files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL
    )
    """,
)

Stamp = tuple[int, int]  # (size, mtime_ns)


@dataclass(frozen=True, slots=True)
class Listing:
    """Every file under the output folder (relative POSIX path -> size and mtime)."""

    files: dict[str, Stamp]

    def signature(self, command: str) -> str:
        """A digest of the listing and the deploy command: equal means nothing to deploy."""
        digest = hashlib.sha256(command.encode("utf-8") + b"\0")
        for path in sorted(self.files):
            size, mtime = self.files[path]
            digest.update(f"{path}\0{size}\0{mtime}\n".encode())
        return digest.hexdigest()


def scan(out_dir: Path) -> Listing:
    """List the output folder; names starting with '.' (temp files, dotfiles) are left out."""
    files: dict[str, Stamp] = {}
    if not out_dir.is_dir():
        return Listing(files)
    for folder, dirs, names in os.walk(out_dir):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        base = Path(folder)
        for name in names:
            if name.startswith("."):
                continue
            try:
                stat = (base / name).stat()
            except FileNotFoundError:
                continue
            rel = (base / name).relative_to(out_dir).as_posix()
            files[rel] = (stat.st_size, stat.st_mtime_ns)
    return Listing(files)


def changed_feeds(
    conn: Connection, listing: Listing, extra_feeds: Iterable[str] = ()
) -> list[str]:
    """Feed files that are new or changed since they were last queued for a ping."""
    ensure_schema(conn, "announce", MIGRATIONS)
    known: dict[str, Stamp] = {
        row[0]: (row[1], row[2])
        for row in conn.execute("SELECT path, size, mtime_ns FROM announced_files")
    }
    extra = set(extra_feeds)
    return sorted(
        path
        for path, stamp in listing.files.items()
        if (PurePosixPath(path).name in FEED_NAMES or path in extra) and known.get(path) != stamp
    )


def remember(conn: Connection, listing: Listing, paths: Iterable[str]) -> None:
    """Record ``paths`` as announced at their current stamp; forget files that are gone."""
    ensure_schema(conn, "announce", MIGRATIONS)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO announced_files (path, size, mtime_ns) VALUES (?, ?, ?)"
            " ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns",
            [(path, *listing.files[path]) for path in paths],
        )
        gone = [
            (row[0],)
            for row in conn.execute("SELECT path FROM announced_files")
            if row[0] not in listing.files
        ]
        conn.executemany("DELETE FROM announced_files WHERE path = ?", gone)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def announce(
    config: Config,
    conn: Connection,
    now: datetime,
    report: PublishReport,
    *,
    extra_feeds: Iterable[str] = (),
) -> None:
    """Queue pings for changed feeds, deploy if the folder changed, then send the pings.

    ``extra_feeds`` names further feed files (a third-party exporter's) besides the standard
    ``rss.xml``/``atom.xml``/``feed.json``. A failed deploy is an error in the report and
    holds the pings back: a hub must not fetch feeds the host does not have yet.
    """
    hub = config.publication.feeds.websub_hub
    command = config.model.publish.deploy
    if not hub and not command:
        return
    listing = scan(config.feeds_dir)
    if hub:
        changed = changed_feeds(conn, listing, extra_feeds)
        if changed:
            # Queued first, remembered second: a crash in between only queues them again.
            websub.queue(conn, hub, [feed_url(config, path) for path in changed], now)
            remember(conn, listing, changed)
    if command:
        signature = listing.signature(command)
        if deploy_needed(conn, signature):
            outcome = run_deploy(config, conn, command, signature)
            if not outcome.ok:
                report.errors.append(outcome.message)
                return
            report.act(outcome.message)
    if hub:
        pings = websub.flush(conn, hub)
        if pings.sent:
            report.act(f"websub: notified {hub} of {len(pings.sent)} changed feed(s)")
        for url, reason in pings.failed.items():
            report.warnings.append(f"websub: {url}: {reason}")


def preview(
    config: Config,
    conn: Connection,
    report: PublishReport,
    would_write: Iterable[PurePosixPath],
    *,
    extra_feeds: Iterable[str] = (),
) -> None:
    """The dry run's version of ``announce``: say what would be deployed and pinged."""
    hub = config.publication.feeds.websub_hub
    command = config.model.publish.deploy
    if not hub and not command:
        return
    writing = [path.as_posix() for path in would_write]
    listing = scan(config.feeds_dir)
    if command and (writing or deploy_needed(conn, listing.signature(command))):
        report.act(f"deploy: would run {command!r}")
    if hub:
        extra = set(extra_feeds)
        feeds = {p for p in writing if PurePosixPath(p).name in FEED_NAMES or p in extra}
        feeds |= set(changed_feeds(conn, listing, extra))
        urls = {feed_url(config, path) for path in feeds} | set(websub.pending(conn, hub))
        if urls:
            report.act(f"websub: would notify {hub} of {len(urls)} feed(s)")


def feed_url(config: Config, path: str) -> str:
    """The public URL of a file in the output folder."""
    return f"{config.publication.feeds.url.rstrip('/')}/{path}"
