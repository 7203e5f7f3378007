"""content/ -> Articles. Every problem in every file is reported as ``path:line: message``.

Front matter is checked against the schema in ``frontmatter_schema.py``; this module turns
valid front matter into Articles, renders bodies and selects what is published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from pydantic import ValidationError

from ..config import Config
from ..errors import ContentError, Problem
from ..model import Article, Author, Correction, Enclosure, Image, Publication, newest_first
from . import frontmatter
from .limits import MAX_FILE_BYTES, OUTSIDE_LINK, escapes
from .markdown import parse
from .render import (
    first_paragraph_text,
    render_html,
    render_markdown,
    sanitize,
    shorten,
    strip_xml_illegal,
)
from .schema import AuthorEntry, FrontMatter, ImageEntry, Moment, item_line, schema_problems
from .slugs import slugify
from .when import parse_datetime

if TYPE_CHECKING:
    from markdown_it.token import Token

CONTENT_SUFFIXES = (".md", ".markdown")
_SPACES = re.compile(r"\s+")
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}[-_]")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Every article found, in file order, plus warnings that do not stop a build."""

    articles: tuple[Article, ...]
    warnings: tuple[Problem, ...] = ()


def content_files(directory: Path) -> list[Path]:
    """The Markdown files under a content directory, in a stable (sorted) order."""
    if not directory.is_dir():
        return []
    return sorted(
        path
        for path in directory.rglob("*")
        if path.suffix.lower() in CONTENT_SUFFIXES
        and path.is_file()
        and not any(part.startswith((".", "_")) for part in path.relative_to(directory).parts)
    )


def load_articles(directory: Path, pub: Publication, *, render: bool = False) -> LoadResult:
    """Read every article; raise ContentError listing every problem in every file."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    articles: list[Article] = []
    if not directory.is_dir():
        raise ContentError(
            [Problem(directory, None, "content directory not found; set [content] dir")]
        )
    for path in content_files(directory):
        if path.is_symlink() and (target := escapes(str(directory), str(path))):
            problems.append(Problem(_display(path), None, OUTSIDE_LINK.format(target=target)))
            continue
        try:
            article, file_warnings = read_article(path, pub, display=_display(path))
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        warnings.extend(file_warnings)
        articles.append(article)
    problems.extend(_duplicates(articles))
    if problems:
        raise ContentError([*problems, *warnings])
    if render:
        articles = [render_article(article, pub) for article in articles]
    return LoadResult(tuple(articles), tuple(warnings))


def _display(path: Path) -> Path:
    """Paths in messages are relative to the working directory when possible."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def read_article(
    path: Path, pub: Publication, *, display: Path | None = None
) -> tuple[Article, list[Problem]]:
    """Parse one content file into an Article (body not yet rendered)."""
    shown = display or path
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:  # refused before it is read: the file may be any size at all
        raise ContentError([too_large(shown, size)])
    data = path.read_bytes()
    return parse_article(data, pub, path=path, display=shown)


def too_large(display: Path, size: int) -> Problem:
    """The problem of a content file over the size limit."""
    return Problem(
        display,
        None,
        f"file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,}; split it into "
        "several articles (see the README's Limits)",
    )


def parse_article(
    data: bytes, pub: Publication, *, path: Path, display: Path, front_only: bool = False
) -> tuple[Article, list[Problem]]:
    """Bytes of one content file -> an Article, or ContentError naming file and line.

    With ``front_only`` the article keeps no body and, without a ``summary`` key, gets an empty
    summary instead of one taken from its body: parsing the body is the costly part, and a
    build reads a body (from its byte offset) only for the articles that land in a feed
    (``render_body`` fills their summaries in, from the same parse).
    """
    if len(data) > MAX_FILE_BYTES:
        raise ContentError([too_large(display, len(data))])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContentError(
            [Problem(display, line, f"invalid UTF-8 at byte {exc.start}; save the file as UTF-8")]
        ) from None
    try:
        split = frontmatter.split(text, body=not front_only)
    except frontmatter.FrontMatterSyntaxError as exc:
        raise ContentError([Problem(display, exc.line, str(exc))]) from None
    try:
        meta = FrontMatter.model_validate(split.data)
    except ValidationError as exc:
        # Report the dates too: otherwise a bad date shows only after the key error is fixed.
        problems = schema_problems(display, split, exc)
        named = {problem.message.split(":", 1)[0] for problem in problems}
        problems += [
            problem
            for key in _MOMENT_KEYS
            if key not in named and isinstance(split.data.get(key), str | date)
            for problem in _moment_problems(key, split.data[key], split, pub, display)
        ]
        raise ContentError(sorted(problems, key=lambda problem: problem.line or 0)) from None
    return _build(meta, split, pub, path=path, display=display, front_only=front_only)


