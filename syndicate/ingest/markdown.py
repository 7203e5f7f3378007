"""Markdown, with TOML or YAML front matter or none -> an ImportedDocument.

The body is kept as the author wrote it; only the front matter is normalised into ours:
common keys of other tools are mapped (``description`` -> ``summary``, ``categories`` ->
``tags`` ...), keys we do not know are dropped and reported, and a missing title is taken
from a ``# Heading`` at the top of the body.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import Any

from ..content import frontmatter
from ..content.when import parse_datetime
from ..model import Author, Enclosure, Image
from . import boilerplate
from .document import ImportedDocument, SourceError

# Other tools' names for our keys (Hugo, Jekyll, Eleventy, Pelican, Ghost exports).
ALIASES = {
    "description": "summary",
    "excerpt": "summary",
    "subtitle": "dek",
    "lastmod": "updated",
    "modified": "updated",
    "category": "section",
    "categories": "tags",
    "keywords": "tags",
    "language": "lang",
    "canonical": "canonical_url",
    "cover": "image",
}
_ATX_TITLE = re.compile(r"^#[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^=+[ \t]*$")
_BYLINE = re.compile(r"^[*_]{0,2}by[ \t]+(?P<names>[^*_]+?)[*_]{0,2}[ \t]*$", re.IGNORECASE)


def parse_markdown(text: str, zone: tzinfo) -> ImportedDocument:
    """Markdown source -> front-matter fields + body; SourceError for bad front matter."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    data: dict[str, Any] = {}
    body = text
    first = text.split("\n", 1)[0].strip()
    if first in ("+++", "---"):
        try:
            split = frontmatter.split(text)
        except frontmatter.FrontMatterSyntaxError as exc:
            where = f"line {exc.line}: " if exc.line else ""
            raise SourceError(f"{where}{exc}") from None
        data, body = split.data, split.body
    fields, notes = _normalise_keys(data)
    reader = _Reader(fields, zone)
    lines = body.split("\n")
    title = reader.text("title")
    lines, heading = _take_title(lines)
    if heading and title and heading != title:
        lines.insert(0, f"# {heading}")  # a different heading is content, not the title
    title = title or heading
    if not title:
        raise SourceError(
            "no recognisable title: no 'title' in the front matter and no '# Heading' "
            "at the top of the body"
        )
    authors = reader.authors()
    lines, byline = _take_byline(lines)
    if byline and not authors:
        authors = byline
    elif byline:
        names = ", ".join(author.name for author in byline)
        notes.append(f"byline 'by {names}' dropped: the front matter names the authors")
    cut = boilerplate.trailing_start([_plain(line) for line in lines])
    dropped = tuple(line.strip() for line in lines[cut:] if line.strip())
    body_text = "\n".join(line.rstrip() for line in lines[:cut]).strip("\n")
    if not body_text.strip():
        raise SourceError("no article text below the title")
    return ImportedDocument(
        title=title,
        body=body_text + "\n",
        date=reader.moment("date"),
        updated=reader.moment("updated"),
        publish_at=reader.moment("publish_at"),
        slug=reader.text("slug"),
        id=reader.text("id"),
        url=reader.text("url"),
        dek=reader.text("dek"),
        summary=reader.text("summary"),
        authors=authors,
        tags=reader.tags(),
        section=reader.text("section"),
        image=reader.image(),
        enclosure=reader.enclosure(),
        draft=reader.flag("draft"),
        canonical_url=reader.text("canonical_url"),
        lang=reader.text("lang"),
        dropped=dropped,
        notes=tuple(notes),
    )


_KNOWN = {
    "title",
    "date",
    "slug",
    "id",
    "url",
    "dek",
    "updated",
    "summary",
    "authors",
    "author",
    "tags",
    "section",
    "image",
    "image_alt",
    "enclosure",
    "draft",
    "publish_at",
    "canonical_url",
    "lang",
}


def _normalise_keys(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Other tools' key names -> ours; unknown keys dropped with a note each."""
    fields: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in data.items():
        name = ALIASES.get(str(key).lower(), str(key).lower())
        if name not in _KNOWN:
            notes.append(f"front-matter key {key!r} dropped: syndicate has no such key")
            continue
        if name == "tags" and "tags" in fields:
            fields["tags"] = [*_as_list(fields["tags"]), *_as_list(value)]
        elif name in fields:
            notes.append(f"front-matter key {key!r} ignored: {name!r} is already set")
        else:
            fields[name] = value
    return fields, notes


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value) if isinstance(value, list | tuple) else [value]


