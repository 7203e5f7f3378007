"""The `db` group: maintenance of the state database (``prune`` now; more subcommands join it).

Each subcommand is a few lines: load the config, open the state store, call the core, print.
A new one is one more ``@db.command`` function here.
"""

from __future__ import annotations

import click

from ..config.sections import MIN_KEEP_LEDGER_DAYS
from ..content.when import now_utc
from ..edition.prune import mark_pruned, prune_ledger
from ..edition.state import open_state
from .group import Group, quiet
from .publication import load, parse_now


@click.group(cls=Group)
def db() -> None:
    """State database maintenance: prune the send ledger ([state] keep_ledger_days)."""


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
