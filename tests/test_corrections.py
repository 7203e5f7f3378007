"""Corrections end to end: an article sent in an edition is corrected; the right readers get one
notice each (real SMTP on loopback, real SQLite), feeds carry the note under the same ids, the
archive page shows it, and an interrupted notice send resumes without duplicates."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from syndicate.delivery.subscribers import add_subscriber, unsubscribe
from syndicate.store.database import connect
from tests.conftest import Publication, Run, article
from tests.sending import (
    NOW,
    SECRET,
    add_many,
    address,
    assert_personal_token,
    config_of,
    ledger_rows,
    smtp_pub,
)
from tests.smtp_server import SmtpSink
from tests.w3c_validator import Validator, locate

pytestmark = pytest.mark.both_backends

LATER = "2026-11-28T10:00:00+01:00"
CORRECTED_AT = "2026-11-21T09:30:00+01:00"
NOTE = "An earlier version gave the vote as 21 to 19. It was 12 to 10."
CORRECTED = article(
    "Council approves the river park",
    date="2026-11-16T09:00:00+01:00",
    summary="The vote was close.",
    body="The council voted 12 to 10 for the park.\n",
).replace(
    "+++\nThe council",
    f'\n[[corrections]]\ndate = {CORRECTED_AT}\ntext = "{NOTE}"\nkind = "correction"\n'
    "+++\nThe council",
)


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Validator | None:
    """The W3C Feed Validator when it can be found (see tests/w3c_validator.py), else None:
    the rest of the end-to-end test runs either way."""
    src = locate(tmp_path_factory.mktemp("feedvalidator"))
    return None if isinstance(src, str) else Validator(src)


def sent_edition(run: Run, root: Path, readers: int = 3) -> list[str]:
    """The article goes out in an edition to ``readers`` subscribers; returns their addresses."""
    emails = add_many(root, readers)
    result = run(root, "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 0, result.output + result.stderr
    return emails


def correct(root: Path) -> None:
    (root / "content" / "first.md").write_text(CORRECTED, encoding="utf-8")


def test_the_readers_who_got_it_get_one_notice_each(
    make_pub: Publication, run: Run, sink: SmtpSink, validator: Validator | None
) -> None:
    root = smtp_pub(make_pub, sink.port)
    (root / "config.toml").write_text(
        (root / "config.toml").read_text() + "\n[corrections]\nfeed = true\n"
    )
    emails = sent_edition(run, root)
    assert sink.handler.count() == 3
    built = run(root, "build", "--now", LATER)
    assert built.exit_code == 0, built.output
    feeds = config_of(root).feeds_dir
    before = {name: (feeds / name).read_bytes() for name in ("rss.xml", "atom.xml", "feed.json")}
    edition_id = next(p.name for p in (feeds / "newsletter").iterdir() if p.is_dir())
    page_before = (feeds / "newsletter" / edition_id / "index.html").read_text()
    index_before = (feeds / "newsletter" / "index.html").read_bytes()

    conn = connect(config_of(root).state_target)
    unsubscribe(conn, emails[1], how="test")
    add_subscriber(conn, address(3), name="Late Reader", source="test")
    conn.close()
    correct(root)

    preview = run(root, "email", "--correction", "first", "--now", LATER)
    assert preview.exit_code == 0, preview.output + preview.stderr
    assert "readers to tell: 2" in preview.output
    assert f"carried in editions: {edition_id}" in preview.output
    text = next((root / "newsletter").glob("correction-first-*.txt")).read_text()
    assert NOTE in text.replace("\n", " ")
    assert "Read the corrected article:\nhttps://news.test/first/" in text
    html = next((root / "newsletter").glob("correction-first-*.html")).read_text()
    assert "12 to 10" in html and "Correction, 21 November 2026" in html
    assert sink.handler.count() == 3, "a preview sends nothing"

    sent = run(root, "email", "--correction", "first", "--send", "--yes")
    assert sent.exit_code == 0, sent.output + sent.stderr
    assert "correction notice correction-first-" in sent.output
    notices = sink.messages[3:]
    assert sorted(m.recipients[0] for m in notices) == [emails[0], emails[2]]
    for mail in notices:
        assert mail.message["Subject"] == "Correction: Council approves the river park"
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert_personal_token(mail.data, mail.recipients[0])
        plain = mail.message.get_body(("plain",))
        assert plain is not None and "12 to 10" in plain.get_content()
    assert not sink.to(emails[1])[1:] and len(sink.to(emails[1])) == 1  # the edition only
    assert not sink.to(address(3)), "a later subscriber never got the article"

    again = run(root, "email", "--correction", "first", "--send", "--yes")
    assert again.exit_code == 0, again.output + again.stderr
    assert "sent 0" in again.output
    assert sink.handler.count() == 5, "a rerun sends nothing"

    built = run(root, "build", "--now", LATER)
    assert built.exit_code == 0, built.output
    rss = feedparser.parse((feeds / "rss.xml").read_bytes())
    atom = feedparser.parse((feeds / "atom.xml").read_bytes())
    old_rss = feedparser.parse(before["rss.xml"])
    old_atom = feedparser.parse(before["atom.xml"])
    for new, old in ((rss, old_rss), (atom, old_atom)):
        assert not new.bozo, new.bozo_exception
        assert [e.id for e in new.entries] == [e.id for e in old.entries]
        entry = new.entries[0]
        assert entry.updated_parsed[:5] == (2026, 11, 21, 8, 30)
        assert entry.published_parsed[:3] == (2026, 11, 16)
        assert NOTE in entry.content[0].value
    assert atom.feed.updated.startswith("2026-11-21T09:30")
    feed = json.loads((feeds / "feed.json").read_bytes())
    old_feed = json.loads(before["feed.json"])
    assert [i["id"] for i in feed["items"]] == [i["id"] for i in old_feed["items"]]
    assert feed["items"][0]["date_modified"] == CORRECTED_AT
    assert feed["items"][0]["content_html"].endswith(
        '<div class="corrections"><p class="correction" data-kind="correction">'
        f"<strong>Correction, 21 November 2026:</strong> {NOTE}</p></div>"
    )
    listing = json.loads((feeds / "corrections" / "feed.json").read_bytes())
    assert [i["id"] for i in listing["items"]] == [
        "https://news.test/first/#correction-20261121T083000Z"
    ]
    for path in sorted(feeds.rglob("*.xml")) if validator is not None else ():
        rel = path.relative_to(feeds).as_posix()
        assert validator.problems(path.read_bytes(), f"https://news.test/feeds/{rel}") == [], rel

    page = (feeds / "newsletter" / edition_id / "index.html").read_text()
    assert "Added after this edition was sent" in page
    assert NOTE in page
    assert page.index(NOTE) > page.index("Read on the web")
    # What was sent is unchanged: the page is the old one plus the note; the index is as it was.
    assert re.sub(r'<div class="syn-corrections".*?</div>', "", page) == page_before
    assert (feeds / "newsletter" / "index.html").read_bytes() == index_before

    # A build with nothing to do (content untouched for a while: the cache's fast path) keeps
    # the notes on the page: they come from the build cache's snapshot, not from content/.
    for path in (root / "content").iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
    assert run(root, "build", "--now", LATER).exit_code == 0
    noop = run(root, "build", "--now", LATER)
    assert noop.exit_code == 0 and "0 changed" in noop.output, noop.output
    assert (feeds / "newsletter" / edition_id / "index.html").read_text() == page


def test_a_build_twice_with_corrections_is_byte_identical(make_pub: Publication, run: Run) -> None:
    root = make_pub({"first.md": CORRECTED}, extra="[corrections]\nfeed = true\n")
    assert run(root, "build", "--now", LATER).exit_code == 0
    feeds = root / "feeds"
    first = {p: p.read_bytes() for p in feeds.rglob("*") if p.is_file()}
    again = run(root, "build", "--now", LATER, "--no-cache")
    assert again.exit_code == 0
    assert {p: p.read_bytes() for p in feeds.rglob("*") if p.is_file()} == first


def test_notes_go_to_the_top_when_configured(make_pub: Publication, run: Run) -> None:
    root = make_pub(
        {"first.md": CORRECTED},
        feeds="full_content = false",
        extra='[corrections]\nposition = "top"\n',
    )
    assert run(root, "build", "--now", LATER).exit_code == 0
    feed = json.loads((root / "feeds" / "feed.json").read_bytes())
    assert feed["items"][0]["content_text"] == (
        f"Correction, 21 November 2026: {NOTE}\n\nThe vote was close."
    )
    rss = feedparser.parse((root / "feeds" / "rss.xml").read_bytes())
    assert rss.entries[0].summary.startswith('<div class="corrections">')


def test_an_interrupted_notice_send_resumes_without_duplicates(
    make_pub: Publication, run: Run, sink: SmtpSink
) -> None:
    root = smtp_pub(make_pub, sink.port, connections=1)
    emails = sent_edition(run, root, readers=20)
    assert sink.handler.count() == 20
    correct(root)
    env = {**os.environ, "SYNDICATE_SECRET": SECRET, "SYNDICATE_CRASH_AT": "send:8"}
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from syndicate.cli import main; main()",
            "--config",
            str(root / "config.toml"),
            "email",
            "--correction",
            "first",
            "--send",
            "--yes",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    assert 20 + 8 <= sink.handler.count() < 40
    resumed = run(root, "email", "--correction", "first", "--send", "--yes")
    # The message in flight at the kill is uncertain: reported, not resent blindly.
    assert resumed.exit_code == 3, resumed.output + resumed.stderr
    assert "uncertain" in resumed.stderr
    done = run(root, "email", "--correction", "first", "--send", "--yes", "--skip-uncertain")
    assert done.exit_code == 0, done.output + done.stderr
    notices = list(sink.messages[20:])
    per_reader: dict[str, int] = {}
    for mail in notices:
        per_reader[mail.recipients[0]] = per_reader.get(mail.recipients[0], 0) + 1
    assert sorted(per_reader) == sorted(emails), "every reader got the notice"
    assert set(per_reader.values()) == {1}, "nobody got two"
    keys = {row.edition for row in ledger_rows(root) if row.edition.startswith("correction-")}
    assert len(keys) == 1


def test_validate_names_file_and_key_of_bad_corrections(make_pub: Publication, run: Run) -> None:
    bad_toml = article("T", date="2026-11-16T09:00:00+01:00").replace(
        "+++\nSome",
        '\n[[corrections]]\ndate = 2026-11-20T09:00:00+01:00\ntext = "fine"\n'
        '\n[[corrections]]\ndate = 2026-11-01T09:00:00+01:00\ntext = "   "\nkind = "oops"\n'
        "+++\nSome",
    )
    bad_yaml = (
        "---\ntitle: Y\ndate: 2026-11-16T09:00:00+01:00\ncorrections:\n"
        "  - date: 2026-11-10T09:00:00+01:00\n    text: Too early\n"
        "---\nBody.\n"
    )
    root = make_pub({"bad.md": bad_toml, "yaml.md": bad_yaml})
    result = run(root, "validate")
    assert result.exit_code == 1
    err = result.stderr + result.output
    assert "content/bad.md:9: corrections[1].text:" in err, err
    assert "content/bad.md:9: corrections[1].kind: unknown kind 'oops'" in err, err
    assert "content/yaml.md:4: corrections[0].date:" in err and "before the article's date" in err


def with_corrections_config(root: Path, text: str) -> None:
    config = root / "config.toml"
    config.write_text(config.read_text() + f"\n[corrections]\n{text}\n")


def test_publish_auto_sends_each_notice_once(
    make_pub: Publication, run: Run, sink: SmtpSink
) -> None:
    root = smtp_pub(make_pub, sink.port)
    with_corrections_config(root, 'email = "auto"')
    emails = sent_edition(run, root)
    first = run(root, "publish", "--now", LATER)
    assert first.exit_code == 0, first.output + first.stderr
    assert sink.handler.count() == 3, "no correction yet: nothing to tell"
    correct(root)
    second = run(root, "publish", "--now", LATER)
    assert second.exit_code == 0, second.output + second.stderr
    assert sorted(m.recipients[0] for m in sink.messages[3:]) == emails
    assert all(m.message["Subject"].startswith("Correction: ") for m in sink.messages[3:])
    third = run(root, "publish", "--now", LATER)
    assert third.exit_code == 0, third.output + third.stderr
    assert sink.handler.count() == 6, "a rerun sends nothing"


def test_publish_asks_once_and_sends_nothing(
    make_pub: Publication, run: Run, sink: SmtpSink
) -> None:
    root = smtp_pub(make_pub, sink.port)
    sent_edition(run, root)
    correct(root)
    dry = run(root, "publish", "--now", LATER, "--dry-run")
    assert dry.exit_code == 0, dry.output + dry.stderr
    assert "would mention it (3 readers)" in dry.output + dry.stderr
    first = run(root, "publish", "--now", LATER)
    assert first.exit_code == 0, first.output + first.stderr
    assert "syndicate email --correction first --send" in first.stderr
    assert "3 readers received by email" in first.stderr
    second = run(root, "publish", "--now", LATER)
    assert "--correction" not in second.stderr, "told once, not on every cron run"
    assert sink.handler.count() == 3


def test_the_digest_lists_the_corrections_of_its_period(make_pub: Publication, run: Run) -> None:
    root = make_pub({"first.md": CORRECTED})
    week = run(root, "digest", "--since", "2026-11-20", "--until", "2026-11-27", "--now", LATER)
    assert week.exit_code == 0, week.output + week.stderr
    text = week.output
    assert "0 articles" not in text
    assert (
        "CORRECTIONS\n\nCorrection, Saturday, 21 November 2026: Council approves the river" in text
    )
    assert f"  {NOTE}\n  https://news.test/first/\n" in text
    before = run(root, "digest", "--since", "2026-11-14", "--until", "2026-11-20", "--now", LATER)
    assert "1 article:" in before.output and "CORRECTIONS" not in before.output


def test_an_edition_made_after_the_correction_carries_it_and_needs_no_notice(
    make_pub: Publication, run: Run, sink: SmtpSink
) -> None:
    root = smtp_pub(make_pub, sink.port)
    (root / "content" / "first.md").write_text(
        CORRECTED.replace(CORRECTED_AT, "2026-11-18T12:00:00+01:00"), encoding="utf-8"
    )
    sent_edition(run, root)
    mail = sink.messages[0].message
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert f"Correction, 18 November 2026: {NOTE}" in " ".join(plain.get_content().split())
    assert "<strong>Correction, 18 November 2026:</strong>" in html.get_content()
    assert run(root, "build", "--now", LATER).exit_code == 0
    page = next((root / "feeds" / "newsletter").glob("*/index.html")).read_text()
    assert NOTE in page and "Added after this edition was sent" not in page
    preview = run(root, "email", "--correction", "first")
    assert "readers to tell: 0" in preview.output
    assert "carried in editions: none yet" in preview.output
    sent = run(root, "email", "--correction", "first", "--send", "--yes")
    assert sent.exit_code == 0, sent.output + sent.stderr
    assert sink.handler.count() == 3


def test_yaml_front_matter_corrections_reach_the_feeds(make_pub: Publication, run: Run) -> None:
    yaml_article = (
        "---\ntitle: Bridge reopens\ndate: 2026-11-16T09:00:00+01:00\n"
        "corrections:\n"
        "  - date: 2026-11-17T10:00:00+01:00\n    text: The bridge reopens on Monday.\n"
        "    kind: clarification\n"
        "  - date: 2026-11-19T10:00:00+01:00\n    text: 'Update: it is open.'\n    kind: update\n"
        "---\nThe bridge reopens.\n"
    )
    root = make_pub({"bridge.md": yaml_article})
    assert run(root, "validate").exit_code == 0
    assert run(root, "build", "--now", LATER).exit_code == 0
    item = json.loads((root / "feeds" / "feed.json").read_bytes())["items"][0]
    assert item["date_modified"] == "2026-11-19T10:00:00+01:00"
    assert item["content_html"].endswith(
        '<div class="corrections"><p class="correction" data-kind="clarification">'
        "<strong>Clarification, 17 November 2026:</strong> The bridge reopens on Monday.</p>"
        '<p class="correction" data-kind="update"><strong>Update, 19 November 2026:</strong>'
        " Update: it is open.</p></div>"
    )


def test_the_library_api_sends_a_notice_once(
    make_pub: Publication, run: Run, sink: SmtpSink
) -> None:
    from syndicate import Publication as Library

    root = smtp_pub(make_pub, sink.port)
    sent_edition(run, root, readers=2)
    correct(root)
    pub = Library.load(root)
    first = pub.send_correction("first")
    assert (first.sent, first.exit_code) == (2, 0)
    assert pub.send_correction("first").sent == 0
    assert sink.handler.count() == 4


def test_a_hostile_note_is_text_everywhere(make_pub: Publication, run: Run) -> None:
    # TOML escapes: a quote, and U+0001, which XML forbids and the loader must drop.
    text = CORRECTED.replace(NOTE, r"Fixed <script>alert(1)</script> & \"quotes\"\u0001 here")
    root = make_pub({"first.md": text}, extra="[corrections]\nfeed = true\n")
    assert run(root, "build", "--now", LATER).exit_code == 0
    for path in sorted((root / "feeds").rglob("*.xml")):
        data = path.read_bytes()
        assert b"<script" not in data and b"\x01" not in data, path
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (path, parsed.bozo_exception)
    item = json.loads((root / "feeds" / "feed.json").read_bytes())["items"][0]
    assert 'Fixed &lt;script&gt;alert(1)&lt;/script&gt; &amp; "quotes" here' in item["content_html"]


def test_correction_mistakes_are_one_line_errors(make_pub: Publication, run: Run) -> None:
    root = make_pub({"first.md": CORRECTED, "plain.md": article("Plain")})
    unknown = run(root, "email", "--correction", "nope")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: no article with slug 'nope'")
    plain = run(root, "email", "--correction", "plain")
    assert plain.exit_code == 1 and "has no corrections" in plain.stderr
    mixed = run(root, "email", "--correction", "first", "--since", "7d")
    assert mixed.exit_code == 2 and "--correction goes without" in mixed.stderr
    unasked = run(root, "email", "--correction", "first", "--send")
    assert unasked.exit_code == 2 and "--yes" in unasked.stderr
    (root / "config.toml").write_text(
        (root / "config.toml").read_text() + '\n[corrections]\nemail = "sometimes"\n'
    )
    config = run(root, "validate")
    assert config.exit_code == 1 and "corrections.email" in config.stderr, config.stderr
