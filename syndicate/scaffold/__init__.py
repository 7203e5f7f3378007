"""``syndicate init``: a new publication folder that builds at once."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ..errors import UsageError
from ..output import atomic_write

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
        atomic_write(target, source.joinpath(name).read_bytes())
        created.append(target)
    templates = directory / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    created.append(templates)
    return created
