"""``syndicate init``: a new publication folder that builds at once.

May import: errors, files.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from ..errors import UsageError
from ..files import atomic_write

# The starter articles are written as of this day; init moves their dates so the newest is
# yesterday's, and a new publication's digest and newsletter have something to show at once.
WRITTEN_ON = date(2026, 11, 21)
_FRONT_MATTER_DATE = re.compile(rb"\A(\+\+\+\n(?:(?!\+\+\+\n).*\n)*?date = )(\S+)", re.MULTILINE)

SCAFFOLD_FILES = (
    "config.toml",
    "content/welcome.md",
    "content/how-we-work.md",
    "content/field-notes.md",
)


def scaffold(directory: Path, *, force: bool = False) -> list[Path]:
    """Copy the starter publication into ``directory``; refuse to clobber an existing one."""
    if (directory / "config.toml").exists() and not force:
        raise UsageError(
            f"{directory / 'config.toml'} already exists; pick an empty folder or pass --force"
        )
    source = files(__package__)
    created = []
    for name in SCAFFOLD_FILES:
        target = directory / name
        if target.exists() and not force:
            continue
        data = source.joinpath(name).read_bytes()
        if name.startswith("content/"):
            data = _shift_date(data, datetime.now(UTC).date() - WRITTEN_ON)
        atomic_write(target, data)
        created.append(target)
    templates = directory / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    created.append(templates)
    return created


def _shift_date(article: bytes, by: timedelta) -> bytes:
    """The article with its front-matter ``date`` moved by whole days (its body untouched)."""

    def shifted(match: re.Match[bytes]) -> bytes:
        moment = datetime.fromisoformat(match[2].decode()) + by
        return match[1] + moment.isoformat().encode()

    return _FRONT_MATTER_DATE.sub(shifted, article, count=1)
