"""Commands that turn content into output beyond the feeds: digest, and publish (cron's entry)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import click

from ..build.digest import make_digest
from ..content.when import now_utc, parse_when
from ..files import atomic_write
from ..publish.run import publish as run_publish
from .group import quiet
from .publication import load, parse_now

log = logging.getLogger("syndicate")


@click.command()
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


@click.command()
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
