"""The revision files as plain modules, for applying statement-only revisions without Alembic.

``quick_steps`` imports the revisions after a given one (by name: their file names start with
``r`` and the id, ``rNNNN_slug.py``) and returns their statements when every one of them is
statement-only (``bridge.Statements``); else None, and the caller runs Alembic. Importing a
revision file loads no Alembic: ``bridge`` imports it inside its functions.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from . import REVISIONS
from .bridge import Statements

VERSIONS = Path(__file__).resolve().parent / "versions"


def quick_steps(after: str) -> list[tuple[str, tuple[str, ...]]] | None:
    """(revision, statements) for each revision after ``after`` up to the head, or None if
    one of them needs Alembic."""
    steps = []
    for rev in REVISIONS[REVISIONS.index(after) + 1 :]:
        found = sorted(VERSIONS.glob(f"r{rev}_*.py"))
        if len(found) != 1:
            return None
        module = importlib.import_module(f"{__package__}.versions.{found[0].stem}")
        upgrade = getattr(module, "upgrade", None)
        if not isinstance(upgrade, Statements) or getattr(module, "revision", None) != rev:
            return None
        steps.append((rev, upgrade.statements))
    return steps
