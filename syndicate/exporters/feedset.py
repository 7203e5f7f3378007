"""Which feeds a publication has: the main feed plus one per tag and per section."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from ..model import Article, Publication
from ..render import strip_xml_illegal
from ..slugs import slugify


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One logical feed, written once per format into the folder ``directory``."""

    directory: PurePosixPath
    title: str
    description: str
    articles: tuple[Article, ...]
    home_url: str

    def url(self, pub: Publication, filename: str) -> str:
        """The absolute URL the file is served at (``atom:link rel=self``)."""
        folder = "" if str(self.directory) == "." else f"{self.directory}/"
        return f"{pub.feeds.url}/{folder}{filename}"

    def path(self, filename: str) -> PurePosixPath:
        """The file's path relative to the output directory."""
        return self.directory / filename

    @property
    def updated(self) -> datetime | None:
        """The newest change among its items: never "now", so rebuilds are byte-identical."""
        return max((a.updated for a in self.articles), default=None)


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
    for article in articles:
        for term in terms(article):
            slug = slugify(term)
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
