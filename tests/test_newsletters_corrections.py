"""Correction notices in a publication with [newsletters] (real SMTP, real SQLite): a notice
goes only to readers still subscribed to a newsletter whose edition carried the article, once
each however many of their newsletters carried it, with that newsletter's preferences link
(one-click leaves only it) instead of the global unsubscribe link; a rerun sends nothing."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from syndicate.delivery import ledger as ledger_db
from syndicate.delivery import subscriptions
from syndicate.delivery.ledger_run import Ledger
from syndicate.store.database import connect
from tests.conftest import Publication, Run
from tests.newsletters_fixture import SECRET, config_of, make_newsletters_pub
from tests.smtp_server import smtp_server

pytestmark = pytest.mark.both_backends

NOW = "2026-11-13T09:00:00+01:00"  # Friday of the first week: days 0-4 are published
LATER = "2026-11-16T09:00:00+01:00"
NOTE = "An earlier version misnamed the river."


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def _subscribe(run: Run, root: Path, address: str, *newsletters: str) -> None:
    args = [arg for name in newsletters for arg in ("--newsletter", name)]
    if "climate" in newsletters:
        args += ["--cadence", "weekly"]
    result = run(root, "subscribers", "add", address, *args)
    assert result.exit_code == 0, result.stderr


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_a_notice_reaches_only_readers_still_on_a_newsletter_that_carried_it(
    make_pub: Publication, run: Run
) -> None:
    with smtp_server() as inbox:
        root = make_newsletters_pub(make_pub, inbox.port)
        _subscribe(run, root, "both@example.com", "daily", "climate")  # carried twice
        _subscribe(run, root, "daily@example.com", "daily")
        _subscribe(run, root, "left@example.com", "climate", "alerts")  # leaves climate
        _subscribe(run, root, "alerts@example.com", "alerts")  # never got the article
        for newsletter in ("daily", "climate"):
            result = run(root, "email", "--newsletter", newsletter, "--send", "--yes", "--now", NOW)
            assert result.exit_code == 0, result.output + result.stderr
        editions = len(inbox.messages)
        carried = {m.recipients[0] for m in inbox.messages if "Story 00" in _text(m.message)}
        assert carried == {"both@example.com", "daily@example.com", "left@example.com"}

        conn = connect(config_of(root).state_target)
        try:
            row = conn.execute("SELECT id FROM subscribers WHERE email = 'left@example.com'")
            assert subscriptions.unsubscribe_from(conn, row.fetchone()[0], "climate", how="test")
            conn.commit()
        finally:
            conn.close()
        story = root / "content" / "day00.md"
        story.write_text(
            story.read_text(encoding="utf-8").replace(
                "+++\nBody 0.",
                f'\n[[corrections]]\ndate = 2026-11-14T09:30:00+01:00\ntext = "{NOTE}"\n'
                'kind = "correction"\n+++\nBody 0.',
            ),
            encoding="utf-8",
        )
        preview = run(root, "email", "--correction", "day00", "--now", LATER)
        assert preview.exit_code == 0, preview.output + preview.stderr
        assert "readers to tell: 2" in preview.output, preview.output
        shown = next((root / "newsletter").glob("correction-day00-*.txt")).read_text()
        assert "https://news.test/preferences?newsletter=climate&token=preview" in shown

        sent = run(root, "email", "--correction", "day00", "--send", "--yes", "--now", LATER)
        assert sent.exit_code == 0, sent.output + sent.stderr
        notices = inbox.messages[editions:]
        again = run(root, "email", "--correction", "day00", "--send", "--yes", "--now", LATER)
        assert again.exit_code == 0 and "sent 0" in again.output, again.output
        assert len(inbox.messages) == editions + len(notices), "a rerun sends nothing"

    assert sorted(m.recipients[0] for m in notices) == ["both@example.com", "daily@example.com"]
    for mail in notices:
        message = mail.message
        assert message["Subject"].startswith("Correction: Story 00")
        text = _text(message)
        assert NOTE in text.replace("\n", " ")
        assert "Choose your newsletters and how often, or unsubscribe:\n" in text
        assert "/unsubscribe?" not in text
        # The first carrying edition the reader is still on (same moment: by id) gives the
        # preferences link, whose one-click POST leaves only that newsletter.
        newsletter = {"both@example.com": "climate", "daily@example.com": "daily"}
        link = f"https://news.test/preferences?newsletter={newsletter[mail.recipients[0]]}&token="
        assert link in text and link in message["List-Unsubscribe"]
        html = message.get_body(("html",))
        assert html is not None
        assert "Choose your newsletters and how often, or unsubscribe</a>" in html.get_content()


def test_leaving_the_newsletter_mid_send_is_honoured_per_reader(
    make_pub: Publication, run: Run
) -> None:
    """The claim, just before each hand-off, checks the reader's own newsletter."""
    root = make_newsletters_pub(make_pub, 2525)
    _subscribe(run, root, "a@example.com", "daily")
    _subscribe(run, root, "b@example.com", "climate")
    conn = connect(config_of(root).state_target)
    try:
        key = "correction-probe"
        added = ledger_db.enqueue_addresses(
            conn, key, "news.test", ["a@example.com", "b@example.com"]
        )
        assert added == 2
        ids = dict(conn.execute("SELECT email, id FROM subscribers").fetchall())
        subscriptions.unsubscribe_from(conn, ids["b@example.com"], "climate", how="test")
        conn.commit()
        ledger = Ledger(
            conn, key, "", {"a@example.com": "daily", "b@example.com": "climate"}
        )
        assert ledger.claim("a@example.com") is True
        assert ledger.claim("b@example.com") is None
        states = dict(
            conn.execute("SELECT email, reason FROM deliveries WHERE edition = ?", (key,))
        )
        assert states["b@example.com"] == "unsubscribed from climate"
    finally:
        conn.close()
