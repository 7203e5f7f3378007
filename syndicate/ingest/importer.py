"""``syndicate import``: source files -> content files, one per source, never outside --into.

Each source is read, decoded, parsed by the importer of its kind, written as TOML front
matter + Markdown, and checked by loading it back with ``syndicate.content`` before anything
is written. A source that fails is reported (one line naming it) and the others go on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..config import Config
from ..content.articles import parse_article
from ..content.limits import MAX_SOURCE_BYTES
from ..content.slugs import slugify
from ..content.when import parse_when
from ..errors import ContentError, Problem, UsageError
from ..files import atomic_write
from ..model import Publication
from .decode import decode
from .document import ImportedDocument, SourceError
from .html import parse_html
from .markdown import parse_markdown
from .migrated import Expanded, Migrated
from .sites import detect_site, import_site
from .text import parse_text
from .writer import render_document
from .wxr import import_wxr, is_wxr

FORMATS = ("auto", "text", "html", "markdown", "hugo", "jekyll", "wordpress")
SITE_FORMATS = ("hugo", "jekyll", "wordpress")
SUFFIXES = {
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".shtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".mkd": "markdown",
}
SLUG_MAX = 80
_SLUG = re.compile(r"[\w][\w.-]*")
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}[-_]")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportOptions:
    """What ``syndicate import`` was asked to do; ``publication`` gives timezone and language."""

    into: Path
    publication: Publication
    fmt: str = "auto"
    date: datetime | None = None
    tags: tuple[str, ...] = ()
    section: str = ""
    dry_run: bool = False
    force: bool = False


@dataclass(frozen=True, slots=True)
class Imported:
    """One source's outcome. ``status``: written, overwritten, unchanged, new (dry run),
    would-overwrite (dry run)."""

    source: Path
    target: Path
    status: str
    text: str
    fmt: str
    dropped: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Every source's outcome, and one problem per source that could not be imported."""

    imported: tuple[Imported, ...]
    problems: tuple[Problem, ...]
    remarks: tuple[str, ...] = ()  # about a migrated site as a whole (pages skipped ...)


