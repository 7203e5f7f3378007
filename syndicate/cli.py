"""The click command line. Commands only parse, call the core and print; nothing else here."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import Problem, ProblemsError, SyndicateError

log = logging.getLogger("syndicate")


class _Group(click.Group):
    """Turns every SyndicateError into a clean message and its exit code: no tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProblemsError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            count = sum(1 for problem in exc.problems if not problem.warning)
            click.echo(f"error: {count} problem{'s' if count != 1 else ''} found", err=True)
            ctx.exit(exc.exit_code)
        except SyndicateError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syndicate")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SYNDICATE_CONFIG",
    help="The publication's config.toml (default: ./config.toml, or $SYNDICATE_CONFIG).",
)
@click.option("--verbose", "-v", "verbosity", flag_value=2, help="Say what every step does.")
@click.option("--quiet", "-q", "verbosity", flag_value=0, help="Only errors and warnings.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbosity: int | None) -> None:
    """syndicate: publish one set of articles as feeds, an email newsletter and digests."""
    level = {0: logging.WARNING, 2: logging.DEBUG}.get(verbosity or 1, logging.INFO)
    # Only our own loggers follow --verbose: libraries' debug output (markdown-it logs every
    # block rule it tries) would drown the one line per action that cron logs want.
    logging.basicConfig(
        level=max(level, logging.INFO), format="%(message)s", stream=sys.stderr, force=True
    )
    logging.getLogger("syndicate").setLevel(level)
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["verbosity"] = 1 if verbosity is None else verbosity


def load(ctx: click.Context) -> Any:
    """The validated config named by --config (loaded once per invocation)."""
    from .config import load_config

    obj = ctx.find_root().obj
    if "config" not in obj:
        obj["config"] = load_config(obj["config_path"])
    return obj["config"]


def quiet(ctx: click.Context) -> bool:
    return bool(ctx.find_root().obj.get("verbosity") == 0)


def show_warnings(warnings: tuple[Problem, ...] | list[Problem]) -> None:
    for warning in warnings:
        click.echo(str(warning), err=True)


def parse_now(value: str | None, ctx: click.Context) -> datetime | None:
    """--now ISO: the clock override used by publish/email/build for tests and back-fills."""
    if value is None:
        return None
    from .when import parse_datetime

    try:
        return parse_datetime(value, load(ctx).publication.timezone)
    except ValueError:
        raise click.BadParameter(f"not an ISO date-time: {value!r}", param_hint="--now") from None


@contextmanager
def progress_bar(ctx: click.Context, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal's stderr; nothing at all under cron."""
    if quiet(ctx) or not sys.stderr.isatty():
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
            state["bar"] = bar
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Write into a folder that already has a config.toml.")
def init(directory: Path, force: bool) -> None:
    """Scaffold a working publication in DIRECTORY (config, three articles, templates/)."""
    from .scaffold import scaffold

    created = scaffold(directory, force=force)
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"next: cd {directory} && syndicate build")


@cli.command()
@click.option(
    "--email",
    "check_email",
    is_flag=True,
    help="Also render the next edition and lint its email (alt text, size, links, footer).",
)
@click.pass_context
def validate(ctx: click.Context, check_email: bool) -> None:
    """Check config.toml and every article; list ALL problems as path:line: message."""
    from .build import validate as validate_all

    config = load(ctx)
    warnings = validate_all(config)
    show_warnings(warnings)
    if not quiet(ctx):
        click.echo(f"ok: {config.path.name} and {config.content_dir.name}/ are valid")
    if check_email:
        from .build import now_utc
        from .emaillint import EmailLintError, lint_email

        result = lint_email(config, now=now_utc())
        if result.errors:
            raise EmailLintError(result.problems)
        show_warnings(list(result.problems))
        if not quiet(ctx):
            size = result.html_bytes / 1024
            click.echo(f"ok: email {result.edition_id} passes the email checks ({size:.0f} KB)")


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--now", "now_text", metavar="ISO", help="Pretend the time is ISO (embargo checks).")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Ignore the build cache: parse and render everything (the cache is left untouched).",
)
@click.pass_context
def build(ctx: click.Context, out: Path | None, now_text: str | None, no_cache: bool) -> None:
    """Run every enabled feed exporter; default out = [feeds] out (feeds/)."""
    from .build import build as run_build

    config = load(ctx)
    with progress_bar(ctx, "rendering") as progress:
        result = run_build(
            config, out=out, now=parse_now(now_text, ctx), progress=progress, cache=not no_cache
        )
    show_warnings(result.warnings)
    for path in result.report.written:
        log.debug("wrote %s", path)
    if not quiet(ctx):
        click.echo(result.summary())


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
    from .build import now_utc
    from .digest import make_digest
    from .output import atomic_write
    from .when import parse_when

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
    if not result.articles:
        click.echo(
            f"no articles published in {result.period.label(zone)}; nothing written", err=True
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
@click.option("--since", metavar="WHEN", help="Every article since WHEN (ISO or 7d), sent or not.")
@click.option(
    "--article", "slugs", multiple=True, metavar="SLUG", help="Include this article (repeatable)."
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Preview folder.")
@click.option("--open", "open_browser", is_flag=True, help="Open the HTML in the web browser.")
@click.option("--now", "now_text", metavar="ISO", help="Pretend the time is ISO.")
@click.option("--to", "to", metavar="ADDR", help="Send one test copy to ADDR (no ledger).")
@click.option("--send", "send", is_flag=True, help="Send to every active subscriber (resumable).")
@click.option("--yes", "-y", "yes", is_flag=True, help="Do not ask before --send.")
@click.option(
    "--resend-uncertain", is_flag=True, help="With --send: resend rows a crash left uncertain."
)
@click.option("--skip-uncertain", is_flag=True, help="With --send: count uncertain rows as done.")
@click.option(
    "--status", "status", metavar="EDITION", help="Show an edition's send ledger ('latest' ok)."
)
@click.pass_context
def email(
    ctx: click.Context,
    since: str | None,
    slugs: tuple[str, ...],
    out: Path | None,
    open_browser: bool,
    now_text: str | None,
    to: str | None,
    send: bool,
    yes: bool,
    resend_uncertain: bool,
    skip_uncertain: bool,
    status: str | None,
) -> None:
    """Render the next newsletter edition to --out (default newsletter/): EDITION.html/.txt/.eml.

    The edition holds every published article not yet sent, newest first, up to
    [email] max_articles; --since and --article choose the articles instead.
    --to ADDR sends one test copy; --send sends to every active subscriber and resumes an
    interrupted send (exit 3 while recipients are pending); --status EDITION shows the ledger.
    """
    from .build import now_utc
    from .preview import NothingNew, preview_edition
    from .when import parse_when

    config = load(ctx)
    now = parse_now(now_text, ctx) or now_utc()
    since_at = parse_when(since, now, config.publication.timezone) if since else None
    if status or to or send:
        _email_delivery(
            ctx,
            config,
            now,
            since_at,
            slugs,
            to=to,
            send=send,
            yes=yes,
            status=status,
            resend_uncertain=resend_uncertain,
            skip_uncertain=skip_uncertain,
        )
        return
    if resend_uncertain or skip_uncertain or yes:
        raise click.UsageError("--yes, --resend-uncertain and --skip-uncertain go with --send")
    result = preview_edition(config, now=now, since=since_at, slugs=slugs, out=out)
    show_warnings(result.warnings)
    if isinstance(result, NothingNew):
        click.echo("nothing to send: no published article is waiting for a newsletter edition")
        return
    if not quiet(ctx):
        count = len(result.edition.articles)
        click.echo(f"edition {result.edition.id}: {count} article{'' if count == 1 else 's'}")
        click.echo(f"subject: {result.subject}")
        click.echo(f"html:    {result.html_path} ({result.html_bytes / 1024:.1f} KB)")
        click.echo(f"text:    {result.text_path}")
        click.echo(f"eml:     {result.eml_path} (To: {result.recipient})")
    if open_browser:
        click.launch(str(result.html_path))


def _email_delivery(
    ctx: click.Context,
    config: Any,
    now: datetime,
    since: datetime | None,
    slugs: tuple[str, ...],
    *,
    to: str | None,
    send: bool,
    yes: bool,
    status: str | None,
    resend_uncertain: bool,
    skip_uncertain: bool,
) -> None:
    """The sending side of `syndicate email`: --status, --to, --send."""
    from .delivery.send import (
        graceful_sigterm,
        select_edition,
        send_edition,
        send_test,
        status_lines,
    )
    from .edition import open_state

    if sum(map(bool, (to, send, status))) > 1:
        raise click.UsageError("use one of --to, --send and --status at a time")
    if resend_uncertain and skip_uncertain:
        raise click.UsageError("--resend-uncertain and --skip-uncertain exclude each other")
    conn = open_state(config)
    try:
        if status:
            for line in status_lines(conn, status):
                click.echo(line)
            return
        chosen = select_edition(config, conn, now=now, since=since, slugs=slugs)
        if chosen is None:
            click.echo("nothing to send: no published article is waiting for a newsletter edition")
            return
        if chosen.resumed and not quiet(ctx):
            click.echo(f"resuming edition {chosen.edition.id} (its send was not finished)")
        if to:
            reply = send_test(config, chosen.rendered, to)
            if not quiet(ctx):
                click.echo(f"test copy of edition {chosen.edition.id} sent to {to}: {reply}")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise click.UsageError(
                    "--send needs confirmation: run it on a terminal, or pass --yes"
                )
            click.confirm(
                f"Send edition {chosen.edition.id} ({chosen.edition.subject!r}) to "
                f"{chosen.due} recipient(s) via {config.model.email.transport}?",
                abort=True,
            )
        with progress_bar(ctx, "sending") as progress, graceful_sigterm():
            report = send_edition(
                config,
                conn,
                chosen.edition,
                chosen.rendered,
                progress=progress,
                resend_uncertain=resend_uncertain,
                skip_uncertain=skip_uncertain,
            )
    finally:
        conn.close()
    click.echo(report.summary())
    for note in report.advice():
        click.echo(note, err=True)
    ctx.exit(report.exit_code)


@cli.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the content files (default: [content] dir; needed without a config).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "text", "html", "markdown"]),
    default="auto",
    show_default=True,
    help="Kind of the sources; auto goes by file suffix, then by the file's start.",
)
@click.option(
    "--date",
    "when",
    metavar="WHEN",
    help="Date of every imported article (default: from the source, else the file's mtime).",
)
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Add a tag (repeatable).")
@click.option("--section", default="", help="Section of the imported articles.")
@click.option(
    "--timezone",
    "zone_name",
    metavar="ZONE",
    help="IANA zone for dates without offset (default: the publication's, or UTC).",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the files and the dropped lines; write nothing."
)
@click.option("--force", is_flag=True, help="Overwrite content files that differ.")
@click.pass_context
def import_(
    ctx: click.Context,
    sources: tuple[Path, ...],
    into: Path | None,
    fmt: str,
    when: str | None,
    tags: tuple[str, ...],
    section: str,
    zone_name: str | None,
    dry_run: bool,
    force: bool,
) -> None:
    """Turn raw text, HTML or Markdown files into content files, one per SOURCE.

    Works without a config.toml when --into is given. A source that fails is reported on
    one line and the others are still imported; the exit code is then 1.
    """
    from .config import find_config
    from .errors import IngestError
    from .ingest.importer import import_sources, options_for, report_lines

    named = ctx.find_root().obj.get("config_path")  # --config or $SYNDICATE_CONFIG
    config = load(ctx) if named or find_config(None).is_file() else None
    options = options_for(
        config,
        into=into,
        zone_name=zone_name,
        when=when,
        fmt=fmt,
        tags=tags,
        section=section,
        dry_run=dry_run,
        force=force,
    )
    report = import_sources(sources, options)
    for line, to_stderr in report_lines(report, dry_run=dry_run):
        if to_stderr or dry_run or not quiet(ctx):
            click.echo(line, err=to_stderr)
    if report.problems:
        raise IngestError(report.problems)


