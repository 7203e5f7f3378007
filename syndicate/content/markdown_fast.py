"""The fast path of Markdown rendering: markdown-it.rs where it renders what markdown-it-py does.

Rendering bodies was most of a cold build's CPU: markdown-it-py is pure Python (~1.8 ms for a
10 kB article), and ``markdown-it-pyrs`` (the executablebooks project's binding of the Rust
port, markdown-it.rs) renders the same text in ~0.15 ms. The two are not the same parser,
though: differential fuzzing of the dialect's parser against the Rust one (all the dialect's
markup, mixed at random) found places where they part: raw HTML, tables, strikethrough,
fences, tabs and Unicode spaces, empty block quotes, a list marker lazily continuing a quote,
runs of three emphasis markers, ``_`` and ``*`` touching, emphasis inside brackets or right
after a link, link destinations with non-ASCII or backslashes, and a code span inside a link
label (where the Rust parser panics). A body is cut at blank lines into runs of blocks that
parse alone as they do together (``segments``); a run holding none of those constructs, and
none of the dialect's own (callouts, FAQ blocks), takes the Rust parser (``qualifies``); the
rest, and everything when the binding is missing or fails, the dialect's parser. Property
tests (tests/test_markdown_fast.py) hold the result byte-identical to the dialect's parser;
a typical newsroom article, prose with links, emphasis, headings, lists and quotes, takes
the fast path whole.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cache
from typing import Any, Protocol

# What this path never takes (see the module docstring): each is a place where the Rust parser
# was seen to differ from the dialect's parser, or a dialect-only trigger. Most are a
# character or a few characters, found by ``in`` (a C scan) rather than by one regex of many
# alternatives (which tries each at every position: 0.5 ms on a 10 kB article); the patterns
# below begin with a literal character, which the regex engine skips to.
_UNSAFE_CHARS = (
    "|~\t\r\x00\x0b\x0c\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
    + "".join(map(chr, range(0x2000, 0x200B)))  # Unicode spaces at a paragraph's edge
)
_UNSAFE_PAIRS = (
    "[!", ":::", "]:",  # callouts, FAQ blocks, reference definitions
    "``",  # fences (an open one ends differently) and spans of two backticks
    "_*", "*_", ")_", ")*", "]_", "]*",  # emphasis mixed, or right after a link
)  # fmt: skip
_UNSAFE_MARKS = (*_UNSAFE_CHARS, *_UNSAFE_PAIRS)
_ASCII_UNSAFE_CHARS = tuple(char for char in _UNSAFE_CHARS if char.isascii())
# The pairs by their first character: each occurrence of one of these seven characters is
# checked for the pairs it starts (``str.find`` and ``startswith``, C scans). One regex of
# the ten pairs tried every position of a 10 kB non-ASCII body: ~37 us, this ~22 us.
_PAIRS_BY_FIRST = tuple(
    (first, tuple(pair for pair in _UNSAFE_PAIRS if pair[0] == first))
    for first in dict.fromkeys(pair[0] for pair in _UNSAFE_PAIRS)
)
_HTML = re.compile(r"<(?!https?://[a-z0-9.-]+(?:/[A-Za-z0-9._~/-]*)?>)")  # not an autolink
_EMPTY_QUOTE = re.compile(r">[ >]*$", re.MULTILINE)  # a quote marker with nothing after it
_BARE_DELIMITER_ROW = re.compile(r"^ *:-|-: *$", re.MULTILINE)  # a table row to the Rust parser
_EMPHASIS_IN_BRACKETS = re.compile(r"\[[^\]]*[*_]")
_TARGET_TO_ENCODE = re.compile(r"\]\(\s*[^)\s]*(?:[^\x00-\x7f]|\\)")  # non-ASCII or escapes
# A line that starts a list item right after a block quote's line, with no blank line
# between: CommonMark ends the quote there; the Rust parser lazily continues its paragraph.
_QUOTE_THEN_LIST = re.compile(
    r">[^\n]*\n(?:[ \t]*\S[^\n]*\n)*?[ >]*(?:[-+*]|\d{1,9}[.)])(?: |$)", re.MULTILINE
)
_THREE_MARKERS = re.compile(r"\*\*\*|___")


# The inline nodes a qualifying text can hold (no raw HTML or strikethrough).
_INLINE = frozenset(
    ("text", "text_special", "code_inline", "em", "strong", "link", "autolink", "image",
     "softbreak", "hardbreak")
)  # fmt: skip


# Blank lines, then a line at the margin that no open block could take as its continuation.
_CUT = re.compile(r"\n(?:[ ]*\n)+(?=[^ \t\n\-+*0-9])")
# Constructs that may span a blank line, or reach across the text (reference definitions).
_UNCUTTABLE = ("]:", "\r", "\0")
# Fenced code blocks at the margin are followed line by line (CommonMark's rules: a backtick
# fence's info string holds no backtick; the closer is a run of the same character, at least
# as long, alone on its line). A fence marker anywhere else (in a quote or list item, or
# indented) is not followed: from there on nothing is cut.
_FENCE_OPENER = re.compile(r"^ {0,3}(?:(`{3,})[^`]*|(~{3,}).*)$")
_FENCE_CLOSER = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")
_UNFOLLOWED = "?"
_HTML_SPANNING = re.compile(r"<(?:[!?]|(?i:pre|script|style|textarea))")
_FAQ_FENCE = re.compile(r":::[ \t]*faq[ \t]*$", re.IGNORECASE)
_FAQ_END = re.compile(r"^:::[ \t]*$")
_FAQ_AT_MARGIN = re.compile(r" {0,3}:::[ \t]*faq[ \t]*$", re.IGNORECASE)


class _Node(Protocol):
    name: str
    meta: dict[str, Any]
    children: list[_Node]


def qualifies(text: str) -> bool:
    """Whether ``text`` may take the fast path: none of the constructs where the parsers part."""
    return not _unsafe_spans(text) and not _code_in_label(text, 0, len(text))


def plan(text: str) -> list[tuple[list[str], bool]]:
    """``text`` as runs to render in order, each a list of ``segments`` (joined by a blank line,
    as they were cut) with whether it takes the fast path: a text that qualifies whole is one
    run of itself; otherwise neighbouring segments of the same kind make one run, so each
    parser is called once a run.

    What the parsers part on is looked for once in the whole text (``_unsafe_spans``), and a
    segment is slow when one of those places overlaps it. A place the whole text shows is a
    place the segment alone shows too, or one reaching across a cut (an unclosed ``[``
    before emphasis further on), which only sends more to the full parser; qualifying each
    of a body's ~20 segments on its own scanned every one for every construct (~110 us a
    body, and ~50 us to find which marks a body holds first)."""
    if _parser() is None:
        return [([text], False)]
    spans = _unsafe_spans(text)
    if not spans and not _code_in_label(text, 0, len(text)):
        return [([text], True)]
    bounds = _bounds(text)
    slow = _overlapped(bounds, spans)
    if "`" in text and "[" in text:
        slow.update(
            index for index, (start, end) in enumerate(bounds) if _code_in_label(text, start, end)
        )
    runs: list[tuple[list[str], bool]] = []
    for index, (start, end) in enumerate(bounds):
        segment = text[start:end]
        fast = index not in slow
        if runs and runs[-1][1] == fast:
            runs[-1][0].append(segment)
        else:
            runs.append(([segment], fast))
    return runs


# Constructs found by a regex, each tried only when the text holds its trigger.
_GUARDED = (
    (("<",), _HTML),
    ((">",), _EMPTY_QUOTE),
    ((">",), _QUOTE_THEN_LIST),
    ((":-", "-:"), _BARE_DELIMITER_ROW),
    (("[",), _EMPHASIS_IN_BRACKETS),
    (("](",), _TARGET_TO_ENCODE),
)


def _unsafe_spans(text: str) -> list[tuple[int, int]]:
    """Where in ``text`` the parsers may part: every occurrence of an ``_UNSAFE_MARKS`` mark
    and every match of the patterns above (a run of three emphasis markers only in prose)."""
    spans: list[tuple[int, int]] = []
    for char in _ASCII_UNSAFE_CHARS if text.isascii() else _UNSAFE_CHARS:
        at = text.find(char)
        while at >= 0:
            spans.append((at, at + 1))
            at = text.find(char, at + 1)
    for first, pairs in _PAIRS_BY_FIRST:
        at = text.find(first)
        while at >= 0:
            spans.extend((at, at + len(pair)) for pair in pairs if text.startswith(pair, at))
            at = text.find(first, at + 1)
    for triggers, pattern in _GUARDED:
        if any(_holds(text, trigger) for trigger in triggers):
            spans.extend(match.span() for match in pattern.finditer(text))
    if _holds(text, "***") or _holds(text, "___"):
        spans.extend(
            run.span() for run in _THREE_MARKERS.finditer(text) if _in_prose(text, run.start())
        )
    return spans


def _code_in_label(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` holds a backtick and a bracket: a code span in a link
    label can make the Rust parser panic."""
    return text.find("`", start, end) >= 0 and text.find("[", start, end) >= 0


