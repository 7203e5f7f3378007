"""Several newsletters: `syndicate newsletters` and the `email --newsletter` side of `email`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..config import newsletter_config
from ..content.when import now_utc
from ..delivery.send import graceful_sigterm, send_test
from ..delivery.settings import DeliverySettings
from ..delivery.subscriptions import parse_where
from ..edition.newsletter_send import (
    prepare_send,
    preview_newsletter,
    send_prepared,
    state_connection,
)
from ..edition.newsletters import removed_newsletters
from ..edition.preview import NothingNew
from ..publish.newsletters import overview
from ..text.words import plural
from .group import confirm_send, finish_sends, progress_bar, quiet, show_warnings
from .publication import load, parse_now


@click.command("newsletters")
@click.option("--now", "now_text", metavar="ISO", help="Pretend the time is ISO.")
@click.pass_context
def newsletters(ctx: click.Context, now_text: str | None) -> None:
    """List the newsletters: id, title, active subscribers (by cadence), next due time."""
    config = load(ctx)
    if not config.model.newsletters:
        click.echo(
            "one newsletter ([email] and [schedule]); add [newsletters.<id>] tables to "
            "offer several"
        )
        return
    now = parse_now(now_text, ctx) or now_utc()
    conn = state_connection(config)
    try:
        lines = overview(config, conn, now)
        removed = removed_newsletters(config, conn)
    finally:
        conn.close()
    for line in lines:
        mark = " (default)" if line.default else ""
        click.echo(f"{line.id}\t{line.title}{mark}")
        split = ", ".join(f"{k or 'schedule'} {v}" for k, v in sorted(line.by_cadence.items()))
        click.echo(
            f"  {plural(line.active, 'active subscriber')}" + (f" ({split})" if split else "")
        )
        click.echo(f"  schedule: {line.schedule}")
        click.echo(f"  next due: {line.next_due}")
    for name, count in removed.items():
        click.echo(
            f"warning: {name!r} is no longer in the config but has "
            f"{plural(count, 'active subscription')} (kept, never sent)",
            err=True,
        )


def newsletter_email(
    ctx: click.Context,
    config: Any,
    now: datetime,
    *,
    newsletter: str | None,
    since: str | None,
    slugs: tuple[str, ...],
    out: Path | None,
    to: str | None,
    send: bool,
    yes: bool,
    cadence: str | None,
    where: tuple[str, ...],
    resend_uncertain: bool,
    skip_uncertain: bool,
) -> None:
    """`syndicate email` for a publication with [newsletters]."""
    ids = ", ".join(config.model.newsletters)
    if newsletter is None:
        what = "sending" if send else "a preview"
        raise click.UsageError(
            f"this publication has several newsletters ({ids}): {what} needs --newsletter ID"
        )
    if since or slugs:
        raise click.UsageError(
            "--since and --article choose articles for the one-newsletter edition; a "
            "newsletter's edition carries what each reader is owed"
        )
    segment = parse_where(where)
    if not send and (segment or cadence or yes or resend_uncertain or skip_uncertain):
        raise click.UsageError("--where, --cadence, --yes and the uncertain options go with --send")
    if not (send or to):
        result = preview_newsletter(config, newsletter, now=now, out=out)
        show_warnings(result.warnings)
        if isinstance(result, NothingNew):
            click.echo(f"nothing to send: no article is waiting for newsletter {newsletter!r}")
            return
        if not quiet(ctx):
            click.echo(
                f"edition {result.edition.id}: {plural(len(result.edition.articles), 'article')}"
            )
            click.echo(f"subject: {result.subject}")
            click.echo(f"html:    {result.html_path} ({result.html_bytes / 1024:.1f} KB)")
            click.echo(f"text:    {result.text_path}")
            click.echo(f"eml:     {result.eml_path} (To: {result.recipient})")
        return
    conn = state_connection(config)
    try:
        prepared = prepare_send(config, conn, newsletter, now=now, cadence=cadence, segment=segment)
        if prepared.empty:
            click.echo(f"nothing to send: no reader of {newsletter!r} is owed an article")
            return
        if to:
            edition, rendered = prepared.resumed[0] if prepared.resumed else prepared.planned[0][1:]
            settings = DeliverySettings.from_config(newsletter_config(config, newsletter))
            reply = send_test(settings, rendered, to)
            if not quiet(ctx):
                click.echo(f"test copy of edition {edition.id} sent to {to}: {reply}")
            return
        names = ", ".join(e.id for e, _ in prepared.resumed) or ", ".join(
            e.id for _, e, _ in prepared.planned
        )
        confirm_send(
            yes,
            f"Send {names} to {plural(prepared.recipients, 'recipient')}"
            f" via {config.model.email.transport}?",
        )
        with progress_bar(ctx, "sending") as progress, graceful_sigterm():
            reports = send_prepared(
                config,
                conn,
                prepared,
                segment=segment,
                progress=progress,
                resend_uncertain=resend_uncertain,
                skip_uncertain=skip_uncertain,
            )
    finally:
        conn.close()
    finish_sends(ctx, reports)
