"""RSS 2.0 feeds (main, per tag, per section) through feedgen."""

from __future__ import annotations

from functools import partial

from ..model import Publication
from ._feedgen import add_entry, new_feed, rss_bytes
from .entries import EntryCache
from .feedset import FeedSpec, PerFeedExporter
from .spliced import RSS, feed_bytes

FILENAME = "rss.xml"
MEDIA_TYPE = "application/rss+xml"


class RssExporter(PerFeedExporter):
    """Writes ``rss.xml`` for the publication and for each tag and section."""

    name = "rss"
    filename = FILENAME
    media_type = MEDIA_TYPE

    def __init__(self) -> None:
        # Each item's bytes, made by feedgen once and reused by every feed it is in.
        self._items: EntryCache[bytes] = EntryCache()

    def export_feed(self, pub: Publication, spec: FeedSpec) -> bytes:
        """One feed's bytes (feedgen and lxml are imported only when a feed is serialised)."""
        url = spec.url(pub, FILENAME)
        return feed_bytes(
            new_feed(pub, spec, url, MEDIA_TYPE),
            pub,
            spec.entries(pub),
            self._items,
            form=RSS,
            add_entry=lambda fg, article: add_entry(fg, pub, article, atom=False),
            serialise=rss_bytes,
            whole=partial(new_feed, pub, spec, url, MEDIA_TYPE),
        )