@cli.group()
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
    from .delivery.dkim import keygen_for

    path, record = keygen_for(load(ctx), selector=selector, out=out, domain=domain, bits=bits)
    click.echo(f"wrote private key {path} (mode 600; keep it secret)")
    click.echo("publish this DNS TXT record, then set [email.dkim] selector and key_file:")
    click.echo(f"name:  {record.name}")
    click.echo(f"value: {record.value}")
    click.echo(f"zone:  {record.zone_line()}")


@cli.group()
def subscribers() -> None:
    """The subscriber list (state database): add, remove, list, import, export, unsubscribe."""


def _subscriber_db(ctx: click.Context) -> Any:
    from .delivery.subscribers import ensure_subscribers
    from .state import connect

    conn = connect(load(ctx).state_db)
    ensure_subscribers(conn)
    return conn


_STATUSES = ("active", "unsubscribed", "bounced", "pending", "complained")


@subscribers.command("add")
@click.argument("addresses", nargs=-1, required=True, metavar="EMAIL...")
@click.option("--name", default="", help="The subscriber's name (for one address).")
@click.option(
    "--resubscribe", is_flag=True, help="Make an unsubscribed or bounced address active again."
)
@click.pass_context
def subscribers_add(
    ctx: click.Context, addresses: tuple[str, ...], name: str, resubscribe: bool
) -> None:
    """Add addresses as active subscribers; existing ones are left as they are."""
    from .delivery.subscribers import add_subscriber

    if name and len(addresses) > 1:
        raise click.UsageError("--name goes with a single address")
    conn = _subscriber_db(ctx)
    try:
        for address in addresses:
            sub, created = add_subscriber(conn, address, name=name, resubscribe=resubscribe)
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
    from .delivery.subscribers import remove_subscriber

    conn = _subscriber_db(ctx)
    try:
        missing = [a for a in addresses if not remove_subscriber(conn, a)]
    finally:
        conn.close()
    for address in addresses:
        if address not in missing and not quiet(ctx):
            click.echo(f"removed {address}")
    if missing:
        raise click.ClickException(f"not subscribed: {', '.join(missing)}")


