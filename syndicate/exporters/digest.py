"""The digest exporter: ``digest.txt``, the plain-text digest of the latest week.

The latest week is the seven calendar days ending at the midnight (publication time) after the
newest article, so the file depends on content alone, never on the clock: building twice gives
the same bytes. Off by default; ``[digest] build = true`` (or naming "digest" in
``[feeds] exporters``) turns it on. Width, link placement, full text and the template folder
come from ``pub.digest``, filled from ``[digest]`` by the config loader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from typing import ClassVar

from ..content import frontmatter
from ..model import Article, Artifact, Publication
from ..text.digest import corrections_in, latest_period, render_digest, select

FILENAME = "digest.txt"
MEDIA_TYPE = "text/plain; charset=utf-8"


class DigestExporter:
    """Writes ``digest.txt``: the latest week of articles as a plain-text digest."""

    name: ClassVar[str] = "digest"
    enabled_by_default: ClassVar[bool] = False

    def export(self, pub: Publication, articles: Sequence[Article]) -> Sequence[Artifact]:
        period = latest_period(articles, pub.timezone)
        if period is None:
            return []
        chosen = select(articles, period)
        if pub.digest.full:
            chosen = [with_body(article) for article in chosen]
        notes = corrections_in(articles, period, pub.timezone)
        text = render_digest(pub, chosen, period, corrections=notes)
        return [Artifact(PurePosixPath(FILENAME), text.encode("utf-8"), MEDIA_TYPE)]


def with_body(article: Article) -> Article:
    """The article with its Markdown body: an incremental build hands exporters articles
    without bodies (to keep RAM flat), so a full-text digest reads the few it needs back."""
    if article.body or article.source is None:
        return article
    text = article.source.read_bytes().decode("utf-8")
    return replace(article, body=frontmatter.split(text).body)
