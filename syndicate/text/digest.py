"""Plain-text digests: what a publication published in a period, laid out for reading.

A period is ``[since, until)``: ``since`` inclusive, ``until`` exclusive, both instants (dates
given without a time mean midnight in the publication's timezone, so "the 25th" is the 25th
there, across DST changes too). An article belongs to the period of the moment it first became
visible (its date, or its embargo when that is later), so an embargoed article is never missed.

The text is laid out by the Jinja2 template ``digest.txt.j2`` (a publication may override it in
its own ``templates/``), which receives content only as variables; whatever the template does,
the result is normalized: LF line endings, no trailing spaces, no runs of blank lines, exactly
one final newline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from ..content.corrections import label
from ..content.slugs import slugify
from ..model import Article, Author, DigestOptions, Publication, newest_first
from .plaintext import format_links, render_markdown_text
from .templates import render_template, template_environment
from .width import text_width, wrap

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "digest.txt.j2"
DEFAULT_DAYS = 7
DASH = "\u2013"  # an en dash joins the ends of a period
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Period:
    """``[since, until)``: since inclusive, until exclusive."""

    since: datetime
    until: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def label(self, zone: tzinfo) -> str:
        """Human wording: ``17-23 November 2026`` (with an en dash) for whole days, else
        times with their zone names."""
        since = self.since.astimezone(zone)
        until = self.until.astimezone(zone)
        if since.time() == time() and until.time() == time() and until > since:
            last = (until - timedelta(days=1)).date()
            first = since.date()
            if first == last:
                return format_date(since, zone)
            if (first.year, first.month) == (last.year, last.month):
                return f"{first.day}{DASH}{last.day} {MONTHS[last.month - 1]} {last.year}"
            if first.year == last.year:
                return (
                    f"{first.day} {MONTHS[first.month - 1]} {DASH} "
                    f"{last.day} {MONTHS[last.month - 1]} {last.year}"
                )
            return f"{_day(first)} {DASH} {_day(last)}"
        return f"{_moment(since)} {DASH} {_moment(until)}"


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One article as the template sees it: fields ready to print, text already wrapped."""

    number: int
    marker: str
    article: Article
    title: str
    dek: str
    byline: str
    date: str
    url: str
    text: str
    links: tuple[str, ...]
    links_text: str


@dataclass(frozen=True, slots=True)
class DigestCorrection:
    """A correction note made in the period, as the template sees it."""

    title: str  # the corrected article's
    url: str
    label: str  # Correction | Clarification | Update
    date: str
    text: str


@dataclass(frozen=True, slots=True)
class DigestSection:
    """A section heading (empty for articles without one) and its entries, newest first."""

    title: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """A rendered digest: its text, the articles in it and the period it covers."""

    text: str
    articles: tuple[Article, ...]
    period: Period
    newest: datetime | None = None  # the newest published article's time, in or out of it
    corrections: tuple[DigestCorrection, ...] = ()


def format_date(moment: datetime, zone: tzinfo) -> str:
    """``Monday, 23 November 2026`` in the publication's timezone (no locale involved)."""
    local = moment.astimezone(zone)
    return f"{WEEKDAYS[local.weekday()]}, {_day(local)}"


def _day(value: date) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def _moment(moment: datetime) -> str:
    return f"{_day(moment)}, {moment:%H:%M} {moment.tzname() or ''}".rstrip()


def byline(authors: Sequence[Author]) -> str:
    """``By A``, ``By A and B``, ``By A, B and C``; empty without authors."""
    names = [author.name for author in authors if author.name]
    if not names:
        return ""
    if len(names) == 1:
        return f"By {names[0]}"
    return f"By {', '.join(names[:-1])} and {names[-1]}"


