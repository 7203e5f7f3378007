"""Counted nouns for messages: "1 bad row", "2 bad rows", never "1 bad rows"."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` and ``noun``, in the plural (``many``, or ``noun`` + "s") unless it is 1."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
