"""Split a content file into front matter (TOML ``+++`` or YAML ``---``) and Markdown body."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from ..config import key_line
from . import frontmatter_yaml
from .limits import MAX_DEPTH


class FrontMatterSyntaxError(ValueError):
    """Front matter that does not parse; ``line`` is 1-based within the whole file."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)
class Split:
    """A parsed file: its front matter as data, its body, and where each starts."""

    data: dict[str, Any]
    kind: str  # "toml" or "yaml"
    raw: str
    first_line: int  # line number of the first front-matter line (after the fence)
    body: str
    body_line: int

    def line_of(self, key: str) -> int | None:
        """The file line where a top-level front-matter key is set."""
        if self.kind == "toml":
            relative = key_line(self.raw, (key,))
        else:
            relative = next(
                (
                    number
                    for number, line in enumerate(self.raw.splitlines(), start=1)
                    if line.startswith((f"{key}:", f'"{key}":', f"'{key}':"))
                ),
                None,
            )
        return None if relative is None else self.first_line + relative - 1


class _TooDeep(Exception):
    """Nesting past MAX_DEPTH at a line of the file (1-based)."""

    def __init__(self, line: int | None) -> None:
        super().__init__(line)
        self.line = line


def _too_deep_error(line: int | None) -> FrontMatterSyntaxError:
    return FrontMatterSyntaxError(
        line,
        f"front matter: nested more than {MAX_DEPTH} levels deep (lists and tables inside one "
        "another); see the README's Limits",
    )


# Brackets outside strings and comments: what nests in TOML and in YAML's flow style.
_NESTING = r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]'


@cache
def _pattern(source: str, flags: int = 0) -> re.Pattern[str]:
    """One of this module's patterns, compiled on first use: compiling runs Python code in
    ``re`` (~20k lines for these character classes and nested groups), which every start of
    syndicate paid for at import, though only parsing front matter or Markdown uses them."""
    return re.compile(source, flags)


def _too_deep(raw: str) -> int | None:
    """The front-matter line (1-based within ``raw``) where brackets nest past MAX_DEPTH, else
    None. The parsers recurse once per level and would overflow Python's stack long before a
    size limit stopped them. Fewer brackets than the limit cannot nest past it: one count."""
    if raw.count("[") + raw.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    for match in _pattern(_NESTING).finditer(raw):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return raw.count("\n", 0, match.start()) + 1
        elif token in "]}":
            depth = max(depth - 1, 0)
    return None


def closing_line(text: str, fence: str, start: int) -> tuple[int, int] | None:
    """(start, end) of the first line at or after ``start`` (a line start) that is ``fence``
    between whitespace, else None. The fence is found by ``str.find`` and its line checked
    around it: a regex anchored at every line start cost ~12 us a file, ``find`` ~1 us."""
    at = text.find(fence, start)
    while at >= 0:
        line_start = text.rfind("\n", 0, at) + 1
        line_end = text.find("\n", at)
        if line_end < 0:
            line_end = len(text)
        if line_start >= start and not text[line_start:at].strip():
            if not text[at + len(fence) : line_end].strip():
                return line_start, line_end
        at = text.find(fence, at + 1)
    return None


