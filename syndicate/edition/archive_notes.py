"""Correction notes on the newsletter archive's edition pages.

A page keeps what was sent: the stored email HTML is never changed. When the page is written,
each carried article that was corrected since gets a marked block under it ("Added after this
edition was sent") with its notes, so a reader arriving from an old email sees the fix.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from ..config import Config
from ..content.articles import load_articles
from ..content.corrections import heading
from ..errors import ContentError, Problem
from ..model import Correction

# Every article's correction notes by article id: what the archive adds under each article.
Notes = Mapping[str, tuple[Correction, ...]]


def content_notes(config: Config) -> tuple[Notes, list[Problem]]:
    """Every article's corrections, read from content/ (front matter only matters here)."""
    try:
        articles = load_articles(config.content_dir, config.publication).articles
    except ContentError as exc:
        return {}, [
            Problem(config.content_dir, None, f"archive: corrections not shown: {exc}", True)
        ]
    return {a.id: a.corrections for a in articles if a.corrections}, []


def with_corrections(
    config: Config,
    page: str,
    articles: Sequence[tuple[str, str]],
    notes: Notes,
    *,
    made: datetime,
) -> str:
    """The page with each carried article's (id, url) correction notes after the article.

    Only corrections made after the edition (``made``) are added: earlier ones went out in
    the edition itself. The note goes after the last link to the article (its "Read on the
    web" button in the built-in template); a template without one gets the notes at the end.
    """
    trailing: list[str] = []
    for article_id, url in articles:
        corrections = tuple(c for c in notes.get(article_id, ()) if c.date > made)
        if not corrections:
            continue
        block = _notes_block(config, corrections)
        link = page.rfind(f'href="{html.escape(url, quote=True)}"')
        end = page.find("</p>", link) if link >= 0 else -1
        if end < 0:
            trailing.append(block)
            continue
        end += len("</p>")
        page = page[:end] + block + page[end:]
    if trailing:
        body_end = page.rfind("</body>")
        at = body_end if body_end >= 0 else len(page)
        page = page[:at] + "".join(trailing) + page[at:]
    return page


def _notes_block(config: Config, corrections: Sequence[Correction]) -> str:
    zone = config.publication.timezone
    notes = "".join(
        f'<p style="margin: 6px 0 0 0;">{note_html_inner(c, zone)}</p>' for c in corrections
    )
    # A rule, no background: the page's dark-mode styles force light text on its paragraphs.
    return (
        '<div class="syn-corrections" role="note" style="margin: 16px 0 0 0; padding: 10px 14px;'
        " border-left: 4px solid #bf8700;"
        ' font-family: Helvetica, Arial, sans-serif; font-size: 15px; line-height: 1.5;">'
        '<p style="margin: 0; font-size: 13px; font-weight: bold; text-transform: uppercase;'
        ' letter-spacing: 1px;">Added after this edition was sent</p>'
        f"{notes}</div>"
    )


def note_html_inner(correction: Correction, zone: tzinfo) -> str:
    """One note's words as inline HTML (escaped): ``<strong>Correction, 6 December</strong> ...``."""
    return (
        f"<strong>{html.escape(heading(correction, zone), quote=False)}:</strong> "
        f"{html.escape(correction.text, quote=False)}"
    )
