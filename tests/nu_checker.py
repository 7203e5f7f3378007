"""The W3C Nu HTML Checker (vnu.jar), run offline over a file; the tests skip when it is absent.

``.ci/run`` installs it with npm (the ``vnu-jar`` package) into ``~/.cache/syndicate/vnu``;
``SYNDICATE_VNU_JAR`` names another copy. It needs Java 11 or newer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ENV = "SYNDICATE_VNU_JAR"
# A check of a few pages is over before the JVM's optimising compiler pays off: the quick
# compiler alone halves the run's CPU (~2.5 s -> ~1.1 s a run on this machine) and reports the same
# messages. Its bigger frames need a larger stack than the default for the HTML schema.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-Xss4m")
CACHED = Path.home() / ".cache/syndicate/vnu/node_modules/vnu-jar/build/dist/vnu.jar"


def locate() -> Path | str:
    """vnu.jar, or the reason it cannot be used (for ``pytest.skip``)."""
    if shutil.which("java") is None:
        return "the Nu HTML checker needs java (apt-get install default-jre-headless)"
    configured = os.environ.get(ENV)
    jar = Path(configured) if configured else CACHED
    if not jar.is_file():
        return (
            f"vnu.jar not found at {jar}: run .ci/run, or `npm install --prefix "
            f"{CACHED.parents[3]} vnu-jar`, or set {ENV}"
        )
    return jar


def problems(jar: Path, *pages: Path) -> list[str]:
    """Every error and warning the checker reports for ``pages`` (one JVM for all), one a
    line."""
    done = subprocess.run(
        ["java", *JVM_OPTIONS, "-jar", str(jar), "--format", "json", "--stdout", "--also-check-css"]
        + [str(page) for page in pages],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout or "{}")
    return [
        f"{message.get('url', '')}: {message.get('type')}/{message.get('subType', '')}: "
        f"line {message.get('lastLine')}: "
        f"{message.get('message')}"
        for message in report.get("messages", [])
        if message.get("type") != "info" or message.get("subType") == "warning"
    ]
