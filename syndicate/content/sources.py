"""Content files as cheap records: scanned by stat, parsed once, bodies read only when rendered.

A build needs the front matter of every article (to select what is published) but the Markdown
body only of the articles that land in some feed. Here a file becomes a ``Source``: its stat
key, content hash, and a ``marshal``-able record of its front matter plus the byte offset of
its body, so 100,000 articles cost front matter in RAM, not bodies. Parsing and rendering fan
out over a process pool (``workers.py``) when there is enough work to pay for its start-up.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..errors import ContentError, Problem
from ..model import Article, Author, Correction, Enclosure, Image, Publication
from .articles import parse_article, too_large
from .limits import MAX_FILE_BYTES, OUTSIDE_LINK, escapes
from .walk import walk_content

if TYPE_CHECKING:
    from ..build.cache import BuildCache

Record = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Stat:
    """A content file found by the scan: where it is and its (size, mtime_ns) cache key."""

    rel: str  # POSIX path relative to the content directory: the cache key
    file: str  # the path as scanned (a Path for each of 10,000 files cost more than the walk)
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        """The file's path (a new Path each time: keep it where it is used twice)."""
        return Path(self.file)


@dataclass(frozen=True, slots=True)
class Source:
    """One successfully parsed content file: its article (no body) and how to find the body."""

    stat: Stat
    sha: str  # content hash of the file's bytes
    article: Article  # body and html empty; summary empty when ``summary_from_body``
    summary_from_body: bool
    body_offset: int
    warnings: tuple[tuple[int | None, str], ...]
    record: bytes  # marshal of the fields, what the cache stores

    @property
    def key(self) -> str:
        """What identifies the article's inputs: path (slug, url) and content."""
        return f"{self.stat.rel}\0{self.sha}"


def scan(directory: Path) -> list[Stat]:
    """Every content file under ``directory`` with its stat, in ``content_files`` order."""
    if not directory.is_dir():
        return []
    found = walk_content(str(directory))
    outside = [
        Problem(display(Path(path)), None, OUTSIDE_LINK.format(target=target))
        for _, path, _, _, link in found
        if link and (target := escapes(str(directory), path))
    ]
    if outside:
        raise ContentError(outside)
    return [Stat("/".join(parts), path, size, mtime) for parts, path, size, mtime, _ in found]


def display(path: Path) -> Path:
    """Paths in messages are relative to the working directory when possible (as content.py)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


# --- records -------------------------------------------------------------------------------


def _moment(value: datetime | None) -> tuple[Any, ...] | None:
    if value is None:
        return None
    zone = value.tzinfo
    if isinstance(zone, ZoneInfo):
        return (value.replace(tzinfo=None).isoformat(), zone.key, value.fold)
    offset = value.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    return (value.replace(tzinfo=None).isoformat(), None, seconds)


def _unmoment(value: tuple[Any, ...] | None) -> datetime | None:
    if value is None:
        return None
    text, key, extra = value
    naive = datetime.fromisoformat(text)
    if key is not None:
        return naive.replace(tzinfo=ZoneInfo(key), fold=extra)
    return naive.replace(tzinfo=_fixed_zone(extra))


@cache
def _fixed_zone(seconds: int) -> timezone:
    """One timezone object per offset: 10,000 dates share a handful of offsets."""
    return timezone(timedelta(seconds=seconds))


def encode(
    article: Article,
    summary_from_body: bool,
    body_offset: int,
    warnings: Sequence[tuple[int | None, str]],
) -> bytes:
    """An article's front-matter fields as marshal bytes: no code runs when they are read."""
    image = article.image
    enclosure = article.enclosure
    fields = (
        article.id,
        article.slug,
        article.url,
        article.title,
        _moment(article.date),
        _moment(article.updated),
        article.dek,
        article.summary,
        tuple((a.name, a.email, a.url) for a in article.authors),
        article.tags,
        article.section,
        None if image is None else (image.url, image.alt, image.width, image.height),
        None if enclosure is None else (enclosure.url, enclosure.type, enclosure.length),
        article.draft,
        _moment(article.publish_at),
        article.canonical_url,
        article.lang,
        article.body_line,
        summary_from_body,
        body_offset,
        tuple(warnings),
        tuple((_moment(c.date), c.text, c.kind) for c in article.corrections),
    )
    return marshal.dumps(fields)


