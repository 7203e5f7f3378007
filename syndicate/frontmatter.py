"""Split a content file into front matter (TOML ``+++`` or YAML ``---``) and Markdown body."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml

from .config import key_line


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


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader that leaves timestamps as strings, so we parse them with timezones intact."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def split(text: str) -> Split:
    """Find and parse the front matter; raise FrontMatterSyntaxError with a file line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    fence = lines[0].rstrip("\r").strip() if lines else ""
    if fence not in ("+++", "---"):
        raise FrontMatterSyntaxError(
            1, "no front matter: start the file with a '+++' (TOML) or '---' (YAML) line"
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r").strip() == fence:
            end = index
            break
    else:
        raise FrontMatterSyntaxError(1, f"front matter opened with {fence!r} is never closed")
    raw = "\n".join(line.rstrip("\r") for line in lines[1:end])
    body = "\n".join(lines[end + 1 :])
    kind = "toml" if fence == "+++" else "yaml"
    data = _parse_toml(raw) if kind == "toml" else _parse_yaml(raw)
    return Split(data=data, kind=kind, raw=raw, first_line=2, body=body, body_line=end + 2)


def _parse_toml(raw: str) -> dict[str, Any]:
    try:
        return tomllib.loads(raw + "\n")
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = str(exc).split(" (at line")[0]
        line = int(match.group(1)) + 1 if match else None
        raise FrontMatterSyntaxError(line, f"invalid TOML front matter: {message}") from None


def _parse_yaml(raw: str) -> dict[str, Any]:
    try:
        data = yaml.load(raw, Loader=_YamlLoader)
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
