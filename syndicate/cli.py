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
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr, force=True)
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
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check config.toml and every article; list ALL problems as path:line: message."""
    from .build import validate as validate_all

    config = load(ctx)
    warnings = validate_all(config)
    show_warnings(warnings)
    if not quiet(ctx):
        click.echo(f"ok: {config.path.name} and {config.content_dir.name}/ are valid")


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--now", "now_text", metavar="ISO", help="Pretend the time is ISO (embargo checks).")
@click.pass_context
def build(ctx: click.Context, out: Path | None, now_text: str | None) -> None:
    """Run every enabled feed exporter; default out = [feeds] out (feeds/)."""
    from .build import build as run_build

    config = load(ctx)
    with progress_bar(ctx, "rendering") as progress:
        result = run_build(config, out=out, now=parse_now(now_text, ctx), progress=progress)
    show_warnings(result.warnings)
    for path in result.report.written:
        log.debug("wrote %s", path)
    if not quiet(ctx):
        click.echo(result.summary())


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


def main() -> None:
    """Console-script entry point."""
    cli(obj={})
