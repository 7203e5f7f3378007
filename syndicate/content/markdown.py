"""The Markdown dialect: CommonMark plus tables, callout blocks and FAQ blocks.

Callouts and FAQs become their own token types (``callout_open``, ``faq_open`` ...) so that
every renderer — HTML for feeds and email, plain text for digests — shows them as distinct
blocks instead of guessing from rendered HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.rules_block import StateBlock
    from markdown_it.rules_core import StateCore
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

CALLOUT_MARKER = re.compile(r"^\[!([A-Za-z][A-Za-z-]*)\][ \t]*(.*)$")
FAQ_FENCE = re.compile(r"^:::[ \t]*faq[ \t]*$", re.IGNORECASE)
FAQ_END = re.compile(r"^:::[ \t]*$")
FAQ_LINE = re.compile(r"^(?:\*\*)?([QA])(?:\*\*)?[ \t]*:(?:\*\*)?[ \t]*(.*)$")


class _Library(NamedTuple):
    """What this module uses of markdown-it at run time (the rest is only types)."""

    parser_class: type[MarkdownIt]
    plain_links_class: type[MarkdownIt]  # the parser class that leaves plain URLs as they are
    token_class: type[Token]


@cache
def _markdown_it() -> _Library:
    """markdown-it, imported (and the dialect's parser class made) once, on first use."""
    # lazy: markdown-it loads with the first Markdown parsed; `syndicate --help`, a no-op build
    # and the commands that parse no Markdown never pay for it
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

    class PlainLinksFirst(MarkdownIt):
        """Link normalisation that skips URLs that it would return unchanged: parsing a URL
        into parts and re-encoding each is ~7% of parsing a typical article, and almost every
        link in a newsroom's Markdown is already plain."""

        def normalizeLink(self, url: str) -> str:
            return (
                url if url and _pattern(_PLAIN_URL).fullmatch(url) else super().normalizeLink(url)
            )

        def normalizeLinkText(self, link: str) -> str:
            if link and _pattern(_PLAIN_URL).fullmatch(link):
                return link
            return super().normalizeLinkText(link)

        def validateLink(self, url: str) -> bool:
            return bool(url and _pattern(_PLAIN_URL).fullmatch(url)) or super().validateLink(url)

    return _Library(MarkdownIt, PlainLinksFirst, Token)


def escape_html(text: str) -> str:
    """``text`` escaped as markdown-it's ``escapeHtml`` escapes it (``&``, ``<``, ``>`` and
    ``"``; property-tested against it), without importing markdown-it: the fast path writes
    callout titles where no other part of markdown-it-py is needed."""
    return html.escape(text, quote=False).replace('"', "&quot;")


def callout_label(kind: str) -> str:
    """The default heading of a callout kind: ``tip`` -> ``Tip``."""
    return kind.replace("-", " ").capitalize()


def _callouts(state: StateCore) -> None:
    """Turn ``> [!KIND] Title`` block quotes into callout tokens (runs before inline parsing)."""
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "blockquote_open":
            continue
        if index + 2 >= len(tokens) or tokens[index + 1].type != "paragraph_open":
            continue
        inline = tokens[index + 2]
        first, _, rest = inline.content.partition("\n")
        match = CALLOUT_MARKER.match(first.strip())
        if not match:
            continue
        kind = match.group(1).lower()
        title = match.group(2).strip()
        token.type = "callout_open"
        token.tag = "blockquote"
        token.meta = {"kind": kind, "title": title or callout_label(kind), "custom": bool(title)}
        close = _matching_close(tokens, index, "blockquote_close")
        tokens[close].type = "callout_close"
        if rest.strip():
            inline.content = rest
        else:
            # The marker line was the whole first paragraph: drop that empty paragraph.
            for empty in tokens[index + 1 : index + 4]:
                empty.hidden = True
                empty.type = "callout_marker"
                empty.content = ""
                empty.children = []


def _matching_close(tokens: list[Token], open_index: int, close_type: str) -> int:
    depth = 0
    for index in range(open_index, len(tokens)):
        if tokens[index].nesting == 1:
            depth += 1
        elif tokens[index].nesting == -1:
            depth -= 1
            if depth == 0 and tokens[index].type == close_type:
                return index
    raise ValueError("unbalanced block quote tokens")  # markdown-it always balances them


def _faq_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """``::: faq`` ... ``:::`` holding ``Q:``/``A:`` lines -> FAQ tokens."""
    begin = state.bMarks[start] + state.tShift[start]
    # Tried at every block start: reject on the first character before slicing the line.
    if state.src[begin : begin + 1] != ":" or state.sCount[start] - state.blkIndent >= 4:
        return False
    first = state.src[begin : state.eMarks[start]]
    if not FAQ_FENCE.match(first.strip()):
        return False
    if silent:
        return True
    lines = (
        state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]
        for line in range(start + 1, end)
    )
    pairs, read, closed = faq_pairs(lines)
    line = start + 1 + read
    state.line = line + 1 if closed else line
    open_token = state.push("faq_open", "dl", 1)
    open_token.map = [start, state.line]
    open_token.block = True
    for question, answer in pairs:
        for kind, text, tag in (("question", question, "dt"), ("answer", answer, "dd")):
            state.push(f"faq_{kind}_open", tag, 1)
            inline = state.push("inline", "", 0)
            inline.content = text
            inline.map = [start, state.line]
            inline.children = []
            state.push(f"faq_{kind}_close", tag, -1)
    state.push("faq_close", "dl", -1)
    return True


