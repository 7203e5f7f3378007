"""The dialect's own blocks, callouts and FAQ blocks, through the fast path.

``markdown_fast`` leaves a segment holding a callout (``> [!KIND] Title``) or an FAQ block
(``::: faq`` ... ``:::``) to markdown-it-py, the only parser that knows them: ~130 us of a
typical article's ~650 us when every article has one of each. What they hold is plain
Markdown, though: a callout is a block quote whose first line names its kind and title, an
FAQ block a list of inline texts. Here the plain parts go to the Rust parser (when they
qualify) and the dialect's wrapping is put around them as its renderer writes it
(``markdown._render_callout_open`` and the FAQ render rules). A segment of any other shape
than the checks below know gets None and goes to the full parser as before. Property tests
(tests/test_markdown_blocks.py) hold the result equal to markdown-it-py's.
"""

from __future__ import annotations

from . import markdown_fast
from .markdown import CALLOUT_MARKER, FAQ_FENCE, callout_label, escape_html, faq_pairs

_QUOTE_OPEN = "<blockquote>\n"
_QUOTE_CLOSE = "</blockquote>\n"
# What a line may start with that could open a block (or continue one) rather than be
# paragraph text: indentation, headings, quotes, list markers and thematic breaks, fences,
# raw HTML, tables, setext underlines, the dialect's FAQ fence.
_BLOCK_STARTS = frozenset(" \t\n#>-+*0123456789`~<|=_:")


def callout(segment: str) -> tuple[str, str] | None:
    """(HTML, the Markdown the callout holds without its marker line) of a segment that is
    one callout at the margin, or None.

    The dialect reads ``> [!KIND] Title`` as the first line of the quote's first paragraph
    and renders the rest of that paragraph, and the quote's other blocks, as they are. So the
    quote without its first line renders the same inside, provided the next line starts that
    paragraph as it continued it: a quoted line whose text starts with a character that can
    open no block (``_BLOCK_STARTS``: no list marker, heading, fence or indentation). The
    Rust parser's HTML must be a single quote opening with a paragraph (a setext underline
    would make the dialect's first block a heading, and so no callout at all)."""
    first_end = segment.find("\n")
    if not segment.startswith(">") or first_end < 0:
        return None
    marker = CALLOUT_MARKER.match(segment[1:first_end].strip())
    if marker is None:
        return None
    inside = segment[first_end + 1 :]
    text_at = 2 if inside.startswith("> ") else 1
    starts = inside[text_at : text_at + 1]
    if not inside.startswith(">") or not starts or starts in _BLOCK_STARTS:
        return None
    if not markdown_fast.qualifies(inside):
        return None
    html = markdown_fast.render(inside)
    if (
        html is None
        or not html.startswith(_QUOTE_OPEN + "<p>")
        or not html.endswith(_QUOTE_CLOSE)
        or html.count("<blockquote>") != 1
    ):
        return None
    kind = marker.group(1).lower()
    title = escape_html(marker.group(2).strip() or callout_label(kind))
    head = (
        f'<blockquote class="callout callout-{kind}">\n'
        f'<p class="callout-title"><strong>{title}</strong></p>\n'
    )
    return head + html[len(_QUOTE_OPEN) :], inside


def faq(segment: str) -> tuple[str, str] | None:
    """(HTML of the FAQ block that opens a segment, the segment's text after the block) or
    None. Questions and answers are inline texts; each must qualify and render through the
    Rust parser as one paragraph (a line that would start a list or heading there does not)."""
    first_end = segment.find("\n")
    opening = segment if first_end < 0 else segment[:first_end]
    if not opening.startswith(":") or not FAQ_FENCE.match(opening.strip()):
        return None
    if "\r" in segment or "\0" in segment:  # the dialect's parser rewrites both first
        return None
    if "]:" in segment:
        # A reference definition anywhere in the body gives its links to the FAQ's texts,
        # which the Rust parser sees alone (such a body is never cut: this is all of it).
        return None
    lines = segment[first_end + 1 :].split("\n") if first_end >= 0 else []
    pairs, read, closed = faq_pairs(lines)
    inline = _inline([text for pair in pairs for text in pair])
    if inline is None:
        return None
    parts = ['<dl class="faq">\n']
    for asked, answered in zip(inline[::2], inline[1::2], strict=True):
        parts += ["<dt><strong>", asked, "</strong></dt>\n", "<dd>", answered, "</dd>\n"]
    parts.append("</dl>\n")
    return "".join(parts), "\n".join(lines[read + 1 :]) if closed else ""


def _inline(texts: list[str]) -> list[str] | None:
    """The inline HTML of each text (the dialect renders an FAQ text as inline content), or
    None. The texts (none holds a blank line) go to the Rust parser in one call, a blank line
    apart: each must come back as one paragraph of its own. What the parsers part on is looked
    for in the joined text: all that is in one text is there too (a text's ends are line ends
    there), and a match reaching from one text into the next only refuses more."""
    given = [text for text in texts if text]
    if not given:
        return texts
    joined = "\n\n".join(given)
    if not markdown_fast.qualifies(joined):
        return None
    html = markdown_fast.render(joined)
    if html is None or not html.startswith("<p>") or not html.endswith("</p>\n"):
        return None
    paragraphs = html[3:-5].split("</p>\n<p>")
    if len(paragraphs) != len(given) or html.count("<p>") != len(given):
        return None
    rendered = iter(paragraphs)
    return [next(rendered) if text else "" for text in texts]
