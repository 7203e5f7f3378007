"""The `report` command: what happened to each edition, as tables, JSON or an HTML page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from ..content.when import now_utc, parse_when
from ..edition.state import open_state
from ..report.numbers import gather
from ..report.page import render_page, write_page
from ..report.terminal import report_lines
from .group import quiet
from .publication import load


@click.command()
@click.argument("edition", required=False, metavar="[EDITION]")
@click.option("--newsletter", metavar="ID", help="Only this newsletter's editions.")
@click.option("--since", metavar="WHEN", help="Editions first sent since WHEN (ISO or 30d).")
@click.option(
    "--last",
    type=click.IntRange(min=1),
    metavar="N",
    default=10,
    show_default=True,
    help="How many editions the trend spans.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write a self-contained HTML page with charts to FILE.",
)
@click.pass_context
def report(
    ctx: click.Context,
    edition: str | None,
    newsletter: str | None,
    since: str | None,
    last: int,
    as_json: bool,
    html_path: Path | None,
) -> None:
    """Report on sent editions: recipients, delivered, deferred, failed, uncertain, bounces,
    complaints, unsubscribes, clicks per link, send duration and rate, and the trend.

    EDITION (an id or 'latest') is shown in full with the editions before it as the trend;
    without it, the newest edition and the last --last editions (or those since --since).
    """
    if edition is not None and since is not None:
        raise click.UsageError("give an EDITION or --since, not both")
    config = load(ctx)
    since_at = parse_when(since, now_utc(), config.publication.timezone) if since else None
    conn = open_state(config)
    try:
        result = gather(
            conn,
            edition=edition,
            since=since_at,
            last=0 if since_at else last,
            newsletter=newsletter,
        )
    finally:
        conn.close()
    if html_path is not None:
        write_page(html_path, render_page(config, report=result))
        if not quiet(ctx) and not as_json:
            click.echo(f"wrote {html_path}", err=True)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    elif html_path is None:
        width = min(shutil.get_terminal_size((100, 24)).columns, 120)
        for line in report_lines(result, width):
            click.echo(line)
