"""The root `syndicate` group and the helpers every command shares.

The group turns a SyndicateError into a message and an exit code in one place, so commands
never print tracebacks; the helpers keep cron quiet. Only click and the error types are
imported here: `syndicate --help` must stay fast.

Each command's module is imported when that command runs, not before (``COMMANDS``): its
imports are at its top, so importing every command module would load the whole core for
any one of them. ``--help`` lists the commands from the table's summaries, as pip does;
``tests/test_cli_docs.py`` checks they match the commands' own help.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path, PurePath
from typing import Any, NamedTuple, NoReturn, Protocol

import click

from .. import __version__
from ..errors import Problem, ProblemsError, SyndicateError, explain


class Lazy(NamedTuple):
    """A command the root group imports on first use: its module (in ``syndicate.cli``) and
    the first paragraph of its help, which ``syndicate --help`` shows without importing it."""

    module: str
    summary: str
    attribute: str = ""  # the command object's name in the module, if not the command's


COMMANDS: dict[str, Lazy] = {
    "bounces": Lazy(
        "mailing", "Bounces and complaints: stop mailing addresses that fail or report spam."
    ),
    "build": Lazy(
        "build", "Run every enabled feed exporter; default out = [feeds] out (feeds/)."
    ),
    "db": Lazy(
        "db",
        "The state database: schema revisions (upgrade, current), moving to PostgreSQL, pruning.",
    ),
    "digest": Lazy(
        "publishing",
        "Plain-text digest of [--since, --until) (default: the last 7 days) to stdout or FILE.",
    ),
    "dkim": Lazy("mailing", "DKIM signing keys for outgoing mail ([email.dkim] in config.toml)."),
    "email": Lazy(
        "email",
        "Render the next newsletter edition to --out (default newsletter/): "
        "EDITION.html/.txt/.eml.",
    ),
    "import": Lazy(
        "content",
        "Turn raw text, HTML or Markdown files into content files, one per SOURCE.",
        "import_",
    ),
    "init": Lazy(
        "content",
        "Scaffold a working publication in DIRECTORY (config, three articles, templates/).",
    ),
    "newsletters": Lazy(
        "newsletters",
        "List the newsletters: id, title, active subscribers (by cadence), next due time.",
    ),
    "publish": Lazy(
        "publishing",
        "Cron entry: build feeds, then send the edition if one is due. Safe to run every minute.",
    ),
    "report": Lazy(
        "reports",
        "Report on sent editions: recipients, delivered, deferred, failed, uncertain, bounces, "
        "complaints, unsubscribes, clicks per link, send duration and rate, and the trend.",
    ),
    "serve": Lazy(
        "mailing",
        "Run the web app (unsubscribe, subscribe, confirm) locally; "
        "syndicate.web:app for production.",
    ),
    "subscribers": Lazy(
        "mailing",
        "The subscriber list (state database): add, remove, list, import, export, unsubscribe.",
    ),
    "validate": Lazy(
        "content", "Check config.toml and every article; list ALL problems as path:line: message."
    ),
}  # fmt: skip


class LazyCommands(MutableMapping[str, click.Command]):
    """The root group's ``commands``: a command's module is imported when the command is first
    looked up (click's own lookups, ``cli.commands[name]``); listing the names imports none."""

    def __init__(self, table: Mapping[str, Lazy], loaded: Callable[[click.Command], None]) -> None:
        self._table = table
        self._loaded = loaded  # called once per command imported
        self._commands: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._commands:
            if name not in self._table:
                raise KeyError(name)
            # The import is by name: the table above is the list of arrows (cli -> its modules).
            lazy = self._table[name]
            module = importlib.import_module(f".{lazy.module}", __package__)
            command = getattr(module, lazy.attribute or name)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module.__name__}.{name} is not a click command")
            self._loaded(command)
            self._commands[name] = command
        return self._commands[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._commands[name] = command

    def __delitem__(self, name: str) -> None:
        del self._commands[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({*self._table, *self._commands}))

    def __len__(self) -> int:
        return len({*self._table, *self._commands})


class Group(click.Group):
    """Turns every SyndicateError into a clean message and its exit code: no tracebacks.

    Every command also takes ``--verbose``/``--quiet`` after its name, as the README's cron
    line writes it (``syndicate publish --verbose``), not only before it.
    """

    group_class = type  # subgroups (subscribers, bounces, dkim) are Groups too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _add_verbosity_options(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProblemsError as exc:
            for problem in exc.problems:
                click.echo(shown(problem), err=True)
            count = sum(1 for problem in exc.problems if not problem.warning)
            click.echo(f"error: {count} problem{'s' if count != 1 else ''} found", err=True)
            ctx.exit(exc.exit_code)
        except SyndicateError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except click.ClickException as exc:
            _report_click_error(ctx, exc)
        except Exception as exc:  # only machine failures are translated, see below
            # A full disk, a read-only mount, a damaged state database: one line naming the
            # file and what to do; anything else (a bug) keeps its traceback.
            error = explain(exc, _state_db(ctx))
            if error is None:
                raise
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:  # e.g. an unknown option before the command
            _report_click_error(ctx, exc)


class _Root(Group):
    """The ``syndicate`` group: its commands are imported on first use (``COMMANDS``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(COMMANDS, _add_verbosity_options)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's list of commands, from the summaries in ``COMMANDS`` (no command module is
        imported for ``--help``)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (
                name,
                # a stand-in with the command's summary as its help: click shortens it alike
                click.Command(name, help=COMMANDS[name].summary).get_short_help_str(limit)
                if name in COMMANDS
                else self.commands[name].get_short_help_str(limit),
            )
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _add_verbosity_options(cmd: click.Command) -> None:
    if not isinstance(cmd, click.Group):
        cmd.params.extend(_verbosity_options())


def _report_click_error(ctx: click.Context, exc: click.ClickException) -> NoReturn:
    """click's own errors with our one prefix, ``error: ...`` (click writes ``Error: ...``),
    and for a usage mistake where to find the help."""
    click.echo(f"error: {exc.format_message()}", err=True)
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        click.echo(f"Try '{exc.ctx.command_path} --help' for help.", err=True)
    ctx.exit(exc.exit_code)


def _state_db(ctx: click.Context) -> Path | None:
    """The loaded publication's state database, to name it in a database error."""
    config = (ctx.find_root().obj or {}).get("config")
    return getattr(config, "state_db", None)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
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
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    _set_verbosity(ctx, 1 if verbosity is None else verbosity)


def _set_verbosity(ctx: click.Context, verbosity: int) -> None:
    """Record the verbosity for the commands and set the log levels to match."""
    level = {0: logging.WARNING, 2: logging.DEBUG}.get(verbosity, logging.INFO)
    # Only our own loggers follow --verbose: libraries' debug output (markdown-it logs every
    # block rule it tries) would drown the one line per action that cron logs want.
    logging.basicConfig(
        level=max(level, logging.INFO), format="%(message)s", stream=sys.stderr, force=True
    )
    logging.getLogger("syndicate").setLevel(level)
    ctx.find_root().obj["verbosity"] = verbosity


def _verbosity_options() -> list[click.Option]:
    """``--verbose``/``-v`` and ``--quiet``/``-q`` for a command (the same as the global ones)."""

    def given(verbosity: int) -> Callable[[click.Context, click.Parameter, bool], None]:
        def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
            if value:
                _set_verbosity(ctx, verbosity)

        return callback

    return [
        click.Option(
            ["--verbose", "-v", "verbose_flag"],
            is_flag=True,
            expose_value=False,
            callback=given(2),
            help="Say what every step does (same as syndicate --verbose).",
        ),
        click.Option(
            ["--quiet", "-q", "quiet_flag"],
            is_flag=True,
            expose_value=False,
            callback=given(0),
            help="Only errors and warnings (same as syndicate --quiet).",
        ),
    ]


def quiet(ctx: click.Context) -> bool:
    """True under --quiet: commands then print nothing but errors and warnings."""
    return bool(ctx.find_root().obj.get("verbosity") == 0)


def confirm_send(yes: bool, question: str) -> None:
    """``--send``'s confirmation: asked on a terminal; anywhere else (cron) ``--yes`` says it."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError("--send needs confirmation: run it on a terminal, or pass --yes")
    click.confirm(question, abort=True)


class _SendOutcome(Protocol):
    @property
    def exit_code(self) -> int: ...

    def summary(self) -> str: ...

    def advice(self) -> Iterable[str]: ...


def finish_sends(ctx: click.Context, reports: Iterable[_SendOutcome]) -> NoReturn:
    """Each send's summary (stdout) and advice (stderr), then exit with the worst code."""
    code = 0
    for report in reports:
        click.echo(report.summary())
        for note in report.advice():
            click.echo(note, err=True)
        code = max(code, report.exit_code)
    ctx.exit(code)


def show_warnings(warnings: tuple[Problem, ...] | list[Problem]) -> None:
    """Print warnings to stderr, one path:line: message each (stdout stays the command's)."""
    for warning in warnings:
        click.echo(shown(warning), err=True)


def shown(problem: Problem) -> str:
    """A problem as ``path:line: message``, its path relative to the publication (the folder
    of config.toml) as the README shows it, whatever the working directory; paths outside
    the publication stay as they are."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    config = obj.get("config") if isinstance(obj, dict) else None
    if config is None or not isinstance(problem.path, PurePath):
        return str(problem)
    path = Path(problem.path)
    try:
        root = config.path.parent.absolute()
        relative = (path if path.is_absolute() else Path.cwd() / path).relative_to(root)
    except (ValueError, OSError):
        return str(problem)
    return str(replace(problem, path=relative))


PROGRESS_DELAY = 0.5  # seconds a run must last before it gets a bar: small runs stay quiet
PROGRESS_LARGE = 50  # ... unless it has at least this many items: then at once


@contextmanager
def progress_bar(
    ctx: click.Context, label: str, *, unit: str = "items", delay: float = PROGRESS_DELAY
) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar with position, rate and ETA on a terminal's stderr; nothing at all
    under cron, with --quiet, or when stderr is not a terminal.

    click's own bar (click is already the CLI's library; rich would add a dependency and
    start-up time for the same line). It appears at once for a run of PROGRESS_LARGE items
    or more, else only once the run has lasted ``delay`` seconds, so a quick build or a
    ten-row import prints nothing extra.
    """
    if quiet(ctx) or not sys.stderr.isatty():
        yield None
        return
    started = time.monotonic()
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        elapsed = time.monotonic() - started
        bar = state.get("bar")
        if bar is None:
            if elapsed < delay and (total < PROGRESS_LARGE or done >= total):
                return  # not due yet, or finished before it was
            bar = click.progressbar(
                length=total,
                label=label,
                file=sys.stderr,
                show_pos=True,
                show_percent=True,
                show_eta=True,
                item_show_func=lambda rate: rate,
            )
            bar.__enter__()
            state["bar"] = bar
        if total != bar.length:
            bar.length = total
        rate = f"{done / elapsed:,.1f} {unit}/s" if elapsed > 0 else ""
        bar.update(done - bar.pos, rate)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)
