"""Sending correction notices: who gets one, the record of each notice, and the send itself.

The readers are those the ledger shows with a delivered (``sent``) copy of an edition that
carried the article and was planned before the correction was made, and who are still
active: not later subscribers, not those who have since unsubscribed, bounced, complained or
were suppressed. The send is ``delivery.send.deliver`` with those addresses, under the notice's
own ledger key, so it is resumable and exactly-once like an edition, and a rerun sends nothing.

The notices' own record (``notice_state``, the store component ``corrections``) keeps each
notice's key for life and whether it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from ..config import Config
from ..crashpoints import crash_transport
from ..delivery import ledger as ledger_db
from ..delivery.engine import Progress
from ..delivery.send import SendReport, deliver
from ..delivery.settings import DeliverySettings
from ..delivery.tokens import load_secret
from ..delivery.transports import Transport
from ..delivery.transports.make import make_transport
from ..errors import DeliveryError, UsageError
from ..model import Article, Correction
from ..store.database import Connection
from ..store.lock import LockBusy, run_lock
from . import stream
from .notice import Notice, notice_key, render_notice
from .notice_state import ensure_notices_table, record
from .sending import send_lock_path
from .state import ensure_editions_schema


def ensure_notices_schema(conn: Connection) -> None:
    """Create or upgrade the notices table and the editions and ledger tables it reads."""
    ensure_editions_schema(conn)
    ledger_db.ensure_ledger(conn)
    ensure_notices_table(conn)


def find_article(articles: Sequence[Article], slug: str) -> Article:
    """The article with this slug, or a UsageError saying what to do."""
    for article in articles:
        if article.slug == slug:
            if not article.corrections:
                raise UsageError(
                    f"article {slug!r} ({article.source or 'content/'}) has no corrections; "
                    "add a [[corrections]] entry to its front matter first"
                )
            return article
    raise UsageError(
        f"no article with slug {slug!r}; a slug is the file name without its leading date "
        "and extension, unless the front matter sets `slug`"
    )


def notice_for(
    conn: Connection, article: Article, correction: Correction | None = None
) -> Notice:
    """The notice of ``correction`` (default: the article's latest) with its lasting key and
    the editions that carried the article before it."""
    ensure_notices_schema(conn)
    chosen = correction or article.latest_correction
    if chosen is None:
        raise UsageError(f"article {article.slug!r} has no corrections")
    row = conn.execute(
        "SELECT send_key FROM correction_notices WHERE article_id = ? AND correction = ?",
        (article.id, chosen.key),
    ).fetchone()
    key = row[0] if row is not None else notice_key(article, chosen)
    carried = carried_in(conn, article, chosen)
    placed = [
        stream.placement(conn, edition_id) for edition_id, _ in carried if stream.installed(conn)
    ]
    return Notice(
        key=key,
        article=article,
        correction=chosen,
        carried_in=carried,
        newsletter=next((p.newsletter for p in placed if p is not None), ""),
    )


def carried_in(
    conn: Connection, article: Article, correction: Correction
) -> tuple[tuple[str, datetime], ...]:
    """The editions (id, planned) that carried the article and were made before the
    correction, oldest first: later ones went out with the text already corrected."""
    rows = conn.execute(
        "SELECT e.id, e.created FROM editions e JOIN edition_articles a ON a.edition_id = e.id"
        " WHERE a.article_id = ? AND e.status IN ('sending', 'sent')",
        (article.id,),
    ).fetchall()
    found = [(row[0], datetime.fromisoformat(row[1])) for row in rows]
    return tuple(sorted((e for e in found if e[1] < correction.date), key=lambda e: (e[1], e[0])))


def readers(conn: Connection, notice: Notice) -> dict[str, str]:
    """Every address (lower-case) the ledger shows with a delivered copy of an edition that
    carried the article, with the newsletter of that edition ("" outside ``[newsletters]``).

    A newsletter's reader is kept only while still subscribed to a newsletter whose edition
    carried the article (the first such, whose preferences link the notice then carries):
    leaving a newsletter also means no notices about what it sent.
    """
    found: dict[str, str] = {}
    for edition_id, _ in notice.carried_in:
        placed = stream.placement(conn, edition_id) if stream.installed(conn) else None
        if placed is None:
            rows = conn.execute(
                "SELECT email FROM deliveries WHERE edition = ? AND state = 'sent'"
                " ORDER BY subscriber_id, email",
                (edition_id,),
            )
        else:
            rows = conn.execute(
                "SELECT d.email FROM deliveries d WHERE d.edition = ? AND d.state = 'sent'"
                " AND EXISTS (SELECT 1 FROM subscriptions x JOIN subscribers y"
                " ON y.id = x.subscriber_id WHERE y.email = d.email AND x.newsletter = ?"
                " AND x.status = 'active') ORDER BY d.subscriber_id, d.email",
                (edition_id, placed.newsletter),
            )
        for row in rows:
            found.setdefault(row[0].lower(), placed.newsletter if placed else "")
    return found


def notice_status(conn: Connection, notice: Notice) -> str | None:
    """``asked``, ``sending`` or ``sent``; None for a notice never recorded."""
    ensure_notices_schema(conn)
    row = conn.execute(
        "SELECT status FROM correction_notices WHERE send_key = ?", (notice.key,)
    ).fetchone()
    return None if row is None else str(row[0])


def record_notice(conn: Connection, notice: Notice, status: str) -> None:
    """Record (or move on) the notice; a sent notice stays sent."""
    record(conn, notice.key, notice.article.id, notice.correction.key, status)


def due_count(conn: Connection, notice: Notice) -> int:
    """How many readers a send of this notice would try now."""
    ensure_notices_schema(conn)
    have = {row.email.lower() for row in ledger_db.rows(conn, notice.key)}
    waiting = sum(
        1
        for row in ledger_db.rows(conn, notice.key)
        if row.state in (ledger_db.RowState.QUEUED, ledger_db.RowState.DEFERRED)
    )
    active = {
        row[0].lower()
        for row in conn.execute("SELECT email FROM subscribers WHERE status = 'active'")
    }
    return waiting + sum(1 for a in readers(conn, notice) if a in active and a not in have)


def send_notice(
    config: Config,
    conn: Connection,
    notice: Notice,
    *,
    resend_uncertain: bool = False,
    skip_uncertain: bool = False,
    progress: Progress | None = None,
    transport: Transport | None = None,
) -> SendReport:
    """Send the notice to its readers through the ledger; safe to call again at any time
    (it resumes, and once every reader is handled a call sends nothing)."""
    if resend_uncertain and skip_uncertain:
        raise DeliveryError("choose one of resend_uncertain and skip_uncertain")
    settings = DeliverySettings.from_config(config)
    secret = load_secret()
    # ``SYNDICATE_CRASH_AT=send:N`` kills a notice send mid-run, as it does publish's sends.
    chosen = transport or crash_transport(make_transport(settings.transport))
    rendered = render_notice(config, notice)
    try:
        with run_lock(send_lock_path(config.state_db)):
            ensure_notices_schema(conn)
            if notice_status(conn, notice) != "sent":
                record_notice(conn, notice, "sending")
            who = readers(conn, notice)
            report, after = deliver(
                settings,
                conn,
                rendered,
                secret=secret,
                transport=chosen,
                resend_uncertain=resend_uncertain,
                skip_uncertain=skip_uncertain,
                progress=progress,
                recipients=list(who),
                newsletters={address: name for address, name in who.items() if name},
            )
            if after.complete or not after.total:
                record_notice(conn, notice, "sent")
    except LockBusy as exc:
        raise DeliveryError(
            f"another syndicate process is sending ({exc.holder or 'see ' + str(exc.path)}); "
            "wait for it to finish"
        ) from None
    return replace(report, what="correction notice")
