"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), written to the spec: feedgen has none."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from ..content.corrections import with_notes_html, with_notes_text
from ..model import Article, Author, Publication
from .entries import EntryCache
from .feedset import FeedSpec, PerFeedExporter, slugify
from .settings import ExporterSettings

FILENAME = "feed.json"
MEDIA_TYPE = "application/feed+json"
VERSION = "https://jsonfeed.org/version/1.1"
INDENT = "  "  # json.dumps(indent=2)


class JsonFeedSettings(ExporterSettings):
    """``[exporters.json]``: ``pretty = false`` writes compact JSON (no indentation or spaces),
    a smaller file for machines; the default, indented, is easier to read and diff."""

    pretty: bool = True


class JsonFeedExporter(PerFeedExporter):
    """Writes ``feed.json`` for the publication and for each tag and section."""

    name = "json"
    filename = FILENAME
    media_type = MEDIA_TYPE
    settings_model: ClassVar[type[JsonFeedSettings]] = JsonFeedSettings

    def __init__(self, settings: JsonFeedSettings | None = None) -> None:
        self.settings = settings or JsonFeedSettings()
        # Each item's UTF-8 JSON text, written once and reused by every feed it is in.
        self._items: EntryCache[bytes] = EntryCache()

    def export_feed(self, pub: Publication, spec: FeedSpec) -> bytes:
        """One feed's bytes: the feed object with its items' texts (each written once) in
        place, exactly as ``json.dumps`` writes the whole document."""
        write = _pretty_item if self.settings.pretty else _compact_item
        items = [self._items.get(pub, article, write) for article in spec.entries(pub)]
        return _serialise(_feed(pub, spec), items, pretty=self.settings.pretty)


def _pretty_item(pub: Publication, article: Article) -> bytes:
    # An item sits two levels deep (in "items", in the feed object).
    return indented(_item(pub, article), 2).encode("utf-8")


# json.dumps(indent=...) runs the pure-Python encoder (the C one takes no indent): ~100 us an
# item, most of it generator calls. The layout is simple enough to write here, with every
# scalar encoded by the C encoder, for the same text at a fraction of the cost.
_scalar = json.JSONEncoder(ensure_ascii=False).encode


def indented(value: Any, level: int = 0) -> str:
    """``value`` (string keys) as ``json.dumps(value, ensure_ascii=False, indent=2)`` writes
    it, every line after the first indented ``level`` steps further (a member that deep)."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = "\n" + INDENT * (level + 1)
        members = (f"{_scalar(str(k))}: {indented(v, level + 1)}" for k, v in value.items())
        return "{" + inner + ("," + inner).join(members) + "\n" + INDENT * level + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        inner = "\n" + INDENT * (level + 1)
        elements = (indented(v, level + 1) for v in value)
        return "[" + inner + ("," + inner).join(elements) + "\n" + INDENT * level + "]"
    return _scalar(value)


def _compact_item(pub: Publication, article: Article) -> bytes:
    return json.dumps(_item(pub, article), ensure_ascii=False, separators=(",", ":")).encode()


def _serialise(document: dict[str, Any], items: list[bytes], *, pretty: bool = True) -> bytes:
    """The feed object with ``items`` (UTF-8 item texts) as its last member, "items"."""
    if pretty:
        head = json.dumps(document, ensure_ascii=False, indent=2).removesuffix("\n}")
        if not items:
            return f'{head},\n{INDENT}"items": []\n}}\n'.encode()
        inner = b"\n" + (INDENT * 2).encode()
        opening = f'{head},\n{INDENT}"items": ['.encode() + inner
        return b"".join((opening, (b"," + inner).join(items), f"\n{INDENT}]\n}}\n".encode()))
    head = json.dumps(document, ensure_ascii=False, separators=(",", ":")).removesuffix("}")
    return b"".join((f'{head},"items":['.encode(), b",".join(items), b"]}\n"))


def _date(value: datetime) -> str:
    return value.isoformat()


def _author(author: Author) -> dict[str, str]:
    entry = {"name": author.name}
    if author.url:
        entry["url"] = author.url
    return entry


def _feed(pub: Publication, spec: FeedSpec) -> dict[str, Any]:
    """The feed object without its items (they follow every other member)."""
    document: dict[str, Any] = {
        "version": VERSION,
        "title": spec.title,
        "home_page_url": spec.home_url,
        "feed_url": spec.url(pub, FILENAME),
        "description": spec.description,
        "language": pub.language,
    }
    if pub.logo:
        document["icon"] = pub.logo
    if pub.author is not None:
        document["authors"] = [_author(pub.author)]
    if pub.feeds.websub_hub:
        document["hubs"] = [{"type": "WebSub", "url": pub.feeds.websub_hub}]
    return document


def _item(pub: Publication, article: Article) -> dict[str, Any]:
    item: dict[str, Any] = {"id": article.id, "url": article.url, "title": article.title}
    if article.canonical_url and article.canonical_url != article.url:
        item["external_url"] = article.canonical_url
    zone, position = pub.timezone, pub.corrections.position
    if pub.feeds.full_content and article.html:
        item["content_html"] = with_notes_html(article.html, article, zone, position)
    else:
        text = article.summary or article.title
        item["content_text"] = with_notes_text(text, article, zone, position)
    if article.summary:
        item["summary"] = article.summary
    if article.image is not None:
        item["image"] = article.image.url
    item["date_published"] = _date(article.date)
    item["date_modified"] = _date(article.updated)
    if article.authors:
        item["authors"] = [_author(author) for author in article.authors]
    tags = list(article.tags)
    # The section joins the tags unless a tag already names it (in any case: "Climate" and
    # "climate" are one tag to a reader, and to our tag pages, which share a slug).
    if article.section and slugify(article.section) not in {slugify(t) for t in tags}:
        tags.append(article.section)
    if tags:
        item["tags"] = tags
    if article.lang:
        item["language"] = article.lang
    if article.enclosure is not None:
        item["attachments"] = [
            {
                "url": article.enclosure.url,
                "mime_type": article.enclosure.type,
                "size_in_bytes": article.enclosure.length,
            }
        ]
    return item
