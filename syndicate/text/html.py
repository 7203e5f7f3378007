"""Raw HTML in an article body -> the text a reader would see, for plain-text output.

Markdown may carry raw HTML blocks (``<div>``, ``<figure>`` ...). Plain text shows none of the
markup: tags are dropped, entities decoded, images become ``[Image: alt]``, struck text
(``<del>``, ``<s>``) becomes ``[deleted: ...]``, and the contents of ``<script>``, ``<style>``
and similar are dropped entirely, since they are code, not prose.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_HIDDEN = frozenset(
    {"script", "style", "template", "noscript", "head", "title", "iframe", "object"}
)
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
        "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip


# Struck text reads as struck (as ``~~x~~`` does in plaintext.py), never merged with the next.
_STRUCK = frozenset({"del", "s", "strike"})


class _TextCollector(HTMLParser):
    """Collects visible text, starting a new paragraph at every block-level tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.current: list[str] = []
        self.hidden = 0

    def _break(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self.current)).strip()
        if text:
            self.paragraphs.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif self.hidden:
            return
        elif tag in _BLOCK:
            self._break()
        elif tag in _STRUCK:
            self.current.append("[deleted: ")
        elif tag == "img":
            alt = re.sub(r"\s+", " ", dict(attrs).get("alt") or "").strip()
            self.current.append(f" [Image: {alt}] " if alt else " [Image] ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            return  # a self-closed <script/> hides nothing
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif not self.hidden and tag in _BLOCK:
            self._break()
        elif not self.hidden and tag in _STRUCK:
            self.current.append("]")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.current.append(data)


def html_to_text(html: str) -> list[str]:
    """The visible text of an HTML fragment, one string per paragraph (whitespace folded)."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    collector._break()
    return collector.paragraphs
