"""The correction half of ``publish``: tell the readers who got a corrected article, or say so.

``[corrections] email`` decides: ``auto`` sends a notice (``edition.notice_send``) for the
latest correction of kind ``correction`` of every article, once per correction, resuming an
unfinished one on the next run like an edition; ``ask`` tells the operator once, in the run's
warnings (cron mails them), which command would send it; ``never`` does nothing.
Clarifications and updates are never mailed by ``publish``: an editor can still send them
with ``syndicate email --correction SLUG --send``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..config import Config
from ..content.articles import load_articles
from ..delivery.send import graceful_sigterm
from ..edition.notice_send import due_count, notice_for, readers, record_notice, send_notice
from ..edition.notice_state import ensure_notices_table, status_of
from ..edition.sending import send_lock_path
from ..model import Article, Correction
from ..store.database import Connection
from ..store.lock import LockBusy, run_lock
from ..text.words import plural

if TYPE_CHECKING:
    from .run import PublishReport


def tell_readers(
    config: Config,
    conn: Connection,
    now: datetime,
    report: PublishReport,
    notes: Sequence[tuple[str, tuple[Correction, ...]]],
) -> None:
    """Send (``auto``) or mention (``ask``) the notices of corrections not yet handled."""
    mode = config.model.corrections.email
    if mode == "never":
        return
    ensure_notices_table(conn)
    waiting: dict[str, Correction] = {}
    for article_id, corrections in notes:
        latest = next(
            (c for c in reversed(corrections) if c.kind == "correction" and c.date <= now), None
        )
        if latest is None:
            continue
        status = status_of(conn, article_id, latest.key)
        if status == "sent" or (mode == "ask" and status is not None):
            continue
        waiting[article_id] = latest
    if not waiting:
        return  # the common cron run: every notice handled, nothing more loaded

    articles = {
        a.id: a
        for a in load_articles(config.content_dir, config.publication).articles
        if a.id in waiting
    }
    for article_id, correction in waiting.items():
        article = articles.get(article_id)
        if article is not None:
            _handle(config, conn, report, article, correction, mode)


def _handle(
    config: Config,
    conn: Connection,
    report: PublishReport,
    article: Article,
    correction: Correction,
    mode: str,
) -> None:
    notice = notice_for(conn, article, correction)
    if report.dry_run:
        count = due_count(conn, notice)
        if count:
            verb = "would send" if mode == "auto" else "would mention"
            report.act(f"correction notice {notice.key}: {verb} it ({plural(count, 'reader')})")
        return
    if not readers(conn, notice):
        record_notice(conn, notice, "sent")  # nobody got the article before the fix
        return
    if mode == "ask":
        record_notice(conn, notice, "asked")
        report.warnings.append(
            f"{article.slug}: a correction ({correction.date.isoformat()}) to an article "
            f"{plural(due_count(conn, notice), 'reader')} received by email; tell them with "
            f"`syndicate email --correction {article.slug} --send`"
        )
        return
    if _sender_busy(config):
        report.waiting += 1
        report.act(f"correction notice {notice.key}: another process is sending; next run")
        return
    with graceful_sigterm():
        result = send_notice(config, conn, notice)
    report.act(result.summary())
    if not result.complete:
        report.pending += result.pending
        report.waiting += result.deferred + result.queued
        report.warnings.extend(result.advice())


def _sender_busy(config: Config) -> bool:
    try:
        with run_lock(send_lock_path(config.state_db)):
            return False
    except LockBusy:
        return True
