"""Content files with settled mtimes, for the build cache's and the no-op stamp's tests.

A file written a moment ago is 'racy': neither the build cache's snapshot nor the start-up
stamp trusts its stat, so the tests give every file an mtime well in the past."""

from __future__ import annotations

import os
import time
from pathlib import Path

_clock = [time.time() - 7200]


def aged(path: Path) -> None:
    """An mtime well in the past, distinct from every other one given out."""
    _clock[0] += 1
    os.utime(path, (_clock[0], _clock[0]))


def write(root: Path, name: str, text: str) -> Path:
    """``root/content/name`` with ``text``, aged."""
    path = root / "content" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    aged(path)
    return path
