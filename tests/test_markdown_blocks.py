"""Callouts and FAQ blocks through the fast path render exactly as the dialect's parser does.

``markdown_blocks`` renders what a callout or FAQ block holds with the Rust parser and wraps
it as the dialect's renderer would; whenever it answers (not None), its HTML must be the full
parser's HTML of the same segment, and the body around it must render the same too.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from syndicate.content import markdown_blocks, markdown_fast
from syndicate.content.markdown import escape_html, parse
from syndicate.content.render import first_paragraph_text, render_markdown, render_tokens


def _slow(text: str) -> str:
    return render_tokens(parse(text))


_WORDS = st.sampled_from(
    [
        "word", "Wört", "北京", "*em*", "**b**", "[a](/x)", "![alt](/i.png)", "&amp;", "\\*",
        "`code`", "<https://x.example/>", "1.", "-", "#", ">", "---", "===", "Q:", "A:", ":",
        "[x]", "[x][y]",
        "[!NOTE]", "|", "~~s~~", "<b>", "_u_", "***",
    ]
)  # fmt: skip
_LINE = st.lists(_WORDS, min_size=0, max_size=6).map(" ".join)
_PROSE = st.lists(
    st.sampled_from(["word", "Wört", "*em*", "**b**", "[a](/x)", "&amp;", "1.", "-", "#"]),
    max_size=6,
).map(" ".join)
_LINE_START = st.sampled_from(
    ["", "", "", "Word ", " ", "  ", "    ", "- ", "1. ", "# ", "> ", ">", "---", "==="]
)


@st.composite
def _callouts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["NOTE", "tip", "Warning", "x-y", "NOTE]", "1"]))
    title = draw(st.sampled_from(["", " Title", ' A <b> & "c"', "Tight", " *em* title"]))
    lines = [f"> [!{kind}]{title}"]
    if draw(st.booleans()):  # the shape the fast path takes: a quoted paragraph follows
        first = draw(st.sampled_from(["Word", "Ærø", "北京", "☀", "[a](/x)", "!", "&amp;", "\\#"]))
        lines.append(f"> {first} {draw(_PROSE)}")
    for _ in range(draw(st.integers(0, 4))):
        start = draw(_LINE_START)
        text = draw(st.one_of(_LINE, _PROSE))
        lines.append(f"{draw(st.sampled_from(['> ', '> ', '>', '']))}{start}{text}")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\nAfter.\n", "\n# H\n"]))


@st.composite
def _faqs(draw: st.DrawFn) -> str:
    lines = [draw(st.sampled_from(["::: faq", ":::faq", "::: FAQ  ", " ::: faq"]))]
    for _ in range(draw(st.integers(0, 6))):
        marker = draw(st.sampled_from(["Q: ", "A: ", "**Q:** ", "A:", "", "  "]))
        lines.append(marker + draw(_LINE))
    if draw(st.booleans()):
        lines.append(":::")
    return "\n".join(lines) + draw(
        st.sampled_from(["", "\n", "\nAfter *it*.\n", "\n- item\n", "\n\n[x]: /r\n[y]: /s\n"])
    )


@settings(max_examples=500, deadline=None)
@given(_callouts())
@example("> [!NOTE] Title\n> Text *em*.\n")
@example("> [!NOTE] T\n> text\n> ---\n")  # a setext heading: no callout at all
@example("> [!NOTE] T\n>     code\n")  # indented: a continuation line, not code
@example("> [!NOTE] T\nlazy text\n")  # lazy: still inside the quote
@example("> [!TIP]\n> Drink water.\n")
@example("> [!NOTE] Sun\n> ☀ and [a link](/x) first.\n")
def test_a_callout_renders_as_the_full_parser_does(text: str) -> None:
    block = markdown_blocks.callout(text)
    if block is not None:
        assert block[0] == _slow(text)
    assert render_markdown(text, summary=True) == (_slow(text), first_paragraph_text(parse(text)))


@settings(max_examples=500, deadline=None)
@given(_faqs())
@example("::: faq\nQ: Why?\nA: Heat.\n:::\n")
@example("::: faq\nQ: One\n- two\nA: 1. three\n:::\nAfter.\n")  # block starts inside texts
@example("::: faq\nQ: Open to the end\nA: yes\n")
@example("::: faq\nQ: x\nA: # h\nQ: a\n***\nb\n:::\n")  # one text no paragraph, one two
@example("::: faq\nQ: a\nA: b\n:::\n> [!NOTE] T\n> after\n")
@example("::: faq\nQ: See [x]\nA: b\n:::\n\n[x]: /defined-after\n")  # a reference
def test_an_faq_block_renders_as_the_full_parser_does(text: str) -> None:
    block = markdown_blocks.faq(text)
    if block is not None:
        html, after = block
        assert html + (_slow(after) if after else "") == _slow(text)
    assert render_markdown(text, summary=True) == (_slow(text), first_paragraph_text(parse(text)))


@pytest.mark.parametrize(
    "text",
    [
        "> [!WARNING] Audience director\n> Director market *rate*. Fiancée [region](/r/).\n",
        "::: faq\nQ: Hospital strike?\nA: Investment **launch**, see [this](/x).\nQ: Next?\n"
        "A: Ruling.\n:::\n",
    ],
)
def test_a_newsroom_callout_and_faq_take_the_fast_path(text: str) -> None:
    """The shapes editors write take it: the point of this module."""
    assert not markdown_fast.qualifies(text)
    assert (markdown_blocks.callout(text) or markdown_blocks.faq(text)) is not None


@pytest.mark.parametrize(
    "text",
    [
        "> [!NOTE] T\n> text\n> ---\n",  # a setext heading
        "> [!NOTE] T\nlazy\n",  # the second line is lazy, not quoted
        "> [!NOTE] T\n> - item\n",  # the second line starts a list
        "> [!NOTE] T\n> a\n> > nested\n",  # a quote in the quote
        "> [!NOTE] T\n> a <b>raw</b>\n",  # raw HTML inside
    ],
)
def test_other_callout_shapes_go_to_the_full_parser(text: str) -> None:
    assert markdown_blocks.callout(text) is None
    assert render_markdown(text, summary=True)[0] == _slow(text)


@given(st.text(alphabet="&<>\"'a é\n", max_size=30))
def test_titles_are_escaped_as_markdown_it_escapes_them(text: str) -> None:
    from markdown_it.common.utils import escapeHtml

    assert escape_html(text) == escapeHtml(text)


def _faq_pairs_by_rebuilding(lines: list[str]) -> tuple[list[tuple[str, str]], int, bool]:
    """The FAQ rule as first written, each text rebuilt and stripped per line: the reference."""
    from syndicate.content.markdown import FAQ_END, FAQ_LINE

    pairs: list[list[str]] = []
    current: list[str] | None = None
    read = 0
    for raw in lines:
        text = raw.strip()
        if FAQ_END.match(text):
            return [(q, a) for q, a in pairs], read, True
        match = FAQ_LINE.match(text)
        if match and match.group(1) == "Q":
            current = [match.group(2), ""]
            pairs.append(current)
        elif match and current is not None:
            current[1] = (current[1] + "\n" + match.group(2)).strip()
        elif text and current is not None:
            index = 1 if current[1] else 0
            current[index] = (current[index] + "\n" + text).strip()
        read += 1
    return [(q, a) for q, a in pairs], read, False


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Q: q",
                "Q:",
                "A: a",
                "A:",
                "**Q:** b",
                "A:\u3000x",
                "Q:\u3000y",
                "x",
                "",
                " ",
                "\u3000",
                "\u3000z",
                "  w  ",
                ":::",
                "::: ",
                "Q: two words",
            ]
        ),
        max_size=20,
    )
)
def test_faq_texts_are_what_rebuilding_them_line_by_line_gave(lines: list[str]) -> None:
    """``faq_pairs`` joins each text once (linear in its lines) for the very texts the rule
    built by stripping after every line."""
    from syndicate.content.markdown import faq_pairs

    assert faq_pairs(lines) == _faq_pairs_by_rebuilding(lines)
