"""The mailing list and its upkeep: subscribers, the web app for (un)subscribing, bounces, DKIM.

Everything here opens the state database or the signing key; nothing renders an edition.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..delivery import choices
from ..delivery import subscriptions as subs
from ..delivery.bounces import process_files, suppressed_addresses
from ..delivery.dkim import keygen_for
from ..delivery.list_exports import FORMATS as LIST_FORMATS
from ..delivery.settings import DkimSettings
from ..delivery.subscribers import (
    Status,
    add_subscriber,
    count_by_status,
    ensure_subscribers,
    export_csv,
    get_subscriber,
    import_csv,
    list_subscribers,
    remove_subscriber,
    stored_exactly,
    unsubscribe,
    write_export,
)
from ..delivery.tokens import load_secret, verify_token
from ..errors import UsageError
from ..store.database import Connection, connect
from ..text.words import plural
from ..web.app import serve as run_server
from .group import Group, progress_bar, quiet, show_warnings
from .publication import load


@click.group(cls=Group)
def subscribers() -> None:
    """The subscriber list (state database): add, remove, list, import, export, unsubscribe."""


def _subscriber_db(ctx: click.Context) -> Any:
    config = load(ctx)
    conn = connect(config.state_target)
    ensure_subscribers(conn)
    if choices.multi(config):
        choices.ensure(config, conn)  # upgrades a one-newsletter database (backup first)
    return conn


def _needs_newsletters(ctx: click.Context, option: str) -> None:
    """A UsageError when a newsletter option is used on a one-newsletter publication."""
    if not load(ctx).model.newsletters:
        raise UsageError(
            f"{option}: this publication has no [newsletters] in {load(ctx).path}; "
            "add [newsletters.<id>] tables to offer several newsletters"
        )


def _each_address(
    ctx: click.Context,
    addresses: tuple[str, ...],
    change: Callable[[Connection, str], bool],
    done: str,
) -> None:
    """Apply ``change`` to each address (False: not subscribed); say ``done ADDRESS`` for the
    others, and end with one error naming every address that was not found."""
    conn = _subscriber_db(ctx)
    try:
        missing = [a for a in addresses if not change(conn, a)]
    finally:
        conn.close()
    for address in addresses:
        if address not in missing and not quiet(ctx):
            click.echo(f"{done} {address}")
    if missing:
        raise UsageError(f"not subscribed: {', '.join(missing)}")


_STATUSES = ("active", "unsubscribed", "bounced", "pending", "complained")


@subscribers.command("add")
@click.argument("addresses", nargs=-1, required=True, metavar="EMAIL...")
@click.option("--name", default="", help="The subscriber's name (for one address).")
@click.option(
    "--resubscribe", is_flag=True, help="Make an unsubscribed or bounced address active again."
)
@click.option(
    "--newsletter",
    "newsletters",
    multiple=True,
    metavar="ID",
    help="Subscribe to this newsletter (repeatable; default: the default newsletters).",
)
@click.option(
    "--cadence",
    type=click.Choice(("immediate", "daily", "weekly")),
    help="How often, where the newsletter offers a choice.",
)
@click.option("--attr", "attrs", multiple=True, metavar="KEY=VALUE", help="A free attribute.")
@click.pass_context
def subscribers_add(
    ctx: click.Context,
    addresses: tuple[str, ...],
    name: str,
    resubscribe: bool,
    newsletters: tuple[str, ...],
    cadence: str | None,
    attrs: tuple[str, ...],
) -> None:
    """Add addresses as active subscribers; existing ones are left as they are.

    With [newsletters]: --newsletter ID (repeatable) chooses which ones, also for an
    address already subscribed to others; none given subscribes new addresses to the
    default newsletters.
    """
    if name and len(addresses) > 1:
        raise click.UsageError("--name goes with a single address")
    config = load(ctx)
    many = choices.multi(config)
    if not many and (newsletters or cadence or attrs):
        _needs_newsletters(ctx, "--newsletter/--cadence/--attr")
    if many:
        picked = choices.check_ids(config, newsletters, where="--newsletter: ")
        if cadence:
            # It applies where offered; offered by none of them, it is a mistake.
            problems = []
            for chosen in picked:
                try:
                    choices.check_cadence(config, chosen, cadence, where="--cadence: ")
                except UsageError as exc:
                    problems.append(exc)
            if len(problems) == len(picked):
                raise problems[0]
    attributes = subs.parse_where(attrs)
    conn = _subscriber_db(ctx)
    try:
        for address in addresses:
            # One transaction: no other process ever sees the subscriber without choices.
            conn.execute("BEGIN IMMEDIATE")
            try:
                sub, created = add_subscriber(conn, address, name=name, resubscribe=resubscribe)
                chosen_ids: tuple[str, ...] = ()
                if many and (created or newsletters or resubscribe):
                    chosen_ids = choices.choose(
                        config, conn, sub, newsletters, cadence=cadence or "", how="cli"
                    )
                if attributes:
                    subs.set_attributes(conn, sub.id, attributes)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if chosen_ids and (created or newsletters):
                click.echo(f"{sub.email}: newsletters {' '.join(chosen_ids)}")
            if created and sub.status != "active":
                click.echo(
                    f"{sub.email} is suppressed ({sub.reason}); added as {sub.status} (use "
                    "--resubscribe with the reader's consent)",
                    err=True,
                )
            elif created:
                click.echo(f"added {sub.email}")
            elif sub.status != "active":
                click.echo(
                    f"{sub.email} is {sub.status}; not changed (use --resubscribe with "
                    "the reader's consent)",
                    err=True,
                )
            elif not quiet(ctx):
                click.echo(f"{sub.email} is already subscribed")
    finally:
        conn.close()


@subscribers.command("remove")
@click.argument("addresses", nargs=-1, required=True, metavar="EMAIL...")
@click.pass_context
def subscribers_remove(ctx: click.Context, addresses: tuple[str, ...]) -> None:
    """Delete addresses and their data (to stop mail but keep the record, use unsubscribe)."""
    _each_address(ctx, addresses, remove_subscriber, "removed")


@subscribers.command("list")
@click.option("--status", type=click.Choice(_STATUSES), help="Only subscribers with this status.")
@click.option("--count", is_flag=True, help="Only the number of subscribers per status.")
@click.option(
    "--newsletter", metavar="ID", help="Only subscribers of this newsletter (active or pending)."
)
@click.option(
    "--where", "where", multiple=True, metavar="KEY=VALUE", help="Only this segment (repeatable)."
)
@click.pass_context
def subscribers_list(
    ctx: click.Context,
    status: str | None,
    count: bool,
    newsletter: str | None,
    where: tuple[str, ...],
) -> None:
    """List subscribers, tab-separated: email, name, status, source, added.

    With [newsletters], a sixth column lists each one's active newsletters (id or
    id:cadence), and --newsletter ID lists only that newsletter's subscribers.
    """
    config = load(ctx)
    many = choices.multi(config)
    if not many and (newsletter or where):
        _needs_newsletters(ctx, "--newsletter/--where")
    if newsletter:
        choices.check_ids(config, (newsletter,), where="--newsletter: ")
    segment = subs.parse_where(where)
    conn = _subscriber_db(ctx)
    try:
        if count and not (newsletter or segment):
            for name, number in count_by_status(conn).items():
                click.echo(f"{name}\t{number}")
            return
        keep = subs.subscriber_ids_for(conn, newsletter) if newsletter else None
        labels = subs.subscription_labels(conn) if many else {}
        attributes = subs.all_attributes(conn) if segment else {}
        shown: dict[str, int] = {}
        for sub in list_subscribers(conn, Status(status) if status else None):
            if keep is not None and sub.id not in keep:
                continue
            if segment and any(attributes.get(sub.id, {}).get(k) != v for k, v in segment.items()):
                continue
            if count:
                shown[str(sub.status)] = shown.get(str(sub.status), 0) + 1
                continue
            line = f"{sub.email}\t{sub.name}\t{sub.status}\t{sub.source}\t{sub.created}"
            click.echo(line + (f"\t{labels.get(sub.id, '')}" if many else ""))
        for name in sorted(shown):
            click.echo(f"{name}\t{shown[name]}")
    finally:
        conn.close()


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path), metavar="CSV")
@click.option(
    "--resubscribe",
    is_flag=True,
    help="Make unsubscribed, bounced or complained addresses in the file active again.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(LIST_FORMATS),
    default="auto",
    show_default=True,
    help="Which tool wrote the CSV; auto goes by its header row.",
)
@click.pass_context
def subscribers_import(ctx: click.Context, csv_file: Path, resubscribe: bool, fmt: str) -> None:
    """Import a CSV with a header row naming 'email' (and optionally 'name').

    Mailchimp, Substack, Buttondown and listmonk exports are read as they come: rows they
    mark as unsubscribed, cleaned, bounced or complained are imported suppressed.

    With [newsletters]: a 'newsletters' column (ids separated by spaces; empty = the
    defaults) chooses each new subscriber's newsletters, and every other extra column is
    kept as a free attribute (for --where segments and templates).

    Bad rows are listed as file:line: reason and skipped; addresses already known (also
    unsubscribed ones) are left alone, so importing twice changes nothing, and addresses
    that bounced or complained stay suppressed (unless --resubscribe). Exit 1 if any row
    was bad.
    """
    config = load(ctx)
    columns = (
        choices.NewsletterColumns(config, f"import:{csv_file.name}")
        if choices.multi(config)
        else None
    )
    conn = _subscriber_db(ctx)
    try:
        with progress_bar(ctx, "importing", unit="rows") as progress:
            report = import_csv(
                conn,
                csv_file,
                resubscribe=resubscribe,
                fmt=fmt,
                columns=columns,
                progress=progress,
            )
    finally:
        conn.close()
    show_warnings(report.warnings)
    show_warnings(report.problems)
    click.echo(report.summary())
    if report.problems:
        ctx.exit(1)


@subscribers.command("export")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path), metavar="CSV")
@click.option("--status", type=click.Choice(_STATUSES), help="Only subscribers with this status.")
@click.pass_context
def subscribers_export(ctx: click.Context, csv_file: Path, status: str | None) -> None:
    """Write every subscriber to CSV ('-' for stdout): email, name, status, reason, ..."""
    conn = _subscriber_db(ctx)
    try:
        chosen = Status(status) if status else None
        extra = subs.export_columns(conn) if choices.multi(load(ctx)) else None
        if str(csv_file) == "-":
            click.echo(export_csv(list_subscribers(conn, chosen), extra), nl=False)
            return
        count = write_export(conn, csv_file, chosen, extra)
    finally:
        conn.close()
    if not quiet(ctx):
        click.echo(f"exported {plural(count, 'subscriber')} to {csv_file}")


@subscribers.command("unsubscribe")
@click.argument("addresses", nargs=-1, metavar="[EMAIL]...")
@click.option(
    "--token", help="An unsubscribe token from a link (checked against $SYNDICATE_SECRET)."
)
@click.option(
    "--newsletter", metavar="ID", help="Leave only this newsletter ([newsletters]); others stay."
)
@click.pass_context
def subscribers_unsubscribe(
    ctx: click.Context, addresses: tuple[str, ...], token: str | None, newsletter: str | None
) -> None:
    """Unsubscribe addresses, or the address an unsubscribe link's --token names."""
    if bool(token) == bool(addresses):
        raise click.UsageError("give either EMAIL addresses or --token")
    if newsletter:
        _needs_newsletters(ctx, "--newsletter")
        choices.check_ids(load(ctx), (newsletter,), where="--newsletter: ")
        if token:
            raise click.UsageError("--newsletter goes with EMAIL addresses")

        def leave(conn: Connection, address: str) -> bool:
            found = get_subscriber(conn, address)
            if found is not None:
                subs.unsubscribe_from(conn, found.id, newsletter, how="cli")
            return found is not None

        _each_address(ctx, addresses, leave, f"unsubscribed from {newsletter}:")
        return
    if token:
        conn = _subscriber_db(ctx)
        try:
            found = verify_token(
                load_secret(), token.strip(), stored=lambda a: stored_exactly(conn, a)
            )
        finally:
            conn.close()
        addresses = (found,)
    _each_address(
        ctx, addresses, lambda conn, a: unsubscribe(conn, a, how="cli") is not None, "unsubscribed"
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Run the web app (unsubscribe, subscribe, confirm) locally; syndicate.web:app for production."""
    config = load(ctx)
    load_secret()  # fail now, not on the first reader's click
    click.echo(f"serving {config.publication.title} on http://{host}:{port}/ (Ctrl-C to stop)")
    run_server(config, host, port)


@click.group(cls=Group)
def bounces() -> None:
    """Bounces and complaints: stop mailing addresses that fail or report spam."""


@bounces.command("process")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def bounces_process(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Read DSNs (Maildir, mbox, .eml) and SES notification JSON; suppress bad addresses."""
    config = load(ctx)
    report = process_files(config.state_target, paths, soft_limit=config.model.bounces.soft_limit)
    show_warnings(report.problems)
    for address, reason in report.suppressed:
        click.echo(f"suppressed {address}: {reason}")
    if not quiet(ctx):
        click.echo(report.summary())


@bounces.command("list")
@click.pass_context
def bounces_list(ctx: click.Context) -> None:
    """List suppressed addresses (tab-separated: email, kind, reason)."""
    for address, kind, reason in suppressed_addresses(load(ctx).state_target):
        click.echo(f"{address}\t{kind}\t{reason}")


@click.group(cls=Group)
def dkim() -> None:
    """DKIM signing keys for outgoing mail ([email.dkim] in config.toml)."""


@dkim.command("keygen")
@click.option("--selector", help="DKIM selector (default: [email.dkim] selector or 'syndicate').")
@click.option("--domain", help="Signing domain (default: [email.dkim] domain or From's domain).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private key file to write (default: [email.dkim] key_file or dkim.pem); never overwritten.",
)
@click.option("--bits", type=int, default=2048, show_default=True, help="RSA key size.")
@click.pass_context
def dkim_keygen(
    ctx: click.Context, selector: str | None, domain: str | None, out: Path | None, bits: int
) -> None:
    """Write a new DKIM private key (mode 600) and print the DNS TXT record to publish."""
    config = load(ctx)
    path, record = keygen_for(
        DkimSettings.from_config(config),
        config.resolve("dkim.pem"),
        selector=selector,
        out=out,
        domain=domain,
        bits=bits,
    )
    click.echo(f"wrote private key {path} (mode 600; keep it secret)")
    click.echo("publish this DNS TXT record, then set [email.dkim] selector and key_file:")
    click.echo(f"name:  {record.name}")
    click.echo(f"value: {record.value}")
    click.echo(f"zone:  {record.zone_line()}")
