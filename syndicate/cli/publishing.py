"""Commands that turn content into output: build (feeds), digest, and publish (cron's entry)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import click

from .group import cli, load, parse_now, progress_bar, quiet, show_warnings

log = logging.getLogger("syndicate")


@cli.command()
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
    # lazy: `syndicate --help` and cron's no-op runs load every command module
    from ..publish.site import build as run_build

    config = load(ctx)
    with progress_bar(ctx, "rendering", unit="articles") as progress:
        result = run_build(
            config, out=out, now=parse_now(now_text, ctx), progress=progress, cache=not no_cache
        )
    show_warnings(result.warnings)
    for path in result.report.written:
        log.debug("wrote %s", path)
    if not quiet(ctx):
        click.echo(result.summary())
    if html_path is not None:
        # lazy: the page (Jinja2, pygal) loads only when one is written
        from ..report.page import render_page, write_page

        page = render_page(config, build_phases=result.phases, build_summary=result.summary())
        write_page(html_path, page)
        log.info("wrote %s", html_path)


@cli.command()
@click.option("--since", metavar="WHEN", help="Start, inclusive: ISO date/time or a span (7d).")
@click.option("--until", metavar="WHEN", help="End, exclusive (default: now).")
@click.option("--section", "sections", multiple=True, metavar="S", help="Only this section.")
@click.option("--tag", "tags", multiple=True, metavar="T", help="Only articles with this tag.")
@click.option("--full/--summary", default=None, help="Full text or summaries ([digest] full).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option("--now", "now_text", metavar="ISO", help="Pretend the time is ISO.")
@click.pass_context
def digest(
    ctx: click.Context,
    since: str | None,
    until: str | None,
    sections: tuple[str, ...],
    tags: tuple[str, ...],
    full: bool | None,
    output: Path | None,
    now_text: str | None,
) -> None:
    """Plain-text digest of [--since, --until) (default: the last 7 days) to stdout or FILE."""
    # lazy: `syndicate --help` and cron's no-op runs load every command module
    from ..build.digest import make_digest
    from ..content.when import now_utc, parse_when
    from ..files import atomic_write

    config = load(ctx)
    zone = config.publication.timezone
    now = parse_now(now_text, ctx) or now_utc()
    result = make_digest(
        config,
        since=parse_when(since, now, zone) if since else None,
        until=parse_when(until, now, zone) if until else None,
        sections=sections,
        tags=tags,
        full=full,
        now=now,
    )
    if not result.articles and not result.corrections:
        hint = ""
        if since is None and result.newest is not None and result.newest < result.period.since:
            newest = result.newest.astimezone(zone)
            hint = (
                f" (the newest article is from {newest.day} {newest:%B %Y}: "
                f"try --since {newest.date() - timedelta(days=6)})"
            )
        click.echo(
            f"no articles published in {result.period.label(zone)}; nothing written{hint}",
            err=True,
        )
        return
    if output is None:
        click.echo(result.text.encode("utf-8"), nl=False)
        return
    atomic_write(output, result.text.encode("utf-8"))
    if not quiet(ctx):
        count = len(result.articles)
        click.echo(f"wrote {output} ({count} article{'' if count == 1 else 's'})", err=True)


@cli.command()
@click.option(
    "--now", "now_text", metavar="ISO", help="Pretend the time is ISO (tests, back-fills)."
)
@click.option("--dry-run", is_flag=True, help="Say what would happen; write and send nothing.")
@click.option("--wait", is_flag=True, help="Wait for a running publish instead of exiting at once.")
@click.pass_context
def publish(ctx: click.Context, now_text: str | None, dry_run: bool, wait: bool) -> None:
    """Cron entry: build feeds, then send the edition if one is due. Safe to run every minute.

    Silent on success (add --verbose for one line per action); errors and warnings go to
    stderr. Exit 0 ok (also when another run holds the lock), 1 error (also when the lock was
    held past [publish] lock_timeout), 3 recipients pending.
    """
    # lazy: `syndicate --help` and cron's no-op runs load every command module
    from ..publish.run import publish as run_publish

    config = load(ctx)
    chatty = dry_run or ctx.find_root().obj.get("verbosity") == 2
    # Cron mails whatever is printed: other modules' info lines are for --verbose, and their
    # debug timings would bury the one line per action that --verbose promises.
    logging.getLogger("syndicate").setLevel(logging.INFO if chatty else logging.WARNING)
    report = run_publish(
        config,
        now=parse_now(now_text, ctx),
        dry_run=dry_run,
        wait=wait,
        say=click.echo if chatty else None,
    )
    if chatty:
        for note in report.notes:
            click.echo(note, err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    ctx.exit(report.exit_code)