def import_sources(
    sources: Sequence[Path],
    options: ImportOptions,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import every source; failures are collected, never stop the others.

    ``progress(done, total)`` is told after each document (a site counts its pages)."""
    if options.fmt not in FORMATS:
        raise UsageError(f"unknown format {options.fmt!r}; use one of {', '.join(FORMATS)}")
    if options.into.exists() and not options.into.is_dir():
        raise UsageError(f"--into {options.into}: not a folder")
    taken = _existing_slugs(options.into)
    planned: dict[Path, tuple[Path, bytes]] = {}
    imported: list[Imported] = []
    problems: list[Problem] = []
    remarks: list[str] = []
    total, done = len(sources), 0
    for source in sources:
        try:
            site = _site_format(source, options.fmt)
            if site:
                expanded = _expand(source, site, options)
                problems.extend(
                    Problem(display(Path(p.path)), p.line, p.message) for p in expanded.problems
                )
                remarks.extend(expanded.remarks)
                total += len(expanded.items) - 1
                for item in expanded.items:
                    try:
                        imported.append(_import_migrated(item, options, taken, planned))
                    except SourceError as exc:
                        problems.append(Problem(display(item.source), None, str(exc)))
                    done += 1
                    if progress is not None:
                        progress(done, total)
                continue
            outcome = _import_one(source, options, taken, planned)
        except SourceError as exc:
            problems.append(Problem(display(source), None, str(exc)))
            outcome = None
        done += 1
        if progress is not None:
            progress(done, total)
        if outcome is not None:
            imported.append(outcome)
    return ImportReport(tuple(imported), tuple(problems), tuple(remarks))


def _site_format(source: Path, fmt: str) -> str:
    """``hugo``/``jekyll``/``wordpress`` when the source is a whole site, else ``""``."""
    if source.is_dir():
        if fmt in ("hugo", "jekyll"):
            return fmt
        if fmt != "auto":
            raise SourceError(f"is a folder; --format {fmt} takes files (use hugo or jekyll)")
        return detect_site(source)
    if fmt == "wordpress":
        return fmt
    if fmt == "auto" and source.suffix.lower() == ".xml" and source.is_file():
        try:
            with source.open("rb") as handle:
                head = handle.read(8192)
        except OSError:
            return ""
        return "wordpress" if is_wxr(head) else ""
    if fmt in ("hugo", "jekyll"):
        raise SourceError(f"--format {fmt} takes the site's folder, not a file")
    return ""


def _expand(source: Path, fmt: str, options: ImportOptions) -> Expanded:
    zone = options.publication.timezone
    if fmt == "wordpress":
        return import_wxr(source, zone)
    return import_site(source, fmt, zone)


def _import_migrated(
    item: Migrated,
    options: ImportOptions,
    taken: dict[str, Path],
    planned: dict[Path, tuple[Path, bytes]],
) -> Imported:
    """One article of a migrated site: written like any import, its bundle files beside it."""
    doc = _apply_options(item.doc, options)
    outcome = _finish(item.source, doc, item.fmt, item.mtime, options, taken, planned)
    if not item.assets:
        return outcome
    folder = outcome.target.parent / outcome.target.stem
    verb = "would copy" if options.dry_run else "copied"
    note = f"{len(item.assets)} page-bundle file(s) {verb} to {display(folder)}/"
    outcome = replace(outcome, notes=(*outcome.notes, note))
    if not options.dry_run:
        for path, relative in item.assets:
            target = folder / relative
            if target.absolute().resolve().is_relative_to(folder.absolute().resolve()):
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    raise SourceError(f"cannot copy {path}: {exc.strerror or exc}") from None
                if not target.is_file() or target.read_bytes() != data:
                    atomic_write(target, data)
    return outcome


def convert(data: bytes, source: Path, options: ImportOptions) -> tuple[ImportedDocument, str]:
    """Source bytes -> (document, format); SourceError if the source cannot be imported."""
    fmt = options.fmt if options.fmt != "auto" else detect_format(source, data)
    decoded = decode(data, html=fmt == "html")
    zone = options.publication.timezone
    if fmt == "html":
        doc = parse_html(decoded.text, zone, source_uri=source.absolute().as_uri())
    elif fmt == "markdown":
        doc = parse_markdown(decoded.text, zone)
    else:
        doc = parse_text(decoded.text, zone)
    if decoded.note:
        doc = replace(doc, notes=(decoded.note, *doc.notes))
    return doc, fmt


def detect_format(source: Path, data: bytes) -> str:
    """By file suffix; for other names by a look at the start of the file."""
    known = SUFFIXES.get(source.suffix.lower())
    if known:
        return known
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1024].lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<body" in head:
        return "html"
    first = head.split(b"\n", 1)[0].strip()
    if first in (b"+++", b"---") or first.startswith(b"# "):
        return "markdown"
    return "text"


def slug_for(title: str) -> str:
    """The file name stem for a title: a slug, apostrophes dropped, cut at a word boundary."""
    slug = slugify(re.sub(r"(?<=\w)['\u2019](?=\w)", "", title))
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rsplit("-", 1)[0] or slug[:SLUG_MAX]
    return slug


def display(path: Path) -> Path:
    """Paths in messages are relative to the working directory when possible."""
    try:
        return path.absolute().relative_to(Path.cwd())
    except ValueError:
        return path


def _import_one(
    source: Path,
    options: ImportOptions,
    taken: dict[str, Path],
    planned: dict[Path, tuple[Path, bytes]],
) -> Imported:
    try:
        info = source.stat()
        if info.st_size > MAX_SOURCE_BYTES:  # refused unread: it may be any size at all
            raise SourceError(
                f"file is {info.st_size:,} bytes, over the limit of {MAX_SOURCE_BYTES:,} "
                "for an import source (see the README's Limits)"
            )
        data = source.read_bytes()
        mtime = info.st_mtime
    except IsADirectoryError:
        raise SourceError("is a folder, not a file") from None
    except FileNotFoundError:
        raise SourceError("no such file") from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    doc, fmt = convert(data, source, options)
    doc = _apply_options(doc, options)
    return _finish(source, doc, fmt, mtime, options, taken, planned)


def _finish(
    source: Path,
    doc: ImportedDocument,
    fmt: str,
    mtime: float,
    options: ImportOptions,
    taken: dict[str, Path],
    planned: dict[Path, tuple[Path, bytes]],
) -> Imported:
    """A document -> its content file: date, file name, checked, written unless a dry run."""
    zone = options.publication.timezone
    when = (
        options.date
        or doc.date
        or datetime.fromtimestamp(mtime, zone).replace(second=0, microsecond=0)
    )
    target = _target(doc, options.into)
    text = render_document(doc, date=when)
    content = text.encode("utf-8")
    _check_loads(content, target, options.publication)
    status = _status(target, content, source, options, taken, planned)
    if status in ("written", "overwritten"):
        atomic_write(target, content)
    planned[target] = (source, content)
    return Imported(source, target, status, text, fmt, doc.dropped, doc.notes)


def _apply_options(doc: ImportedDocument, options: ImportOptions) -> ImportedDocument:
    """--tag and --section on top of what the source says; a redundant ``lang`` dropped."""
    tags = tuple(dict.fromkeys((*doc.tags, *options.tags)))
    lang = doc.lang
    if lang and lang.split("-")[0].lower() == options.publication.language.split("-")[0].lower():
        lang = ""
    return replace(doc, tags=tags, section=options.section or doc.section, lang=lang)


def _target(doc: ImportedDocument, into: Path) -> Path:
    slug = doc.slug or slug_for(doc.title)
    if not slug or not _SLUG.fullmatch(slug):
        raise SourceError(
            f"no usable file name: the slug {slug!r} needs letters or digits"
            if not slug
            else f"no usable file name: slug {slug!r} may hold only letters, digits, '-' and '.'"
        )
    target = into / f"{slug}.md"
    root = into.absolute().resolve()
    if target.absolute().resolve().parent != root:
        raise SourceError(f"refusing to write {target}: outside {into}")
    return target


def _check_loads(content: bytes, target: Path, pub: Publication) -> None:
    """The written file must load as an article; a source that breaks this is reported."""
    try:
        parse_article(content, pub, path=target, display=target)
    except ContentError as exc:
        reason = "; ".join(problem.message for problem in exc.problems)
        raise SourceError(f"the imported article would not load: {reason}") from None


def _status(
    target: Path,
    content: bytes,
    source: Path,
    options: ImportOptions,
    taken: dict[str, Path],
    planned: dict[Path, tuple[Path, bytes]],
) -> str:
    """What importing means for the target file; SourceError where it would clobber."""
    shown = display(target)
    if target in planned and planned[target][1] != content:
        raise SourceError(f"{shown} was just imported from {display(planned[target][0])}")
    owner = taken.get(_DATE_PREFIX.sub("", target.stem))
    if owner is not None and owner.name != target.name:
        raise SourceError(f"slug {target.stem!r} is already used by {display(owner)}")
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise SourceError(f"{shown} exists and is not a regular file; refusing to replace it")
    if target in planned:
        return "unchanged"
    if not target.exists():
        return "new" if options.dry_run else "written"
    if target.read_bytes() == content:
        return "unchanged"
    if not options.force:
        raise SourceError(
            f"{shown} already exists with different content; pass --force to overwrite it"
        )
    return "would-overwrite" if options.dry_run else "overwritten"


def _existing_slugs(into: Path) -> dict[str, Path]:
    """Slugs the content folder's file names already claim (``2026-11-02-x.md`` -> ``x``)."""
    if not into.is_dir():
        return {}
    return {
        _DATE_PREFIX.sub("", path.stem): path
        for path in sorted(into.iterdir())
        if path.suffix.lower() in (".md", ".markdown") and path.is_file()
    }


def options_for(
    config: Config | None,
    *,
    into: Path | None,
    zone_name: str | None = None,
    when: str | None = None,
    fmt: str = "auto",
    tags: Sequence[str] = (),
    section: str = "",
    dry_run: bool = False,
    force: bool = False,
) -> ImportOptions:
    """ImportOptions from the command line: without a config, --into is required and dates
    without an offset are taken in --timezone (default UTC)."""
    if config is None and into is None:
        raise UsageError("no config.toml found: pass --into DIR (and --timezone), or --config")
    if zone_name:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(
                f"unknown timezone {zone_name!r}; use an IANA name such as 'Europe/Berlin'"
            ) from None
    else:
        zone = config.publication.timezone if config else ZoneInfo("UTC")
    pub = (
        replace(config.publication, timezone=zone)
        if config
        else Publication(title="import", base_url="https://example.invalid", timezone=zone)
    )
    date = parse_when(when, datetime.now(zone), zone) if when else None
    target = into if into is not None else (config.content_dir if config else Path("content"))
    return ImportOptions(
        into=target,
        publication=pub,
        fmt=fmt,
        date=date,
        tags=tuple(tags),
        section=section,
        dry_run=dry_run,
        force=force,
    )


def report_lines(report: ImportReport, *, dry_run: bool) -> list[tuple[str, bool]]:
    """What the CLI prints, as (line, to_stderr): per source its outcome, every dropped line
    and note; in a dry run the file's full text instead of the outcome."""
    verbs = {
        "written": "imported",
        "overwritten": "overwrote",
        "unchanged": "unchanged (already imported)",
        "new": "would write",
        "would-overwrite": "would overwrite",
    }
    lines: list[tuple[str, bool]] = []
    migrated = any(item.fmt in SITE_FORMATS for item in report.imported)
    for item in report.imported:
        source, target = display(item.source), display(item.target)
        if dry_run:
            lines.append(
                (f"--- {source} -> {target} ({verbs[item.status]}, {item.fmt}) ---", False)
            )
            lines.append((item.text.rstrip("\n"), False))
        else:
            lines.append((f"{verbs[item.status]}: {source} -> {target}", False))
        if item.fmt not in SITE_FORMATS:
            lines.extend(
                (f"{source}: dropped boilerplate: {line!r}", True) for line in item.dropped
            )
            lines.extend((f"{source}: note: {note}", True) for note in item.notes)
    if migrated:
        lines.extend(_carry_over_report(report))
    return lines


def _carry_over_report(report: ImportReport) -> list[tuple[str, bool]]:
    """For a migrated site, after every file's outcome: what could not be carried over, per
    file, then about the site as a whole. On stderr; never an error by itself."""
    lines: list[tuple[str, bool]] = []
    for item in report.imported:
        if item.fmt not in SITE_FORMATS:
            continue
        source = display(item.source)
        lines.extend((f"  {source}: dropped boilerplate: {line!r}", True) for line in item.dropped)
        lines.extend((f"  {source}: {note}", True) for note in item.notes)
    lines.extend((f"  {remark}", True) for remark in report.remarks)
    if lines:
        lines.insert(0, ("what could not be carried over, and other notes:", True))
    return lines
