"""``syndicate build`` answered before click and the core load, when nothing changed.

Cron runs ``syndicate build`` every few minutes and nearly every run finds nothing to do;
importing click, pydantic and the build machinery to find that out was most of such a run.
Here argv is read by hand, for the few forms cron uses (``[--config PATH] [-q] build
[--out DIR] [-q]``); any other form, and any doubt in ``build/noop.py``'s check, returns None
and the normal CLI runs. What a confirmed no-op prints is what the normal no-op printed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ..build import noop

# The config file's default and variable (``config.loading``, tested equal): kept here so that
# this module imports nothing of the config package (which loads pydantic).
CONFIG_ENV = "SYNDICATE_CONFIG"
DEFAULT_CONFIG = "config.toml"
_QUIET = ("-q", "--quiet")


def answer_noop(argv: list[str]) -> int | None:
    """Print a no-op build's lines and return its exit code (0), or None: run the real CLI."""
    started = time.perf_counter()
    parsed = _parse(argv)
    if parsed is None:
        return None
    config, out, quiet = parsed
    env = os.environ.get(CONFIG_ENV)
    if config is None and env == "":
        return None  # click and find_config might read an empty variable differently
    replay = noop.check(Path(config or env or DEFAULT_CONFIG), out)
    if replay is None:
        return None
    for line in replay.warnings:
        sys.stderr.write(f"{line}\n")
    if not quiet:
        seconds = time.perf_counter() - started
        sys.stdout.write(f"{replay.before_seconds}{seconds:.1f}{replay.after_seconds}\n")
    return 0


def _parse(argv: list[str]) -> tuple[str | None, str | None, bool] | None:
    """(--config, --out, quiet) of ``[--config PATH] [-q] build [--out DIR] [-q]``, else None."""
    config: str | None = None
    out: str | None = None
    quiet = False
    args = iter(argv)
    seen_build = False
    for arg in args:
        name, eq, value = arg.partition("=")
        if arg in _QUIET:
            quiet = True
        elif not seen_build and arg == "build":
            seen_build = True
        elif name == ("--out" if seen_build else "--config"):
            if not eq:
                value = next(args, "")
            if not value or value.startswith("-") or (out if seen_build else config) is not None:
                return None  # missing, option-like or repeated: let click say what it means
            if seen_build:
                out = str(Path(value))
            else:
                config = value
        else:
            return None
    return (config, out, quiet) if seen_build else None
