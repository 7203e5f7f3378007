"""Atom 1.0 feeds (main, per tag, per section) through feedgen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..model import Publication
from ._feedgen import add_entry, new_feed
from .entries import EntryCache
from .feedset import FeedSpec, PerFeedExporter
from .spliced import ATOM, feed_bytes

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

FILENAME = "atom.xml"
MEDIA_TYPE = "application/atom+xml"


class AtomExporter(PerFeedExporter):
    """Writes ``atom.xml`` for the publication and for each tag and section."""

    name = "atom"
    filename = FILENAME
    media_type = MEDIA_TYPE

    def __init__(self) -> None:
        # Each entry's bytes, made by feedgen once and reused by every feed it is in.
        self._entries: EntryCache[bytes] = EntryCache()

    def export_feed(self, pub: Publication, spec: FeedSpec) -> bytes:
        """One feed's bytes (feedgen and lxml are imported only when a feed is serialised)."""

        def head() -> FeedGenerator:
            fg = new_feed(pub, spec, spec.url(pub, FILENAME), MEDIA_TYPE)
            if spec.updated is None:
                # Atom requires <updated>; an empty feed has no newest item, so use the epoch
                # rather than "now" (deterministic output matters more than a pretty date).
                fg.updated(datetime(1970, 1, 1, tzinfo=UTC))
            return fg

        return feed_bytes(
            head(),
            pub,
            spec.entries(pub),
            self._entries,
            form=ATOM,
            add_entry=lambda fg, article: add_entry(fg, pub, article, atom=True),
            serialise=_atom_bytes,
            whole=head,
        )


def _atom_bytes(fg: FeedGenerator) -> bytes:
    content: bytes = fg.atom_str(pretty=True)
    return content
