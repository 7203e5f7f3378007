"""RSS 2.0 feeds (main, per tag, per section) through feedgen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ..model import Article, Publication
from . import Artifact
from .feedset import FeedSpec, feed_specs

FILENAME = "rss.xml"
MEDIA_TYPE = "application/rss+xml"


class RssExporter:
    """Writes ``rss.xml`` for the publication and for each tag and section."""

    name: ClassVar[str] = "rss"
    filename: ClassVar[str] = FILENAME
    media_type: ClassVar[str] = MEDIA_TYPE

    def export(self, pub: Publication, articles: Sequence[Article]) -> Sequence[Artifact]:
        return [
            Artifact(spec.path(FILENAME), self.export_feed(pub, spec), MEDIA_TYPE)
            for spec in feed_specs(pub, articles)
        ]

    def export_feed(self, pub: Publication, spec: FeedSpec) -> bytes:
        """One feed's bytes (feedgen and lxml are imported only when a feed is serialised)."""
        from ._feedgen import add_entry, new_feed

        fg = new_feed(pub, spec, spec.url(pub, FILENAME), MEDIA_TYPE)
        for article in spec.articles:
            add_entry(fg, pub, article, atom=False)
        content: bytes = fg.rss_str(pretty=True)
        return content
