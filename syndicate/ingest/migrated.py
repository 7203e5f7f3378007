"""What a whole-site migration (a Hugo or Jekyll folder, a WordPress export) hands the importer.

One source becomes many articles: each ``Migrated`` is one of them, already an
``ImportedDocument``, with the file it came from (for messages) and the files to copy beside it
(a Hugo page bundle's images). ``Expanded`` adds the sources that failed and remarks about the
whole site (pages skipped, a base URL not found ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem
from .document import ImportedDocument


@dataclass(frozen=True, slots=True, kw_only=True)
class Migrated:
    """One article of a migrated site and where it came from."""

    source: Path  # the file, or ``export.xml#123`` for a WordPress item
    doc: ImportedDocument
    fmt: str  # "hugo", "jekyll" or "wordpress"
    mtime: float  # the source file's, for an article without a date
    assets: tuple[tuple[Path, str], ...] = ()  # (file, path relative to the article's folder)


@dataclass(frozen=True, slots=True)
class Expanded:
    """Every article found in one site source, the files that failed, and site remarks."""

    items: tuple[Migrated, ...]
    problems: tuple[Problem, ...]
    remarks: tuple[str, ...]