def _overlapped(bounds: list[tuple[int, int]], spans: list[tuple[int, int]]) -> set[int]:
    """The indexes of the segments (``bounds``, in order) that some span overlaps."""
    starts = [start for start, _ in bounds]
    found: set[int] = set()
    for start, end in spans:
        first = max(bisect_right(starts, start) - 1, 0)
        found.update(range(first, bisect_left(starts, end)))
    return found


def _in_prose(text: str, at: int) -> bool:
    """Whether the line around ``at`` holds more than emphasis markers: a run of three there
    is emphasis (where the parsers part), on a line of its own a thematic break (where not)."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return bool(text[start : end if end >= 0 else len(text)].strip(" *_"))


Paragraph = tuple[int, str]  # (nesting level, plain text) of one paragraph, in document order


def render(text: str) -> str | None:
    """The unsanitized HTML of a text that ``qualifies``, exactly as the dialect's parser would
    render it, or None: the Rust parser is missing or failed; take the full parser."""
    md = _parser()
    if md is None:
        return None
    try:
        html: str = md.render(text)
    except BaseException as exc:  # pyo3 raises a Rust panic as PanicException(BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return None
    return html


def paragraphs(text: str) -> list[Paragraph] | None:
    """Every paragraph's (level, plain text) of a text that ``qualifies``, in document order,
    as ``render.paragraphs`` gives them from the dialect's tokens; None as ``render``."""
    md = _parser()
    if md is None:
        return None
    try:
        return _paragraphs(md.tree(text))
    except BaseException as exc:  # as in ``render``
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return None