def select(
    articles: Iterable[Article],
    period: Period,
    *,
    sections: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> list[Article]:
    """The articles first visible within the period, in any of the sections and tags given
    (compared by slug, so ``Local politics`` matches ``local-politics``), newest first."""
    wanted_sections = {slugify(name) for name in sections}
    wanted_tags = {slugify(name) for name in tags}
    chosen = [
        article
        for article in articles
        if article.visible_from in period
        and (not wanted_sections or slugify(article.section) in wanted_sections)
        and (not wanted_tags or wanted_tags & {slugify(tag) for tag in article.tags})
    ]
    return newest_first(chosen)


def corrections_in(
    articles: Iterable[Article], period: Period, zone: tzinfo
) -> list[DigestCorrection]:
    """Every correction note made within the period, to any of ``articles``, newest first."""
    found = sorted(
        ((c, a) for a in articles for c in a.corrections if c.date in period),
        key=lambda pair: (pair[0].date, pair[1].id),
        reverse=True,
    )
    return [
        DigestCorrection(
            title=article.title,
            url=article.url,
            label=label(correction),
            date=format_date(correction.date, zone),
            text=correction.text,
        )
        for correction, article in found
    ]


def period_ending(until: datetime, zone: tzinfo, days: int = DEFAULT_DAYS) -> Period:
    """The ``days`` calendar days before ``until`` (wall-clock days, so a DST week is 7 days)."""
    local = until.astimezone(zone)
    naive_since = local.replace(tzinfo=None) - timedelta(days=days)
    return Period(since=naive_since.replace(tzinfo=zone), until=until)


def latest_period(articles: Sequence[Article], zone: tzinfo) -> Period | None:
    """The week ending at the midnight after the newest article (the ``build`` digest)."""
    if not articles:
        return None
    newest = max(article.visible_from for article in articles).astimezone(zone)
    day_after = datetime.combine(newest.date() + timedelta(days=1), time(), tzinfo=zone)
    return period_ending(day_after, zone)


def render_digest(
    pub: Publication,
    articles: Sequence[Article],
    period: Period,
    *,
    options: DigestOptions | None = None,
    env: jinja2.Environment | None = None,
    corrections: Sequence[DigestCorrection] = (),
) -> str:
    """The digest of already selected articles (grouped by section here) as normalized text,
    with the correction notes made in the period (``corrections_in``) listed after them."""
    options = options or pub.digest
    width = options.width
    env = env or digest_environment(options.templates_dir)
    groups: dict[str, list[Article]] = {}
    for article in newest_first(list(articles)):
        groups.setdefault(article.section, []).append(article)
    order = sorted(groups, key=lambda name: (name == "", name.casefold(), name))
    numbered = [article for name in order for article in groups[name]]
    marker_width = len(f"{len(numbered)}.")
    entries: dict[str, list[DigestEntry]] = {name: [] for name in order}
    all_links: list[str] = []
    for number, article in enumerate(numbered, start=1):
        shared = options.links == "digest"
        start = len(all_links) + 1 if shared else 1
        if options.full:
            block = render_markdown_text(
                article.body, base_url=article.url, width=width, link_start=start
            )
            text, links = block.text, block.links
        else:
            text, links = "\n".join(wrap(article.summary, width)), ()
        if shared:
            all_links.extend(links)
        entries[article.section].append(
            DigestEntry(
                number=number,
                marker=f"{number}.".rjust(marker_width),
                article=article,
                title=article.title,
                dek=article.dek,
                byline=byline(article.authors),
                date=format_date(article.date, pub.timezone),
                url=article.url,
                text=text.rstrip("\n"),
                links=links,
                links_text="" if shared else format_links(links, start=start).rstrip("\n"),
            )
        )
    sections = [DigestSection(title=name, entries=tuple(entries[name])) for name in order]
    raw = render_template(
        env,
        TEMPLATE,
        publication=pub,
        period=period,
        period_label=period.label(pub.timezone),
        width=width,
        full=options.full,
        sections=sections,
        entries=[entry for section in sections for entry in section.entries],
        count=len(numbered),
        links=tuple(all_links),
        links_text=format_links(all_links).rstrip("\n"),
        corrections=tuple(corrections),
    )
    return normalize(raw)


def digest_environment(templates_dir: Path | None) -> jinja2.Environment:
    """The template environment for text (no autoescape) with the text-layout filters."""
    env = template_environment(templates_dir, autoescape=False)
    env.filters["wrap"] = _wrap_filter
    env.filters["underline"] = _underline_filter
    return env


def _wrap_filter(text: object, width: int, indent: str = "", hanging: str | None = None) -> str:
    """``{{ text | wrap(width, indent="  1. ") }}``: wide-character-aware wrapping; the hanging
    indent defaults to as many spaces as ``indent`` is wide."""
    subsequent = " " * text_width(indent) if hanging is None else hanging
    return "\n".join(wrap(str(text), width, initial_indent=indent, subsequent_indent=subsequent))


def _underline_filter(text: object, char: str = "=") -> str:
    """``{{ title | underline("-") }}``: the text over a rule as wide as its widest line."""
    value = str(text)
    widest = max((text_width(line) for line in value.split("\n")), default=0)
    return f"{value}\n{char * widest}" if widest else value


_BLANK_RUN = re.compile(r"\n{3,}")


def normalize(text: str) -> str:
    """LF endings, no trailing spaces, at most one blank line in a row, one final newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _BLANK_RUN.sub("\n\n", text).strip("\n")
    return text + "\n" if text else ""
