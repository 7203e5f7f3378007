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
# Which pairs a text holds, in one scan: ``in`` per pair over a 10 kB non-ASCII text cost
# ~67 us a body, this regex ~25 us. A scan resumes after each match, so a pair starting on
# a match's last character goes unseen; only these can (the second character of one pair
# starting another), each shown by the three or four characters that hold both.
_PAIRS = re.compile("|".join(map(re.escape, _UNSAFE_PAIRS)))
_HIDDEN = (  # (pair found, text holding it and the hidden one, the hidden one)
    ("]:", "]:::", ":::"),
    ("_*", "_*_", "*_"), (")*", ")*_", "*_"), ("]*", "]*_", "*_"),
    ("*_", "*_*", "_*"), (")_", ")_*", "_*"), ("]_", "]_*", "_*"),
)  # fmt: skip
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
    return _qualifies(text, _UNSAFE_MARKS)


def plan(text: str) -> list[tuple[list[str], bool]]:
    """``text`` as runs to render in order, each a list of ``segments`` (joined by a blank line,
    as they were cut) with whether it takes the fast path: a text that qualifies whole is one
    run of itself; otherwise neighbouring segments of the same kind make one run, so each
    parser is called once a run."""
    if _parser() is None:
        return [([text], False)]
    marks = marks_in(text)
    if not marks and _qualifies(text, marks):
        return [([text], True)]
    runs: list[tuple[list[str], bool]] = []
    for segment in segments(text):
        fast = _qualifies(segment, marks)
        if runs and runs[-1][1] == fast:
            runs[-1][0].append(segment)
        else:
            runs.append(([segment], fast))
    return runs


def marks_in(text: str) -> tuple[str, ...]:
    """The ``_UNSAFE_MARKS`` that ``text`` holds, in their order."""
    found = set(_PAIRS.findall(text))
    for seen, holding, hidden in _HIDDEN:
        if seen in found and hidden not in found and holding in text:
            found.add(hidden)
    chars = tuple(mark for mark in _UNSAFE_CHARS if mark in text)  # one C scan each
    return chars + tuple(pair for pair in _UNSAFE_PAIRS if pair in found)


def _qualifies(text: str, marks: tuple[str, ...]) -> bool:
    """``qualifies``, looking only for the ``marks`` that the whole text holds."""
    if any(mark in text for mark in marks) or ("`" in text and "[" in text):
        return False  # a code span in a link label can make the Rust parser panic
    if "***" in text or "___" in text:
        if any(_in_prose(text, run.start()) for run in _THREE_MARKERS.finditer(text)):
            return False
    return not (
        ("<" in text and _HTML.search(text))
        or (">" in text and (_EMPTY_QUOTE.search(text) or _QUOTE_THEN_LIST.search(text)))
        or ((":-" in text or "-:" in text) and _BARE_DELIMITER_ROW.search(text))
        or ("[" in text and _EMPHASIS_IN_BRACKETS.search(text))
        or ("](" in text and _TARGET_TO_ENCODE.search(text))
    )


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
    if any(mark in text for mark in _UNCUTTABLE) or ("<" in text and _HTML_SPANNING.search(text)):
        return [text]
    runs: list[str] = []
    start = scanned = 0
    open_block: str | None = None
    for cut in _CUT.finditer(text):
        open_block = _open_after(text[scanned : cut.start()], open_block)
        scanned = cut.start()
        if open_block is None:
            runs.append(text[start : cut.start() + 1])  # keep the run's final line end
            start = cut.end()
    runs.append(text[start:])
    return [run for run in runs if run]


def _open_after(run: str, open_block: str | None) -> str | None:
    """What is still open after ``run``: None, ``"faq"`` (``::: faq`` ... ``:::``, blank lines
    allowed), a code fence at the margin (its marker run) or ``_UNFOLLOWED`` (a fence marker
    elsewhere: open for good)."""
    if ":::" not in run and "```" not in run and "~~~" not in run:
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
