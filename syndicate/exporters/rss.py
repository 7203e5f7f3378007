"""RSS 2.0 feeds (main, per tag, per section) through feedgen."""

from __future__ import annotations

from ..model import Publication
from ._feedgen import add_entry, new_feed, rss_bytes
from .feedset import FeedSpec, PerFeedExporter

FILENAME = "rss.xml"
MEDIA_TYPE = "application/rss+xml"


class RssExporter(PerFeedExporter):
    """Writes ``rss.xml`` for the publication and for each tag and section."""

    name = "rss"
    filename = FILENAME
    media_type = MEDIA_TYPE

    def export_feed(self, pub: Publication, spec: FeedSpec) -> bytes:
        """One feed's bytes (feedgen and lxml are imported only when a feed is serialised)."""
        fg = new_feed(pub, spec, spec.url(pub, FILENAME), MEDIA_TYPE)
        for article in spec.entries(pub):
            add_entry(fg, pub, article, atom=False)
        return rss_bytes(fg)