def faq_pairs(lines: Iterable[str]) -> tuple[list[tuple[str, str]], int, bool]:
    """The (question, answer) texts of the lines after ``::: faq``, how many lines the block
    holds before its closing ``:::`` (or to the end), and whether that line was found.

    ``Q:`` starts a question, ``A:`` its answer (the markers may be bold); other lines continue
    the answer, or the question before its answer; lines before the first ``Q:`` are dropped.
    Shared by the parser's block rule and the fast path (``markdown_blocks``)."""
    pairs: list[tuple[_FaqText, _FaqText]] = []
    current: tuple[_FaqText, _FaqText] | None = None
    read = 0
    closed = False
    for raw in lines:
        text = raw.strip()
        if FAQ_END.match(text):
            closed = True
            break
        match = FAQ_LINE.match(text)
        if match and match.group(1) == "Q":
            current = (_FaqText(match.group(2)), _FaqText(""))
            pairs.append(current)
        elif match and current is not None:
            current[1].add(match.group(2))
        elif text and current is not None:
            current[1 if current[1].filled else 0].add(text)
        read += 1
    return [(q.text(), a.text()) for q, a in pairs], read, closed


class _FaqText:
    """A question or answer as its lines come: each line adds what ``(so_far + "\n" +
    line).strip()`` would, the rule the texts were first built by, but joined once at the
    end (rebuilding the text per line took seconds for an answer of 200,000 lines)."""

    __slots__ = ("added", "filled", "parts")

    def __init__(self, first: str) -> None:
        self.parts = [first]
        self.added = False
        self.filled = bool(first.strip())  # whether the text so far is more than whitespace

    def add(self, line: str) -> None:
        self.parts.append(line)
        self.added = True
        self.filled = self.filled or bool(line.strip())

    def text(self) -> str:
        """A line of only whitespace adds nothing; stripping after each line trims only the
        ends, so one strip of the joined lines gives the same."""
        if not self.added:
            return self.parts[0]
        return "\n".join(part for part in self.parts if part.strip()).strip()


def _render_callout_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    meta: dict[str, Any] = tokens[idx].meta
    kind = meta["kind"]
    title = escape_html(meta["title"])
    return (
        f'<blockquote class="callout callout-{kind}">\n'
        f'<p class="callout-title"><strong>{title}</strong></p>\n'
    )


