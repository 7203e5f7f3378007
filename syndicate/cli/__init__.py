"""The click command line: commands only parse, call the core and print.

The root group and shared helpers are in `group`; each other module holds one area's commands,
and the root group imports it when one of them runs (``group.COMMANDS``), so `syndicate --help`
and `import syndicate.cli` load no command module and none of the core. The console script
(``main``) first lets ``fastpath`` answer a no-op ``build`` before even click is imported; the
group itself is loaded on first use of ``cli``.

May import: api, build, config, content, delivery, edition, errors, exporters, files, ingest, model, publish, report, scaffold, store, text, web.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .group import cli as cli

__all__ = ["cli", "main"]


def __getattr__(name: str) -> Any:
    """``cli``, the root group, imported on first access (PEP 562): see ``main``."""
    if name == "cli":
        # Deferred: click and the group cost ~50 ms that a no-op build answered by
        # ``fastpath`` never needs.
        return importlib.import_module(".group", __name__).cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point: a no-op ``build`` is answered from its stamp (see
    ``fastpath``); everything else goes to click. The process is expected to exit after it
    (what it leaves alive is frozen for the garbage collector, see below)."""
    if "build" in sys.argv[1:]:
        # By name, and only for a build: its check (tomllib, hashlib, the walk) would add
        # ~25 ms to every other command's start, `--help` included.
        code = importlib.import_module(".fastpath", __name__).answer_noop(sys.argv[1:])
        if code is not None:
            sys.exit(code)
    try:
        __getattr__("cli")(obj={})
    finally:
        # The interpreter's last collection at exit walks every object still alive; after a
        # 10,000-article build that took 0.08-0.14 s of a 2.5 s run. Frozen objects are
        # skipped (the permanent generation), and the process is ending anyway: 0.04-0.06 s.
        gc.freeze()
