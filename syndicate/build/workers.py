"""Process-pool fan-out for cold builds: parsing front matter, rendering bodies, writing feeds.

A cold build of 10,000 articles spends most of its CPU in three embarrassingly parallel jobs,
and each runs over a pool of *forked* processes once there is enough work to pay for the
workers' start-up (the ``*_POOL_MIN`` thresholds); below them, or with ``jobs <= 1``, the same
functions run in this process. Fork matters: workers inherit the parent's imported modules
(``_pool`` builds the front-matter validators, loads the Rust Markdown parser and nh3, or
feedgen, once, beforehand) and its memory, so what a worker needs is not sent to it.

This process is one of the ``jobs``: it forks ``jobs - 1`` workers, which take chunks of work
from the front, and works through the chunks from the back itself until the two meet
(``_fan_out``). It would otherwise sit waiting; and its own results need not cross a pipe,
nor, when parsing, be decoded (one process fewer also touches less fresh memory).

What crosses the process boundary is kept small and plain. Parsing sends ``Stat`` chunks in and
gets ``marshal`` records back (no Article is pickled). Rendering sends ``RenderJob`` tuples
(path, body offset, url, title, whether a summary is wanted) and gets (html, summary) strings
back; the worker reads the body from disk itself. Serialising sends feed indexes in: workers
read the rendered feeds from the module global ``_FEEDS``, set just before the fork (so it must
stay in this module, beside the functions that read it), write each feed to a temp file
themselves, and send back only its name and size, not ~80 MB of feeds through a pipe.

Workers never outlive the run that forked them (``_die_with_parent``): on Linux the kernel
SIGKILLs a worker when its parent dies (``PR_SET_PDEATHSIG``), and a worker whose parent died
before that was set up exits at once. A killed run would otherwise leave workers blocked on
their pipes for ever, holding the build cache open (and, before ``lock.py`` closed it in every
fork, the run lock).
"""

from __future__ import annotations

import ctypes
import glob
import multiprocessing
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..content import frontmatter_yaml, render, schema
from ..content.articles import render_body
from ..content.sources import ParseOutcome, Source, Stat, parse_file, read_bytes
from ..exporters import _feedgen
from ..files import write_temp

if TYPE_CHECKING:
    from ..exporters.feedset import FeedExporter, FeedSpec
    from ..model import Publication

PARSE_POOL_MIN = 1500  # files to parse before a process pool pays for its start-up
RENDER_POOL_MIN = 150  # bodies to render before a process pool pays for its start-up

ProgressFn = Callable[[int, int], None]


# --- parsing -------------------------------------------------------------------------------


def _parse_chunk(job: tuple[Publication, list[Stat]], *, keep: bool = False) -> list[ParseOutcome]:
    """A worker's chunk (records only); with ``keep``, this process's (Sources kept)."""
    pub, stats = job
    return [parse_file(stat, pub, keep=keep) for stat in stats]