def _build(
    meta: FrontMatter,
    split: frontmatter.Split,
    pub: Publication,
    *,
    path: Path,
    display: Path,
    front_only: bool = False,
) -> tuple[Article, list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []

    def moment(key: str, value: Moment | None) -> datetime | None:
        if value is None:
            return None
        try:
            return parse_datetime(value, pub.timezone)
        except ValueError:
            problems.extend(_moment_problems(key, value, split, pub, display))
            return None

    if not _clean_line(meta.title):
        problems.append(Problem(display, split.line_of("title"), "title: is blank"))
    published = moment("date", meta.date)
    updated = moment("updated", meta.updated)
    publish_at = moment("publish_at", meta.publish_at)
    corrections = _corrections(meta, split, pub, display, published, problems)
    if problems or published is None:
        raise ContentError(problems)
    slug = meta.slug or slugify(_DATE_PREFIX.sub("", path.stem))
    if not slug:
        raise ContentError(
            [Problem(display, 1, "cannot derive a slug from the file name; set slug")]
        )
    # A relative ``url`` is a path on the site: feeds have no base URL to resolve it against.
    url = urljoin(f"{pub.base_url}/", meta.url) if meta.url else f"{pub.base_url}/{slug}/"
    image = _image(meta, url)
    if (
        image is not None
        and not image.alt
        and meta.image_alt is None
        and not (isinstance(meta.image, ImageEntry) and meta.image.alt is not None)
    ):
        warnings.append(
            Problem(display, split.line_of("image"), "image has no alt text; set image_alt", True)
        )
    summary = meta.summary.strip()
    if not summary and not front_only:
        summary = body_summary(parse(split.body), meta.title)
    article = Article(
        id=strip_xml_illegal(meta.id or f"{pub.base_url}/{slug}/"),
        slug=slug,
        url=url,
        title=_clean_line(meta.title),
        date=published,
        # A correction changes the article: feed readers learn of it through ``updated``.
        updated=max(updated or published, published, *(c.date for c in corrections)),
        body=split.body,
        dek=_clean_line(meta.dek),
        summary=strip_xml_illegal(summary),
        authors=_authors(meta, pub),
        tags=tuple(dict.fromkeys(_clean_line(tag) for tag in meta.tags)),
        section=_clean_line(meta.section),
        image=image,
        enclosure=(
            Enclosure(
                url=_absolute(meta.enclosure.url, url),
                type=meta.enclosure.type,
                length=meta.enclosure.length,
            )
            if meta.enclosure
            else None
        ),
        draft=meta.draft,
        publish_at=publish_at,
        canonical_url=_absolute(meta.canonical_url, url) if meta.canonical_url else "",
        lang=meta.lang or pub.language,
        source=path,
        body_line=split.body_line,
        corrections=corrections,
    )
    return article, warnings


_MOMENT_KEYS = ("date", "updated", "publish_at")


def _corrections(
    meta: FrontMatter,
    split: frontmatter.Split,
    pub: Publication,
    display: Path,
    published: datetime | None,
    problems: list[Problem],
) -> tuple[Correction, ...]:
    """The ``[[corrections]]`` entries, oldest first; bad ones become problems.

    A correction dated before the article, or two with the same moment (their key, which
    names the feed entry and the readers' notice for life), is a mistake worth stopping for.
    """
    found: list[Correction] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(meta.corrections):
        line = item_line(split, "corrections", index)
        where = f"corrections[{index}]"
        try:
            when = parse_datetime(entry.date, pub.timezone)
        except ValueError:
            problems.append(
                Problem(
                    display,
                    line,
                    f"{where}.date: not a date: {entry.date!r}; use ISO 8601 such as "
                    "2026-12-06T09:30:00+01:00",
                )
            )
            continue
        if published is not None and when < published:
            problems.append(
                Problem(
                    display,
                    line,
                    f"{where}.date: {when.isoformat()} is before the article's date "
                    f"({published.isoformat()}); a correction follows publication",
                )
            )
            continue
        correction = Correction(
            date=when, text=_SPACES.sub(" ", strip_xml_illegal(entry.text)).strip(), kind=entry.kind
        )
        if correction.key in seen:
            problems.append(
                Problem(
                    display,
                    line,
                    f"{where}.date: same moment as corrections[{seen[correction.key]}]; "
                    "give each correction its own time",
                )
            )
            continue
        seen[correction.key] = index
        found.append(correction)
    return tuple(sorted(found, key=lambda c: c.date))


def _moment_problems(
    key: str, value: Moment, split: frontmatter.Split, pub: Publication, display: Path
) -> list[Problem]:
    """The problem of a date-time value that does not parse (none when it does)."""
    try:
        parse_datetime(value, pub.timezone)
    except ValueError:
        return [
            Problem(
                display,
                split.line_of(key),
                f"{key}: not a date: {value!r}; use ISO 8601 such as 2026-11-25T08:00:00+01:00",
            )
        ]
    return []


def _clean_line(text: str) -> str:
    """A one-line field: XML-illegal characters dropped, runs of whitespace folded."""
    if text.isprintable() and "  " not in text:
        # Printable text holds no control, surrogate or non-character code points and no
        # whitespace but single spaces: the regexes below would change nothing but the ends.
        return text.strip()
    return _SPACES.sub(" ", strip_xml_illegal(text)).strip()


def _absolute(url: str, base: str) -> str:
    """``url`` resolved against the article's address.

    A plain absolute address is returned as it is, and a plain root-relative one
    (``/images/a.jpg``) joined to the site: what ``urljoin`` would give, at a fraction of
    its cost (~20 us a call, paid for most of a newsroom's images).
    """
    if _NEEDS_JOIN.search(url) is None:
        if url.startswith(("https://", "http://")):
            return url
        origin = _ORIGIN.match(base)
        if url.startswith("/") and not url.startswith("//") and origin is not None:
            return origin[1] + url  # "/images/a.jpg" on the article's own site
    return urljoin(base, url)


# What urljoin would change in an absolute URL: dot segments, and the query/fragment/params
# markers it normalises; such URLs take the slow, exact path.
_NEEDS_JOIN = re.compile(r"[?#;\\\s]|/\.\.?(?:/|$)")
_ORIGIN = re.compile(r"(https?://[^/?#;\\\s]+)/")


def _image(meta: FrontMatter, article_url: str) -> Image | None:
    if meta.image is None:
        return None
    if isinstance(meta.image, str):
        return Image(url=_absolute(meta.image, article_url), alt=_clean_line(meta.image_alt or ""))
    alt = meta.image.alt if meta.image.alt is not None else (meta.image_alt or "")
    return Image(
        url=_absolute(meta.image.url, article_url),
        alt=_clean_line(alt),
        width=meta.image.width,
        height=meta.image.height,
    )


def _authors(meta: FrontMatter, pub: Publication) -> tuple[Author, ...]:
    """The article's authors, else the publication's."""
    authors = _byline(meta)
    if not authors and pub.author is not None:
        return (pub.author,)
    return authors


_BYLINES: dict[tuple[str, ...], tuple[Author, ...]] = {}


def _byline(meta: FrontMatter) -> tuple[Author, ...]:
    names = tuple(entry for entry in meta.authors if isinstance(entry, str))
    if meta.author is None and len(names) == len(meta.authors):
        # A byline of plain names: a newsroom has few, each shared by many articles.
        known = _BYLINES.get(names)
        if known is None:
            known = _BYLINES[names] = tuple(Author(name=_clean_line(name)) for name in names)
        return known
    entries: list[str | AuthorEntry] = list(meta.authors)
    if meta.author is not None:
        entries.insert(0, meta.author)
    return tuple(
        Author(name=_clean_line(entry))
        if isinstance(entry, str)
        else Author(name=_clean_line(entry.name), email=entry.email, url=entry.url)
        for entry in entries
    )


def _duplicates(articles: Sequence[Article]) -> Iterable[Problem]:
    for field in ("slug", "id"):
        owners: dict[str, Article] = {}
        for article in articles:
            key = getattr(article, field)
            first = owners.setdefault(key, article)
            if first is not article:
                yield Problem(
                    _display(article.source) if article.source else "?",
                    1,
                    f"duplicate {field} {key!r}: also used by {_display(first.source or Path('?'))}",
                )


def render_article(article: Article, pub: Publication) -> Article:
    """The article with its body rendered to sanitized HTML (done once, shared by exporters)."""
    if article.html:
        return article
    return replace(article, html=render_html(article.body, article.url))


def body_summary(tokens: Sequence[Token], title: str) -> str:
    """The fallback summary: the body's first paragraph, shortened, else the title."""
    return strip_xml_illegal(shorten(first_paragraph_text(tokens)) or _clean_line(title))


def render_body(body: str, url: str, title: str, *, summary: bool = True) -> tuple[str, str]:
    """(sanitized HTML, fallback summary) of one body from a single Markdown parse; with
    ``summary=False`` (the article has its own) the summary is left empty."""
    html, first = render_markdown(body, summary=summary)
    text = strip_xml_illegal(shorten(first) or _clean_line(title)) if summary else ""
    return sanitize(html, url), text


def select_published(articles: Iterable[Article], now: datetime) -> list[Article]:
    """What may be published at ``now``: no drafts, no embargoed or future articles."""
    return newest_first([article for article in articles if article.is_published(now)])


def load_published(config: Config, now: datetime) -> tuple[list[Article], LoadResult]:
    """Every article visible at ``now``, newest first, bodies not yet rendered."""
    loaded = load_articles(config.content_dir, config.publication)
    return select_published(loaded.articles, now), loaded
