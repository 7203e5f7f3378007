"""Lay a page out in headless Chromium at phone width and read back what a probe page measured.

The probe is an HTML page that frames the page under test at 375 px and writes
``data-probe="SCROLL_WIDTH VIEWPORT N,N,..."`` on its body; ``--dump-dom`` prints it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs chromium (apt-get)"
)


def measure(probe: Path) -> tuple[int, int, list[int]]:
    """Run ``probe`` (beside the page it frames): scroll width, viewport width, the numbers."""
    done = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--window-size=600,800",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    match = re.search(r'data-probe="(\d+) (\d+) ([\d,]*)"', done.stdout)
    assert match, done.stderr[-2000:]
    scroll_width, viewport, numbers = match.groups()
    return int(scroll_width), int(viewport), [int(n) for n in numbers.split(",") if n]
