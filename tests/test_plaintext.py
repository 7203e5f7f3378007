"""The plain-text renderer: golden files for every construct, and width properties."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import Golden
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.text.plaintext import (
    TextBlock,
    format_links,
    render_markdown_text,
    wrap,
)
from syndicate.text.width import URL, text_width

GOLDEN = Path(__file__).parent / "golden" / "plaintext"
FIXTURES = sorted(GOLDEN.glob("*.md"))
BASE = "https://example.org/news/story/"
# Narrow widths where the construct's wrapping is the point of the fixture.
WIDTHS = {"cjk": 30, "quotes": 40, "lists": 50}


def rendered(source: Path, width: int) -> str:
    block = render_markdown_text(source.read_text(encoding="utf-8"), base_url=BASE, width=width)
    links = format_links(block.links)
    return block.text + ("\n" + links if links else "")


MARKER = re.compile(r"^(>|#+|[-*+↪]|\d+\.|\[\d+\]|[A-Za-z]+:)$")


def lone_url(line: str) -> bool:
    """A line that may exceed the width: a single URL, after nothing but indentation and
    markers (quote ``>``, heading ``#``, bullets, ``1.``, ``[1]``, a label such as ``Q:``)."""
    *before, last = line.split() or [""]
    return URL.match(last) is not None and all(MARKER.match(word) for word in before)


def assert_shape(text: str, width: int) -> None:
    for line in text.split("\n"):
        assert line == line.rstrip(), f"trailing space: {line!r}"
        assert text_width(line) <= width or lone_url(line), f"too wide: {line!r}"


@pytest.mark.parametrize("source", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_golden(source: Path, golden: Golden) -> None:
    width = WIDTHS.get(source.stem, 72)
    text = rendered(source, width)
    assert_shape(text, width)
    golden(source.with_suffix(".txt"), text)


def test_every_construct_has_a_fixture() -> None:
    assert {path.stem for path in FIXTURES} >= {
        "paragraphs", "cjk", "headings", "lists", "quotes", "code", "callouts", "faq",
        "links", "html", "tables", "rule",
    }  # fmt: skip


def test_three_deep_list_keeps_hanging_indents() -> None:
    body = "- one\n  - two\n    - three, long enough to wrap onto the next line of text\n"
    text = render_markdown_text(body, base_url=BASE, width=30).text
    assert text == (
        "- one\n"
        "  * two\n"
        "    + three, long enough to\n"
        "      wrap onto the next line\n"
        "      of text\n"
    )


def test_links_are_numbered_from_link_start_and_absolute() -> None:
    block = render_markdown_text(
        "[a](/x/) [b](y) [a again](/x/)", base_url="https://ex.org/p/q/", link_start=4
    )
    assert block == TextBlock(text="a [4] b [5] a again [4]\n", links=(
        "https://ex.org/x/", "https://ex.org/p/q/y",
    ))  # fmt: skip
    assert format_links(block.links, start=4) == "[4] https://ex.org/x/\n[5] https://ex.org/p/q/y\n"


def test_format_links_aligns_numbers() -> None:
    links = [f"https://ex.org/{n}" for n in range(1, 11)]
    lines = format_links(links).splitlines()
    assert lines[0] == " [1] https://ex.org/1"
    assert lines[9] == "[10] https://ex.org/10"
    assert format_links([]) == ""


def test_no_raw_html_or_script_survives() -> None:
    body = '<p onclick="x()">Hi</p>\n\n<script>\nsteal()\n</script>\n\nText <style>p{}</style>ok'
    text = render_markdown_text(body, base_url=BASE).text
    assert text == "Hi\n\nText ok\n"


def test_empty_body() -> None:
    assert render_markdown_text("", base_url=BASE) == TextBlock(text="", links=())


def test_wrap_is_wide_character_aware() -> None:
    assert wrap("日本語の文章です", 6) == ["日本語", "の文章", "です"]
    # No line starts with a closing mark (kinsoku): "。" stays with the word before it.
    assert all(not line.startswith("。") for line in wrap("あいうえお。かきくけこ。", 10))
    assert wrap("Zoe\u0308 Zoe\u0308 Zoe\u0308", 7) == ["Zoe\u0308 Zoe\u0308", "Zoe\u0308"]
    assert wrap("a 👩‍👩‍👧 b", 3) == ["a", "👩‍👩‍👧", "b"]


def test_wrap_indents_and_never_breaks_urls() -> None:
    url = "https://example.org/" + "x" * 60
    assert wrap(f"see {url} now", 20, initial_indent="- ", subsequent_indent="  ") == [
        "- see",
        f"  {url}",
        "  now",
    ]


# Markdown-ish fragments: enough syntax to build lists, quotes, callouts, FAQs, code and tables.
FRAGMENTS = [
    *"abc xyz\n#>-*1.`|[]()!:<>/&;",
    "\n\n", "日本語", "é", "e\u0301", "👩‍👩‍👧", "https://ex.org/long/path/", "[l](/x)",
    "> [!TIP] T\n", "::: faq\nQ: q\nA: a\n:::\n", "```\n", "    ", "  - ", "| a | b |\n|-|-|\n",
    "<b>", "&amp;", "Supercalifragilistic", "1. ", "\t", "    - ", "###### ",
    "| 日本語日本語日本語 | https://ex.org/a/b/c/d/e/f/g |\n", "<https://ex.org/auto/link/x>",
]  # fmt: skip
markdownish = st.lists(st.sampled_from(FRAGMENTS), max_size=120).map("".join)


@settings(max_examples=150, deadline=None)
@given(body=markdownish, width=st.integers(min_value=20, max_value=100))
def test_any_text_fits_the_width(body: str, width: int) -> None:
    block = render_markdown_text(body, base_url=BASE, width=width)
    assert_shape(block.text, width)
    assert block.text == "" or (block.text.endswith("\n") and not block.text.endswith("\n\n"))
    assert_shape(format_links(block.links), width + 200)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300), width=st.integers(min_value=4, max_value=80))
