"""The newsletter archive: sent editions as pages without personal data, an index, feeds."""

from __future__ import annotations

import mailbox
import sqlite3
from datetime import datetime
from pathlib import Path

import feedparser
import pytest

from syndicate.config import Config, load_config
from syndicate.delivery.subscribers import add_subscriber
from syndicate.delivery.tokens import make_token
from syndicate.store.database import connect
from tests.conftest import Publication, Run, article, tree_bytes

pytestmark = pytest.mark.both_backends

SECRET = "archive-test-secret-0123456789"
READER = "reader.person@example.com"


@pytest.fixture
def pub(make_pub: Publication, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    root = make_pub(
        {
            "first.md": article(
                "First story", date="2026-11-02T09:00:00+01:00", summary="The first one."
            ),
            "second.md": article(
                "Second story", date="2026-11-09T09:00:00+01:00", summary="The second one."
            ),
        }
    )
    config = load_config(root / "config.toml")
    conn = connect(config.state_target)
    add_subscriber(conn, READER, name="Reader Person")
    conn.close()
    return config


def send(config: Config, now: str) -> str:
    from syndicate.edition.render import render_edition
    from syndicate.edition.sending import send_edition
    from syndicate.edition.state import open_state, plan_edition

    conn = open_state(config)
    try:
        edition = plan_edition(config, conn, now=datetime.fromisoformat(now))
        assert edition is not None
        report = send_edition(config, conn, edition, render_edition(config, edition))
        assert report.complete and report.sent == 1
        return edition.id
    finally:
        conn.close()


def test_two_sent_editions_are_archived_without_personal_data(pub: Config, run: Run) -> None:
    first = send(pub, "2026-11-03T09:00:00+01:00")
    second = send(pub, "2026-11-10T09:00:00+01:00")
    folder = pub.feeds_dir / "newsletter"
    # The send itself published the pages: the view-in-browser link works at once.
    index = (folder / "index.html").read_text()
    assert index.index(f'href="{second}/"') < index.index(f'href="{first}/"')  # newest first
    assert "First story" in index and "Second story" in index

    token = make_token(SECRET.encode(), READER)
    for edition_id, title in ((first, "First story"), (second, "Second story")):
        page = (folder / edition_id / "index.html").read_text()
        assert title in page
        assert token not in page and "token=" not in page
        assert READER not in page and "Reader Person" not in page
        assert "SYNDICATE-" not in page  # no placeholder left unfilled
        assert 'href="https://news.test/subscribe"' in page  # the unsubscribe link, neutral
        assert ">Subscribe</a>" in page and "Unsubscribe</a>" not in page
        assert f"https://news.test/feeds/newsletter/{edition_id}/" in page
        # The page does not offer to open itself in a browser: it is that page.
        assert "View in your browser" not in page
        assert "· ·" not in page and "·  ·" not in page

    outbox = mailbox.Maildir(pub.root / "outbox", create=False)
    view_links = {str(m["Message-ID"]): m.as_string() for m in outbox}
    assert any(
        f"https://news.test/feeds/newsletter/{second}/" in text for text in view_links.values()
    )

    for name in ("rss.xml", "atom.xml"):
        feed = feedparser.parse((folder / name).read_bytes())
        assert feed.bozo == 0, feed.get("bozo_exception")
        assert [e.link for e in feed.entries] == [
            f"https://news.test/feeds/newsletter/{second}/",
            f"https://news.test/feeds/newsletter/{first}/",
        ]
        assert "Second story" in feed.entries[0].summary


def test_build_keeps_archive_deterministic_and_frozen(pub: Config, run: Run) -> None:
    first = send(pub, "2026-11-03T09:00:00+01:00")
    send(pub, "2026-11-10T09:00:00+01:00")
    root = pub.root
    assert run(root, "build", "--now", "2026-11-20T09:00:00+01:00").exit_code == 0
    before = tree_bytes(pub.feeds_dir / "newsletter")
    stamps = {p: p.stat().st_mtime_ns for p in (pub.feeds_dir / "newsletter").rglob("*.*")}
    # An article edited after it was sent does not change the edition that carried it.
    source = root / "content" / "first.md"
    source.write_text(source.read_text().replace("First story", "First story, corrected"))
    result = run(root, "build", "--now", "2026-11-20T09:00:00+01:00")
    assert result.exit_code == 0, result.output
    assert tree_bytes(pub.feeds_dir / "newsletter") == before
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # unchanged files untouched
    assert (
        "First story, corrected"
        not in (pub.feeds_dir / "newsletter" / first / "index.html").read_text()
    )
    # A build elsewhere writes the same bytes.
    other = root / "elsewhere"
    assert (
        run(root, "build", "--out", str(other), "--now", "2026-11-20T09:00:00+01:00").exit_code == 0
    )
    assert tree_bytes(other / "newsletter") == before


def test_no_sent_edition_no_archive_and_no_state_written(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alone")})
    assert run(root, "build").exit_code == 0
    assert not (root / "feeds" / "newsletter").exists()
    db = root / "state" / "syndicate.db"
    if db.exists():
        conn = sqlite3.connect(db)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        conn.close()
        assert "edition_archive" not in tables


def test_edition_sent_without_snapshot_is_rendered_from_content(pub: Config, run: Run) -> None:
    from syndicate.edition.state import mark_sent, open_state, plan_edition

    conn = open_state(pub)
    edition = plan_edition(pub, conn, now=datetime.fromisoformat("2026-11-03T09:00:00+01:00"))
    assert edition is not None
    mark_sent(conn, edition, at=datetime.fromisoformat("2026-11-03T09:05:00+01:00"))
    conn.close()
    result = run(pub.root, "build", "--now", "2026-11-20T09:00:00+01:00")
    assert result.exit_code == 0, result.output
    page = (pub.feeds_dir / "newsletter" / edition.id / "index.html").read_text()
    assert "First story" in page and "SYNDICATE-" not in page
    index = (pub.feeds_dir / "newsletter" / "index.html").read_text()
    assert "2026-11-03" in index


def test_archive_page_drops_recipient_sentence(pub: Config) -> None:
    from syndicate.edition.archive_page import page_html
    from syndicate.edition.render import render_edition
    from syndicate.edition.state import open_state, plan_edition

    conn = open_state(pub)
    edition = plan_edition(pub, conn, now=datetime.fromisoformat("2026-11-03T09:00:00+01:00"))
    conn.close()
    assert edition is not None
    rendered = render_edition(pub, edition)
    assert "You are receiving this email because" in rendered.html
    page = page_html(pub, rendered)
    assert "You are receiving this email because" not in page
    assert '<link rel="alternate" type="application/rss+xml"' in page
    assert Path(pub.feeds_dir).name == "feeds"


def test_publish_sends_and_archives_the_edition(pub: Config, run: Run) -> None:
    config_file = pub.path
    config_file.write_text(config_file.read_text() + '\n[schedule]\nemail = "on-new"\n')
    result = run(pub.root, "publish", "--now", "2026-11-10T09:00:00+01:00")
    assert result.exit_code == 0, result.output + result.stderr
    pages = sorted((pub.feeds_dir / "newsletter").glob("*/index.html"))
    assert len(pages) == 1
    assert "Second story" in pages[0].read_text()
    feed = feedparser.parse((pub.feeds_dir / "newsletter" / "atom.xml").read_bytes())
    assert feed.bozo == 0 and len(feed.entries) == 1
