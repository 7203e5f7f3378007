"""Which feeds a publication has: the main feed plus one per tag and per section."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import PurePosixPath
from typing import ClassVar, Protocol, runtime_checkable
from urllib.parse import quote

from ..content.corrections import label, note_html, note_text
from ..content.render import strip_xml_illegal as strip_xml_illegal
from ..content.slugs import slugify as _slugify
from ..model import Article, Artifact, Correction, Publication

# Tags repeat across thousands of articles: slugify each spelling once per process.
slugify = cache(_slugify)


@runtime_checkable
class FeedExporter(Protocol):
    """An exporter that writes one file per FeedSpec, so a build can skip unchanged feeds.

    ``export_feed`` must depend only on the publication and the spec (its articles, already
    rendered): the build cache re-serialises a feed only when those inputs change.
    """

    name: ClassVar[str]
    filename: ClassVar[str]
    media_type: ClassVar[str]

    def export_feed(self, pub: Publication, spec: FeedSpec) -> bytes: ...


class PerFeedExporter(ABC):
    """Base of the feed formats: one ``filename`` per FeedSpec, serialised by ``export_feed``.

    A subclass names its format (``name``, ``filename``, ``media_type``) and writes
    ``export_feed`` (a subclass without it cannot be instantiated); ``export`` (the plain
    Exporter interface) is the same for all of them.
    """

    name: ClassVar[str]
    filename: ClassVar[str]
    media_type: ClassVar[str]

    def export(self, pub: Publication, articles: Sequence[Article]) -> Sequence[Artifact]:
        """The publication's feed and one per tag and section, in this format."""
        return [
            Artifact(spec.path(self.filename), self.export_feed(pub, spec), self.media_type)
            for spec in feed_specs(pub, articles)
        ]

    @abstractmethod
    def export_feed(self, pub: Publication, spec: FeedSpec) -> bytes:
        """One feed's bytes; depends only on ``pub`` and ``spec`` (see FeedExporter)."""


CORRECTIONS_FOLDER = PurePosixPath("corrections")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One logical feed, written once per format into the folder ``directory``.

    ``corrections`` marks the corrections feed: its ``articles`` are the corrected articles
    (so the build cache tracks them like any feed's inputs), its ``entries`` one per note.
    """

    directory: PurePosixPath
    title: str
    description: str
    articles: tuple[Article, ...]
    home_url: str
    corrections: bool = False

    def url(self, pub: Publication, filename: str) -> str:
        """The absolute URL the file is served at (``atom:link rel=self``)."""
        folder = "" if str(self.directory) == "." else f"{self.directory}/"
        # A tag slug keeps non-Latin letters (``tags/日本語/``): percent-encoded, the address
        # is a URI, as RSS requires and every reader and validator can compare.
        return f"{pub.feeds.url}/{quote(folder + filename, safe='/')}"

    def path(self, filename: str) -> PurePosixPath:
        """The file's path relative to the output directory."""
        return self.directory / filename

    @property
    def updated(self) -> datetime | None:
        """The newest change among its items: never "now", so rebuilds are byte-identical."""
        return max((a.updated for a in self.entries(None)), default=None)

    def entries(self, pub: Publication | None) -> list[Article]:
        """What the feed lists: its articles, or for the corrections feed one entry per note
        (newest first, capped by ``max_items``; ``pub`` gives the timezone of their wording)."""
        if not self.corrections:
            return list(self.articles)
        found = sorted(
            ((c, a) for a in self.articles for c in a.corrections),
            key=lambda pair: (pair[0].date, pair[1].id),
            reverse=True,
        )
        limit = pub.feeds.max_items if pub is not None else len(found)
        return [correction_entry(pub, article, c) for c, article in found[:limit]]


def correction_entry(pub: Publication | None, article: Article, correction: Correction) -> Article:
    """A correction as an entry of the corrections feed: its own id for life (the article's
    id and the note's moment), the article's link, the note as its content."""
    zone = pub.timezone if pub is not None else UTC
    text = note_text(correction, zone)
    return replace(
        article,
        id=f"{article.id}#correction-{correction.key}",
        title=f"{label(correction)}: {article.title}",
        date=correction.date,
        updated=correction.date,
        summary=text,
        html=note_html(correction, zone),
        tags=(),
        section="",
        image=None,
        enclosure=None,
        canonical_url="",
        corrections=(),
    )


def feed_specs(pub: Publication, articles: Sequence[Article]) -> list[FeedSpec]:
    """Main, per-tag and per-section feeds; ``articles`` must already be newest first."""
    limit = pub.feeds.max_items
    title = strip_xml_illegal(pub.title)
    description = strip_xml_illegal(pub.description) or title
    specs = [
        FeedSpec(PurePosixPath("."), title, description, tuple(articles[:limit]), pub.base_url)
    ]
    if "tags" in pub.feeds.taxonomies:
        specs += _grouped(pub, articles, "tags", lambda a: a.tags, "Tag")
    if "sections" in pub.feeds.taxonomies:
        specs += _grouped(
            pub, articles, "sections", lambda a: (a.section,) if a.section else (), "Section"
        )
    corrected = tuple(article for article in articles if article.corrections)
    if pub.corrections.feed and corrected:
        specs.append(
            FeedSpec(
                CORRECTIONS_FOLDER,
                f"{title}: corrections",
                f"Every correction, clarification and update to articles of {title}",
                corrected,
                pub.base_url,
                corrections=True,
            )
        )
    return specs


def _grouped(
    pub: Publication,
    articles: Sequence[Article],
    folder: str,
    terms: Callable[[Article], Sequence[str]],
    label: str,
) -> list[FeedSpec]:
    groups: dict[str, list[Article]] = {}
    names: dict[str, str] = {}
    slugs: dict[str, str] = {}  # an archive's 10,000 articles share a few dozen terms
    for article in articles:
        for term in terms(article):
            slug = slugs.get(term)
            if slug is None:
                slug = slugs[term] = slugify(term)
            names.setdefault(slug, term)
            bucket = groups.setdefault(slug, [])
            if len(bucket) < pub.feeds.max_items:
                bucket.append(article)
    title = strip_xml_illegal(pub.title)
    return [
        FeedSpec(
            PurePosixPath(folder) / slug,
            f"{title}: {names[slug]}",
            f"{label} “{names[slug]}” from {title}",
            tuple(groups[slug]),
            pub.base_url,
        )
        for slug in sorted(groups)
    ]
