"""A saved article page -> an ImportedDocument, via trafilatura's main-content extraction.

Steps: read the page's own metadata (publication time, canonical URL, language, image alt);
prune ad, cookie-banner, share and comment containers by class/id; let trafilatura find the
article and its title, author and date; turn its tree into an HTML fragment, pass that
through the same sanitiser as every article (``render.sanitize``, which also resolves
relative URLs); and write the sanitised fragment as Markdown (``htmlmd``). trafilatura is
imported here only, and this module only when an HTML file is imported.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from ..content.render import sanitize
from ..model import Author, Image
from .dates import parse_meta_datetime
from .document import ImportedDocument, SourceError
from .htmlmd import fragment_to_markdown

# class/id words of page furniture that sometimes sits inside the article container.
_JUNK_WORDS = {
    "ad", "ads", "adslot", "advert", "adverts", "advertisement", "banner", "consent", "cookie",
    "cookies", "gdpr", "sponsor", "sponsored", "promo", "paywall", "newsletter", "subscribe",
    "share", "sharing", "social", "related", "recommended", "comments", "comment", "disqus",
    "outbrain", "taboola", "popup", "modal", "breadcrumb", "breadcrumbs",
}  # fmt: skip
# Stems that mark furniture inside longer class words: WordPress's "sharedaddy",
# Jetpack's "jp-relatedposts", "wp-block-comments", "cookie-notice-container" ...
_JUNK_STEMS = ("share", "related", "comment", "cookie", "advert", "sponsor", "newsletter", "social")
_JUNK_TAGS = ("script", "style", "noscript", "template", "iframe", "form", "button", "dialog")
_WORD_SPLIT = re.compile(r"[\s_-]+")
_PUBLISHED = (
    "article:published_time",
    "og:published_time",
    "datePublished",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "pubdate",
)
# trafilatura's tree -> HTML tags the sanitiser allows.
_TAGS = {
    "p": "p",
    "list": "ul",
    "item": "li",
    "quote": "blockquote",
    "ref": "a",
    "graphic": "img",
    "lb": "br",
    "code": "code",
    "table": "table",
    "row": "tr",
    "cell": "td",
    "del": "del",
}
_HI = {"#b": "strong", "#i": "em", "#u": "em", "#t": "code", "#sup": "sup", "#sub": "sub"}


def parse_html(text: str, zone: tzinfo, *, source_uri: str) -> ImportedDocument:
    """Page HTML -> the article's fields and Markdown body; SourceError if none is found."""
    try:
        tree = lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise SourceError(f"not readable as HTML: {exc}") from None
    meta = _page_meta(tree, zone)
    _prune(tree)
    import trafilatura  # heavy (~0.1 s): only when an HTML page is imported
    from trafilatura.settings import Document

    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        # Their warnings ("discarding data: None") repeat what our own error says.
        logging.getLogger(name).setLevel(logging.ERROR)

    found = trafilatura.bare_extraction(
        tree,
        config=_extraction_config(),
        url=meta.url or None,
        include_comments=False,
        include_formatting=True,
        include_links=True,
        include_images=True,
        include_tables=True,
        with_metadata=True,
        deduplicate=False,
    )
    if not isinstance(found, Document) or found.body is None:
        raise SourceError("no article text found in the page")
    title = _clean(found.title or "")
    if not title:
        raise SourceError("no recognisable title: the page has no <title>, og:title or <h1>")
    base = meta.url or found.url or ""
    fragment = sanitize(_to_html(found.body), base or source_uri)
    converted = fragment_to_markdown(fragment, title=title, resolvable=bool(base))
    if not converted.markdown.strip():
        raise SourceError("no article text found in the page")
    date = meta.published or _day(found.date, zone)
    image = None
    if meta.image_alt and found.image and found.image.startswith(("http://", "https://")):
        image = Image(url=found.image, alt=meta.image_alt)
    return ImportedDocument(
        title=title,
        body=converted.markdown,
        date=date,
        summary=_clean(found.description or "") or converted.first_paragraph,
        authors=tuple(
            Author(name=name) for name in _split_authors(found.author or "") if name != title
        ),
        image=image,
        canonical_url=base,
        lang=meta.lang,
        dropped=converted.dropped,
        notes=converted.notes,
    )


