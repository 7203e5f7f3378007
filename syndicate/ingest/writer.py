"""An ImportedDocument -> the bytes of a content file: TOML front matter + Markdown body.

The output is a pure function of the document (keys in a fixed order, one way to write each
value), so importing the same source twice gives byte-identical files.
"""

from __future__ import annotations

import json
from datetime import datetime

from ..model import Author, Enclosure, Image
from .document import ImportedDocument


def render_document(doc: ImportedDocument, *, date: datetime) -> str:
    """The content file's text for ``doc`` published at ``date``."""
    lines = [f"title = {toml_string(doc.title)}", f"date = {toml_datetime(date)}"]
    optional: list[tuple[str, str | None]] = [
        ("slug", _string(doc.slug)),
        ("id", _string(doc.id)),
        ("url", _string(doc.url)),
        ("updated", toml_datetime(doc.updated) if doc.updated else None),
        ("publish_at", toml_datetime(doc.publish_at) if doc.publish_at else None),
        ("dek", _string(doc.dek)),
        ("summary", _string(doc.summary)),
        ("authors", _authors(doc.authors)),
        ("tags", _array(doc.tags)),
        ("section", _string(doc.section)),
        ("image", _image(doc.image)),
        ("enclosure", _enclosure(doc.enclosure)),
        ("draft", "true" if doc.draft else None),
        ("canonical_url", _string(doc.canonical_url)),
        ("lang", _string(doc.lang)),
    ]
    lines.extend(f"{key} = {value}" for key, value in optional if value is not None)
    body = doc.body.strip("\n")
    return "+++\n" + "\n".join(lines) + "\n+++\n\n" + body + "\n"


def toml_string(text: str) -> str:
    """A TOML basic string; non-ASCII stays as it is (curly quotes, dashes, any script)."""
    # JSON's escapes are TOML's, except that TOML also forbids a raw DEL character.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_datetime(value: datetime) -> str:
    """An offset date-time such as ``2026-11-03T09:15:00+01:00`` (seconds, no fraction)."""
    return value.replace(microsecond=0).isoformat()


def _string(text: str) -> str | None:
    return toml_string(text) if text else None


def _array(values: tuple[str, ...]) -> str | None:
    return "[" + ", ".join(toml_string(value) for value in values) + "]" if values else None


def _authors(authors: tuple[Author, ...]) -> str | None:
    if not authors:
        return None
    entries = []
    for author in authors:
        if author.email or author.url:
            fields = [f"name = {toml_string(author.name)}"]
            fields += [f"email = {toml_string(author.email)}"] if author.email else []
            fields += [f"url = {toml_string(author.url)}"] if author.url else []
            entries.append("{ " + ", ".join(fields) + " }")
        else:
            entries.append(toml_string(author.name))
    return "[" + ", ".join(entries) + "]"


def _image(image: Image | None) -> str | None:
    if image is None:
        return None
    fields = [f"url = {toml_string(image.url)}", f"alt = {toml_string(image.alt)}"]
    fields += [f"width = {image.width}"] if image.width else []
    fields += [f"height = {image.height}"] if image.height else []
    return "{ " + ", ".join(fields) + " }"


def _enclosure(enclosure: Enclosure | None) -> str | None:
    if enclosure is None:
        return None
    return (
        f"{{ url = {toml_string(enclosure.url)}, type = {toml_string(enclosure.type)}, "
        f"length = {enclosure.length} }}"
    )
