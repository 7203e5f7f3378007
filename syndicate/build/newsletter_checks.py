"""``validate``'s checks of ``[newsletters]``: a newsletter no article matches, and
subscriptions left to a newsletter the config no longer has (kept, never silently dropped)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from ..config import Config, configured_newsletters, key_line
from ..content.articles import select_published
from ..delivery import subscriptions
from ..errors import Problem
from ..model import Article
from ..store.database import connect_readonly
from ..text.words import plural


def newsletter_warnings(config: Config, articles: Sequence[Article]) -> list[Problem]:
    """Warnings (never errors: the publication still works) naming the config line."""
    if not config.model.newsletters:
        return []
    text = config.path.read_text(encoding="utf-8")
    published = select_published(articles, datetime.now(UTC))
    warnings = [
        Problem(
            config.path,
            key_line(text, ("newsletters", item.id)),
            f"newsletters.{item.id}: no published article matches its sections "
            f"{item.settings.sections} or tags {item.settings.tags}; its editions "
            "stay empty until one does",
            True,
        )
        for item in configured_newsletters(config)
        if not any(item.matches(a.section, a.tags) for a in published)
    ]
    warnings += [
        Problem(
            config.path,
            None,
            f"newsletters: {name!r} is not in the config, but {config.state_db.name} holds "
            f"{plural(active, 'active subscription')} to it; they are kept and nothing is "
            f"sent for it. Add [newsletters.{name}] back to send it again",
            True,
        )
        for name, active in removed_subscriptions(config).items()
    ]
    return warnings


def removed_subscriptions(config: Config) -> dict[str, int]:
    """Newsletter ids with active subscriptions but no config table (read-only look)."""
    if not config.state_url and not config.state_db.exists():
        return {}
    conn = connect_readonly(config.state_target)
    try:
        if not subscriptions.installed(conn):
            return {}
        known = set(config.model.newsletters)
        return {
            name: active
            for name, active in subscriptions.newsletter_ids_in_use(conn).items()
            if name not in known and active
        }
    except sqlite3.Error:
        return {}  # an unreadable database is `publish`'s to report, not validate's
    finally:
        conn.close()
