"""Template output evened out, for every plain-text message the templates make."""

from __future__ import annotations

import re

_BLANK_RUNS = re.compile(r"\n{3,}")


def tidy_text(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline.

    A normal form: tidying again after substituting values without line breaks into a tidied
    text gives what tidying the text with those values in place gives, which is what lets a
    reader's values be filled in after the edition was rendered (``delivery.rendered``).
    """
    lines = [line.rstrip() for line in text.splitlines()]
    tidy = _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
    return tidy + "\n"
