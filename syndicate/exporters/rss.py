"""RSS 2.0 feeds (main, per tag, per section) through feedgen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ..model import Article, Publication
from . import Artifact
from ._feedgen import add_entry, new_feed
from .feedset import feed_specs

FILENAME = "rss.xml"
MEDIA_TYPE = "application/rss+xml"


class RssExporter:
    """Writes ``rss.xml`` for the publication and for each tag and section."""

    name: ClassVar[str] = "rss"

    def export(self, pub: Publication, articles: Sequence[Article]) -> Sequence[Artifact]:
        artifacts = []
        for spec in feed_specs(pub, articles):
            fg = new_feed(pub, spec, spec.url(pub, FILENAME), MEDIA_TYPE)
            for article in spec.articles:
                add_entry(fg, pub, article, atom=False)
            content: bytes = fg.rss_str(pretty=True)
            artifacts.append(Artifact(spec.path(FILENAME), content, MEDIA_TYPE))
        return artifacts
