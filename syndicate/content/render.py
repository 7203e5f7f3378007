"""Markdown -> a sanitized HTML fragment with absolute URLs, safe for any feed or email."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from . import markdown_blocks, markdown_fast
from .markdown import parse, parser

if TYPE_CHECKING:
    from markdown_it.token import Token

# Tags and attributes an article body may keep: nh3's defaults with these changes. Everything
# else is dropped by nh3; scripts, styles and event handlers never survive, whatever the
# Markdown's raw HTML held.
EXTRA_TAGS = frozenset({"figure", "figcaption", "picture", "source"})
DROPPED_TAGS = frozenset({"map", "area"})
ATTRIBUTES: dict[str, set[str]] = {  # per tag, replacing nh3's default
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "source": {"srcset", "type", "media"},
    # markdown-it writes a column's alignment as style="text-align:..."; of any style, only
    # text-align survives (FILTER_STYLE), and only on table cells.
    "td": {"align", "colspan", "rowspan", "style"},
    "th": {"align", "colspan", "rowspan", "scope", "style"},
    "code": {"class"},
    "time": {"datetime"},
}
ALLOWED_CLASSES: dict[str, set[str]] = {
    "blockquote": {"callout"}
    | {
        f"callout-{k}"
        for k in (
            "note",
            "tip",
            "info",
            "important",
            "warning",
            "caution",
            "danger",
            "success",
            "question",
            "example",
            "quote",
            "bug",
            "abstract",
            "todo",
            "failure",
        )
    },
    "p": {"callout-title"},
    "dl": {"faq"},
}
FILTER_STYLE = {"text-align"}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# Struck text (``~~2019~~``) in plain text: marked, never merged into the words around it.
STRUCK = {"s_open": "[deleted: ", "s_close": "]"}
# Compiled on first use (``_xml_illegal``): compiling the surrogate range walks each of its
# 2,048 code points in Python, which every start paid for at import.
XML_ILLEGAL = "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]"


_C0_ILLEGAL = bytes(c for c in range(32) if c not in (0x09, 0x0A, 0x0D))
# U+FFFE, U+FFFF and the first byte of every surrogate (and of Hangul, sent the slow way).
_UTF8_SUSPECTS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf", b"\xed")


@cache
def _xml_illegal() -> re.Pattern[str]:
    return re.compile(XML_ILLEGAL)


def strip_xml_illegal(text: str) -> str:
    """Remove characters that no XML 1.0 document may hold (NUL, most C0 controls, ...).

    Almost no text holds one, and a character-class regex over a 10 kB body costs ~0.5 M
    instructions: a long text's UTF-8 bytes are checked first (deleting the C0 controls finds
    nothing to delete, three substring searches find nothing), at half that, and the regex
    runs only when something may be there.
    """
    if len(text) < 512:  # titles, summaries, ids: the regex is quicker than the encoding
        return _xml_illegal().sub("", text)
    if _xml_legal(text.encode("utf-8", "surrogatepass")):
        return text
    return _xml_illegal().sub("", text)


def _xml_legal(data: bytes) -> bool:
    """Whether the UTF-8 ``data`` surely holds none of ``XML_ILLEGAL`` (False: perhaps)."""
    return len(data.translate(None, _C0_ILLEGAL)) == len(data) and not any(
        suspect in data for suspect in _UTF8_SUSPECTS
    )


class _Nh3(NamedTuple):
    """nh3's cleaner and the tags and attributes it lets through (its defaults, adjusted)."""

    clean: Callable[..., str]
    tags: frozenset[str]
    attributes: Mapping[str, frozenset[str]]