def test_wrap_any_text(text: str, width: int) -> None:
    from syndicate.text.width import clean_controls

    for line in wrap(clean_controls(text), width, subsequent_indent="  "):
        assert line == line.rstrip()
        assert text_width(line) <= width or lone_url(line)


@settings(max_examples=150, deadline=None)
@given(body=st.text(max_size=300), width=st.integers(min_value=20, max_value=100))
def test_arbitrary_unicode_fits_the_width(body: str, width: int) -> None:
    block = render_markdown_text(body, base_url=BASE, width=width)
    assert_shape(block.text, width)


def test_no_break_spaces_hold() -> None:
    text = render_markdown_text("It was 58\u00a0°C in § 5. " * 3, base_url=BASE, width=24).text
    assert "58\u00a0°C" in text and "58\n" not in text
    assert all(text_width(line) <= 24 for line in text.splitlines())


def test_struck_text_reads_as_struck_never_merged() -> None:
    text = render_markdown_text("Founded ~~2019~~ 2018.", base_url=BASE, width=72).text.rstrip()
    assert text == "Founded [deleted: 2019] 2018."


@pytest.mark.parametrize(
    "body", ["Founded <del>2019</del> 2018.", "<p>Founded <s>2019</s> 2018.</p>"]
)
def test_struck_raw_html_reads_as_struck(body: str) -> None:
    text = render_markdown_text(body, base_url=BASE, width=72).text.rstrip()
    assert text == "Founded [deleted: 2019] 2018."


def test_table_columns_keep_their_alignment() -> None:
    body = "| Name | Fare | Seats |\n|:--|--:|:-:|\n| Seat | €9 | 1 |\n| Couchette | €129 | 4-6 |\n"
    lines = render_markdown_text(body, base_url=BASE, width=72).text.rstrip("\n").split("\n")
    assert lines == [
        "Name       Fare  Seats",
        "---------  ----  -----",
        "Seat         €9    1",
        "Couchette  €129   4-6",
    ]
