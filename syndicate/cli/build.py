"""`syndicate build`: the feeds (and the archive of sent editions), on their own.

A module of its own: cron runs it often, and most runs find nothing to do, so it imports only
what building needs (``cli/group.py`` imports a command's module when the command runs).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from ..build import noop
from ..build.stamping import remember_noop
from ..config import find_config
from ..publish.site import build as run_build
from ..report.page import render_page, write_page
from .group import progress_bar, quiet, show_warnings, shown
from .publication import load, parse_now

log = logging.getLogger("syndicate")


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--now", "now_text", metavar="ISO", help="Pretend the time is ISO (embargo checks).")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Ignore the build cache: parse and render everything (the cache is left untouched).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write where the time went (the -v timings) as an HTML page with a chart.",
)
@click.pass_context
def build(
    ctx: click.Context,
    out: Path | None,
    now_text: str | None,
    no_cache: bool,
    html_path: Path | None,
) -> None:
    """Run every enabled feed exporter; default out = [feeds] out (feeds/)."""
    # The start-up stamp (build/noop.py) covers the plain form cron uses; its key is taken
    # before the config is loaded, so an edit in between can only make it stale, never wrong.
    plain = not no_cache and now_text is None and html_path is None
    where = find_config(ctx.find_root().obj["config_path"])
    key = noop.config_key(where, None if out is None else str(out)) if plain else None
    config = load(ctx)
    noop.forget(config.state_db)  # whatever this run finds, the old stamp is not to be trusted
    with progress_bar(ctx, "rendering", unit="articles") as progress:
        result = run_build(
            config, out=out, now=parse_now(now_text, ctx), progress=progress, cache=not no_cache
        )
    show_warnings(result.warnings)
    for path in result.report.written:
        log.debug("wrote %s", path)
    if not quiet(ctx):
        click.echo(result.summary())
    if key is not None:
        remember_noop(config, out, key, result, [shown(w) for w in result.warnings])
    if html_path is not None:
        page = render_page(config, build_phases=result.phases, build_summary=result.summary())
        write_page(html_path, page)
        log.info("wrote %s", html_path)