@subscribers.command("list")
@click.option("--status", type=click.Choice(_STATUSES), help="Only subscribers with this status.")
@click.option("--count", is_flag=True, help="Only the number of subscribers per status.")
@click.pass_context
def subscribers_list(ctx: click.Context, status: str | None, count: bool) -> None:
    """List subscribers, tab-separated: email, name, status, source, added."""
    from .delivery.subscribers import Status, count_by_status, list_subscribers

    conn = _subscriber_db(ctx)
    try:
        if count:
            for name, number in count_by_status(conn).items():
                click.echo(f"{name}\t{number}")
            return
        for sub in list_subscribers(conn, Status(status) if status else None):
            click.echo(f"{sub.email}\t{sub.name}\t{sub.status}\t{sub.source}\t{sub.created}")
    finally:
        conn.close()


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path), metavar="CSV")
@click.option(
    "--resubscribe",
    is_flag=True,
    help="Make unsubscribed, bounced or complained addresses in the file active again.",
)
@click.pass_context
def subscribers_import(ctx: click.Context, csv_file: Path, resubscribe: bool) -> None:
    """Import a CSV with a header row naming 'email' (and optionally 'name').

    Bad rows are listed as file:line: reason and skipped; addresses already known (also
    unsubscribed ones) are left alone, so importing twice changes nothing, and addresses
    that bounced or complained stay suppressed (unless --resubscribe). Exit 1 if any row
    was bad.
    """
    from .delivery.subscribers import import_csv

    conn = _subscriber_db(ctx)
    try:
        report = import_csv(conn, csv_file, resubscribe=resubscribe)
    finally:
        conn.close()
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
    from .delivery.subscribers import Status, export_csv, list_subscribers, write_export

    conn = _subscriber_db(ctx)
    try:
        chosen = Status(status) if status else None
        if str(csv_file) == "-":
            click.echo(export_csv(list_subscribers(conn, chosen)), nl=False)
            return
        count = write_export(conn, csv_file, chosen)
    finally:
        conn.close()
    if not quiet(ctx):
        click.echo(f"exported {count} subscribers to {csv_file}")


