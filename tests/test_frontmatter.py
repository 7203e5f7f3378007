"""The front-matter fast path reads the common TOML subset exactly as tomllib does."""

from __future__ import annotations

import re
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.content import frontmatter
from syndicate.content.frontmatter import (
    FrontMatterSyntaxError,
    _simple_toml,
    split,
)

KEYS = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
BASIC = TEXT.map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"')
LITERAL = TEXT.map(lambda t: "'" + t.replace("'", "") + "'")
MOMENT = st.sampled_from(
    [
        "2026-11-02",
        "2026-11-02T09:00:00",
        "2026-11-02 09:00:00Z",
        "2026-11-02T09:00:00+01:00",
        "2026-11-02T09:00:00-05:30",
        "2026-02-30",
        "2026-11-02T09:00:00.5Z",
        "2026-11-02t09:00:00z",
    ]
)
SCALAR = st.one_of(
    BASIC, LITERAL, MOMENT, st.sampled_from(["true", "false", "0", "-0", "42", "+1", "1_000"])
)
ARRAY = st.lists(st.one_of(BASIC, LITERAL), max_size=4).map(
    lambda items: "[" + ", ".join(items) + "]"
)
LINE = st.tuples(KEYS, st.one_of(SCALAR, ARRAY), st.sampled_from(["", " ", "\t"])).map(
    lambda kv: f"{kv[0]}{kv[2]}={kv[2]}{kv[1]}"
)
OTHER = st.sampled_from(["", "# comment", "[table]", "a.b = 1", "x = { y = 1 }", "bad line"])


def reference(raw: str) -> object:
    try:
        return tomllib.loads(raw + "\n")
    except tomllib.TOMLDecodeError:
        return "error"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(LINE, LINE, LINE, OTHER), max_size=8))
def test_the_fast_path_agrees_with_tomllib(lines: list[str]) -> None:
    raw = "\n".join(lines)
    fast = _simple_toml(raw)
    if fast is not None:  # None means: not the simple subset, tomllib decides
        assert fast == reference(raw)
        assert repr(fast) == repr(reference(raw))  # same types, tzinfo included


@pytest.mark.parametrize(
    "text",
    [
        '+++\ntitle = "T"\n+++\nBody\n',
        '\ufeff+++\r\ntitle = "T"\r\n+++\r\nBody\r\nmore\n',
        '+++  \ntitle = "T"\n  +++ \n',
        '+++\ntitle = "T"\n+++',
        "+++\n+++\n\nBody",
        "---\ntitle: T\n---\nBody +++\n+++\n",
    ],
)
def test_split_keeps_body_and_lines(text: str) -> None:
    def slow(text: str) -> tuple[str, str, int]:
        text = text.removeprefix("\ufeff")
        lines = text.split("\n")
        fence = lines[0].rstrip("\r").strip()
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip("\r").strip() == fence)
        raw = "\n".join(line.rstrip("\r") for line in lines[1:end])
        return raw, "\n".join(lines[end + 1 :]), end + 2

    parsed = split(text)
    assert (parsed.raw, parsed.body, parsed.body_line) == slow(text)


def test_unclosed_front_matter_is_still_an_error() -> None:
    with pytest.raises(FrontMatterSyntaxError, match="never closed"):
        frontmatter.split("+++\ntitle = 'x'\n")


_FENCE_SOUP = st.text(alphabet=st.sampled_from(list("+-x \t\r\n\x0b\x0c\u3000\x85")), max_size=40)


@given(_FENCE_SOUP, st.sampled_from(["+++", "---"]))
def test_the_closing_line_is_the_one_the_anchored_regex_finds(text: str, fence: str) -> None:
    """``closing_line`` (``str.find`` and a look at the line) against the regex it replaced."""
    text = fence + "\n" + text
    regex = re.compile(rf"^[^\S\n]*{re.escape(fence)}[^\S\n]*$", re.MULTILINE)
    match = regex.search(text, len(fence) + 1)
    expected = (match.start(), match.end()) if match else None
    assert frontmatter.closing_line(text, fence, len(fence) + 1) == expected
