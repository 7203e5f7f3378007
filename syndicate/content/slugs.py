"""URL slugs for articles, tags and sections: lowercase ASCII words joined by hyphens."""

from __future__ import annotations

import re
import unicodedata

_TRANSLITERATE = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "þ": "th"})


_NOT_WORD = re.compile(r"[^\w]+")
_HYPHENS = re.compile(r"-{2,}")


_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def slugify(text: str) -> str:
    """``"Über Café Society!"`` -> ``"uber-cafe-society"``; non-Latin text keeps its letters."""
    if _SLUG.fullmatch(text):
        return text  # already a slug (most file names): what the steps below would return
    text = text.lower()
    if not text.isascii():  # ASCII has nothing to transliterate or decompose (the common case)
        text = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NOT_WORD.sub("-", text).strip("-_")
    return _HYPHENS.sub("-", text)