class _Reader:
    """Typed access to front-matter values; a wrong type is a one-line SourceError."""

    def __init__(self, fields: dict[str, Any], zone: tzinfo) -> None:
        self.fields = fields
        self.zone = zone

    def _fail(self, key: str, expected: str) -> SourceError:
        return SourceError(
            f"front-matter key {key!r}: expected {expected}, got {self.fields[key]!r}"
        )

    def text(self, key: str) -> str:
        value = self.fields.get(key)
        if value is None:
            return ""
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return re.sub(r"\s+", " ", str(value)).strip()
        raise self._fail(key, "a string")

    def flag(self, key: str) -> bool:
        value = self.fields.get(key, False)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def moment(self, key: str) -> datetime | None:
        value = self.fields.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str | date | datetime):
            raise self._fail(key, "a date")
        try:
            return parse_datetime(value, self.zone)
        except ValueError:
            raise self._fail(key, "an ISO date such as 2026-11-25T08:00:00+01:00") from None

    def tags(self) -> tuple[str, ...]:
        if "tags" not in self.fields:
            return ()
        values = _as_list(self.fields["tags"])
        if not all(isinstance(tag, str) for tag in values):
            raise self._fail("tags", "a list of strings")
        return tuple(dict.fromkeys(tag.strip() for tag in values if tag.strip()))

    def authors(self) -> tuple[Author, ...]:
        entries = [*_as_list(self.fields.get("author") or []), *self._list("authors")]
        return tuple(self._author(entry) for entry in entries)

    def _list(self, key: str) -> list[Any]:
        value = self.fields.get(key)
        if value is None:
            return []
        return [value] if isinstance(value, str | dict) else _as_list(value)

    def _author(self, entry: Any) -> Author:
        if isinstance(entry, str) and entry.strip():
            return Author(name=entry.strip())
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            return Author(
                name=entry["name"].strip(),
                email=str(entry.get("email", "")),
                url=str(entry.get("url", "")),
            )
        raise SourceError(f"front-matter author {entry!r}: expected a name or {{ name = ... }}")

    def image(self) -> Image | None:
        value = self.fields.get("image")
        alt = self.text("image_alt")
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return Image(url=value.strip(), alt=alt)
        if isinstance(value, dict) and isinstance(value.get("url") or value.get("src"), str):
            return Image(
                url=str(value.get("url") or value.get("src")),
                alt=str(value.get("alt", alt)),
                width=_positive(value.get("width")),
                height=_positive(value.get("height")),
            )
        raise self._fail("image", "a URL or { url, alt }")

    def enclosure(self) -> Enclosure | None:
        value = self.fields.get("enclosure")
        if value is None:
            return None
        if (
            isinstance(value, dict)
            and isinstance(value.get("url"), str)
            and isinstance(value.get("type"), str)
        ):
            length = value.get("length", 0)
            return Enclosure(
                url=value["url"],
                type=value["type"],
                length=length if isinstance(length, int) else 0,
            )
        raise self._fail("enclosure", "{ url, type, length }")


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _take_title(lines: list[str]) -> tuple[list[str], str]:
    """A ``# Title`` (or setext ``Title``/``===``) first in the body -> (rest, title)."""
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is None:
        return lines, ""
    atx = _ATX_TITLE.match(lines[index])
    if atx:
        return lines[index + 1 :], atx.group("title").strip()
    if index + 1 < len(lines) and _SETEXT.match(lines[index + 1]):
        return lines[index + 2 :], lines[index].strip()
    return lines, ""


def _take_byline(lines: list[str]) -> tuple[list[str], tuple[Author, ...]]:
    """A ``by Jane Doe`` (or ``*By Jane Doe*``) line right under the title -> authors."""
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is None:
        return lines, ()
    match = _BYLINE.match(lines[index].strip())
    if not match:
        return lines, ()
    names = [n.strip() for n in re.split(r"\s*(?:,|;|&|\band\b)\s*", match.group("names")) if n]
    if not names or not all(name[:1].isupper() and len(name.split()) <= 6 for name in names):
        return lines, ()
    return lines[index + 1 :], tuple(Author(name=name) for name in names)


_LINK = re.compile(r"\[([^\[\]]*)\]\([^()]*\)")


def _plain(line: str) -> str:
    """A Markdown line without its block and emphasis markers, for boilerplate matching."""
    line = re.sub(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+)", "", line)
    # Neither bracket nor parenthesis inside the parts: each try stops at the next one, so a
    # line of 100,000 '[' costs one pass, not a scan to the end of the line for each '['.
    line = _LINK.sub(r"\1", line)
    return line.replace("**", "").replace("__", "").strip()
