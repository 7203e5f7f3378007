"""``syndicate build``: content -> selected, rendered articles -> exporters -> atomic writes.

Work is done only where output needs it. Every file is stat-ed; only new or changed files are
read and their front matter parsed; only articles that land in a feed whose inputs changed have
their bodies rendered (once, shared by every feed and format); and only those feeds are
serialised and written. What was learnt is kept in the build cache (``buildcache.py``), so cron
finding nothing new costs a stat per article and no feed serialisation at all.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path, PurePosixPath

from ..config import Config
from ..content.articles import render_article
from ..content.sources import (
    Source,
    Stat,
    display,
    iter_problems,
    load_sources,
    scan,
    with_rendering,
)
from ..content.when import now_utc
from ..crashpoints import crash_point
from ..errors import ContentError, Problem
from ..exporters import Exporter
from ..exporters.feedset import FeedExporter, FeedSpec, feed_specs
from ..files import (
    StagedWrites,
    WriteReport,
    sweep_temp_files,
    target_path,
    temp_dir,
)
from ..model import Article, Publication, newest_first
from .cache import (
    BuildCache,
    CachedOutput,
    cache_path,
    fingerprint,
    make_snapshot,
    scan_digest,
)
from .exporter_settings import configured_exporters, settings_parts
from .manifest import Manifest

# Re-exported (``as``): callers and tests import the result types from here.
from .result import BuildPhase as BuildPhase
from .result import BuildResult as BuildResult
from .result import Produced as Produced
from .result import Settled
from .workers import default_jobs, parse_all, render_all, render_job, stage_feeds

Progress = Callable[[int, int], None]
log = logging.getLogger("syndicate.build")
FEED_SIZE_WARNING = 1_000_000
# Files modified this recently may change again without a visible stat change (coarse
# filesystem timestamps); they are confirmed by content hash on the next build.
RACY_NS = 2_000_000_000


def render_needed(
    pub: Publication, articles: Sequence[Article], progress: Progress | None = None
) -> list[Article]:
    """Render the bodies of the articles that appear in at least one feed, and only those."""
    needed = {article.id for spec in feed_specs(pub, articles) for article in spec.articles}
    result = []
    total = len(needed)
    done = 0
    for article in articles:
        if article.id in needed:
            article = render_article(article, pub)
            done += 1
            if progress is not None:
                progress(done, total)
        result.append(article)
    return result


def build_feeds(
    config: Config,
    *,
    out: Path | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    cache: bool = True,
    jobs: int | None = None,
) -> BuildResult:
    """Run every enabled exporter and write the files whose bytes changed.

    ``cache=False`` neither reads nor writes the build cache (``build --no-cache``); ``jobs``
    caps the worker processes of a cold build (default: every core this process may use).
    Content problems raise ContentError before anything is written.
    """

    with fewer_collections():
        return _build_feeds(config, out=out, now=now, progress=progress, cache=cache, jobs=jobs)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run a build with the cyclic garbage collector mostly out of the way.

    A cold build allocates millions of short-lived objects (Markdown tokens, lxml elements)
    that reference counting frees; the collector's default thresholds still trigger full
    passes over every live Article (~5% of a cold build's CPU, measured). ``gc.freeze`` also keeps the
    forked workers from touching (and so copying) the parent's pages on each collection.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _build_feeds(
    config: Config,
    *,
    out: Path | None,
    now: datetime | None,
    progress: Progress | None,
    cache: bool,
    jobs: int | None,
) -> BuildResult:
    started = time.perf_counter()
    out_dir = out or config.feeds_dir
    swept = sweep_temp_files(out_dir)  # temp files of killed runs (never in out_dir itself)
    if swept:
        log.info("removed %d temp file(s) left by a killed run", swept)
    run = _Run(
        config=config,
        out_dir=out_dir,
        swept=swept,
        now=now or now_utc(),
        progress=progress,
        jobs=default_jobs() if jobs is None else max(1, jobs),
        exporters=configured_exporters(config),
    )
    if not cache:
        return run.execute(None, started)

    path = cache_path(config.state_db)
    key = _fingerprint(config, run.exporters)
    try:
        store = BuildCache.open(path, key)
    except (sqlite3.Error, OSError):
        return run.execute(None, started)  # an unusable cache never stops a build
    try:
        return run.execute(store, started)
    except sqlite3.DatabaseError:
        # Damaged beyond what opening noticed: drop it and build cold (and correct).
        store.close()
        path.unlink(missing_ok=True)
        return run.execute(None, started)
    finally:
        store.close()


def _fingerprint(config: Config, exporters: Sequence[Exporter]) -> str:
    package = Path(__file__).parent
    builtin = package / "templates"
    if not builtin.is_dir():
        builtin = package.parent / "templates"
    parts = [
        config.path.read_bytes(),
        str(config.content_dir).encode(),
        *(f"{e.name}={type(e).__module__}.{type(e).__qualname__}".encode() for e in exporters),
        *settings_parts(config, exporters),
    ]
    return fingerprint(parts, [config.templates_dir, builtin])


@dataclass(slots=True)
class _Run:
    """One build's inputs and the state it accumulates."""

    config: Config
    out_dir: Path
    swept: int  # stale temp files of killed runs removed before this build
    now: datetime
    progress: Progress | None
    jobs: int
    exporters: list[Exporter]
    rendered_rows: list[tuple[str, str, str]] = field(default_factory=list)
    used_keys: set[str] = field(default_factory=set)  # rendered bodies this build relied on
    phases: list[BuildPhase] = field(default_factory=list)  # for `-v` and `build --html`

    def execute(self, store: BuildCache | None, started: float) -> BuildResult:
        config = self.config
        pub = config.publication
        if not config.content_dir.is_dir():
            raise ContentError(
                [
                    Problem(
                        config.content_dir, None, "content directory not found; set [content] dir"
                    )
                ]
            )
        racy_after = time.time_ns() - RACY_NS
        stats = scan(config.content_dir)
        self.phase("scan", started, len(stats))
        out_key = str(self.out_dir.resolve())
        scanned = scan_digest((s.rel, s.size, s.mtime_ns) for s in stats)
        if store is not None and all(isinstance(e, FeedExporter) for e in self.exporters):
            unchanged = self._unchanged(store, out_key, scanned, stats, started)
            if unchanged is not None:
                return unchanged
        sources, source_rows, removed = load_sources(
            stats, pub, store, partial(parse_all, pub=pub, jobs=self.jobs), racy_after=racy_after
        )
        warnings = list(_warnings(sources))
        self.phase("sources", started, len(source_rows))
        published = newest_first([s.article for s in sources if s.article.is_published(self.now)])
        by_id = {s.article.id: s for s in sources}
        specs = feed_specs(pub, published)
        in_feeds = {a.id for spec in specs for a in spec.articles}

        previous: dict[str, CachedOutput] = store.outputs(out_key) if store else {}
        manifest = Manifest.load(self.out_dir, seed=previous)
        plan: list[tuple[FeedExporter, FeedSpec, str]] = []  # feeds to serialise
        paths: list[PurePosixPath] = []
        report = WriteReport()
        output_rows: list[tuple[str, str, int, int]] = []
        sizes: dict[PurePosixPath, int] = {}
        for exporter in self.exporters:
            if not isinstance(exporter, FeedExporter):
                continue
            for spec in specs:
                path = spec.path(exporter.filename)
                paths.append(path)
                digest = _digest(exporter, spec, by_id)
                known = previous.get(str(path))
                if (
                    known is not None
                    and known.digest == digest
                    and _current(self.out_dir / path, known)
                ):
                    report.unchanged.append(path)
                    sizes[path] = known.size
                else:
                    plan.append((exporter, spec, digest))

        others = [e for e in self.exporters if not isinstance(e, FeedExporter)]
        needed = {a.id for _, spec, _ in plan for a in spec.articles}
        if others:
            needed |= in_feeds
        html = self._render(store, [by_id[i] for i in sorted(needed)])
        self.phase("render", started, len(self.rendered_rows))
        everyone = self._with_summaries(store, published, by_id, html) if others else []
        feeds = [
            (
                feed,
                replace(spec, articles=tuple(html[a.id] for a in spec.articles)),
                target_path(self.out_dir, spec.path(feed.filename)),
            )
            for feed, spec, _ in plan
        ]

        saving: list[Future[None]] = []

        def save_inputs() -> None:
            # Every body is rendered by now: store what this build learnt while the feeds are
            # serialised (outputs follow once written; a crash in between costs a
            # re-serialise). On a thread: most of a cold build's save (~20 MB) is waiting for
            # the disk, and this process serialises feeds meanwhile. It starts after the
            # serialise workers are forked (``meanwhile``) and is waited for below.
            if store is not None and (source_rows or removed or self.rendered_rows):
                saving.append(
                    background.submit(
                        store.save,
                        sources=source_rows,
                        removed=removed,
                        rendered=self.rendered_rows,
                        keep_rendered={by_id[i].key for i in in_feeds} | self.used_keys,
                        out=out_key,
                        outputs=(),
                    )
                )

        # Each feed goes to a temp file as soon as a worker has serialised it (the worker
        # writes it, and its flush starts here); all are renamed into place together once
        # every one is on disk, so readers see each feed whole, old or new.
        made: list[tuple[Produced, str | None, Path, bool]] = []
        temps = temp_dir(self.out_dir)  # outside out_dir: nothing half-made is ever served
        with StagedWrites(temps) as staged:
            # The pool's exit waits for the save, also when serialising failed.
            with ThreadPoolExecutor(1, thread_name_prefix="syndicate-cache") as background:
                staging = stage_feeds(pub, feeds, self.jobs, staging=temps, meanwhile=save_inputs)
                with contextlib.closing(staging):
                    for (feed, spec, digest), (_, _, target), (temp, size) in zip(
                        plan, feeds, staging, strict=True
                    ):
                        if temp is not None:
                            staged.adopt(temp, target)
                        crash_point("staged", len(made) + 1)  # test hook: SIGKILL mid-serialise
                        produced = Produced(spec.path(feed.filename), feed.media_type, size)
                        made.append((produced, digest, target, temp is not None))
                for saved in saving:
                    saved.result()  # its error, if any, is this build's (as before the thread)
            for other in others:
                for artifact in other.export(pub, everyone):
                    paths.append(artifact.path)
                    target = target_path(self.out_dir, artifact.path)
                    produced = Produced(artifact.path, artifact.media_type, len(artifact.content))
                    made.append((produced, None, target, staged.add(target, artifact.content)))
            self.phase("serialise", started, len(made))
            manifest.claim(paths)  # listed before they appear: a crash never loses track
            staged.commit()
        removed_files = manifest.prune(paths)
        for produced, output_digest, target, was_written in made:
            sizes[produced.path] = produced.size
            (report.written if was_written else report.unchanged).append(produced.path)
            if output_digest is not None:
                st = target.stat()
                output_rows.append((str(produced.path), output_digest, st.st_size, st.st_mtime_ns))

        warnings += [
            _size_warning(path, sizes[path]) for path in paths if sizes[path] > FEED_SIZE_WARNING
        ]
        if store is not None:
            racy = any(s.mtime_ns >= racy_after for s in stats)
            snapshot = None if racy else make_snapshot(scanned, sources, self.now, warnings, paths)
            store.save_snapshot(out_key, snapshot)
        if store is not None and output_rows:
            store.save(
                sources=(),
                removed=(),
                rendered=(),
                keep_rendered=None,
                out=out_key,
                outputs=output_rows,
            )
        self.phase("write", started, len(report.written))
        return BuildResult(
            articles=len(published),
            produced=tuple(produced for produced, *_ in made),
            report=report,
            seconds=time.perf_counter() - started,
            warnings=tuple(warnings),
            paths=tuple(paths),
            rendered=len(self.rendered_rows),
            cached=store is not None,
            removed=tuple(removed_files),
            swept=self.swept,
            phases=tuple(self.phases),
            corrections=tuple(
                (s.article.id, s.article.corrections) for s in sources if s.article.corrections
            ),
        )

    def phase(self, name: str, started: float, count: int) -> None:
        """``-v`` shows where a build's time goes: seconds since start, items handled, and CPU
        seconds so far in this process and in its (finished) workers; ``build --html`` draws
        the same numbers (kept on the result)."""
        cpu = os.times()
        done = BuildPhase(
            name=name,
            at=time.perf_counter() - started,
            count=count,
            cpu=cpu.user + cpu.system,
            workers_cpu=cpu.children_user + cpu.children_system,
        )
        self.phases.append(done)
        log.debug(
            "build: %-9s done at %.3f s (%d); cpu %.2f s + workers %.2f s",
            done.name,
            done.at,
            done.count,
            done.cpu,
            done.workers_cpu,
        )

    def _unchanged(
        self, store: BuildCache, out_key: str, scanned: str, stats: list[Stat], started: float
    ) -> BuildResult | None:
        """The result of a build that finds nothing to do, or None if something may differ:
        same content stats, no publication moment crossed, every output file as last written."""
        snapshot = store.snapshot(out_key)
        if snapshot is None or snapshot.scan != scanned or not snapshot.covers(self.now):
            return None
        known = store.outputs(out_key)
        for path in snapshot.paths:
            entry = known.get(path)
            if entry is None or not _current(self.out_dir / path, entry):
                return None
        paths = tuple(PurePosixPath(path) for path in snapshot.paths)
        removed = Manifest.load(self.out_dir, seed=known).prune(paths)
        warnings = tuple(
            Problem(
                display(self.config.content_dir / where)
                if kind == "content"
                else PurePosixPath(where),
                line,
                message,
                True,
            )
            for kind, where, line, message in snapshot.warnings
        )
        return BuildResult(
            articles=snapshot.articles,
            produced=(),
            report=WriteReport(unchanged=list(paths)),
            seconds=time.perf_counter() - started,
            warnings=warnings,
            paths=paths,
            cached=True,
            removed=tuple(removed),
            swept=self.swept,
            corrections=snapshot.corrections,
            settled=Settled(
                snapshot.lower,
                snapshot.upper,
                tuple((s.rel, s.size, s.mtime_ns) for s in stats),
                tuple((path, known[path].size, known[path].mtime_ns) for path in snapshot.paths),
            )
            # A third-party exporter may change with its code (an editable install) where the
            # start-up stamp cannot see it: only our own are vouched for.
            if all(type(e).__module__.startswith("syndicate.") for e in self.exporters)
            else None,
        )

    def _render(self, store: BuildCache | None, wanted: list[Source]) -> dict[str, Article]:
        """The wanted articles with html (and fallback summary), from the cache or rendered."""
        self.used_keys.update(s.key for s in wanted)
        known = store.rendered([s.key for s in wanted]) if store else {}
        missing = [s for s in wanted if s.key not in known]
        if missing:
            results = render_all([render_job(s) for s in missing], self.jobs, self.progress)
            for source, (body_html, summary) in zip(missing, results, strict=True):
                known[source.key] = (body_html, summary)
                self.rendered_rows.append((source.key, body_html, summary))
        return {s.article.id: with_rendering(s, *known[s.key]) for s in wanted}

    def _with_summaries(
        self,
        store: BuildCache | None,
        published: list[Article],
        by_id: dict[str, Source],
        html: dict[str, Article],
    ) -> list[Article]:
        """Every published article for a plugin exporter: feed articles rendered, every
        article with its summary (plugins saw complete summaries before the cache existed)."""
        lacking = [
            by_id[a.id] for a in published if a.id not in html and by_id[a.id].summary_from_body
        ]
        summaries = {a.id: a for a in self._render(store, lacking).values()}
        return [
            html.get(a.id)
            or (replace(a, summary=summaries[a.id].summary) if a.id in summaries else a)
            for a in published
        ]


def _warnings(sources: Sequence[Source]) -> list[Problem]:
    return list(iter_problems(sources))


def _digest(exporter: FeedExporter, spec: FeedSpec, by_id: dict[str, Source]) -> str:
    """A hash of everything one feed file is made from (config and code are in the cache key)."""
    digest = hashlib.blake2b(digest_size=20)
    head = f"{exporter.name}\0{spec.directory}\0{spec.title}\0{spec.description}\0{spec.home_url}"
    digest.update(head.encode())
    for article in spec.articles:
        digest.update(b"\0" + by_id[article.id].key.encode())
    return digest.hexdigest()


def _current(path: Path, known: CachedOutput) -> bool:
    """The file on disk is still the one the cache saw written (nobody replaced it)."""
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_size == known.size and st.st_mtime_ns == known.mtime_ns


def _size_warning(path: PurePosixPath, size: int) -> Problem:
    return Problem(path, None, f"feed is {size // 1000} KB; lower [feeds] max_items", True)
