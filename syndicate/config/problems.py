"""Pydantic and TOML errors as config problems: the line, the dotted key and what to do."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from ..errors import Problem


def toml_error_line(message: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


def model_problems(
    path: Path, text: str, exc: ValidationError, prefix: tuple[str, ...] = ()
) -> list[Problem]:
    """A pydantic error as config problems: line, dotted key (under ``prefix``) and what to do."""
    problems = []
    for err in exc.errors():
        loc = prefix + tuple(str(part) for part in err["loc"] if not isinstance(part, int))
        key = ".".join(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            message = (
                f"{key}: unknown key; check the spelling against the README's config reference"
            )
        elif kind == "missing":
            message = f"{key}: required key is missing"
        else:
            message = f"{key}: {_clean_message(err['msg'])}"
            secret = loc[-1:] == ("password_env",)
            if "input" in err and not isinstance(err["input"], dict | list) and not secret:
                message += f" (got {err['input']!r})"
        problems.append(Problem(path, key_line(text, loc), message))
    return problems


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ").replace("Input should be", "expected")


def key_line(text: str, loc: tuple[str, ...]) -> int | None:
    """The 1-based line where a dotted key is set in TOML text (best effort, for messages)."""
    table: tuple[str, ...] = ()
    fallback = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            table = tuple(part.strip().strip('"') for part in header.group(1).split("."))
            if table == loc[: len(table)] and fallback is None:
                fallback = number
            continue
        assign = re.match(r'^("?[\w-]+"?(?:\s*\.\s*"?[\w-]+"?)*)\s*=', line)
        if not assign:
            continue
        keys = tuple(part.strip().strip('"') for part in assign.group(1).split("."))
        full = table + keys
        if full == loc[: len(full)] and len(full) >= min(len(loc), len(table) + 1):
            return number
    return fallback
