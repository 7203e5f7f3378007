"""Atom 1.0 feeds (main, per tag, per section) through feedgen."""

from __future__ import annotations

from datetime import UTC, datetime

from ..model import Publication
from ._feedgen import add_entry, new_feed
from .feedset import FeedSpec, PerFeedExporter

FILENAME = "atom.xml"
MEDIA_TYPE = "application/atom+xml"


class AtomExporter(PerFeedExporter):
    """Writes ``atom.xml`` for the publication and for each tag and section."""

    name = "atom"
    filename = FILENAME
    media_type = MEDIA_TYPE

    def export_feed(self, pub: Publication, spec: FeedSpec) -> bytes:
        """One feed's bytes (feedgen and lxml are imported only when a feed is serialised)."""
        fg = new_feed(pub, spec, spec.url(pub, FILENAME), MEDIA_TYPE)
        if spec.updated is None:
            # Atom requires <updated>; an empty feed has no newest item, so use the epoch
            # rather than "now" (deterministic output matters more than a pretty date).
            fg.updated(datetime(1970, 1, 1, tzinfo=UTC))
        for article in spec.entries(pub):
            add_entry(fg, pub, article, atom=True)
        content: bytes = fg.atom_str(pretty=True)
        return content