def decode(stat: Stat, sha: str, record: bytes) -> Source:
    """A cached record back into a Source (raises ValueError/TypeError if it is damaged)."""
    (
        id_,
        slug,
        url,
        title,
        date,
        updated,
        dek,
        summary,
        authors,
        tags,
        section,
        image,
        enclosure,
        draft,
        publish_at,
        canonical_url,
        lang,
        body_line,
        summary_from_body,
        body_offset,
        warnings,
        corrections,
    ) = marshal.loads(record)
    published = _unmoment(date)
    changed = _unmoment(updated)
    if published is None or changed is None:
        raise ValueError("record without dates")
    article = Article(
        id=id_,
        slug=slug,
        url=url,
        title=title,
        date=published,
        updated=changed,
        dek=dek,
        summary=summary,
        authors=_authors(authors),
        tags=tuple(tags),
        section=section,
        image=None
        if image is None
        else Image(url=image[0], alt=image[1], width=image[2], height=image[3]),
        enclosure=None
        if enclosure is None
        else Enclosure(url=enclosure[0], type=enclosure[1], length=enclosure[2]),
        draft=draft,
        publish_at=_unmoment(publish_at),
        canonical_url=canonical_url,
        lang=lang,
        source=stat.path,
        body_line=body_line,
        corrections=tuple(_correction(*fields) for fields in corrections),
    )
    return Source(
        stat, sha, article, summary_from_body, body_offset, tuple(map(tuple, warnings)), record
    )


def _correction(when: tuple[Any, ...], text: str, kind: str) -> Correction:
    moment = _unmoment(when)
    if moment is None:
        raise ValueError("correction without a date")
    return Correction(date=moment, text=text, kind=kind)


def _authors(fields: tuple[tuple[str, str, str], ...]) -> tuple[Author, ...]:
    """The Author objects of a record: a newsroom's few bylines are built once, not per article."""
    known = _AUTHORS.get(fields)
    if known is None:
        known = _AUTHORS[fields] = tuple(Author(name=n, email=e, url=u) for n, e, u in fields)
    return known


_AUTHORS: dict[tuple[tuple[str, str, str], ...], tuple[Author, ...]] = {}


# --- parsing -------------------------------------------------------------------------------


# (sha, record, problems, the Source itself when parsed in this process or None)
ParseOutcome = tuple[str, bytes | None, tuple[Problem, ...], Source | None]


def parse_file(stat: Stat, pub: Publication, *, keep: bool = True) -> ParseOutcome:
    """Read and parse one file's front matter; problems instead of raising, for the pool.

    A worker passes ``keep=False``: only the marshal record crosses the pipe and the parent
    decodes it. In the parent the Source is kept as built, the same as ``decode`` of its
    record would make (tested), without paying for the decoding.
    """
    path = stat.path
    if stat.size > MAX_FILE_BYTES:  # refused unread (a file the scan saw grow is refused below)
        return "", None, (too_large(display(path), stat.size),), None
    data = read_bytes(stat.file, stat.size)
    sha = content_hash(data)
    try:
        # Messages name the file relative to the working directory, but only failures need
        # that (warnings are stored without a path): skip the cwd lookup on the happy path.
        article, warnings = parse_article(data, pub, path=path, display=path, front_only=True)
    except ContentError as exc:
        shown = display(path)
        return sha, None, tuple(replace(p, path=shown) for p in exc.problems), None
    body_offset = _body_offset(data, article.body_line)
    summary_from_body = not article.summary
    noted = tuple((w.line, w.message) for w in warnings)
    record = encode(article, summary_from_body, body_offset, noted)
    if not keep:
        return sha, record, (), None
    return (
        sha,
        record,
        (),
        Source(stat, sha, article, summary_from_body, body_offset, noted, record),
    )


def read_bytes(path: Path | str, size: int = -1, offset: int = 0) -> bytes:
    """A file's bytes from ``offset``, with a handful of system calls.

    ``size`` is what the scan saw (-1: unknown), so the first read usually gets everything;
    reading goes on to the end of the file whatever it holds now. Path.read_bytes and open()
    also fstat, ioctl and lseek, twice as many calls, which across 10,000 articles costs more
    than the reading itself.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        if offset:
            os.lseek(fd, offset, os.SEEK_SET)
        chunks = [os.read(fd, max(size - offset, 0) + 1 if size >= 0 else 1 << 16)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 16))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _body_offset(data: bytes, body_line: int) -> int:
    """The byte where the body starts: after the newline ending line ``body_line - 1`` (the
    closing fence). Splitting off a dozen lines is cheaper than re-encoding the whole body, and
    one split cheaper than a find per line (YAML front matter runs to dozens of lines)."""
    lines = data.split(b"\n", body_line - 1)
    if len(lines) < body_line:
        return len(data)  # nothing after the closing fence
    return len(data) - len(lines[-1])


def file_sha(path: Path | str) -> str:
    """The content hash that confirms a file whose stat changed (e.g. touched, not edited)."""
    return content_hash(read_bytes(path))


def content_hash(data: bytes) -> str:
    """A content file's identity in the build cache: SHA-256, which OpenSSL runs on the
    CPU's SHA instructions (x86 since Zen and Ice Lake, ARMv8): ~4.7 us for an 8 kB article
    where BLAKE2b took ~10.5 us, 10,000 times a cold build. Hex, 40 digits."""
    return hashlib.sha256(data).hexdigest()[:40]


def with_rendering(source: Source, html: str, summary: str) -> Article:
    """The source's article with its rendered body (and fallback summary when it has none)."""
    article = source.article
    if source.summary_from_body:
        return replace(article, html=html, summary=summary)
    return replace(article, html=html)


