"""The W3C Feed Validator, run in-process and offline over the feeds a build writes.

Its code is never part of this repository: ``locate`` finds a checkout named by
``SYNDICATE_FEEDVALIDATOR`` (a folder holding its ``src/``) or extracts ``src/`` from the bare
mirror of https://github.com/w3c/feedvalidator, and the tests skip with the reason when neither
exists. Events are classified as its own ``check.cgi``/``demo.py`` do at level "AA"
(``compatibility.AA``): every ``Error`` and every ``Warning`` counts, ``Info`` does not.

Offline: importing it sets a process-wide 10 s socket timeout (undone here), and it resolves
the domain of any e-mail address its strict pattern rejects (``validators.addr_spec``, e.g. a
non-ASCII local part). That lookup answers as if every domain resolved: whether a test
domain exists on today's internet says nothing about our feed. Any other network use fails.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENV = "SYNDICATE_FEEDVALIDATOR"
MIRROR = Path("/work/.mirror/w3c+feedvalidator/repo")


def locate(cache: Path) -> Path | str:
    """The validator's ``src`` folder, or the reason it cannot be found (for ``pytest.skip``)."""
    configured = os.environ.get(ENV)
    if configured:
        src = Path(configured) / "src"
        if (src / "feedvalidator" / "__init__.py").is_file():
            return src
        return f"{ENV}={configured} has no src/feedvalidator/__init__.py"
    if not MIRROR.is_dir():
        return (
            f"W3C Feed Validator not found: set {ENV} to a checkout of "
            f"https://github.com/w3c/feedvalidator (the folder holding src/), or mirror it "
            f"at {MIRROR}"
        )
    archive = subprocess.run(
        ["git", "--git-dir", str(MIRROR), "archive", "HEAD", "src"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return f"cannot read the validator from {MIRROR}: {archive.stderr.decode(errors='replace')}"
    subprocess.run(["tar", "-x", "-C", str(cache)], input=archive.stdout, check=True)
    return cache / "src"


class Validator:
    """``problems(data, url)``: the validator's errors and warnings for one feed, as text."""

    def __init__(self, src: Path) -> None:
        timeout = socket.getdefaulttimeout()
        sys.path.insert(0, str(src))
        try:
            self._fv = importlib.import_module("feedvalidator")
            self._compat = importlib.import_module("feedvalidator.compatibility")
            formatter = importlib.import_module("feedvalidator.formatter.text_plain")
        finally:
            sys.path.remove(str(src))
            socket.setdefaulttimeout(timeout)  # its import sets 10 s for the whole process
        self._formatter: Callable[[list[Any]], list[str]] = formatter.Formatter
        self.lookups: list[str] = []
        self.refused: list[str] = []

    def problems(self, data: bytes, url: str) -> list[str]:
        """Every Error and Warning (never Info) for the feed served at ``url``, one a line.

        ``url`` is the feed's address: the validator warns when ``rel=self`` differs from it.
        """
        with self._offline():
            result = self._fv.validateString(data, firstOccurrenceOnly=0, base=url)
        assert not self.refused, f"the feed validator tried the network: {self.refused}"
        events = self._compat.AA(result["loggedEvents"])
        lines = data.decode("utf-8", errors="replace").splitlines()
        messages = []
        for event, text in zip(events, self._formatter(events), strict=True):
            line = event.params.get("line")
            source = lines[line - 1].strip()[:200] if isinstance(line, int) else ""
            messages.append(f"{type(event).__name__}: {text}  | {source}")
        return messages

    @contextmanager
    def _offline(self) -> Iterator[None]:
        """No socket leaves the process while the validator runs (see the module docstring)."""
        saved = (socket.gethostbyname, socket.getaddrinfo, socket.create_connection)

        def resolve(host: str) -> str:
            self.lookups.append(host)
            return "192.0.2.1"  # TEST-NET-1: "resolves", and is never contacted

        def refuse(*args: object, **kwargs: object) -> Any:
            self.refused.append(repr(args))
            raise OSError("offline: the feed validator may not use the network")

        socket.gethostbyname = resolve
        socket.getaddrinfo = refuse
        socket.create_connection = refuse
        try:
            yield
        finally:
            socket.gethostbyname, socket.getaddrinfo, socket.create_connection = saved
