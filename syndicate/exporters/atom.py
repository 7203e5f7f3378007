"""Atom 1.0 feeds (main, per tag, per section) through feedgen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from ..model import Article, Publication
from . import Artifact
from ._feedgen import add_entry, new_feed
from .feedset import feed_specs

FILENAME = "atom.xml"
MEDIA_TYPE = "application/atom+xml"


class AtomExporter:
    """Writes ``atom.xml`` for the publication and for each tag and section."""

    name: ClassVar[str] = "atom"

    def export(self, pub: Publication, articles: Sequence[Article]) -> Sequence[Artifact]:
        artifacts = []
        for spec in feed_specs(pub, articles):
            fg = new_feed(pub, spec, spec.url(pub, FILENAME), MEDIA_TYPE)
            if spec.updated is None:
                # Atom requires <updated>; an empty feed has no newest item, so use the epoch
                # rather than "now" (deterministic output matters more than a pretty date).
                fg.updated(datetime(1970, 1, 1, tzinfo=UTC))
            for article in spec.articles:
                add_entry(fg, pub, article, atom=True)
            content: bytes = fg.atom_str(pretty=True)
            artifacts.append(Artifact(spec.path(FILENAME), content, MEDIA_TYPE))
        return artifacts
