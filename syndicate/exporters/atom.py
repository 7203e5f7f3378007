"""Atom 1.0 feeds (main, per tag, per section) through feedgen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from ..model import Article, Publication
from . import Artifact
from .feedset import FeedSpec, feed_specs

FILENAME = "atom.xml"
MEDIA_TYPE = "application/atom+xml"


class AtomExporter:
    """Writes ``atom.xml`` for the publication and for each tag and section."""

    name: ClassVar[str] = "atom"
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
        if spec.updated is None:
            # Atom requires <updated>; an empty feed has no newest item, so use the epoch
            # rather than "now" (deterministic output matters more than a pretty date).
            fg.updated(datetime(1970, 1, 1, tzinfo=UTC))
        for article in spec.articles:
            add_entry(fg, pub, article, atom=True)
        content: bytes = fg.atom_str(pretty=True)
        return content
