"""The click command line: commands only parse, call the core and print.

The root group and shared helpers are in `group`; each other module holds one area's commands,
and the root group imports it when one of them runs (``group.COMMANDS``), so `syndicate --help`
and `import syndicate.cli` load no command module and none of the core.

May import: api, build, config, content, delivery, edition, errors, exporters, files, ingest, model, publish, report, scaffold, store, text, web.
"""

from __future__ import annotations

from .group import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(obj={})