@dataclass(frozen=True, slots=True)
class _PageMeta:
    """What trafilatura does not give us: the full publication time, language, image alt."""

    published: datetime | None
    url: str
    lang: str
    image_alt: str


def _page_meta(tree: Any, zone: tzinfo) -> _PageMeta:
    values: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        if key and element.get("content") and key.lower() not in values:
            values[key.lower()] = element.get("content").strip()
    stamps = [values.get(key.lower(), "") for key in _PUBLISHED]
    stamps += [element.get("datetime") or "" for element in tree.iter("time")]
    published = next(
        (when for stamp in stamps if "T" in stamp and (when := parse_meta_datetime(stamp, zone))),
        None,
    )
    url = next(
        (
            (link.get("href") or "").strip()
            for link in tree.iter("link")
            if "canonical" in (link.get("rel") or "").lower().split()
        ),
        values.get("og:url", ""),
    )
    lang = (
        tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    ).strip()
    return _PageMeta(
        published=published,
        url=url if url.startswith(("http://", "https://")) else "",
        lang=lang if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", lang) else "",
        image_alt=values.get("og:image:alt", ""),
    )


@cache
def _extraction_config() -> Any:
    """trafilatura's settings, but trusting its main-content pass on short articles too.

    Below ``MIN_EXTRACTED_SIZE`` (250 characters by default) trafilatura falls back to a
    whole-page text grab that flattens a short news brief into one paragraph of headings,
    bylines and list items; our own pruning has already removed the furniture it guards against.
    """
    from trafilatura.settings import use_config  # slow to import: only HTML import

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "20")
    return config


def _prune(tree: Any) -> None:
    """Drop scripts and containers whose class or id says ad, cookie banner, share, comments.

    A container holding much of the page's text is kept whatever its class says: a wrapper
    named ``has-related-links`` is still the article.
    """
    body_text = len(_clean(" ".join(tree.itertext())))
    doomed = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in _JUNK_TAGS or element.tag in ("nav", "aside", "footer"):
            doomed.append(element)
            continue
        if element.tag in ("html", "head", "body", "main", "article"):
            continue
        words = set(
            _WORD_SPLIT.split(f"{element.get('class', '')} {element.get('id', '')}".lower())
        )
        role = (element.get("role") or "").lower()
        junk = words & _JUNK_WORDS or any(stem in word for word in words for stem in _JUNK_STEMS)
        if junk or role in ("navigation", "complementary", "contentinfo", "dialog"):
            if len(_clean(" ".join(element.itertext()))) <= body_text * 0.4:
                doomed.append(element)
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the text that follows the element


def _to_html(body: Any) -> str:
    """trafilatura's XML-ish tree (p, head, list, item, hi, ref, graphic, quote ...) -> HTML."""
    root = etree.Element("div")
    for child in body:
        root.append(_convert(child))
    return str(etree.tostring(root, encoding="unicode", method="html"))


def _convert(element: Any) -> Any:
    tag = element.tag if isinstance(element.tag, str) else "span"
    rend = element.get("rend") or ""
    if tag == "head":
        level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
        name = f"h{level}"
    elif tag == "list":
        name = "ol" if rend == "ol" else "ul"
    elif tag == "hi":
        name = _HI.get(rend, "span")
    elif tag == "cell":
        name = "th" if element.get("role") == "head" else "td"
    elif tag == "code" and "\n" in "".join(element.itertext()):
        name = "pre"
    else:
        name = _TAGS.get(tag, "div" if len(element) else "span")  # unknown: keep the content
    out = etree.Element(name)
    if tag == "ref" and element.get("target"):
        out.set("href", element.get("target"))
    if tag == "graphic":
        for source, target in (("src", "src"), ("alt", "alt"), ("title", "title")):
            if element.get(source):
                out.set(target, element.get(source))
    out.text = element.text
    for child in element:
        converted = _convert(child)
        converted.tail = child.tail
        out.append(converted)
    return out


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _split_authors(text: str) -> list[str]:
    return [name for name in (_clean(part) for part in re.split(r"[;|]", text)) if name]


def _day(value: str | None, zone: tzinfo) -> datetime | None:
    """trafilatura's ``YYYY-MM-DD`` -> midnight of that day in the publication's zone."""
    return parse_meta_datetime(value, zone) if value else None