def segments(text: str) -> list[str]:
    """``text`` cut at blank lines into runs of top-level blocks that parse alone as they do in
    the whole text, so each run can take the fast path or not on its own (one callout no
    longer sends a whole article to the slow parser). A cut is made only before a line at
    the margin that cannot continue what came before (no indentation, no list marker, not
    inside an FAQ block or a fenced code block); a text holding a construct that can span
    blank lines unseen (raw HTML of CommonMark's kinds 1 to 5) or document-wide references is
    not cut at all."""
    return [text[start:end] for start, end in _bounds(text)]


def _bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each of ``segments``. What is open at a cut is worked out only for the
    text since the last cut that holds a fence or FAQ marker (found once, up front): with
    none, nothing can have opened or closed."""
    if any(_holds(text, mark) for mark in _UNCUTTABLE) or (
        "<" in text and _HTML_SPANNING.search(text)
    ):
        return [(0, len(text))] if text else []
    markers = sorted(at for marker in _BLOCK_MARKERS for at in _occurrences(text, marker))
    bounds: list[tuple[int, int]] = []
    start = scanned = 0
    next_marker = 0
    open_block: str | None = None
    for cut in _CUT.finditer(text):
        end = cut.start()  # a line end: no marker reaches across it
        if next_marker < len(markers) and markers[next_marker] < end:
            open_block = _open_after(text[scanned:end], open_block)
            next_marker = bisect_left(markers, end, next_marker)
        scanned = end
        if open_block is None:
            bounds.append((start, end + 1))  # keep the run's final line end
            start = cut.end()
    if len(text) > start:
        bounds.append((start, len(text)))
    return bounds


_BLOCK_MARKERS = (":::", "```", "~~~")  # what ``_open_after`` acts on


def _occurrences(text: str, marker: str) -> list[int]:
    """Every position of ``marker`` in ``text``, overlapping ones included (see ``_holds``)."""
    found = []
    at = text.find(marker[0])
    while at >= 0:
        if text.startswith(marker, at):
            found.append(at)
        at = text.find(marker[0], at + 1)
    return found


def _holds(text: str, marker: str) -> bool:
    """``marker in text``, found through one of its characters, the one rarest in prose
    (``_ANCHOR``; by default the first): ``str.find`` of one character is a vectorised
    scan, while ``in`` for two or three (``:::``, ``***``, ``-:``) walks a 10 kB non-ASCII
    body at ~5-7 us, an eighth of the work of finding every unsafe place in it."""
    index = _ANCHOR.get(marker, 0)
    char = marker[index]
    at = text.find(char, index)
    while at >= 0:
        if text.startswith(marker, at - index):
            return True
        at = text.find(char, at + 1)
    return False


_ANCHOR = {"-:": 1}  # hyphens are everywhere in prose; colons are not


def _open_after(run: str, open_block: str | None) -> str | None:
    """What is still open after ``run``: None, ``"faq"`` (``::: faq`` ... ``:::``, blank lines
    allowed), a code fence at the margin (its marker run) or ``_UNFOLLOWED`` (a fence marker
    elsewhere: open for good)."""
    if not any(marker in run for marker in _BLOCK_MARKERS):
        return open_block
    for line in run.split("\n"):
        if open_block == _UNFOLLOWED:
            break
        if open_block == "faq":
            if "```" in line or "~~~" in line:
                open_block = _UNFOLLOWED  # the ``::: faq`` line may have been prose after all
            elif _FAQ_END.match(line.strip(" \t>")):
                open_block = None
        elif open_block is not None:
            closer = _FENCE_CLOSER.match(line)
            if closer and closer[1][0] == open_block[0] and len(closer[1]) >= len(open_block):
                open_block = None
        elif opener := _FENCE_OPENER.match(line):
            open_block = opener[1] or opener[2]  # before FAQ: "```:::faq" opens a fence
        elif "```" in line or "~~~" in line:
            open_block = _UNFOLLOWED
        elif _FAQ_FENCE.search(line):
            # An FAQ block at the margin runs on to its ``:::``; one after a list marker or
            # indented (perhaps code, perhaps an FAQ block) is not followed.
            open_block = "faq" if _FAQ_AT_MARGIN.match(line) else _UNFOLLOWED
    return open_block


def load() -> None:
    """Load the Rust parser now (see ``render.load``)."""
    _parser()


@cache
def _parser() -> Any:
    """The Rust parser configured as the dialect (None when the binding is not installed)."""
    try:
        # lazy: a compiled extension that only rendering needs (no-op builds never load it)
        import markdown_it_pyrs
    except ImportError:
        return None
    return markdown_it_pyrs.MarkdownIt("commonmark").enable_many(["table", "strikethrough"])


def _paragraphs(node: _Node, depth: int = -1) -> list[Paragraph]:
    """Every paragraph's (level, plain text) in document order, as ``render.paragraphs`` gives
    them from tokens (a token's level is its node's depth). A tight list's item holds its
    text directly where markdown-it-py has a hidden paragraph: each run of inline children
    of a list item counts as that paragraph."""
    if node.name == "paragraph":
        return [(depth, _plain(node.children))]
    found: list[Paragraph] = []
    run: list[_Node] = []
    for child in node.children:
        if node.name == "list_item" and child.name in _INLINE:
            run.append(child)
            continue
        if run:
            found.append((depth + 1, _plain(run)))
            run = []
        found.extend(_paragraphs(child, depth + 1))
    if run:
        found.append((depth + 1, _plain(run)))
    return found


def _plain(nodes: list[_Node]) -> str:
    return re.sub(r"\s+", " ", "".join(_inline_text(nodes))).strip()


def _inline_text(nodes: list[_Node]) -> list[str]:
    """Text of inline nodes: markup dropped, breaks as spaces, an image's alt text kept."""
    parts: list[str] = []
    for child in nodes:
        if child.name in ("text", "text_special"):  # text_special: an escape or entity
            parts.append(child.meta.get("content", ""))
        elif child.name in ("softbreak", "hardbreak"):
            parts.append(" ")
        else:  # emphasis, strong, link, image: their text
            parts.extend(_inline_text(child.children))
    return parts
