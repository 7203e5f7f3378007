"""The fast path of Markdown rendering gives exactly what the dialect's own parser gives.

``render_markdown`` cuts a body into runs of blocks and renders each run that qualifies with
markdown-it.rs; these tests hold it to the full markdown-it-py render (HTML and the first
paragraph's text, the fallback summary) on generated Markdown, on the demo articles and on
every construct where differential fuzzing saw the two parsers part.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from syndicate.content import markdown_fast
from syndicate.content.markdown import parse
from syndicate.content.render import first_paragraph_text, render_markdown, render_tokens
from tests.conftest import REPO


def _slow(text: str) -> tuple[str, str]:
    tokens = parse(text)
    return render_tokens(tokens), first_paragraph_text(tokens)


# Where markdown-it.rs (0.4) and the dialect's parser were seen to part, or the Rust parser
# to panic: each must be refused by ``qualifies`` (and so still render as the dialect does).
DIVERGENT = [
    "[)`",  # the Rust parser panics on a code span in a link label
    "\xa0word",  # Unicode spaces at a paragraph's edge
    ">",  # an empty block quote
    "> > ",
    "* >",
    "<b>",  # raw HTML
    "~~~\ncode",  # a fence left open
    "| a |\n|---|\n2) x",  # a table's end
    "word\n:---",  # a table without pipes
    "> quote\n2) item",  # a list marker after a quote's line
    ">> a\\\n>  1. b",
    "***bi*** and **b***em*",  # runs of three markers
    "_a_*b*",  # mixed markers touching
    "[*in brackets*",
    '[x](/u "T")**bold**',  # emphasis right after a link
    "[x](https://bücher.ch/ä)",  # a host to punycode
    "[x][](\\\n)",  # a backslash in a destination
    "[ref]: /u\n\n[ref]",  # reference definitions
    "> [!NOTE] a callout",
    "::: faq\nQ: q?\nA: a\n:::",
    "a\ttab",
]


@pytest.mark.parametrize("text", DIVERGENT)
def test_what_the_parsers_disagree_on_takes_the_full_parser(text: str) -> None:
    assert not markdown_fast.qualifies(text)
    assert render_markdown(text, summary=True) == _slow(text)


_PIECES = st.sampled_from(
    [
        "word", "Wört", "北京", " ", "\n", "\n\n", "# ", "## ", "- ", "* ", "+ ", "1. ", "2) ",
        "10. ", "> ", ">", "*", "**", "_", "__", "***", "`", "~", "~~", "[", "]", "(", ")",
        "[a](/x)", "[b](https://example.org/a b)", "![alt](/i.png)", '![a b](/p.png "t")',
        "[x](/Ærø)", "[x](/a%20b)", "[x](/a%zz)", "[x](HTTP://EX.COM/P)", "[x](javascript:x)",
        '[x](/u "T")', "[x](/u 'T')", "[x](/u (T))", "[x](/a&amp;b)", "[x](#frag)",
        "[x](//host/p)", "[x](mailto:a@b.c)", "<https://x.example/a>", "<", "&", "&amp;",
        "&copy;", "&#35;", "&nbsp;", "&bogus;", "\\", "\\*", "\\\n", "|", "---", "===", "    ",
        "\t", "  \n", "\xa0", "\u3000", "\r\n", ":", "Q: ", "A: ", "*em*", "_em_", "**b**",
        "__b__", "[ref]", "[x][]", "<div>", "</div>", "<!-- c -->", "[!NOTE]",
        "\n\n- ", "\n\n1. ", "\n\n> [!TIP] T\n> body", "\n\n::: faq\nQ: q?\nA: a\n",
        "\n\n:::\n", "\n\n<div>\nx\n", "\n\n<pre>\n\n</pre>", "\n\n    code", "\n\n  indented",
        "\n\n# H", "\n\n[y]: /z", "\n\nPara *em* [l](/x).", "\n\n| a |\n|---|\n| 1 |",
        "\n\n```\nc\n\n```", "\n\n---", "\n\n> q", "\n\n~~~~\nx\n\n~~~", "```a`b",
        "\n\n> ```\n\nz", "\n\n   ```py\n", "\n\n- ```\n",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
@example("- a <https://x.example/a> b")  # an autolink in a tight list item's text
@example("- ::: faq\n\nQ: q?\n\n:::\n\n# After")  # an FAQ block spans blank lines
@example("1. one\n\n2. two\n\nPara")  # a loose list is never cut apart
@example("```Para *em* [l](/x).```:::faq\n\n```\n\n# H")  # not a fence, then one left open
@example("```:::faq\nx\n\n:::\n\nPara")  # a fence (its info string), not an FAQ block
@example("\t::: faq\n~~~    ```::: faq\n\nQ: q?\n:::\n\nPara")  # indented: code, not FAQ
def test_any_mix_renders_as_the_full_parser_does(text: str) -> None:
    assert render_markdown(text, summary=True) == _slow(text)


_PROSE = st.sampled_from(
    ["word", "Wört", " ", " ", "\n", "\n\n", "# ", "- ", "1. ", "> ", "*em*", "**b**", "_em_",
     "[a](/x)", "![alt](/i.png)", "&amp;", "\\*", "  \n", ":", "---", "<https://x.example/>"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PROSE, max_size=40).map("".join))
def test_prose_takes_the_fast_path_and_renders_the_same(text: str) -> None:
    """Newsroom-like text, most of which qualifies: the fast path is the one tested here."""
    assert render_markdown(text, summary=True) == _slow(text)


def _demo_bodies() -> Iterator[str]:
    for path in sorted((REPO / "content").glob("*.md")):
        yield path.read_text(encoding="utf-8").split("+++", 2)[-1]


def test_every_demo_article_renders_the_same_and_mostly_fast() -> None:
    fast = total = 0
    for body in _demo_bodies():
        assert render_markdown(body, summary=True) == _slow(body)
        runs = markdown_fast.plan(body)
        fast += sum(len(segment) for run, qualifies in runs if qualifies for segment in run)
        total += len(body)
    assert fast / total > 0.5


def test_without_the_rust_binding_everything_takes_the_full_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(markdown_fast, "_parser", lambda: None)
    for body in _demo_bodies():
        assert markdown_fast.plan(body) == [([body], False)]
        assert render_markdown(body, summary=True) == _slow(body)


class _Panic(BaseException):
    """What pyo3 raises for a Rust panic (PanicException derives from BaseException)."""


class _PanickingParser:
    def render(self, text: str) -> str:
        raise _Panic("index out of bounds")

    def tree(self, text: str) -> object:
        raise _Panic("index out of bounds")


def test_a_panic_in_the_rust_parser_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(markdown_fast, "_parser", lambda: _PanickingParser())
    text = "Plain *prose* with [a link](/x).\n"
    assert markdown_fast.plan(text) == [([text], True)]
    assert markdown_fast.render(text) is None
    assert markdown_fast.paragraphs(text) is None
    assert render_markdown(text, summary=True) == _slow(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
@example("[a\n\nb *c*")  # an unclosed bracket, emphasis after a cut: found across it
@example("]:::")
@example(")*_*")
def test_plan_sends_no_segment_the_fast_path_would_not_take_alone(text: str) -> None:
    """``plan`` looks for what the parsers part on once in the whole text: each segment it
    sends the fast way qualifies on its own, and the runs hold every segment in order."""
    runs = markdown_fast.plan(text)
    assert [segment for run, _ in runs for segment in run] == (
        [text] if runs == [([text], True)] else markdown_fast.segments(text)
    )
    for run, fast in runs:
        assert not fast or all(markdown_fast.qualifies(segment) for segment in run)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="[]!:`_*)x \n\u00a0\u2003|~<>-", max_size=40))
@example("]:::")
@example(")*_*")
@example("]_*_")
def test_qualifies_refuses_every_mark(text: str) -> None:
    """A text holding any of the marks, overlapping ones included (``]:::``, ``)*_`` ...),
    never qualifies."""
    if any(mark in text for mark in markdown_fast._UNSAFE_MARKS):
        assert not markdown_fast.qualifies(text)


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=":-*_]`~x\n", max_size=30),
    st.sampled_from([":::", "***", "___", "-:", ":-", "]:", "](", "```", "~~~", "\r", "<"]),
)
def test_holds_and_occurrences_find_what_in_and_find_do(text: str, marker: str) -> None:
    """The one-character scans behind ``_holds`` and ``_occurrences`` agree with ``in`` and
    with every (overlapping) ``find``."""
    assert markdown_fast._holds(text, marker) == (marker in text)
    expected = [at for at in range(len(text)) if text.startswith(marker, at)]
    assert markdown_fast._occurrences(text, marker) == expected
