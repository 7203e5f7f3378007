"""URL slugs for articles, tags and sections: lowercase ASCII words joined by hyphens."""

from __future__ import annotations

import re
import unicodedata

_TRANSLITERATE = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "þ": "th"})


def slugify(text: str) -> str:
    """``"Über Café Society!"`` -> ``"uber-cafe-society"``; non-Latin text keeps its letters."""
    text = unicodedata.normalize("NFKD", text.lower().translate(_TRANSLITERATE))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_")
    return re.sub(r"-{2,}", "-", text)
