"""The W3C Nu HTML checker (vnu.jar) for tests, when it is installed.

``SYNDICATE_VNU`` names the jar; else the copy npm's ``vnu-jar`` package puts under
``~/.cache/syndicate/vnu`` is used. Tests skip (saying why) when neither Java nor the jar
is there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CACHED = Path.home() / ".cache/syndicate/vnu/node_modules/vnu-jar/build/dist/vnu.jar"


def _jar() -> Path | None:
    named = os.environ.get("SYNDICATE_VNU")
    jar = Path(named) if named else CACHED
    return jar if jar.is_file() and shutil.which("java") else None


needs_vnu = pytest.mark.skipif(_jar() is None, reason="needs java and vnu.jar (SYNDICATE_VNU)")


def vnu_messages(*pages: Path) -> list[str]:
    """Every error and warning the checker reports for these HTML files."""
    jar = _jar()
    assert jar is not None
    done = subprocess.run(
        ["java", "-jar", str(jar), "--format", "json", "--also-check-css", *map(str, pages)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    report = json.loads(done.stderr or "{}")
    return [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m.get('type')}: {m.get('message')}"
        for m in report.get("messages", [])
        if m.get("type") in ("error", "info")
        and (m.get("type") == "error" or m.get("subType") == "warning")
    ]
