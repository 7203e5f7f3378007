"""Shared feedgen setup for the RSS and Atom exporters, with fixes for feedgen 1.0's gaps.

feedgen drops rel/type/length from Atom entry links (so enclosures vanish), writes no
``rel=hub`` into RSS, and defaults every date to "now". One extension of ours writes what
feedgen cannot, and every date is set explicitly so output is byte-identical across builds.
"""

from __future__ import annotations

import html
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from ..content.corrections import with_notes_html
from ..model import Article, Publication
from .feedset import FeedSpec, slugify

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DCTERMS_NS = "http://purl.org/dc/terms/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
GENERATOR = "syndicate"
GENERATOR_URI = "https://pypi.org/project/syndicate/"


class _Library(NamedTuple):
    """feedgen's generator, the Dublin Core extension and our own (feed and entry level)."""

    feed_generator: type[FeedGenerator]
    extensions: tuple[type[Any], type[Any]]  # ours: feed, entry
    dc_extensions: tuple[type[Any], type[Any]]  # feedgen's Dublin Core: feed, entry


@cache
def _feedgen() -> _Library:
    """feedgen and lxml, imported (and our extension classes made) once, on first use."""
    # lazy: feedgen and lxml (~40 ms) load only when a feed is serialised: never for
    # `syndicate --help`, a no-op build or the email-only commands
    from feedgen.ext.base import BaseEntryExtension, BaseExtension
    from feedgen.feed import FeedGenerator
    from lxml import etree

    class _FeedExtension(BaseExtension):  # type: ignore[misc]
        """Feed-level additions: ``atom:link rel=hub`` inside an RSS channel."""

        def __init__(self) -> None:
            self.hub = ""

        def extend_ns(self) -> dict[str, str]:
            # feedgen merges these prefixes into the root of *both* formats. An ``atom`` prefix
            # there sits beside Atom's own default namespace (the W3C validator warns:
            # AvoidNamespacePrefix); RSS gets its ``atom`` prefix from feedgen itself.
            return {"media": MEDIA_NS}

        def extend_rss(self, feed: Any) -> Any:
            if self.hub:
                channel = feed.find("channel")
                link = etree.SubElement(channel, f"{{{ATOM_NS}}}link")
                link.set("rel", "hub")
                link.set("href", self.hub)
            return feed

    class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
        """Entry-level additions: Atom enclosures and a ``media:content`` lead image."""

        def __init__(self) -> None:
            self.article: Article | None = None
            self.feed_language = ""

        def extend_atom(self, entry: Any) -> Any:
            article = self.article
            if article is not None and article.lang and article.lang != self.feed_language:
                # An article in another language than its feed says so, as readers and screen
                # readers (and the W3C validator) expect: xml:lang on the entry.
                entry.set(XML_LANG, article.lang)
            if article is not None and article.enclosure is not None:
                # feedgen writes Atom's namespace as a plain ``xmlns`` attribute, so its elements
                # have no namespace in lxml's tree: a namespaced link would get a prefix of its own.
                link = etree.SubElement(entry, "link")
                link.set("rel", "enclosure")
                link.set("href", article.enclosure.url)
                link.set("type", article.enclosure.type)
                link.set("length", str(article.enclosure.length))
            return self._image(entry)

        def extend_rss(self, item: Any) -> Any:
            article = self.article
            if article is not None and article.corrections:
                # RSS has no "updated" of its own: a corrected item says when, as Dublin Core
                # does (feedparser reads it as the entry's ``updated``). Declared on the item, so
                # feeds without corrections stay byte for byte as they were.
                modified = etree.SubElement(
                    item, f"{{{DCTERMS_NS}}}modified", nsmap={"dcterms": DCTERMS_NS}
                )
                modified.text = article.updated.isoformat()
            return self._image(item)

        def _image(self, element: Any) -> Any:
            image = self.article.image if self.article is not None else None
            if image is not None:
                media = etree.SubElement(element, f"{{{MEDIA_NS}}}content")
                media.set("url", image.url)
                media.set("medium", "image")
                if image.width:
                    media.set("width", str(image.width))
                if image.height:
                    media.set("height", str(image.height))
                if image.alt:
                    description = etree.SubElement(media, f"{{{MEDIA_NS}}}description")
                    description.text = image.alt
            return element

    # lazy: as above. feedgen.ext.dc needs lxml.etree imported before it (as feedgen.feed
    # does), so it comes here, after the code above, where import sorting leaves it.
    from feedgen.ext.dc import DcEntryExtension, DcExtension

    return _Library(
        FeedGenerator, (_FeedExtension, _EntryExtension), (DcExtension, DcEntryExtension)
    )


