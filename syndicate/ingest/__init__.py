"""Raw articles (plain text, saved HTML pages, Markdown) -> canonical content files.

``import_sources(paths, ImportOptions(...))`` is what ``syndicate import`` calls; the
per-kind importers (``text``, ``html``, ``markdown``) return an ``ImportedDocument`` and
``writer.render_document`` turns it into TOML front matter + Markdown.

May import: config, content, delivery, errors, files, model, text.
"""

from __future__ import annotations

from .document import ImportedDocument, SourceError
from .importer import (
    FORMATS,
    Imported,
    ImportOptions,
    ImportReport,
    import_sources,
)

__all__ = [
    "FORMATS",
    "ImportOptions",
    "ImportReport",
    "Imported",
    "ImportedDocument",
    "SourceError",
    "import_sources",
]
