"""The front-matter schema, and its errors as ``path:line: key: message`` Problems.

Front matter is untrusted input, so it is validated at the edge by a pydantic model with
``extra="forbid"``: a misspelt key is an error, never a silently ignored field, and types,
lengths and URL schemes are checked once, declaratively, before an Article is built. pydantic's
own messages name internal locations (``('image', '_ImageEntry', 'width')``) and say nothing of
lines, so ``schema_problems`` rewrites each ``ValidationError`` entry: the key path is dotted
(``authors[0].name``), union-branch tags are dropped, only the errors of the alternative the
value was written as are kept (a table is judged as a table), the line is the key's line in
the file (``frontmatter.Split.line_of``), and common error types get plain wording.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import Problem
from ..model import CORRECTION_KINDS
from . import frontmatter
from .limits import (
    MAX_AUTHORS,
    MAX_CORRECTION_CHARS,
    MAX_CORRECTIONS,
    MAX_NAME_CHARS,
    MAX_TAGS,
    MAX_TITLE_CHARS,
)
from .slugs import slugify

Moment = datetime | date | str


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def _web_url(value: str) -> str:
    """Refuse URLs that a feed reader or mail client must not follow (``javascript:``,
    ``data:``, ``file:`` ...): these fields become links and image sources in every output,
    where no sanitizer looks at them. Relative URLs pass; they are made absolute later."""
    scheme = _SCHEME.match(value.strip())
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        raise ValueError(f"not a web address: {value!r}; use an http(s) URL or a relative path")
    return value.strip()


# Every model here defers building its validator to the first article validated
# (``defer_build``): a no-op build, or a command that reads no front matter, never pays for it.


class _AuthorEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    name: str = Field(min_length=1)
    email: str = ""
    url: str = ""

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str) -> str:
        if value and not _EMAIL.fullmatch(value.strip()):
            raise ValueError(f"not an email address: {value!r}")
        return value.strip()

    _url = field_validator("url")(_web_url)


class _ImageEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    url: str = Field(min_length=1)
    alt: str | None = None
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)

    _url = field_validator("url")(_web_url)


class _EnclosureEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    url: str = Field(min_length=1)
    type: str = Field(min_length=3)
    length: int = Field(default=0, ge=0)

    _url = field_validator("url")(_web_url)


class _CorrectionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    date: Moment
    text: str = Field(min_length=1, max_length=MAX_CORRECTION_CHARS)
    kind: str = "correction"

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank; say what was wrong and what is right")
        return value

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in CORRECTION_KINDS:
            raise ValueError(f"unknown kind {value!r}; use one of {', '.join(CORRECTION_KINDS)}")
        return value


# A newsroom's tags repeat across thousands of articles: slugify each spelling once.
_tag_slug = cache(slugify)


class FrontMatter(BaseModel):
    """The front-matter schema: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    date: Moment
    slug: str | None = None
    id: str | None = Field(default=None, min_length=1)
    url: str | None = None
    dek: str = ""
    updated: Moment | None = None
    summary: str = ""
    authors: list[str | _AuthorEntry] = Field(default=[], max_length=MAX_AUTHORS)
    author: str | _AuthorEntry | None = None
    tags: list[str] = Field(default=[], max_length=MAX_TAGS)
    section: str = Field(default="", max_length=MAX_NAME_CHARS)
    image: str | _ImageEntry | None = None
    image_alt: str | None = None
    enclosure: _EnclosureEntry | None = None
    draft: bool = False
    publish_at: Moment | None = None
    canonical_url: str = ""
    lang: str = ""
    corrections: list[_CorrectionEntry] = Field(default=[], max_length=MAX_CORRECTIONS)

    _urls = field_validator("url", "canonical_url")(_web_url)

    @field_validator("image")
    @classmethod
    def _image_url(cls, value: str | _ImageEntry | None) -> str | _ImageEntry | None:
        return _web_url(value) if isinstance(value, str) else value

    @field_validator("authors", mode="before")
    @classmethod
    def _one_author_is_a_list(cls, value: object) -> object:
        # The README promises "a name, or a table, or a list of either" for both keys.
        return [value] if isinstance(value, str | dict) else value

    @field_validator("lang")
    @classmethod
    def _language_tag(cls, value: str) -> str:
        if value and not _LANGUAGE_TAG.fullmatch(value):
            raise ValueError(f"not a language tag: {value!r}; use e.g. 'en' or 'de-AT'")
        return value

    @field_validator("slug")
    @classmethod
    def _slug_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w][\w.-]*", value):
            raise ValueError(f"not a usable slug: {value!r}; use letters, digits and hyphens")
        return value

    @field_validator("tags")
    @classmethod
    def _tags_not_blank(cls, value: list[str]) -> list[str]:
        if any(not _tag_slug(tag) for tag in value):
            raise ValueError("every tag needs at least one letter or digit")
        if any(len(tag) > MAX_NAME_CHARS for tag in value):
            raise ValueError(f"a tag is longer than {MAX_NAME_CHARS} characters")
        return value


