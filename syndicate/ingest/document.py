"""The intermediate result of every importer: what a source says, before it becomes a file.

Importers (plain text, HTML, Markdown) only read; they return an ``ImportedDocument`` and
never decide file names, dates from the clock or where anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..model import Author, Enclosure, Image


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedDocument:
    """One article as found in a source: front-matter fields, a Markdown body, and remarks.

    ``dropped`` lists the source lines that were removed as site boilerplate and ``notes`` the
    other things an editor should know (an unknown front-matter key, a link left without its
    target ...). Both are shown by ``syndicate import`` so nothing disappears silently.
    """

    title: str
    body: str
    date: datetime | None = None
    updated: datetime | None = None
    publish_at: datetime | None = None
    slug: str = ""
    id: str = ""
    url: str = ""
    dek: str = ""
    summary: str = ""
    authors: tuple[Author, ...] = ()
    tags: tuple[str, ...] = ()
    section: str = ""
    image: Image | None = None
    enclosure: Enclosure | None = None
    draft: bool = False
    canonical_url: str = ""
    lang: str = ""
    dropped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class SourceError(ValueError):
    """A source that cannot be imported; the message is one line and names no file (the
    caller adds the file name)."""