def iter_problems(sources: Sequence[Source]) -> Iterator[Problem]:
    """The warnings of every source, as the Problems ``load_articles`` reports."""
    for source in sources:
        if not source.warnings:
            continue
        shown = display(source.stat.path)
        for line, message in source.warnings:
            yield Problem(shown, line, message, True)


# --- loading with the cache -----------------------------------------------------------------


def load_sources(
    files: Sequence[Stat],
    pub: Publication,
    store: BuildCache | None,
    parse: Callable[[Sequence[Stat]], Iterable[ParseOutcome]] | None = None,
    *,
    racy_after: int = 0,
) -> tuple[list[Source], list[tuple[str, int, int, str, bytes]], list[str]]:
    """Every content file as a Source: from the cache when its stat (or, failing that, its
    content hash) is unchanged, else parsed. Raises ContentError exactly as load_articles.

    ``parse`` turns the files to parse into outcomes in order; the build passes its process
    pool (``build.workers.parse_all``), the default parses here, one file after another.

    A file modified at or after ``racy_after`` (ns) may change again within the filesystem's
    timestamp granularity without its stat changing (git's "racily clean" problem): its row
    is stored with mtime 0, so the next build confirms it by content hash.
    """

    def row(stat: Stat, sha: str, record: bytes) -> tuple[str, int, int, str, bytes]:
        mtime = 0 if stat.mtime_ns >= racy_after else stat.mtime_ns
        return (stat.rel, stat.size, mtime, sha, record)

    cached = store.sources() if store else {}
    found: list[Source | None] = [None] * len(files)
    rows: list[tuple[str, int, int, str, bytes]] = []
    to_parse: list[int] = []
    for index, stat in enumerate(files):
        entry = cached.get(stat.rel)
        if entry is None or stat.size > MAX_FILE_BYTES:  # too large: refused, never hashed
            to_parse.append(index)
            continue
        same_stat = entry.size == stat.size and entry.mtime_ns == stat.mtime_ns
        if not same_stat and file_sha(stat.file) != entry.sha:
            to_parse.append(index)
            continue
        try:
            found[index] = decode(stat, entry.sha, entry.record)
        except (ValueError, TypeError, EOFError):
            to_parse.append(index)  # a damaged record is a miss, never a wrong article
            continue
        if not same_stat and stat.mtime_ns < racy_after:  # touched, not edited: new stat
            rows.append(row(stat, entry.sha, entry.record))
    problems: dict[int, tuple[Problem, ...]] = {}
    if parse is None:
        parse = partial(_parse_here, pub=pub)
    outcomes = parse([files[i] for i in to_parse])
    for index, (sha, record, file_problems, source) in zip(to_parse, outcomes, strict=True):
        stat = files[index]
        if record is None:
            problems[index] = file_problems
            continue
        found[index] = source if source is not None else decode(stat, sha, record)
        rows.append(row(stat, sha, record))
    present = {stat.rel for stat in files}
    removed = [rel for rel in cached if rel not in present]
    sources = [s for s in found if s is not None]
    duplicates = _duplicates(sources)
    if problems or duplicates:
        errors = [p for index in sorted(problems) for p in problems[index]] + duplicates
        if store is not None:  # keep what did parse, so fixing one file rebuilds fast
            store.save(
                sources=rows, removed=removed, rendered=(), keep_rendered=None, out="", outputs=()
            )
        raise ContentError([*errors, *iter_problems(sources)])
    return sources, rows, removed


def _parse_here(files: Sequence[Stat], *, pub: Publication) -> Iterator[ParseOutcome]:
    return (parse_file(stat, pub) for stat in files)


def _duplicates(sources: Sequence[Source]) -> list[Problem]:
    """Two files with one slug or id: the same messages as content.load_articles. (A set of
    each first: almost always as many as the files, and then there is nothing to word.)"""
    if (
        len({s.article.slug for s in sources})
        == len({s.article.id for s in sources})
        == len(sources)
    ):
        return []
    found: list[Problem] = []
    for field_name in ("slug", "id"):
        owners: dict[str, Source] = {}
        for source in sources:
            key = getattr(source.article, field_name)
            first = owners.setdefault(key, source)
            if first is not source:
                found.append(
                    Problem(
                        display(source.stat.path),
                        1,
                        f"duplicate {field_name} {key!r}: also used by {display(first.stat.path)}",
                    )
                )
    return found
