"""``syndicate publish``: the one command cron runs. Safe every minute, concurrently, after crashes.

One run, under the run lock: build the feeds (validating every article; unchanged files are left
alone) -> run the deploy command and ping the WebSub hub for changed feeds -> finish any edition
an earlier run started -> if the schedule says an edition is due, plan, render and send it with
the ledger. Every step is recorded in the state database before its side effect, so a run killed
anywhere is completed by the next one and never repeated: see ``periods`` (which due moments
were handled), ``edition`` (which articles went out) and ``delivery.ledger`` (who got what).

``--dry-run`` does the same reasoning against an in-memory copy of the state database and a
throw-away build directory, and reports what it would do.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from ..build.pipeline import BuildResult
from ..config import Config
from ..content.when import now_utc
from ..crashpoints import crash_point
from ..errors import SyndicateError
from ..store.database import Connection, connect
from ..store.lock import LockBusy, lock_path
from ..store.postgres import PgConnection
from ..store.shared_lock import state_lock
from ..text.words import plural
from .announce import announce, preview
from .corrections import tell_readers
from .dispatch import Editions
from .newsletters import NewsletterEditions
from .schedule import Schedule, local_label, schedule_from_config
from .site import build
from .websub import FEED_MEDIA_TYPES

log = logging.getLogger("syndicate.publish")

RECHECK_SECONDS = 1.0  # how long to wait for a run that took the lock to write its pid

Say = Callable[[str], None]


@dataclass(slots=True)
class PublishReport:
    """What a run did: action lines (shown with --verbose), warnings and errors (stderr).

    ``notes`` are content warnings (an image without alt text ...): ``validate`` and ``build``
    show them; ``publish`` shows them only with --verbose, so cron does not mail them every
    minute. ``warnings`` are operational (a hub down, recipients still pending): always shown.
    """

    dry_run: bool = False
    say: Say | None = None
    actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pending: int = 0  # recipients not yet handled, uncertain ones included (exit 3)
    waiting: int = 0  # of those, queued or deferred: the next run sends them
    locked_out: bool = False
    editions_sent: list[str] = field(default_factory=list)

    def act(self, line: str) -> None:
        """Record one action taken (or, in a dry run, one that would be taken)."""
        self.actions.append(line)
        if self.say is not None:
            self.say(line)

    @property
    def exit_code(self) -> int:
        """0 ok; 1 a step failed (deploy, rendering ...); 3 recipients still pending."""
        if self.errors:
            return 1
        return 3 if self.pending else 0


def publish(
    config: Config,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    wait: bool = False,
    say: Say | None = None,
) -> PublishReport:
    """Bring feeds up to date and send the edition if one is due; see the module docstring.

    Raises SyndicateError for user errors (broken articles, bad templates); problems after the
    feeds are written (deploy, delivery) are collected in the report so later steps still run.
    """
    moment = now or now_utc()
    report = PublishReport(dry_run=dry_run, say=say)
    if dry_run:
        _dry_run(config, moment, report)
        return report
    path = lock_path(config.state_db)
    limit = config.model.publish.lock_timeout
    try:
        with _run_lock(config.state_target, path, wait=wait, timeout=limit):
            crash_point("locked")
            _run(config, moment, report)
    except LockBusy as busy:
        report.locked_out = True
        report.act(f"another run holds the lock ({busy.holder or 'holder unknown'}); exiting")
        _lock_problem(busy, limit, report)
    return report


@contextmanager
def _run_lock(target: Path | str, path: Path, *, wait: bool, timeout: float) -> Iterator[None]:
    """The run lock (waiting at most ``timeout`` seconds with ``wait``); LockBusy if taken.

    When the lock file names a process that is gone, a run that has just taken the lock may
    not have written its own pid yet: wait a moment for it before calling the lock stuck."""
    stack = ExitStack()
    try:
        stack.enter_context(state_lock(target, path, wait=wait, timeout=timeout if wait else None))
    except LockBusy as busy:
        if busy.holder_alive:
            raise
        stack.enter_context(state_lock(target, path, wait=True, timeout=RECHECK_SECONDS))
    with stack:
        yield


def _lock_problem(busy: LockBusy, limit: float, report: PublishReport) -> None:
    """Cron must not go quiet for ever: a lock held by a dead run's leftover, or held longer
    than ``[publish] lock_timeout``, is an error (stderr, exit 1); a short overlap is not."""
    if not busy.holder_alive:
        report.errors.append(
            f"the run lock {busy.path} is held although its holder (pid {busy.pid}) is gone: "
            f"a leftover process of that run still has it open; find it with "
            f"`fuser -v {busy.path}` and stop it"
        )
        return
    since = busy.since or _modified(busy.path)
    if since is None:
        return
    held = datetime.now(UTC) - since
    if held.total_seconds() > limit:
        report.errors.append(
            f"no run could take the lock for {_span(held)} (held by {busy.holder or 'unknown'}; "
            f"[publish] lock_timeout = {limit:g} s): is that run stuck? (lock file {busy.path})"
        )


def _modified(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _run(config: Config, now: datetime, report: PublishReport) -> None:
    result = build(config, now=now, progress=_crash_in_build)
    if result.swept:
        report.act(f"removed {result.swept} temp file(s) left by a killed run")
    if result.removed:
        report.act(_changed_line(result.removed, "removed", "file", " no article makes any more"))
    report.notes.extend(str(problem) for problem in result.warnings)
    if result.report.written:
        report.act(_changed_line(result.report.written, "wrote"))
    crash_point("built")
    feeds = _feed_paths(result)
    conn = connect(config.state_target)
    try:
        announce(config, conn, now, report, extra_feeds=feeds)
        crash_point("announced")
        if config.model.newsletters:
            NewsletterEditions(config, conn, now, report).run()
        else:
            Editions(
                config,
                conn,
                now,
                report,
                published=result.articles,
                feeds_changed=bool(result.report.written),
            ).run(schedule_from_config(config))
        if report.editions_sent:
            # A finished send publishes the edition's archive page and the editions feed.
            announce(config, conn, now, report, extra_feeds=feeds)
        _corrections(config, conn, now, report, result)
    finally:
        conn.close()


def _corrections(
    config: Config,
    conn: Connection,
    now: datetime,
    report: PublishReport,
    result: BuildResult,
) -> None:
    """Notices of corrections (``[corrections] email``), once any article has corrections."""
    if result.corrections:
        tell_readers(config, conn, now, report, result.corrections)


def _crash_in_build(done: int, total: int) -> None:
    crash_point("build", done)


def _feed_paths(result: BuildResult) -> list[str]:
    """Files of this build that are feeds by media type (a plugin's may have other names)."""
    return [
        produced.path.as_posix()
        for produced in result.produced
        if produced.media_type in FEED_MEDIA_TYPES
    ]


def _changed_line(
    written: Sequence[PurePosixPath], verb: str, what: str = "changed file", tail: str = ""
) -> str:
    ordered = sorted(written, key=lambda path: (len(path.parts), str(path)))
    paths = [str(path) for path in ordered]
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return f"feeds: {verb} {plural(len(paths), what)}{tail}: {shown}"


# --- dry run -------------------------------------------------------------------------------


def _dry_run(config: Config, now: datetime, report: PublishReport) -> None:
    with tempfile.TemporaryDirectory(prefix="syndicate-dry-run-") as scratch:
        made = Path(scratch) / "feeds"  # its work folder (temp files, manifest) goes too
        result = build(config, out=made, now=now, cache=False)
        written = sorted(
            PurePosixPath(path.relative_to(made).as_posix())
            for path in made.rglob("*")
            if path.is_file() and _differs(config.feeds_dir / path.relative_to(made), path)
        )
    report.notes.extend(str(problem) for problem in result.warnings)
    if written:
        report.act(_changed_line(written, "would write"))
    with _snapshot(config.state_target) as conn:
        preview(config, conn, report, written, extra_feeds=_feed_paths(result))

        schedule = schedule_from_config(config)
        before = len(report.actions)
        if config.model.newsletters:
            NewsletterEditions(config, conn, now, report).run()
            if len(report.actions) == before:
                report.act("no newsletter edition due")
        else:
            Editions(config, conn, now, report).run(schedule)
            if len(report.actions) == before:
                report.act(f"no edition due; schedule: {describe_schedule(schedule, now)}")
        _corrections(config, conn, now, report, result)


def _differs(path: Path, made: Path) -> bool:
    try:
        return path.read_bytes() != made.read_bytes()
    except FileNotFoundError:
        return True


@contextmanager
def _snapshot(db: Path | str) -> Iterator[Connection]:
    """An in-memory copy of the state database: the dry run may write to it, nothing persists.

    A database without a ``-wal`` file is opened ``immutable`` so that not even the WAL index
    (``-shm``) is created next to it. PostgreSQL: one transaction, rolled back at the end.
    """
    if isinstance(db, str):
        pg = connect(db)
        try:
            if isinstance(pg, PgConnection):
                pg.sandbox()
            yield pg
        finally:
            pg.close()
        return
    memory = sqlite3.connect(":memory:", isolation_level=None)
    memory.row_factory = sqlite3.Row
    memory.execute("PRAGMA foreign_keys=ON")
    try:
        memory.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions ("
            " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        if db.exists():
            wal = db.with_name(db.name + "-wal")
            mode = "mode=ro" if wal.exists() else "immutable=1"
            source = sqlite3.connect(f"{db.absolute().as_uri()}?{mode}", uri=True)
            try:
                source.backup(memory)
            except sqlite3.DatabaseError as exc:
                raise SyndicateError(f"cannot read state database {db}: {exc}") from None
            finally:
                source.close()
        yield memory
    finally:
        memory.close()


def describe_schedule(schedule: Schedule, now: datetime) -> str:
    """``weekly (...); next edition due 2026-11-09 08:00 CET`` for --verbose and --dry-run."""
    upcoming = schedule.next_due(now)
    if upcoming is None:
        return schedule.describe()
    return f"{schedule.describe()}; next due {local_label(upcoming, schedule.zone)}"
