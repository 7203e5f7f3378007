"""Slugs: the URL words of articles, tags and sections (``slugs.slugify``)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.content.slugs import slugify


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Über Café Society!", "uber-cafe-society"),
        ("Économie", "economie"),
        ("Straße & Ørsted", "strasse-orsted"),
        ("Hello  World -- again", "hello-world-again"),
        ("__edge__", "edge"),
        ("日本語 テスト", "日本語-テスト"),
        ("2026 Budget: what's in it?", "2026-budget-what-s-in-it"),
    ],
)
def test_slugs_are_lowercase_words_joined_by_hyphens(text: str, slug: str) -> None:
    assert slugify(text) == slug


def _full_path(text: str) -> str:
    """Every text through transliteration and decomposition (what the ASCII shortcut skips)."""
    table = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "þ": "th"})
    text = unicodedata.normalize("NFKD", text.lower().translate(table))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w]+", "-", text).strip("-_")
    return re.sub(r"-{2,}", "-", text)


@given(st.text())
def test_the_ascii_shortcut_changes_no_slug(text: str) -> None:
    assert slugify(text) == _full_path(text)


@given(st.one_of(st.from_regex(r"[a-z0-9]+(?:-[a-z0-9]+)*", fullmatch=True), st.text("ab-_ 1")))
def test_a_text_that_is_already_a_slug_comes_back_unchanged(text: str) -> None:
    assert slugify(text) == _full_path(text)
