"""Correction notes as readers see them: one wording for feeds, email, archive and digest.

A note says what kind of change it is and when it was made (in the publication's timezone,
month names from a fixed table so output never depends on the process locale). The HTML is
built here from escaped text, so a note can never inject markup into any output.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime, tzinfo

from ..model import Article, Correction
from .when import long_date

LABELS = {"correction": "Correction", "clarification": "Clarification", "update": "Update"}


def label(correction: Correction) -> str:
    """``Correction``, ``Clarification`` or ``Update``."""
    return LABELS.get(correction.kind, correction.kind.capitalize())


def date_text(moment: datetime, zone: tzinfo) -> str:
    """``6 December 2026``: the day the note was added, where the publication is."""
    return long_date(moment.astimezone(zone))


def heading(correction: Correction, zone: tzinfo) -> str:
    """``Correction, 6 December 2026``: what starts every note."""
    return f"{label(correction)}, {date_text(correction.date, zone)}"


def note_text(correction: Correction, zone: tzinfo) -> str:
    """One note as a line of plain text (wrap it where it is shown)."""
    return f"{heading(correction, zone)}: {correction.text}"


def note_html(correction: Correction, zone: tzinfo) -> str:
    """One note as an HTML paragraph, every piece of text escaped."""
    return (
        f'<p class="correction" data-kind="{html.escape(correction.kind, quote=True)}">'
        f"<strong>{html.escape(heading(correction, zone), quote=False)}:</strong> "
        f"{html.escape(correction.text, quote=False)}</p>"
    )


def notes_html(corrections: Iterable[Correction], zone: tzinfo) -> str:
    """Every note, oldest first, in one block; empty when there are none."""
    notes = "".join(note_html(c, zone) for c in corrections)
    return f'<div class="corrections">{notes}</div>' if notes else ""


def notes_text(corrections: Iterable[Correction], zone: tzinfo) -> str:
    """Every note as plain text, one paragraph each; empty when there are none."""
    return "\n\n".join(note_text(c, zone) for c in corrections)


def with_notes_html(body: str, article: Article, zone: tzinfo, position: str) -> str:
    """``body`` with the article's notes at its ``top`` or ``bottom``; unchanged without any."""
    if not article.corrections:
        return body
    notes = notes_html(article.corrections, zone)
    return notes + body if position == "top" else body + notes


def with_notes_text(body: str, article: Article, zone: tzinfo, position: str) -> str:
    """The plain-text twin of ``with_notes_html``: notes and body a blank line apart."""
    if not article.corrections:
        return body
    notes = notes_text(article.corrections, zone)
    parts = [notes, body] if position == "top" else [body, notes]
    return "\n\n".join(part for part in parts if part)
