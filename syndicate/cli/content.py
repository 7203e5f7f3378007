"""Commands that set up and check a publication's content: init, validate, import."""

from __future__ import annotations

from pathlib import Path

import click

from ..build.validation import validate as validate_all
from ..config import find_config
from ..content.when import now_utc
from ..edition.lint import EmailLintError, lint_email
from ..errors import IngestError
from ..ingest.importer import import_sources, options_for, report_lines
from ..scaffold import scaffold
from .group import progress_bar, quiet, show_warnings
from .publication import load


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Write into a folder that already has a config.toml.")
def init(directory: Path, force: bool) -> None:
    """Scaffold a working publication in DIRECTORY (config, three articles, templates/)."""
    created = scaffold(directory, force=force)
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"next: cd {directory} && syndicate build")


@click.command()
@click.option(
    "--email",
    "check_email",
    is_flag=True,
    help="Also render the next edition and lint its email (alt text, size, links, footer).",
)
@click.pass_context
def validate(ctx: click.Context, check_email: bool) -> None:
    """Check config.toml and every article; list ALL problems as path:line: message."""
    config = load(ctx)
    warnings = validate_all(config)
    show_warnings(warnings)
    if not quiet(ctx):
        click.echo(f"ok: {config.path.name} and {config.content_dir.name}/ are valid")
    if check_email:
        result = lint_email(config, now=now_utc())
        if result.errors:
            raise EmailLintError(result.problems)
        show_warnings(list(result.problems))
        if not quiet(ctx):
            size = result.html_bytes / 1024
            click.echo(f"ok: email {result.edition_id} passes the email checks ({size:.0f} KB)")


@click.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the content files (default: [content] dir; needed without a config).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "text", "html", "markdown", "hugo", "jekyll", "wordpress"]),
    default="auto",
    show_default=True,
    help="Kind of the sources; auto goes by file suffix, then by the file's start; a folder "
    "is a Hugo or Jekyll site, a WordPress export (.xml) is read as one.",
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

    A SOURCE that is a Hugo or Jekyll site folder, or a WordPress export (WXR), brings in
    every post, keeping dates, authors, slugs, URLs and feed ids; what could not be carried
    over is listed at the end.

    Works without a config.toml when --into is given. A source that fails is reported on
    one line and the others are still imported; the exit code is then 1.
    """
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
    with progress_bar(ctx, "importing", unit="documents") as progress:
        report = import_sources(sources, options, progress)
    for line, to_stderr in report_lines(report, dry_run=dry_run):
        if to_stderr or dry_run or not quiet(ctx):
            click.echo(line, err=to_stderr)
    if report.problems:
        raise IngestError(report.problems)
