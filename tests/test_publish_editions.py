"""``publish`` and the newsletter: editions on schedule, each with exactly the new articles."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import Hub, Publication, Run, article, state_of

from syndicate.delivery.subscribers import add_subscriber
from syndicate.edition.state import list_editions
from syndicate.publish import periods
from syndicate.store.database import connect

pytestmark = pytest.mark.both_backends

SECRET = "a-test-secret-that-is-long-enough-0123456789"
READERS = ("ann@example.com", "bob@example.com", "cy@example.com")
WEEKLY = '[schedule]\nemail = "weekly"\nday = "monday"\ntime = "08:00"\n'


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def subscribe(root: Path, *emails: str) -> None:
    conn = connect(state_of(root))
    for email in emails:
        add_subscriber(conn, email)
    conn.close()


def outbox(root: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(root / "outbox", factory=None, create=False)
    found = []
    for key in box.keys():
        raw = box.get_bytes(key)
        found.append(message_from_bytes(raw, policy=policy.default))
    return found  # type: ignore[return-value]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def editions(root: Path) -> list[tuple[str, tuple[str, ...], str]]:
    conn = connect(state_of(root))
    try:
        records = sorted(list_editions(conn), key=lambda r: r.created)
        return [(r.id, r.article_ids, r.status) for r in records]
    finally:
        conn.close()


def berlin(text: str) -> datetime:
    """``2026-11-09 08:00`` in Berlin (CET in November) as an aware UTC datetime."""
    return datetime.fromisoformat(text + "+01:00").astimezone(UTC)


def test_three_weeks_of_a_weekly_schedule_send_three_editions_of_new_articles(
    make_pub: Publication, run: Run
) -> None:
    root = make_pub(extra=WEEKLY)
    subscribe(root, *READERS)
    # (when the file appears, file name, front matter) — dates in Berlin time
    arrivals = [
        ("2026-11-03 10:00", "a.md", article("Alpha", date="2026-11-03T10:00:00+01:00")),
        ("2026-11-04 18:00", "b.md", article("Bravo", date="2026-11-04T18:00:00+01:00")),
        # written early, dated in the future: waits for its date
        ("2026-11-05 09:00", "c.md", article("Charlie", date="2026-11-08T20:00:00+01:00")),
        ("2026-11-10 07:00", "d.md", article("Delta", date="2026-11-10T07:00:00+01:00")),
        # embargoed until an hour after the second edition: belongs in the third
        (
            "2026-11-11 12:00",
            "e.md",
            article(
                "Echo", date="2026-11-11T12:00:00+01:00", publish_at="2026-11-16T09:00:00+01:00"
            ),
        ),
        ("2026-11-13 16:00", "f.md", article("Foxtrot", date="2026-11-13T16:00:00+01:00")),
        # lands in the minute before the second edition is due: still in it
        ("2026-11-16 07:59", "g.md", article("Golf", date="2026-11-16T07:59:00+01:00")),
        ("2026-11-18 11:00", "h.md", article("Hotel", date="2026-11-18T11:00:00+01:00")),
        ("2026-11-23 08:00", "i.md", article("India", date="2026-11-23T08:00:00+01:00")),
    ]
    moments = {berlin(when) for when, _, _ in arrivals}
    clock = berlin("2026-11-01 12:00")
    while clock <= berlin("2026-11-23 20:00"):  # every 6 hours for three weeks
        moments.add(clock)
        clock += timedelta(hours=6)
    for due in ("2026-11-09 08:00", "2026-11-16 08:00", "2026-11-23 08:00"):
        moments |= {
            berlin(due) - timedelta(minutes=1),
            berlin(due),
            berlin(due) + timedelta(minutes=1),
        }
    pending = list(arrivals)
    for now in sorted(moments):
        while pending and berlin(pending[0][0]) <= now:
            _, name, text = pending.pop(0)
            (root / "content" / name).write_text(text, encoding="utf-8")
        result = run(root, "publish", "--now", now.isoformat())
        assert result.exit_code == 0, (now, result.stdout, result.stderr)
        assert result.stdout == "" and result.stderr == "", (now, result.stdout, result.stderr)

    sent = editions(root)
    ids = [edition_id for edition_id, _, _ in sent]
    assert ids == ["2026-11-09", "2026-11-16", "2026-11-23"], sent
    assert all(status == "sent" for _, _, status in sent)
    slug_sets = [{aid.rstrip("/").rsplit("/", 1)[-1] for aid in arts} for _, arts, _ in sent]
    assert slug_sets == [
        {"a", "b", "c"},
        {"d", "f", "g"},
        {"e", "h", "i"},
    ]

    messages = outbox(root)
    assert len(messages) == 3 * len(READERS)
    by_reader: dict[str, list[str]] = {}
    for message in messages:
        by_reader.setdefault(str(message["To"]), []).append(text_of(message))
    assert sorted(by_reader) == sorted(READERS)
    expected = [
        ("Alpha", "Bravo", "Charlie"),
        ("Delta", "Foxtrot", "Golf"),
        ("Echo", "Hotel", "India"),
    ]
    all_titles = {title for group in expected for title in group}
    for texts in by_reader.values():
        assert len(texts) == 3
        seen = sorted(tuple(sorted(t for t in all_titles if t in text)) for text in texts)
        assert seen == sorted(expected)

    conn = connect(state_of(root))
    states = [(p.period, p.state) for p in periods.all_periods(conn)]
    conn.close()
    # the first run handled the due moment before it, and 11-02 had nothing yet to send
    assert states == [
        ("2026-10-26T07:00:00+00:00", "empty"),
        ("2026-11-02T07:00:00+00:00", "empty"),
        ("2026-11-09T07:00:00+00:00", "sent"),
        ("2026-11-16T07:00:00+00:00", "sent"),
        ("2026-11-23T07:00:00+00:00", "sent"),
    ]


def test_machine_off_for_three_weeks_sends_one_edition_not_three(
    make_pub: Publication, run: Run
) -> None:
    root = make_pub(
        {
            "a.md": article("Alpha", date="2026-11-03T10:00:00+01:00"),
            "b.md": article("Bravo", date="2026-11-12T10:00:00+01:00"),
            "c.md": article("Charlie", date="2026-11-19T10:00:00+01:00"),
        },
        extra=WEEKLY,
    )
    subscribe(root, *READERS)
    assert run(root, "publish", "--now", "2026-11-02T12:00:00+01:00").exit_code == 0
    result = run(root, "--verbose", "publish", "--now", "2026-11-25T12:00:00+01:00")
    assert result.exit_code == 0, result.stderr
    assert [e[0] for e in editions(root)] == ["2026-11-25"]
    assert len(outbox(root)) == len(READERS)
    assert "edition 2026-11-25 via file: sent 3" in result.stdout
    again = run(root, "publish", "--now", "2026-11-25T18:00:00+01:00")
    assert again.exit_code == 0 and len(outbox(root)) == len(READERS)


def test_on_new_sends_when_enough_articles_are_waiting(make_pub: Publication, run: Run) -> None:
    root = make_pub(extra='[schedule]\nemail = "on-new"\nmin_articles = 2\n')
    subscribe(root, READERS[0])
    (root / "content" / "a.md").write_text(article("Alpha"), encoding="utf-8")
    assert run(root, "publish", "--now", "2026-11-02T10:00:00+01:00").exit_code == 0
    assert editions(root) == []
    (root / "content" / "b.md").write_text(
        article("Bravo", date="2026-11-02T10:30:00+01:00"), encoding="utf-8"
    )
    assert run(root, "publish", "--now", "2026-11-02T10:31:00+01:00").exit_code == 0
    assert [(e[0], len(e[1])) for e in editions(root)] == [("2026-11-02", 2)]
    assert run(root, "publish", "--now", "2026-11-02T10:32:00+01:00").exit_code == 0
    assert len(editions(root)) == 1 and len(outbox(root)) == 1


def test_no_subscribers_sends_nothing_and_keeps_the_articles(
    make_pub: Publication, run: Run
) -> None:
    root = make_pub({"a.md": article("Alpha")}, extra=WEEKLY)
    result = run(root, "--verbose", "publish", "--now", "2026-11-09T09:00:00+01:00")
    assert result.exit_code == 0, result.stderr
    assert "no active subscribers; none sent, the articles wait" in result.stdout
    subscribe(root, READERS[0])
    assert run(root, "publish", "--now", "2026-11-16T09:00:00+01:00").exit_code == 0
    assert [(e[0], len(e[1])) for e in editions(root)] == [("2026-11-16", 1)]


def test_dry_run_names_the_due_edition_and_sends_nothing(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article("Alpha")}, extra=WEEKLY)
    subscribe(root, *READERS)
    result = run(root, "publish", "--dry-run", "--now", "2026-11-09T09:00:00+01:00")
    assert result.exit_code == 0, result.stderr
    assert (
        "edition 2026-11-09 due 2026-11-09 08:00 CET: would send 1 article "
        "to 3 active subscribers" in result.stdout
    )
    assert not (root / "outbox").exists() and not (root / "feeds").exists()
    conn = connect(state_of(root))
    # (every table exists from the first use: the dry run must have written no row)
    made = [
        name
        for name in ("editions", "publish_periods")
        if conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone()
    ]
    conn.close()
    assert made == []


def test_on_new_notices_a_backdated_article_that_changes_no_feed(
    make_pub: Publication, run: Run
) -> None:
    # max_items = 1: an article older than the newest changes no feed, only the count
    root = make_pub(
        {"a.md": article("Alpha", date="2026-11-02T09:00:00+01:00")},
        feeds="max_items = 1\ntaxonomies = []",
        extra='[schedule]\nemail = "on-new"\nmin_articles = 2\n',
    )
    subscribe(root, READERS[0])
    assert run(root, "publish", "--now", "2026-11-02T10:00:00+01:00").exit_code == 0
    assert run(root, "publish", "--now", "2026-11-02T10:01:00+01:00").exit_code == 0
    assert editions(root) == []
    (root / "content" / "old.md").write_text(
        article("Backdated", date="2026-10-01T09:00:00+01:00"), encoding="utf-8"
    )
    result = run(root, "--verbose", "publish", "--now", "2026-11-02T10:02:00+01:00")
    assert not result.stdout.startswith("feeds:"), result.stdout  # no feed changed
    assert [(e[0], len(e[1])) for e in editions(root)] == [("2026-11-02", 2)]


def test_a_sent_edition_archive_is_deployed_and_pinged_in_the_same_run(
    make_pub: Publication, run: Run, hub: Hub
) -> None:
    deploy = 'mkdir -p site && cp -R "$SYNDICATE_FEEDS_DIR"/. site/'
    root = make_pub(
        {"a.md": article("Alpha")},
        feeds=f'websub_hub = "{hub.url}"',
        extra=WEEKLY + f"[publish]\ndeploy = '{deploy}'\n",
    )
    subscribe(root, READERS[0])
    result = run(root, "--verbose", "publish", "--now", "2026-11-09T09:00:00+01:00")
    assert result.exit_code == 0, result.stderr
    assert (root / "site" / "newsletter" / "2026-11-09" / "index.html").exists()
    topics = hub.topics()
    assert "https://news.test/feeds/newsletter/rss.xml" in topics
    assert len(topics) == len(set(topics))  # each changed feed once
    assert result.stdout.count("deploy: ran") == 2  # feeds first, then the archive
    pings = len(hub.pings)
    again = run(root, "--verbose", "publish", "--now", "2026-11-09T09:05:00+01:00")
    assert again.stdout == "" and len(hub.pings) == pings
