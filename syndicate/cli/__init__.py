"""The click command line: commands only parse, call the core and print.

The root group and shared helpers are in `group`; each other module adds one area's commands
to it when imported, so importing this package registers every command. Keep heavy imports
inside the command functions: `syndicate --help` loads all of these modules.

May import: api, build, config, content, delivery, edition, errors, exporters, files, ingest, model, publish, report, scaffold, store, text, web.
"""

from __future__ import annotations

# Imported for their side effect: each module registers its commands on `cli`.
from . import content, email, mailing, newsletters, publishing, reports  # noqa: F401
from .group import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(obj={})