def schema_problems(display: Path, split: frontmatter.Split, exc: ValidationError) -> list[Problem]:
    """One ``path:line: key: message`` per bad value, naming nested keys (``image.width``)."""
    problems = []
    seen: set[str] = set()
    for err in _matching_branch(split.data, [_unwrapped(split.data, e) for e in exc.errors()]):
        loc = err["loc"]
        key = str(loc[0]) if loc else "front matter"
        path = _dotted(loc) or key
        if path in seen:
            continue
        seen.add(path)
        line = item_line(split, key, loc[1] if len(loc) > 1 else None) or split.first_line
        kind = err["type"]
        if kind == "extra_forbidden":
            message = (
                f"{path}: unknown front-matter key; see the README's front-matter reference"
                if len(loc) == 1
                else f"{path}: unknown key; see the README's front-matter reference"
            )
        elif kind == "missing" and len(loc) == 1:
            message = f"{path}: required front-matter key is missing"
            line = split.first_line - 1
        elif kind == "missing":
            message = f"{path}: required key is missing"
        else:
            message = f"{path}: {_friendly(err)}"
        problems.append(Problem(display, line, message))
    return sorted(problems, key=lambda problem: problem.line or 0)


_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]")


def item_line(split: frontmatter.Split, key: str, index: object = None) -> int | None:
    """The line of ``key``, or of its ``index``-th entry when it is a TOML array of tables
    (``[[corrections]]``): each entry has a header line of its own to point at."""
    if split.kind == "toml" and isinstance(index, int):
        headers = [
            number
            for number, line in enumerate(split.raw.splitlines(), start=1)
            if (match := _ARRAY_TABLE.match(line)) and match[1] == key
        ]
        if index < len(headers):
            return split.first_line + headers[index] - 1
    return split.line_of(key)


def _unwrapped(data: dict[str, Any], err: Any) -> Any:
    """A lone ``authors`` table is validated as a one-item list: report it without ``[0]``."""
    loc = err["loc"]
    if loc[:2] == ("authors", 0) and not isinstance(data.get("authors"), list):
        return {**err, "loc": ("authors", *loc[2:])}
    return err


def _matching_branch(data: object, errors: Sequence[Any]) -> list[Any]:
    """Of a union's errors, only those of the alternative the value was meant as.

    ``image = { url = "x", width = "wide" }`` fails as a string *and* as a table; saying
    "expected a string" would send the writer the wrong way. A table (or list) is judged as
    a table, anything else by the plain-value alternatives.
    """
    kept = []
    for err in errors:
        loc = err["loc"]
        tag = next((i for i, part in enumerate(loc) if isinstance(part, str) and i), None)
        if tag is None or loc[tag] not in _UNION_TAGS:
            kept.append(err)
            continue
        value = _value_at(data, loc[:tag])
        is_table_branch = loc[tag].endswith("Entry")
        if is_table_branch == isinstance(value, dict):
            kept.append(err)
    return kept or list(errors)


_UNION_TAGS = frozenset({"str", "date", "datetime", "_AuthorEntry", "_ImageEntry"})


def _value_at(data: object, loc: Sequence[object]) -> object:
    for part in loc:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _dotted(loc: Sequence[object]) -> str:
    """``('authors', 0, '_AuthorEntry', 'name')`` -> ``authors[0].name``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part not in _UNION_TAGS:
            text += f".{part}" if text else str(part)
    return text


_FRIENDLY = {
    "string_type": "expected text (a quoted string)",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": 'expected a list, such as ["a", "b"]',
    "model_type": 'expected a table such as { name = "..." }',
    "string_too_short": "must not be empty",
}
_TOO_LONG = {
    "string_too_long": "longer than {max_length} characters; see the README's Limits",
    "too_long": "more than {max_length} entries; see the README's Limits",
}


def _friendly(err: Any) -> str:
    kind = err["type"]
    if kind in _TOO_LONG:
        return _TOO_LONG[kind].format(**err.get("ctx", {}))
    message = _FRIENDLY.get(kind) or err["msg"].removeprefix("Value error, ").replace(
        "Input should be", "should be"
    )
    value = err.get("input")
    if kind != "value_error" and not isinstance(value, dict | list) and value is not None:
        shown = repr(value)
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return message


# The nested models keep their underscore names: pydantic puts a union member's class name in
# an error's location, and ``_UNION_TAGS`` / ``_matching_branch`` recognise them by it.
AuthorEntry = _AuthorEntry
ImageEntry = _ImageEntry
CorrectionEntry = _CorrectionEntry


def build_validators() -> None:
    """Build the schema's validators now (they are deferred): a process about to fork parsing
    workers does it once for all of them."""
    FrontMatter.model_rebuild(force=True)
