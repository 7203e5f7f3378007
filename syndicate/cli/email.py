"""The `email` command: preview the next newsletter edition, send a test copy, or send it all.

Previewing and sending share one command because they share the edition choice (--since,
--article); the sending side lives in `_email_delivery` so each half reads on its own.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..content.articles import load_articles
from ..content.when import now_utc, parse_when
from ..delivery.send import graceful_sigterm, send_test
from ..delivery.settings import DeliverySettings
from ..edition.notice import render_notice, write_notice_preview
from ..edition.notice_send import due_count, find_article, notice_for, send_notice
from ..edition.preview import DEFAULT_OUT, NothingNew, preview_edition
from ..edition.sending import select_edition, send_edition, status_lines
from ..edition.state import open_state
from ..text.words import plural
from .group import confirm_send, finish_sends, progress_bar, quiet, show_warnings
from .newsletters import newsletter_email
from .publication import load, parse_now


@click.command()
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
@click.option(
    "--newsletter", metavar="ID", help="With [newsletters]: the newsletter to preview or send."
)
@click.option(
    "--cadence",
    type=click.Choice(("immediate", "daily", "weekly")),
    help="With --newsletter --send: the readers of this cadence (default: the newsletter's).",
)
@click.option(
    "--where", "where", multiple=True, metavar="KEY=VALUE", help="Send to this segment only."
)
@click.option(
    "--correction",
    "correction",
    metavar="SLUG",
    help="A notice of SLUG's latest correction to the readers who got it (with --send).",
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
    newsletter: str | None,
    cadence: str | None,
    where: tuple[str, ...],
    correction: str | None,
) -> None:
    """Render the next newsletter edition to --out (default newsletter/): EDITION.html/.txt/.eml.

    The edition holds every published article not yet sent, newest first, up to
    [email] max_articles; --since and --article choose the articles instead.
    --to ADDR sends one test copy; --send sends to every active subscriber and resumes an
    interrupted send (exit 3 while recipients are pending); --status EDITION shows the ledger.

    With [newsletters], name one with --newsletter ID (preview and send refuse otherwise);
    --where KEY=VALUE (repeatable, ANDed) sends to a segment of its readers only.
    --correction SLUG previews (or with --send sends) a notice of the article's latest
    correction to exactly the readers who received it in an edition.
    """
    config = load(ctx)
    now = parse_now(now_text, ctx) or now_utc()
    if config.model.newsletters and not status and not correction:
        newsletter_email(
            ctx,
            config,
            now,
            newsletter=newsletter,
            since=since,
            slugs=slugs,
            out=out,
            to=to,
            send=send,
            yes=yes,
            cadence=cadence,
            where=where,
            resend_uncertain=resend_uncertain,
            skip_uncertain=skip_uncertain,
        )
        return
    if newsletter or cadence or where:
        raise click.UsageError(
            f"--newsletter, --cadence and --where need [newsletters] in {config.path}"
        )
    since_at = parse_when(since, now, config.publication.timezone) if since else None
    if correction:
        if since or slugs or status:
            raise click.UsageError("--correction goes without --since, --article and --status")
        _correction_notice(
            ctx,
            config,
            correction,
            out=out,
            to=to,
            send=send,
            yes=yes,
            resend_uncertain=resend_uncertain,
            skip_uncertain=skip_uncertain,
        )
        return
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
        click.echo(_nothing_to_send(since_at is not None or bool(slugs), "preview"))
        return
    if not quiet(ctx):
        count = len(result.edition.articles)
        click.echo(f"edition {result.edition.id}: {count} article{'' if count == 1 else 's'}")
        click.echo(f"subject: {result.subject}")
        click.echo(f"html:    {result.html_path} ({result.html_bytes / 1024:.1f} KB)")
        click.echo(f"text:    {result.text_path}")
        click.echo(f"eml:     {result.eml_path} (To: {result.recipient})")
    if open_browser:
        _open_in_browser(result.html_path)


def _open_in_browser(path: Path) -> None:
    """Open ``path`` in a graphical browser, or say in one line where the file is.

    Without a display (ssh, a container) there is no browser to open: xdg-open would try six
    and print an error for each, and Python's fallback is a console browser that takes over
    the terminal. $BROWSER, when set, is always tried (webbrowser reads it).
    """
    graphical = (
        sys.platform in ("darwin", "win32")
        or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        or bool(os.environ.get("BROWSER"))
    )
    opened = False
    if graphical:
        try:
            opened = webbrowser.get().open(path.resolve().as_uri())
        except webbrowser.Error:
            opened = False
    if not opened:
        click.echo(f"no web browser to open here; open {path} yourself", err=True)


def _nothing_to_send(chosen: bool, what: str) -> str:
    """Why there is no edition, and (when the articles were not chosen) how to get one anyway:
    after an edition went out, a preview or test copy needs its articles named."""
    if chosen:
        return "nothing to send: no published article matches --since/--article"
    line = "nothing to send: no published article is waiting for a newsletter edition"
    if what:
        line += (
            f"\n(if they went out already: add --since 7d or --article SLUG for a {what} of them)"
        )
    return line


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
            click.echo(
                _nothing_to_send(since is not None or bool(slugs), "test copy" if to else "")
            )
            return
        if chosen.resumed and not quiet(ctx):
            click.echo(f"resuming edition {chosen.edition.id} (its send was not finished)")
        if to:
            reply = send_test(DeliverySettings.from_config(config), chosen.rendered, to)
            if not quiet(ctx):
                click.echo(f"test copy of edition {chosen.edition.id} sent to {to}: {reply}")
            return
        confirm_send(
            yes,
            f"Send edition {chosen.edition.id} ({chosen.edition.subject!r}) to "
            f"{plural(chosen.due, 'recipient')} via {config.model.email.transport}?",
        )
        with progress_bar(ctx, "sending", unit="messages", delay=0) as progress, graceful_sigterm():
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
    finish_sends(ctx, [report])


def _correction_notice(
    ctx: click.Context,
    config: Any,
    slug: str,
    *,
    out: Path | None,
    to: str | None,
    send: bool,
    yes: bool,
    resend_uncertain: bool,
    skip_uncertain: bool,
) -> None:
    """`email --correction SLUG`: preview the notice, send a test copy, or send it."""
    if to and send:
        raise click.UsageError("use one of --to and --send at a time")
    if (resend_uncertain or skip_uncertain or yes) and not send:
        raise click.UsageError("--yes, --resend-uncertain and --skip-uncertain go with --send")
    if resend_uncertain and skip_uncertain:
        raise click.UsageError("--resend-uncertain and --skip-uncertain exclude each other")
    loaded = load_articles(config.content_dir, config.publication)
    show_warnings(loaded.warnings)
    article = find_article(loaded.articles, slug)
    conn = open_state(config)
    try:
        notice = notice_for(conn, article)
        if to:
            rendered = render_notice(config, notice)
            reply = send_test(DeliverySettings.from_config(config), rendered, to)
            if not quiet(ctx):
                click.echo(f"test copy of correction notice {notice.key} sent to {to}: {reply}")
            return
        if not send:
            made = write_notice_preview(config, notice, out or config.resolve(DEFAULT_OUT))
            if not quiet(ctx):
                editions = ", ".join(e for e, _ in notice.carried_in) or "none yet"
                click.echo(f"correction notice {notice.key}")
                click.echo(f"subject: {notice.subject}")
                click.echo(f"carried in editions: {editions}")
                click.echo(f"readers to tell: {due_count(conn, notice)}")
                click.echo(f"html:    {made.html_path}")
                click.echo(f"text:    {made.text_path}")
                click.echo(f"eml:     {made.eml_path} (To: {made.recipient})")
            return
        due = due_count(conn, notice)
        confirm_send(
            yes,
            f"Send correction notice {notice.key} ({notice.subject!r}) to "
            f"{plural(due, 'reader')} via {config.model.email.transport}?",
        )
        with progress_bar(ctx, "sending") as progress, graceful_sigterm():
            report = send_notice(
                config,
                conn,
                notice,
                progress=progress,
                resend_uncertain=resend_uncertain,
                skip_uncertain=skip_uncertain,
            )
    finally:
        conn.close()
    finish_sends(ctx, [report])