@cache
def _nh3() -> _Nh3:
    """nh3, imported and the allowed tags and attributes worked out once, on first use."""
    # lazy: nh3 loads with the first body sanitised, not with `syndicate --help` or a no-op build
    import nh3

    attributes = {tag: frozenset(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes.update((tag, frozenset(attrs)) for tag, attrs in ATTRIBUTES.items())
    return _Nh3(nh3.clean, frozenset((nh3.ALLOWED_TAGS | EXTRA_TAGS) - DROPPED_TAGS), attributes)


def load() -> None:
    """Load the Rust Markdown parser and nh3 now: a process about to fork rendering workers
    does it once for all of them. markdown-it-py (~40 ms to import and build) is left to the
    first body that needs it (``markdown_fast``, ``markdown_blocks``): a typical archive's
    bodies never do, and a warm-up here is serial time before the workers start."""
    markdown_fast.load()
    _nh3()


def _options(base_url: str) -> dict[str, Any]:
    """nh3's keyword arguments: our allow-lists, relative URLs resolved against ``base_url``."""
    lib = _nh3()
    return {
        "tags": set(lib.tags),
        "clean_content_tags": {"script", "style", "template", "noscript", "iframe", "object"},
        # nh3 refuses "class" in attributes when allowed_classes governs it.
        "attributes": {tag: set(attrs) for tag, attrs in lib.attributes.items()},
        "allowed_classes": ALLOWED_CLASSES,
        "url_schemes": URL_SCHEMES,
        "filter_style_properties": FILTER_STYLE,
        "url_relative": ("rewrite_with_base", base_url),
        "link_rel": None,
    }


@lru_cache(maxsize=16)
def _cleaner(origin: str) -> Callable[[str], str]:
    """A reusable nh3 cleaner resolving against ``origin``: nh3 turns the allow-lists into
    its own sets on every ``nh3.clean`` call, ~35 us of a ~150 us body; a Cleaner once."""
    # lazy, as in ``_nh3``: nh3 loads with the first body sanitised
    import nh3

    return nh3.Cleaner(**_options(origin)).clean


# What may follow an URL attribute nh3 resolves (href, src) for its value to resolve against
# a site's origin exactly as against any page's URL on it: "/x" and "//host/x" never read the
# base's path, and the schemes nh3 lets through never read the base at all.
_ORIGIN_ONLY_VALUES = (b'="/', b'="http:', b'="https:', b'="mailto:', b'="tel:')


def _origin_only(lowered: bytes) -> bool:
    """Whether every "href" and "src" in an HTML fragment (``lowered``: its UTF-8, lower
    case; also in text) starts an attribute whose value is in ``_ORIGIN_ONLY_VALUES``.
    Anything else (a relative "img.jpg", an unquoted value, "srcset", the word in text) says
    no. A regex over a long non-ASCII text costs more than the cleaner saves; its lowered
    bytes are searched for two names."""
    for name in (b"href", b"src"):
        at = lowered.find(name)
        while at != -1:
            if not lowered.startswith(_ORIGIN_ONLY_VALUES, at + len(name)):
                return False
            at = lowered.find(name, at + 1)
    return True


def _origin(base_url: str) -> str | None:
    scheme, netloc, *_ = urlsplit(base_url)
    return f"{scheme}://{netloc}/" if scheme and netloc else None


def sanitize(html: str, base_url: str) -> str:
    """Sanitize an HTML fragment and make every relative link and image URL absolute."""
    data = html.encode("utf-8", "surrogatepass")  # once, for both checks (~10 us a body)
    if not _xml_legal(data):
        html = _xml_illegal().sub("", html)
        data = html.encode("utf-8", "surrogatepass")
    origin = _origin(base_url)
    if origin is not None and _origin_only(data.lower()):
        cleaned = _cleaner(origin)(html)
    else:
        cleaned = _nh3().clean(html, **_options(base_url))
    return strip_html_invalid(cleaned)


# Code points that XML allows but HTML parsers reject ("control character in input stream"):
# DEL, the C1 controls and the noncharacters U+FDD0..U+FDEF. A str regex over a 10 kB
# non-ASCII body costs 0.2 ms; the regex runs only when the UTF-8 holds a byte that could
# start one (0x7F, 0xC2, 0xEF), each looked for by a one-byte scan.
_HTML_SUSPECT_LEADS = (b"\x7f", b"\xc2", b"\xef")
_HTML_INVALID_UTF8 = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xef\xb7[\x90-\xaf]")
HTML_INVALID = re.compile("[\x7f-\x9f\ufdd0-\ufdef]")


def strip_html_invalid(html: str) -> str:
    """Remove what an HTML parser reports as an invalid code point (the W3C feed validator:
    "Invalid HTML: Invalid codepoint in stream"); ``strip_xml_illegal`` has run before."""
    if html.isascii():
        return html.replace("\x7f", "") if "\x7f" in html else html
    data = html.encode("utf-8", "surrogatepass")
    suspect = any(lead in data for lead in _HTML_SUSPECT_LEADS)
    if not suspect or not _HTML_INVALID_UTF8.search(data):
        return html
    return HTML_INVALID.sub("", html)


def render_tokens(tokens: Sequence[Token]) -> str:
    """Tokens -> unsanitized HTML. Call sanitize() before publishing the result."""
    md = parser()
    html: str = md.renderer.render(tokens, md.options, {})
    return html


def render_html(body: str, base_url: str) -> str:
    """Markdown body -> sanitized HTML fragment, links resolved against the article URL."""
    return sanitize(render_markdown(body, summary=False)[0], base_url)


def render_markdown(body: str, *, summary: bool) -> tuple[str, str]:
    """(unsanitized HTML, first paragraph's plain text or "" without ``summary``) of a body:
    each run of blocks that the Rust parser renders as the dialect does takes it
    (``markdown_fast``), and so does what the dialect's callouts and FAQ blocks hold
    (``markdown_blocks``); the rest the dialect's own parser. The result is the same."""
    rendering = _Rendering(summary)
    for segments, qualifies in markdown_fast.plan(body):
        if qualifies:
            rendering.fast(segments)
        else:
            rendering.slow(segments)
    return "".join(rendering.html), _first_text(rendering.found)


class _Rendering:
    """One body's HTML, run by run, and (when a summary is wanted) its first paragraphs."""

    __slots__ = ("found", "html", "summary")

    def __init__(self, summary: bool) -> None:
        self.summary = summary
        self.html: list[str] = []
        self.found: list[markdown_fast.Paragraph] = []

    def fast(self, segments: list[str]) -> None:
        """Segments that qualify, through the Rust parser (the full one if it fails)."""
        text = "\n".join(segments)
        html = markdown_fast.render(text)
        if html is None:
            self.full(text)
            return
        self.html.append(html)
        # The summary needs the first paragraphs only: read the tree segment by segment (a
        # body that qualified whole was never cut: cut it now, only when a summary is wanted).
        if self.summary and not _settled(self.found):
            for segment in segments if len(segments) > 1 else markdown_fast.segments(text):
                self.paragraphs_of(segment)

    def slow(self, segments: list[str]) -> None:
        """Segments that do not qualify: a callout or FAQ block of a shape ``markdown_blocks``
        knows takes the Rust parser inside; the others, together, the full parser."""
        pending: list[str] = []
        for segment in segments:
            if (called := markdown_blocks.callout(segment)) is not None:
                self.flush(pending)
                html, inside = called
                self.html.append(html)
                self.paragraphs_of(inside)
            elif (asked := markdown_blocks.faq(segment)) is not None:
                self.flush(pending)
                html, after = asked
                self.html.append(html)
                if after:  # what follows the block in its segment, as any segment goes
                    (self.fast if markdown_fast.qualifies(after) else self.slow)([after])
            else:
                pending.append(segment)
        self.flush(pending)

    def flush(self, pending: list[str]) -> None:
        """Segments waiting for the full parser, parsed together (and forgotten)."""
        if pending:
            self.full("\n".join(pending))
            pending.clear()

    def full(self, text: str) -> None:
        """``text`` through the dialect's own parser."""
        tokens = parse(text)
        self.html.append(render_tokens(tokens))
        if self.summary and not _settled(self.found):
            self.found.extend(paragraphs(tokens))

    def paragraphs_of(self, text: str) -> None:
        """The paragraphs of ``text`` (which qualifies) for the summary, while one is wanted."""
        if not self.summary or _settled(self.found):
            return
        more = markdown_fast.paragraphs(text)
        self.found.extend(paragraphs(parse(text)) if more is None else more)


def _settled(found: Sequence[markdown_fast.Paragraph]) -> bool:
    """Whether a top-level paragraph has text: no later paragraph can come before it."""
    return any(level == 0 and text for level, text in found)


def first_paragraph_text(tokens: Sequence[Token]) -> str:
    """The plain text of the first top-level paragraph, the fallback summary of an article."""
    return _first_text(paragraphs(tokens))


def paragraphs(tokens: Sequence[Token]) -> list[markdown_fast.Paragraph]:
    """Every paragraph's (nesting level, plain text), in document order."""
    return [
        (token.level, inline_text(tokens[index + 1].children or []))
        for index, token in enumerate(tokens)
        if token.type == "paragraph_open"
    ]


def _first_text(found: Sequence[markdown_fast.Paragraph]) -> str:
    """The first non-empty text of the shallowest paragraphs, then of deeper ones."""
    for _, text in sorted(found, key=lambda item: item[0]):
        if text:
            return text
    return ""


def inline_text(children: Sequence[Token]) -> str:
    """Plain text of inline tokens: text and code kept, markup and raw HTML dropped."""
    parts = []
    hidden = 0  # inside raw <script>/<style>: their text is code, not prose
    for child in children:
        if child.type == "html_inline":
            tag = child.content.lower()
            if re.match(r"<(script|style)\b", tag):
                hidden += 1
            elif re.match(r"</(script|style)\b", tag):
                hidden = max(0, hidden - 1)
        elif hidden:
            continue
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type in STRUCK:
            parts.append(STRUCK[child.type])
        elif child.type == "image":
            parts.append(inline_text(child.children or []))
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def cell_align(token: Token) -> str:
    """A table cell's alignment, ``left``, ``right`` or ``center``, from markdown-it's style."""
    style = str(token.attrGet("style") or "").replace(" ", "")
    for align in ("right", "center"):
        if f"text-align:{align}" in style:
            return align
    return "left"


def shorten(text: str, limit: int = 280) -> str:
    """Cut text at a word boundary, adding an ellipsis when something was cut."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"
