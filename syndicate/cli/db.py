"""The `db` commands: the state database's schema (upgrade, current), moving an embedded
SQLite state to PostgreSQL (copy), and pruning the send ledger (prune)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config.sections import MIN_KEEP_LEDGER_DAYS
from ..content.when import now_utc
from ..edition.prune import mark_pruned, prune_ledger
from ..edition.state import open_state
from ..errors import StateError, UsageError
from ..store import postgres
from ..store.database import connect, connect_readonly
from ..store.migrations import HEAD, REVISIONS, runner
from ..store.schema import describe, refuse_newer, revision, upgrade_sqlite
from ..store.transfer import copy_state
from .group import Group, quiet
from .publication import load, parse_now


@click.group(cls=Group)
def db() -> None:
    """The state database: schema revisions (upgrade, current), moving to PostgreSQL, pruning."""


@db.command()
@click.option(
    "--sql",
    "as_sql",
    is_flag=True,
    help="Print the SQL instead of running it (connects to nothing; for a DBA to review).",
)
@click.option(
    "--from",
    "start",
    metavar="REV",
    help="With --sql: the revision the database is at (default: an empty database).",
)
@click.pass_context
def upgrade(ctx: click.Context, as_sql: bool, start: str | None) -> None:
    """Bring the state database's schema to this syndicate's revision (a PostgreSQL store
    needs this after every update; the SQLite file is upgraded on first use anyway)."""
    config = load(ctx)
    target = config.state_target
    if as_sql:
        if start is not None and start not in REVISIONS:
            raise UsageError(f"--from {start}: no such revision (known: {', '.join(REVISIONS)})")
        dialect = "postgresql" if isinstance(target, str) else "sqlite"
        runner.print_sql(dialect, start, sys.stdout)
        return
    if start is not None:
        raise UsageError("--from goes with --sql")
    conn = connect(target)
    try:
        was = revision(conn)
        if was is not None:
            refuse_newer(was)
        if was == HEAD:
            click.echo(f"{describe(target)}: already at revision {HEAD}")
            return
        if isinstance(target, Path):
            upgrade_sqlite(conn)
        else:
            runner.upgrade(target)
    finally:
        conn.close()
    click.echo(f"{describe(target)}: upgraded from revision {was or 'none'} to {HEAD}")


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Show the state database's schema revision and the one this syndicate needs."""
    config = load(ctx)
    target = config.state_target
    if isinstance(target, Path) and not target.exists():
        found = None
    else:
        conn = connect_readonly(target)
        try:
            found = revision(conn)
        finally:
            conn.close()
    if found == HEAD:
        state = "current"
    elif found is not None and found not in REVISIONS:
        state = "newer than this syndicate: upgrade syndicate"
    elif isinstance(target, Path):
        state = "upgraded on first use (or by `syndicate db upgrade`)"
    else:
        state = "behind: run `syndicate db upgrade`"
    click.echo(f"{describe(target)}: revision {found or 'none'}, head {HEAD} ({state})")


@db.command()
@click.option(
    "--to",
    "url",
    required=True,
    metavar="URL",
    help="The PostgreSQL database (postgresql://...), empty and upgraded by `db upgrade`.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def copy(ctx: click.Context, url: str, yes: bool) -> None:
    """Copy the SQLite state (subscribers, ledger, editions, suppressions, bounce events,
    everything) to an empty PostgreSQL database, then compare the row counts table by table."""
    config = load(ctx)
    if not postgres.is_url(url):
        raise UsageError(f"--to must be a postgresql:// URL, not {url!r}")
    if config.state_url:
        raise StateError(
            "the state is already in PostgreSQL ([state] url or $SYNDICATE_DATABASE_URL); "
            f"db copy reads the SQLite file ({config.state_db}): unset it to copy"
        )
    source = config.state_db
    shown = postgres.redact(url)
    if not yes:
        click.confirm(f"copy the state in {source} to {shown}?", abort=True, err=True)
    counts = copy_state(source, url)
    width = max((len(c.table) for c in counts), default=0)
    for c in counts:
        click.echo(f"{c.table:<{width}}  {c.source:>9} in the file  {c.target:>9} copied")
    total = sum(c.target for c in counts)
    click.echo(
        f"copied {total} rows in {len(counts)} tables to {shown}: every count matches; "
        f"set [state] url (or $SYNDICATE_DATABASE_URL) to use it"
    )


@db.command("prune")
@click.option(
    "--keep-days",
    type=click.IntRange(min=MIN_KEEP_LEDGER_DAYS),
    metavar="N",
    help="Keep per-recipient rows of sends finished in the last N days "
    "(default: [state] keep_ledger_days).",
)
@click.option("--dry-run", is_flag=True, help="List what would be folded; change nothing.")
@click.option("--now", "now_text", metavar="ISO", help="Pretend the time is ISO.")
@click.pass_context
def prune(ctx: click.Context, keep_days: int | None, dry_run: bool, now_text: str | None) -> None:
    """Fold the send ledger's rows of finished sends older than [state] keep_ledger_days into
    per-edition totals: reports keep their numbers; per-address rows are dropped.

    Safe to run at any time (an edition is folded whole or not at all). With
    keep_ledger_days = 0 and no --keep-days, nothing is pruned.
    """
    config = load(ctx)
    days = keep_days if keep_days is not None else config.model.state.keep_ledger_days
    if days == 0:
        click.echo(
            "[state] keep_ledger_days = 0 keeps the ledger for ever: nothing pruned "
            "(give --keep-days N to prune once)"
        )
        return
    now = parse_now(now_text, ctx) or now_utc()
    conn = open_state(config)
    try:
        result = prune_ledger(conn, keep_days=days, now=now, dry_run=dry_run)
        if not dry_run:
            mark_pruned(conn, now)
    finally:
        conn.close()
    lines = result.lines()
    for line in lines if not quiet(ctx) else lines[:-1]:
        click.echo(line)