def load() -> None:
    """Import feedgen and lxml now: a process about to fork feed-writing workers does it once
    for all of them."""
    _feedgen()


def rss_bytes(fg: FeedGenerator) -> bytes:
    """The RSS document, with ``&`` and ``<`` as hexadecimal character references.

    RSS never says whether a title is text or HTML; the RSS Best Practices Profile (and the
    W3C validator's CharacterData warning) asks publishers to write ``&#x26;`` and ``&#x3C;``
    so that readers can tell. XML parsers read the same text either way.
    """
    data: bytes = fg.rss_str(pretty=True)
    return data.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")


def new_feed(pub: Publication, spec: FeedSpec, self_url: str, self_type: str) -> FeedGenerator:
    """A FeedGenerator with the channel-level fields both formats share."""
    lib = _feedgen()
    fg = lib.feed_generator()
    fg.register_extension("syndicate", *lib.extensions)
    # Registered by class: load_extension("dc") first tries to import a module that does not
    # exist (feedgen.ext.dc_entry), a failed import searched on every path, once per feed.
    fg.register_extension("dc", *lib.dc_extensions, atom=False, rss=True)
    fg.id(self_url)
    fg.title(spec.title)
    fg.subtitle(spec.description)
    fg.description(spec.description)
    fg.language(pub.language)
    fg.generator(GENERATOR, uri=GENERATOR_URI)
    # Atom needs an author on the feed or on every entry: fall back to the publication itself.
    author = {"name": pub.author.name if pub.author is not None else spec.title}
    if pub.author is not None and pub.author.email:
        author["email"] = pub.author.email
    fg.author(author)
    if pub.logo:
        fg.logo(pub.logo)
    fg.link(href=self_url, rel="self", type=self_type)
    if pub.feeds.websub_hub:
        fg.link(href=pub.feeds.websub_hub, rel="hub")
        fg.syndicate.hub = pub.feeds.websub_hub
    # The RSS channel link is the last link added: the site, not the feed.
    fg.link(href=spec.home_url, rel="alternate", type="text/html")
    newest = spec.updated
    if newest is not None:
        fg.updated(newest)
        fg.lastBuildDate(newest)
    return fg


def add_entry(fg: FeedGenerator, pub: Publication, article: Article, *, atom: bool) -> None:
    """One article as a feed entry; guid set last (``id()`` would reset its permalink flag)."""
    fe = fg.add_entry(order="append")
    fe.syndicate.article = article
    fe.syndicate.feed_language = pub.language
    fe.title(article.title)
    fe.link(href=article.url, rel="alternate", type="text/html")
    fe.published(article.date)
    fe.updated(article.updated)
    full = pub.feeds.full_content and bool(article.html)
    zone, position = pub.timezone, pub.corrections.position
    if article.summary:
        # The summary is plain text, and RSS readers take <description> as HTML (Atom readers
        # often do too): escaped as HTML, "<b>" in it is shown, never rendered.
        summary = html.escape(article.summary, quote=False)
        if not full:  # the summary is all a reader gets: the notes go with it
            summary = with_notes_html(summary, article, zone, position)
        fe.summary(summary, type="html") if atom else fe.description(summary)
    if full:
        fe.content(with_notes_html(article.html, article, zone, position), type="html")
    for author in article.authors:
        if atom:
            entry: dict[str, str] = {"name": author.name}
            if author.email:
                entry["email"] = author.email
            if author.url:
                entry["uri"] = author.url
            fe.author(entry)
        else:
            fe.dc.dc_creator(author.name)
    # All categories in one call: feedgen rebuilds its RSS list of them on every call.
    categories = [{"term": slugify(t), "label": t} if atom else {"term": t} for t in article.tags]
    if article.section:
        scheme = f"{pub.base_url}/sections/"
        section = article.section
        categories.append(
            {"term": slugify(section), "label": section, "scheme": scheme}
            if atom
            else {"term": section, "scheme": scheme}
        )
    if categories:
        fe.category(categories)
    if not atom and article.enclosure is not None:
        enclosure = article.enclosure
        fe.enclosure(enclosure.url, str(enclosure.length), enclosure.type)
    if atom:
        fe.id(article.id)
    else:
        fe.guid(article.id, permalink=article.id == article.url)