def _render_faq_question(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return "<dt><strong>" if tokens[idx].nesting == 1 else "</strong></dt>\n"


def _render_static(html: str) -> Any:
    def render(
        renderer: RendererHTML,
        tokens: Sequence[Token],
        idx: int,
        options: OptionsDict,
        env: EnvType,
    ) -> str:
        return html

    return render


@cache
def parser() -> MarkdownIt:
    """The shared parser (markdown-it instances are reusable and thread-safe for parsing)."""
    return _new_parser(_markdown_it().parser_class)


def _new_parser(kind: type[MarkdownIt]) -> MarkdownIt:
    md = kind("commonmark", {"html": True, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.block.ruler.before("fence", "faq", _faq_block, {"alt": ["paragraph"]})
    md.core.ruler.after("block", "callouts", _callouts)
    md.add_render_rule("callout_open", _render_callout_open)
    md.add_render_rule("callout_close", _render_static("</blockquote>\n"))
    md.add_render_rule("callout_marker", _render_static(""))
    md.add_render_rule("faq_open", _render_static('<dl class="faq">\n'))
    md.add_render_rule("faq_close", _render_static("</dl>\n"))
    md.add_render_rule("faq_question_open", _render_faq_question)
    md.add_render_rule("faq_question_close", _render_faq_question)
    md.add_render_rule("faq_answer_open", _render_static("<dd>"))
    md.add_render_rule("faq_answer_close", _render_static("</dd>\n"))
    return md


# Rules that can only act where one of their triggers occurs: a substring, or a pattern
# found by a regex that begins with a literal character (so the search skips to each
# occurrence of that character instead of trying every position). An indented code block
# needs four spaces or a tab of indentation, also inside quotes and lists; a thematic break
# needs three of one marker with only spaces or tabs between; a setext underline is a line
# ending in ``=`` or ``-`` (before any spaces or tabs; markdown-it turns CR and CRLF into LF
# after this check). A text holding none of a rule's triggers is parsed with that rule
# switched off: the same tokens (property-tested against the full parser), where each rule
# is otherwise tried at every line or character. Counted in instructions, each check costs
# less than it saves on a typical article.
_Trigger = str | re.Pattern[str]
_TRIGGERED_RULES: tuple[tuple[str, tuple[_Trigger, ...]], ...] = (
    ("table", ("|",)),
    ("strikethrough", ("~",)),
    ("fence", ("`", "~")),
    ("backticks", ("`",)),
    ("entity", ("&",)),
    ("escape", ("\\",)),
    ("code", ("    ", "\t")),
    ("html_block", ("<",)),
    ("html_inline", ("<",)),
    ("autolink", ("<",)),
    ("reference", ("]:",)),
    ("faq", (":::",)),
    ("image", ("![",)),
    ("blockquote", (">",)),
    (
        "hr",
        tuple(re.compile(rf"{m}[ \t]*{m}[ \t]*{m}") for m in (r"-", r"\*", r"_")),
    ),
    ("lheading", tuple(re.compile(rf"{m}[ \t]*(?:[\r\n]|\Z)") for m in ("=", "-"))),
    # Core rules: line ends and NULs to normalise (its regex replaced every LF by an LF, ~9%
    # of parsing); text_special tokens (made only by escapes and entities) to join; callouts.
    ("normalize", ("\r", "\0")),
    ("text_join", ("\\", "&")),
    ("callouts", ("[!",)),
)


def _present(trigger: _Trigger, text: str) -> bool:
    return trigger in text if isinstance(trigger, str) else trigger.search(text) is not None


def parse(text: str) -> list[Token]:
    """Markdown source -> the token stream every renderer works from."""
    idle = frozenset(
        rule
        for rule, triggers in _TRIGGERED_RULES
        if not any(_present(trigger, text) for trigger in triggers)
    )
    return _parser_without(idle).parse(text)


# The characters at which one of the dialect's inline rules can start (newline, escape,
# backticks, strikethrough, emphasis, link, image, autolink and raw HTML, entity) or at which
# a link label can end (``]``, found by ``skipToken`` running the rules). markdown-it stops its
# ``text`` rule at a dozen more (``-``, ``:``, ``#``, ``=``, ``@`` ... kept for extensions such
# as linkify and typographer, which this dialect leaves off), and there it tries every inline
# rule in turn, all of which fail, before taking the character as text: in prose full of
# hyphenated words that was ~10% of parsing. Stopping only here yields the same tokens
# (property-tested against the full parser). An inline rule added to the dialect must add
# the characters it starts at.
_INLINE_TERMINATORS = re.compile(r"[\n!&*<\[\\\]_`~]")


def _inline_plain_first(state: StateCore) -> None:
    """markdown-it's ``inline`` core rule, except that a text holding none of the terminators
    becomes its one text token directly: that is all the inline parser would make of it (its
    text rule takes the whole text, no other rule can start), and three in four inline texts
    of a typical article (headings, list items, plain paragraphs) are like that."""
    md = state.md
    token_class = _markdown_it().token_class
    for token in state.tokens:
        if token.type != "inline":
            continue
        if token.children is None:
            token.children = []
        content = token.content
        if not content:
            continue  # the inline parser makes no token of an empty text
        if _INLINE_TERMINATORS.search(content) is None:
            text = token_class("text", "", 0)
            text.content = content
            token.children.append(text)
        else:
            md.inline.parse(content, md, state.env, token.children)


# A link destination that markdown-it's normalisation returns unchanged and its validation
# accepts: http(s) with a plain lowercase host, a root-relative path (not "//host") or a
# fragment, made only of characters that need no percent-encoding (no "%", no "xn--" host
# label, no non-ASCII; host labels of at most 63 characters, hosts of at most 255).
# Property-tested against markdown-it's own functions.
_URL_CHARS = r"[A-Za-z0-9._~!$&'()*+,;=:@/-]*"
_LABEL = (
    r"(?!xn--)(?=[a-z0-9-]{1,63}(?![a-z0-9-]))[a-z0-9]+(?:-[a-z0-9]+)*"  # (mdurl splits longer)
)
_PLAIN_URL = (
    rf"(?:https?://(?=[a-z0-9.-]{{1,255}}(?![a-z0-9.-])){_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?)?"
    rf"(?:/(?!/){_URL_CHARS})?(?:\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?(?:#{_URL_CHARS})?"
)


@cache
def _pattern(source: str, flags: int = 0) -> re.Pattern[str]:
    """One of this module's patterns, compiled on first use: compiling runs Python code in
    ``re`` (~12k lines for these character classes and nested groups), which every start of
    syndicate paid for at import, though only parsing front matter or Markdown uses them."""
    return re.compile(source, flags)


@cache
def _parser_without(rules: frozenset[str]) -> MarkdownIt:
    """The dialect's parser with ``rules`` switched off, the text rule stopping only where an
    inline rule can start, plain texts made text tokens without the inline parser, and plain
    URLs left as they are (one instance per combination of rules)."""
    md = _new_parser(_markdown_it().plain_links_class)
    if rules:
        md.disable(sorted(rules))
    md.inline.terminator_re = _INLINE_TERMINATORS
    md.core.ruler.at("inline", _inline_plain_first)
    return md