def split(text: str, *, body: bool = True) -> Split:
    """Find and parse the front matter; raise FrontMatterSyntaxError with a file line.
    With ``body=False`` the body is left out (a build reads it later, by its offset)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    first_end = text.find("\n")
    fence = (text if first_end < 0 else text[:first_end]).rstrip("\r").strip()
    if fence not in ("+++", "---"):
        raise FrontMatterSyntaxError(
            1, "no front matter: start the file with a '+++' (TOML) or '---' (YAML) line"
        )
    # The closing fence is the first later line that is the fence plus whitespace; only the
    # front matter is split into lines, so a long body costs one search, not a split and join.
    closing = closing_line(text, fence, first_end + 1) if first_end >= 0 else None
    if closing is None:
        raise FrontMatterSyntaxError(1, f"front matter opened with {fence!r} is never closed")
    inner = text[first_end + 1 : closing[0]]  # ends with a newline unless empty
    if "\r" in inner:
        lines = inner.split("\n")[:-1]
        raw = "\n".join(line.rstrip("\r") for line in lines)
        count = len(lines)
    else:  # no CR to strip: YAML front matter runs to dozens of lines, seldom with CRs
        raw = inner[:-1]
        count = inner.count("\n")
    after = closing[1]
    rest = text[after + 1 :] if body and after < len(text) else ""
    end = count + 1  # the closing fence's 0-based line index
    kind = "toml" if fence == "+++" else "yaml"
    try:
        data = _parse_toml(raw) if kind == "toml" else _parse_yaml(raw)
    except _TooDeep as exc:
        raise _too_deep_error(exc.line) from None
    except RecursionError:
        # Not reached through the checks above; kept so that no input ever shows a traceback.
        raise _too_deep_error(None) from None
    return Split(data=data, kind=kind, raw=raw, first_line=2, body=rest, body_line=end + 2)


# A front matter made only of ``key = value`` lines with plain strings, string arrays, dates,
# integers and booleans (what editors and generators write) is read by one regex per line;
# anything else, or anything doubtful, goes to tomllib, which also words every error.
_SIMPLE_STRING = r'"[^"\\\x00-\x08\x0a-\x1f\x7f]*"|\'[^\'\x00-\x08\x0a-\x1f\x7f]*\''
_MOMENT = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})?)?"
_SIMPLE_LINE = (
    rf"[ \t]*([A-Za-z0-9_-]+)[ \t]*=[ \t]*"
    rf"({_SIMPLE_STRING}|\[[ \t]*(?:(?:{_SIMPLE_STRING})[ \t]*,[ \t]*)*(?:{_SIMPLE_STRING})?[ \t]*\]"
    rf"|{_MOMENT}|true|false|-?(?:0|[1-9][0-9]{{0,17}}))[ \t]*"
)
_ARRAY_ITEM = _SIMPLE_STRING


def _simple_toml(raw: str) -> dict[str, Any] | None:
    """``raw`` parsed exactly as tomllib would, or None when it is not the simple subset."""
    data: dict[str, Any] = {}
    for line in raw.split("\n"):
        if not line.strip():
            continue
        match = _pattern(_SIMPLE_LINE).fullmatch(line)
        if match is None:
            return None
        key, value = match.groups()
        if key in data:
            return None  # let tomllib word the duplicate-key error
        try:
            data[key] = _simple_value(value)
        except ValueError:
            return None  # e.g. 2026-02-30: tomllib words the error
    return data


def _simple_value(value: str) -> Any:
    first = value[0]
    if first in "\"'":
        return value[1:-1]
    if first == "[":
        return [item[1:-1] for item in _pattern(_ARRAY_ITEM).findall(value)]
    if value == "true":
        return True
    if value == "false":
        return False
    if len(value) >= 10 and value[4] == "-":
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.replace(tzinfo=UTC) if value.endswith("Z") else moment
    return int(value)


def _parse_toml(raw: str) -> dict[str, Any]:
    simple = _simple_toml(raw)
    if simple is not None:
        return simple  # flat by construction: no nesting to check
    deep = _too_deep(raw)
    if deep is not None:
        raise _TooDeep(deep + 1)
    try:
        return tomllib.loads(raw + "\n")
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = str(exc).split(" (at line")[0]
        line = int(match.group(1)) + 1 if match else None
        raise FrontMatterSyntaxError(line, f"invalid TOML front matter: {message}") from None


def _parse_yaml(raw: str) -> dict[str, Any]:
    # PyYAML takes ~45 ms to import: only YAML front matter pays for it (TOML needs none of it).
    import yaml

    deep = _too_deep(raw)
    if deep is not None:
        raise _TooDeep(deep + 1)
    try:
        data = frontmatter_yaml.load(raw)
    except frontmatter_yaml.TooDeep as exc:
        raise _TooDeep(exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise FrontMatterSyntaxError(line, f"invalid YAML front matter: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterSyntaxError(2, "front matter must be a mapping of keys to values")
    return data
