"""A three-newsletter publication for tests: config, articles over two weeks, ledger checks."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from syndicate.config import Config, load_config
from syndicate.store.database import connect
from tests.conftest import Publication, article

SECRET = "newsletter-tests-secret-0123456789"
START = datetime.fromisoformat("2026-11-09T00:00:00+01:00")  # a Monday

NEWSLETTERS = """
[newsletters.daily]
title = "Test Times: Daily"
schedule = "daily"
time = "07:00"
default = true

[newsletters.climate]
title = "Climate Weekly"
sections = ["Climate"]
tags = ["climate", "energy"]
schedule = "weekly"
day = "friday"
time = "08:00"
cadences = ["immediate", "daily", "weekly"]

[newsletters.alerts]
title = "Breaking"
tags = ["breaking"]
schedule = "on-new"
subject = "Breaking: {{ edition.articles[0].title }}"
"""


def smtp_email(port: int) -> str:
    """The [email] lines sending through a loopback SMTP sink."""
    return (
        'transport = "smtp"\n'
        "[email.smtp]\n"
        f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = 10\n'
        "[email.sending]\nretry_delay = 0.05\n"
    )


def two_weeks() -> dict[str, str]:
    """One article a day at 10:00 for twelve days: every third about climate (section or
    tag), every fourth breaking; plus one from the week before."""
    files = {"old.md": article("An older story", date="2026-11-02T10:00:00+01:00", summary="Old.")}
    for day in range(12):
        when = START + timedelta(days=day, hours=10)
        fields: dict[str, object] = {"summary": f"Story of day {day}."}
        tags = []
        if day % 3 == 0:
            if day % 2:
                tags.append("energy")
            else:
                fields["section"] = "Climate"
        if day % 4 == 1:
            tags.append("breaking")
        if tags:
            fields["tags"] = tags
        files[f"day{day:02d}.md"] = article(
            f"Story {day:02d}", date=when.isoformat(), body=f"Body {day}.\n", **fields
        )
    return files


def make_newsletters_pub(make_pub: Publication, port: int, extra: str = "") -> Path:
    """The publication on disk."""
    return make_pub(two_weeks(), email=smtp_email(port), extra=NEWSLETTERS + extra)


def config_of(root: Path) -> Config:
    return load_config(root / "config.toml")


def delivered(root: Path) -> dict[tuple[str, str], list[str]]:
    """(email, newsletter) -> article ids in every ledger row sent, in send order."""
    conn = connect(config_of(root).state_target)
    try:
        return _delivered(conn)
    finally:
        conn.close()


def _delivered(conn: sqlite3.Connection) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    rows = conn.execute(
        "SELECT d.email, n.newsletter, ea.article_id FROM deliveries d"
        " JOIN newsletter_editions n ON n.edition_id = d.edition"
        " JOIN edition_articles ea ON ea.edition_id = d.edition"
        " WHERE d.state = 'sent' ORDER BY d.updated, d.edition, ea.position"
    )
    for row in rows:
        found[(row[0], row[1])].append(row[2])
    return dict(found)


def article_id(root: Path, slug: str) -> str:
    """The id syndicate gives the article with this slug (file name without .md)."""
    return f"https://news.test/{slug}/"


def ledger_messages(root: Path) -> dict[str, list[str]]:
    """email -> the editions the ledger says were sent to it."""
    conn = connect(config_of(root).state_target)
    try:
        found: dict[str, list[str]] = defaultdict(list)
        for row in conn.execute("SELECT email, edition FROM deliveries WHERE state = 'sent'"):
            found[row[0]].append(row[1])
        return dict(found)
    finally:
        conn.close()
