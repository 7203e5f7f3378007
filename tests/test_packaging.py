"""The wheel ships what a `pip install .` outside the repository needs to run."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_wheel_contains_templates_and_scaffold(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("syndicate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = [p for p in (REPO / "templates").rglob("*") if p.is_file() and p.name != ".gitkeep"]
    for template in templates:
        assert f"syndicate/templates/{template.relative_to(REPO / 'templates')}" in names
    # The schema's Alembic environment, found by path at run time (no alembic.ini).
    for migration in (
        "env.py",
        "script.py.mako",
        "versions/r0001_baseline.py",
        "legacy.py",
    ):
        assert f"syndicate/store/migrations/{migration}" in names
    for starter in ("config.toml", "content/welcome.md", "content/how-we-work.md"):
        assert f"syndicate/scaffold/{starter}" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    declared = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[syndicate.exporters]" in declared and "rss = syndicate.exporters.rss" in declared