def parse_all(stats: Sequence[Stat], pub: Publication, jobs: int) -> Iterator[ParseOutcome]:
    """Parse many files, yielding in order; over a process pool when there are enough of them.

    Outcomes are yielded as the workers' chunks arrive, so the caller decodes the first
    chunks while the workers still parse the last ones.
    """
    if jobs <= 1 or len(stats) < PARSE_POOL_MIN:
        yield from (parse_file(stat, pub) for stat in stats)
        return
    size = max(64, len(stats) // (jobs * 16))
    chunks = [(pub, list(stats[i : i + size])) for i in range(0, len(stats), size)]
    here = partial(_parse_chunk, keep=True)
    if _starts_with_yaml(stats[0].file):
        # PyYAML is imported only for YAML: imported and its loader chosen before the fork,
        # so workers inherit both and ``-v`` notes a missing libyaml only once.
        frontmatter_yaml.c_loader()
    for outcomes in _fan_out(chunks, _parse_chunk, here, jobs, warm="parse", idle=_load_next):
        yield from outcomes


def _load_next() -> None:
    """What the render and serialise workers will inherit, loaded while this process would
    otherwise wait for the parse workers' last chunks (each is loaded once: a later
    ``_pool`` warm-up finds it done), instead of on the build's serial path (~15 ms)."""
    render.load()
    _feedgen.load()


def _starts_with_yaml(path: str) -> bool:
    """Whether a content file opens with YAML's ``---`` fence (a byte-order mark aside)."""
    try:
        with Path(path).open("rb") as file:
            head = file.read(8)
    except OSError:
        return False  # parse_file reports the file
    return head.removeprefix(b"\xef\xbb\xbf").startswith(b"---")


# --- rendering -----------------------------------------------------------------------------


RenderJob = tuple[str, int, str, str, bool]  # (path, body offset, url, title, wants summary)


def render_job(source: Source) -> RenderJob:
    """What a worker needs to render one body: no Article crosses the process boundary."""
    article = source.article
    return (
        source.stat.file,
        source.body_offset,
        article.url,
        article.title,
        source.summary_from_body,
    )


def render_one(job: RenderJob) -> tuple[str, str]:
    """Read one body from its offset and render it: (html, fallback summary); the summary
    is derived only for an article without its own ("" otherwise, never shown)."""
    path, offset, url, title, wants_summary = job
    body = read_bytes(path, -1, offset).decode("utf-8")
    return render_body(body, url, title, summary=wants_summary)


def _render_chunk(chunk: Sequence[RenderJob]) -> list[tuple[str, str]]:
    return [render_one(job) for job in chunk]


RENDER_CHUNK = 24  # bodies per chunk: ~20 ms of work, small enough to share out evenly


def render_all(
    jobs_list: Sequence[RenderJob], jobs: int, progress: ProgressFn | None = None
) -> list[tuple[str, str]]:
    """Render many bodies, in order; over a process pool when there are enough of them."""
    results: list[tuple[str, str]] = []
    total = len(jobs_list)
    chunks = [jobs_list[i : i + RENDER_CHUNK] for i in range(0, total, RENDER_CHUNK)]
    if jobs <= 1 or total < RENDER_POOL_MIN:
        done: Iterator[list[tuple[str, str]]] = map(_render_chunk, chunks)
    else:
        done = _fan_out(chunks, _render_chunk, _render_chunk, jobs, warm="render")
    for outcomes in done:
        results.extend(outcomes)
        if progress is not None:
            progress(len(results), total)
    return results


# --- serialising -----------------------------------------------------------------------------

SERIALISE_POOL_MIN = 24  # feed files to serialise before a process pool pays for itself
_FEEDS: tuple[Publication, Sequence[tuple[FeedExporter, FeedSpec, Path]], str, Path] | None = None
Staged = tuple[str | None, int]  # (temp file holding the new bytes or None if unchanged, size)


def stage_feeds(
    pub: Publication,
    feeds: Sequence[tuple[FeedExporter, FeedSpec, Path]],
    jobs: int,
    *,
    staging: Path,
    meanwhile: Callable[[], None] | None = None,
) -> Generator[Staged, None, None]:
    """Serialise each (exporter, rendered spec) and write it to a temp file in ``staging``
    (``output.write_temp``), in order, yielding as each is ready.

    Forked workers inherit the rendered articles (nothing is pickled on the way in) and write
    the bytes themselves: only a file name comes back, not ~80 MB of feeds through a pipe.
    ``meanwhile`` runs in this process while the workers serialise (after the fork, so no
    thread or open transaction is ever forked), or first when there is no pool.
    """
    global _FEEDS
    if jobs <= 1 or len(feeds) < SERIALISE_POOL_MIN or not _can_fork():
        if meanwhile is not None:
            meanwhile()
        yield from (_stage(pub, feed, "", staging) for feed in feeds)
        return
    # Workers mark their temp files with this run's tag: if the build fails, the ones whose
    # names never came back are found and removed (another build's are left alone). The tag
    # starts with this process's pid, not the worker's: the files are this run's until renamed.
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    _FEEDS = (pub, feeds, tag, staging)
    chunks = [range(i, min(i + 4, len(feeds))) for i in range(0, len(feeds), 4)]
    try:
        for staged in _fan_out(
            chunks, _stage_chunk, _stage_chunk, jobs, warm="feeds", meanwhile=meanwhile
        ):
            yield from staged
    except BaseException:
        for leftover in staging.glob(f"{glob.escape(tag)}.*.tmp"):
            leftover.unlink(missing_ok=True)
        raise
    finally:
        _FEEDS = None


def _stage(
    pub: Publication, feed: tuple[FeedExporter, FeedSpec, Path], tag: str, staging: Path
) -> Staged:
    exporter, spec, target = feed
    content = exporter.export_feed(pub, spec)
    return write_temp(target, content, tag=tag, staging=staging), len(content)


def _stage_chunk(indexes: range) -> list[Staged]:
    assert _FEEDS is not None, "serialise workers are forked from stage_feeds"
    pub, feeds, tag, staging = _FEEDS
    return [_stage(pub, feeds[index], tag, staging) for index in indexes]


# --- sharing work between this process and its workers ----------------------------------------

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")


def _fan_out(
    chunks: Sequence[Chunk],
    remote: Callable[[Chunk], Result],
    here: Callable[[Chunk], Result],
    jobs: int,
    *,
    warm: str,
    meanwhile: Callable[[], None] | None = None,
    idle: Callable[[], None] | None = None,
) -> Iterator[Result]:
    """Each chunk's result, in order: ``jobs - 1`` forked workers run ``remote`` on chunks from
    the front while this process runs ``here`` on chunks from the back, each one a worker has
    not started (its future is cancelled first, so no chunk runs twice).

    Between its own chunks this process hands on the workers' finished results, so the
    caller's handling of them (decoding records, say) overlaps the workers' work.
    ``meanwhile`` runs here first, after the fork (no thread or open transaction is forked).
    ``idle`` runs here once every chunk left is a worker's, before waiting for them.
    """
    with _pool(jobs - 1, warm=warm) as pool:
        futures: list[Future[Result]] = [pool.submit(remote, chunk) for chunk in chunks]
        try:
            if meanwhile is not None:
                meanwhile()
            mine: dict[int, Result] = {}
            first, last = 0, len(chunks)
            while first < last:
                if futures[first].done():
                    yield futures[first].result()
                    first += 1
                elif futures[last - 1].cancel():
                    last -= 1
                    mine[last] = here(chunks[last])
                else:
                    break  # every chunk left is a worker's
            if idle is not None and first < last:
                idle()
            for index in range(first, last):
                yield futures[index].result()
            for index in range(last, len(chunks)):
                yield mine.pop(index)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _pool(jobs: int, *, warm: str = "") -> ProcessPoolExecutor:
    """A process pool; with fork, workers inherit the parent's imported modules, so the parent
    imports once what every worker needs (``warm``: "parse", "render" or "feeds") instead of
    each worker importing it again (~0.1 s of CPU per worker and pool)."""
    fork = _can_fork()
    if fork and warm == "parse":
        schema.build_validators()  # pydantic's, for front matter
    if fork and warm == "render":
        render.load()  # the Rust Markdown parser and nh3
    if fork and warm == "feeds":
        _feedgen.load()  # feedgen and lxml
    return ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("fork" if fork else None),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """A worker's first act: ask the kernel for SIGKILL when the parent dies, then make sure
    it has not died already (between the fork and this call, which the request would miss).

    The signal follows the parent *thread* that forked the worker: pools live inside one call
    of the thread that made them, so that thread outlives its workers."""
    if sys.platform == "linux":
        # The interpreter's own symbols include libc's prctl (no library search, no ldconfig).
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:  # elsewhere a thread notices the parent's death (the worker is re-parented)
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def default_jobs() -> int:
    """How many processes a cold build may use: the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
