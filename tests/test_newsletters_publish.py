"""Several newsletters through `publish --now` with real SMTP (aiosmtpd) and SQLite: each
reader gets exactly the newsletters and cadence they chose, every article exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest

from syndicate.config import configured_newsletters
from syndicate.content.articles import load_articles
from tests.conftest import Publication, Run
from tests.newsletters_fixture import (
    SECRET,
    START,
    config_of,
    delivered,
    ledger_messages,
    make_newsletters_pub,
)
from tests.smtp_server import smtp_server


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def expected(root: Path, newsletter: str, upto: str) -> set[str]:
    """Ids of the newsletter's articles dated up to ``upto`` (older story included)."""
    config = config_of(root)
    item = next(n for n in configured_newsletters(config) if n.id == newsletter)
    articles = load_articles(config.content_dir, config.publication).articles
    return {
        a.id for a in articles if item.matches(a.section, a.tags) and a.date.isoformat() <= upto
    }


def publish_runs(run: Run, root: Path, days: int) -> None:
    """A publish run every morning at 07:30 from START on, and Fridays at 18:00 too."""
    for day in range(days):
        for hour in (7.5, 18) if day % 7 == 4 else (7.5,):
            now = START + timedelta(days=day, hours=hour)
            result = run(root, "publish", "--now", now.isoformat())
            assert result.exit_code == 0, result.output + result.stderr


def test_three_readers_get_exactly_their_newsletters_over_two_weeks(
    make_pub: Publication, run: Run
) -> None:
    with smtp_server() as inbox:
        root = make_newsletters_pub(make_pub, inbox.port)
        assert run(root, "subscribers", "add", "ann@example.com").exit_code == 0  # defaults
        result = run(
            root,
            "subscribers",
            "add",
            "ben@example.com",
            "--newsletter",
            "climate",
            "--newsletter",
            "alerts",
            "--cadence",
            "immediate",
        )
        assert result.exit_code == 0, result.output + result.stderr
        result = run(
            root,
            "subscribers",
            "add",
            "cat@example.com",
            "--newsletter",
            "daily",
            "--newsletter",
            "climate",
            "--cadence",
            "weekly",
        )
        assert result.exit_code == 0, result.output + result.stderr
        publish_runs(run, root, 12)  # through Friday of the second week, 18:00

    got = delivered(root)
    # The last runs: Friday 07:30 (daily due at 07:00) and 18:00 (weekly due at 08:00) see
    # Thursday's story at most; immediate readers also got Friday's 10:00 one.
    friday, thursday = "2026-11-20T10:00:00+01:00", "2026-11-19T10:00:00+01:00"
    daily, climate = expected(root, "daily", thursday), expected(root, "climate", thursday)
    climate_now, alerts = expected(root, "climate", friday), expected(root, "alerts", friday)
    # Nobody gets an article twice within a newsletter; each gets all of theirs.
    for (email, newsletter), ids in got.items():
        assert len(ids) == len(set(ids)), (email, newsletter, Counter(ids).most_common(2))
    assert set(got) == {
        ("ann@example.com", "daily"),
        ("ben@example.com", "climate"),
        ("ben@example.com", "alerts"),
        ("cat@example.com", "daily"),
        ("cat@example.com", "climate"),
    }
    assert set(got[("ann@example.com", "daily")]) == daily
    assert set(got[("cat@example.com", "daily")]) == daily
    assert set(got[("ben@example.com", "climate")]) == climate_now
    assert set(got[("cat@example.com", "climate")]) == climate
    assert set(got[("ben@example.com", "alerts")]) == alerts
    # What the SMTP server received matches the ledger, message for message.
    assert len(inbox.messages) == sum(len(rows) for rows in ledger_messages(root).values())
    subjects = {m.message["Subject"] for m in inbox.to("ben@example.com")}
    assert any(s.startswith("Breaking: ") for s in subjects)
    # Weekly climate: two editions (the Fridays); immediate: one per climate article batch.
    cat_climate = [m for m in inbox.to("cat@example.com") if "climate" in m.message["Message-ID"]]
    assert len(cat_climate) == 2
    # Every message names its newsletter in the footer link, signed for that newsletter.
    for mail in inbox.messages:
        header = str(mail.message["List-Unsubscribe"])
        assert "/preferences?newsletter=" in header
    # Each newsletter has its own archive and editions feed; view-in-browser links point there.
    assert run(root, "build").exit_code == 0
    feeds = root / "feeds"
    climate_feed = feedparser.parse((feeds / "archive" / "climate" / "rss.xml").read_bytes())
    links = [entry.link for entry in climate_feed.entries]
    assert links and all("/feeds/archive/climate/climate-" in link for link in links)
    daily_index = (feeds / "archive" / "daily" / "index.html").read_text(encoding="utf-8")
    assert "Test Times: Daily" in daily_index and "climate-" not in daily_index
    assert not (feeds / "newsletter").exists()
    for mail in inbox.to("cat@example.com"):
        text = mail.message.get_body(("plain",)).get_content()
        edition = str(mail.message["Message-ID"]).split(".")[0].lstrip("<")
        newsletter = edition.split("-")[0]
        assert f"https://news.test/feeds/archive/{newsletter}/{edition}/" in text
        assert (feeds / "archive" / newsletter / edition / "index.html").is_file()