@subscribers.command("unsubscribe")
@click.argument("addresses", nargs=-1, metavar="[EMAIL]...")
@click.option(
    "--token", help="An unsubscribe token from a link (checked against $SYNDICATE_SECRET)."
)
@click.pass_context
def subscribers_unsubscribe(
    ctx: click.Context, addresses: tuple[str, ...], token: str | None
) -> None:
    """Unsubscribe addresses, or the address an unsubscribe link's --token names."""
    from .delivery.subscribers import unsubscribe
    from .delivery.tokens import load_secret, verify_token

    if bool(token) == bool(addresses):
        raise click.UsageError("give either EMAIL addresses or --token")
    if token:
        addresses = (verify_token(load_secret(), token),)
    conn = _subscriber_db(ctx)
    try:
        unknown = [a for a in addresses if unsubscribe(conn, a, how="cli") is None]
    finally:
        conn.close()
    for address in addresses:
        if address not in unknown and not quiet(ctx):
            click.echo(f"unsubscribed {address}")
    if unknown:
        raise click.ClickException(f"not subscribed: {', '.join(unknown)}")


@cli.command()
@click.option("--now", "now_text", metavar="ISO", help="Pretend the time is ISO (tests, back-fills).")
@click.option("--dry-run", is_flag=True, help="Say what would happen; write and send nothing.")
@click.option("--wait", is_flag=True, help="Wait for a running publish instead of exiting at once.")
@click.pass_context
def publish(ctx: click.Context, now_text: str | None, dry_run: bool, wait: bool) -> None:
    """Cron entry: build feeds, then send the edition if one is due. Safe to run every minute.

    Silent on success (add --verbose for one line per action); errors and warnings go to
    stderr. Exit 0 ok (also when another run holds the lock), 1 error, 3 recipients pending.
    """
    from .publish import publish as run_publish

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


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Run the web app (unsubscribe, subscribe, confirm) locally; syndicate.web:app for production."""
    from .delivery.tokens import load_secret
    from .web import serve as run_server

    config = load(ctx)
    load_secret()  # fail now, not on the first reader's click
    click.echo(f"serving {config.publication.title} on http://{host}:{port}/ (Ctrl-C to stop)")
    run_server(config, host, port)


@cli.group()
def bounces() -> None:
    """Bounces and complaints: stop mailing addresses that fail or report spam."""


@bounces.command("process")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def bounces_process(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Read DSNs (Maildir, mbox, .eml) and SES notification JSON; suppress bad addresses."""
    from .delivery.bounces import process_for_config

    report = process_for_config(load(ctx), paths)
    show_warnings(report.problems)
    for address, reason in report.suppressed:
        click.echo(f"suppressed {address}: {reason}")
    if not quiet(ctx):
        click.echo(report.summary())


@bounces.command("list")
@click.pass_context
def bounces_list(ctx: click.Context) -> None:
    """List suppressed addresses (tab-separated: email, kind, reason)."""
    from .delivery.bounces import suppressions_for_config

    for address, kind, reason in suppressions_for_config(load(ctx)):
        click.echo(f"{address}\t{kind}\t{reason}")


def main() -> None:
    """Console-script entry point."""
    cli(obj={})
