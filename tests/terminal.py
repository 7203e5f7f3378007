"""The CLI on a pseudo-terminal, for what only a real terminal shows (prompts, progress bars)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping


class Terminal:
    """``syndicate ARGS`` with stdin, stdout and stderr on one pty; read it like a screen."""

    def __init__(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        self._leader, follower = os.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from syndicate.cli import main; main()", *args],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env={**os.environ, "COLUMNS": "100", **(env or {})},
        )
        os.close(follower)
        self.screen = b""

    def wait_for(self, text: bytes, timeout: float = 30) -> None:
        """Read until ``text`` is on the screen."""
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            assert time.monotonic() < deadline, self.screen
            self.screen += os.read(self._leader, 4096)

    def type(self, keys: bytes) -> None:
        os.write(self._leader, keys)

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Read until the process closes the terminal; (exit code, whole screen)."""
        while True:
            try:
                chunk = os.read(self._leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            self.screen += chunk
        os.close(self._leader)
        return self.process.wait(timeout=timeout), self.screen.decode("utf-8", "replace")
