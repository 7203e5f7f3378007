"""``publish`` under concurrency and SIGKILL: one edition, once per reader, feeds always valid.

These run the real CLI in subprocesses: flock and SIGKILL only mean something across processes.
The normal runs after a crash run in this process (``after_a_crash``): what they must find and
finish is on disk and in the database, not in the dead process.
"""

from __future__ import annotations

import json
import mailbox
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import feedparser
import pytest
from conftest import Publication, Run, article, state_of

from syndicate.delivery.ledger import RowState, rows
from syndicate.delivery.subscribers import add_subscriber
from syndicate.edition.state import list_editions
from syndicate.store.database import connect
from tests.sending import add_many
from tests.smtp_server import SmtpSink

pytestmark = pytest.mark.both_backends

SECRET = "a-test-secret-that-is-long-enough-0123456789"
READERS = tuple(f"reader{n:02d}@example.com" for n in range(12))
NOW = "2026-11-09T09:00:00+01:00"  # an hour after the weekly edition was due
TITLES = ("Alpha", "Bravo", "Charlie", "Delta")
CLI = [sys.executable, "-c", "from syndicate.cli import main; main()"]


def make_due_publication(make_pub: Publication, name: str = "pub") -> Path:
    root = make_pub(
        {
            f"{title.lower()}.md": article(
                title, date=f"2026-11-0{n + 2}T10:00:00+01:00", tags=["news", title.lower()]
            )
            for n, title in enumerate(TITLES)
        },
        extra='[schedule]\nemail = "weekly"\nday = "monday"\ntime = "08:00"\n',
        name=name,
    )
    conn = connect(state_of(root))
    for reader in READERS:
        add_subscriber(conn, reader)
    conn.close()
    return root


def start(root: Path, *args: str, crash: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, "SYNDICATE_SECRET": SECRET}
    env.pop("SYNDICATE_CRASH_AT", None)
    if crash:
        env["SYNDICATE_CRASH_AT"] = crash
    return subprocess.Popen(
        [*CLI, "--config", str(root / "config.toml"), *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def publish(root: Path, *args: str, crash: str = "") -> subprocess.CompletedProcess[str]:
    process = start(root, *args, "publish", "--now", NOW, crash=crash)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


Normal = Callable[[Path], subprocess.CompletedProcess[str]]


@pytest.fixture
def after_a_crash(run: Run, monkeypatch: pytest.MonkeyPatch) -> Normal:
    """``publish`` as the next cron run, in this process (the CLI's own command, from the
    publication's folder, no crash point set). A fresh interpreter for it only repeated the
    imports: ~0.4 s of CPU a run, two runs in each of the 26 crash cases."""
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    monkeypatch.delenv("SYNDICATE_CRASH_AT", raising=False)

    def normal(root: Path) -> subprocess.CompletedProcess[str]:
        monkeypatch.chdir(root)
        result = run(root, "publish", "--now", NOW)
        return subprocess.CompletedProcess(["publish"], result.exit_code, result.stdout, result.stderr)

    return normal


def deliveries(root: Path) -> Counter[str]:
    """How many copies of an edition each reader has in the outbox."""
    box = mailbox.Maildir(root / "outbox", factory=None, create=True)
    return Counter(
        str(message_from_bytes(box.get_bytes(key), policy=policy.default)["To"])
        for key in box.keys()
    )


def assert_feeds_valid_and_complete(root: Path) -> None:
    feeds = root / "feeds"
    everything = [p for p in feeds.rglob("*") if p.is_file()]
    assert not [p for p in everything if p.name.endswith(".tmp")], "temp files left in feeds/"
    archive = feeds / "newsletter"  # the sent editions' pages and feed
    files = [p for p in everything if not p.is_relative_to(archive)]
    assert {p.name for p in files} == {"rss.xml", "atom.xml", "feed.json"}
    assert len(files) == 3 * (1 + 1 + len(TITLES))  # main + news + one tag per article
    files += [p for p in (archive / "rss.xml", archive / "atom.xml") if p.exists()]
    for path in files:
        if path.suffix == ".json":
            assert json.loads(path.read_bytes())["version"].startswith("https://jsonfeed.org/")
        else:
            parsed = feedparser.parse(path.read_bytes())
            assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
    main = feedparser.parse((feeds / "rss.xml").read_bytes())
    assert sorted(entry.title for entry in main.entries) == sorted(TITLES)


def assert_one_edition_at_most_once_each(
    root: Path, recovery: subprocess.CompletedProcess[str]
) -> None:
    conn = connect(state_of(root))
    try:
        editions = list_editions(conn)
        assert [e.id for e in editions] == ["2026-11-09"], editions
        assert len(editions[0].article_ids) == len(TITLES)
        uncertain = {row.email for row in rows(conn, "2026-11-09", RowState.SENDING)}
        state = editions[0].status
    finally:
        conn.close()
    copies = deliveries(root)
    assert max(copies.values()) == 1, f"someone got the edition twice: {copies}"
    missing = set(READERS) - set(copies)
    # nothing is lost silently: a reader without a copy is one the ledger flags as uncertain
    assert missing <= uncertain, (missing, uncertain)
    if uncertain:
        assert recovery.returncode == 3 and "uncertain" in recovery.stderr, recovery.stderr
        assert state == "sending"
    else:
        assert recovery.returncode == 0, recovery.stderr
        assert state == "sent" and set(copies) == set(READERS)
        assert (root / "feeds" / "newsletter" / "2026-11-09" / "index.html").is_file()


def test_ten_concurrent_runs_send_one_edition_once(make_pub: Publication) -> None:
    root = make_due_publication(make_pub)
    processes = [start(root, "--verbose", "publish", "--now", NOW) for _ in range(10)]
    started = time.monotonic()
    ended: dict[int, float] = {}
    while len(ended) < len(processes):  # note when each one exits (their output is tiny)
        for index, process in enumerate(processes):
            if index not in ended and process.poll() is not None:
                ended[index] = time.monotonic() - started
        assert time.monotonic() - started < 60, "publish runs hung"
        time.sleep(0.005)
    outcomes = []
    for index, process in enumerate(processes):
        out, err = process.communicate()
        outcomes.append((process.returncode, out, err, ended[index]))
    assert [code for code, *_ in outcomes] == [0] * 10, outcomes
    assert all(err == "" for _, _, err, _ in outcomes), outcomes
    senders = [o for o in outcomes if "edition 2026-11-09 via file" in o[1]]
    assert len(senders) == 1, outcomes
    busy = [o for o in outcomes if "another run holds the lock" in o[1]]
    assert busy, "no run found the lock taken: the runs did not overlap"
    for _, out, _, seconds in busy:
        assert out.count("\n") == 1  # it said so, and did nothing else
        # Its one line already shows it did not wait for the lock and go on; the bound only
        # catches a gross stall, and is loose: ten interpreters on two busy cores take seconds.
        assert seconds < 30, "a run that found the lock taken must not wait"
    # the runs that were not locked out found everything done: nothing to say
    for _, out, _, _ in outcomes:
        assert out in senders[0][1] or "another run holds the lock" in out or out == ""
    assert deliveries(root) == Counter(dict.fromkeys(READERS, 1))
    assert_feeds_valid_and_complete(root)


@pytest.mark.parametrize(
    "point",
    ["locked", "build:1", "built", "announced", "planned", "rendered", "send:1", "send:7", "sent"],
)
def test_sigkill_at_a_named_point_then_a_normal_run(
    make_pub: Publication, after_a_crash: Normal, point: str
) -> None:
    root = make_due_publication(make_pub)
    crashed = publish(root, crash=point)
    assert crashed.returncode == -signal.SIGKILL, (point, crashed.stdout, crashed.stderr)
    recovery = after_a_crash(root)
    assert_feeds_valid_and_complete(root)
    assert_one_edition_at_most_once_each(root, recovery)
    if point.startswith("send:"):
        # handed over, then killed before the ledger knew: flagged, never sent again
        conn = connect(state_of(root))
        flagged = list(rows(conn, "2026-11-09", RowState.SENDING))
        conn.close()
        assert len(flagged) == 1 and deliveries(root)[flagged[0].email] == 1
    before = deliveries(root)
    again = after_a_crash(root)
    assert again.returncode == recovery.returncode
    assert deliveries(root) == before


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_sigkill_after_a_random_delay_then_a_normal_run(
    make_pub: Publication, after_a_crash: Normal, seed: int
) -> None:
    rng = random.Random(seed)
    root = make_due_publication(make_pub)
    for _ in range(2):  # two crashes in a row, then recovery
        process = start(root, "publish", "--now", NOW)
        time.sleep(rng.uniform(0.05, 0.7))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    # a writer killed mid-file leaves a temp file; publish removes those older than a minute
    for leftover in (root / "feeds").rglob(".*.tmp") if (root / "feeds").exists() else ():
        os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    recovery = after_a_crash(root)
    assert_feeds_valid_and_complete(root)
    assert_one_edition_at_most_once_each(root, recovery)


def test_sigterm_mid_send_stops_cleanly_and_the_next_run_finishes(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd stops a unit with SIGTERM: messages in flight finish, nobody is left uncertain."""
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    with SmtpSink() as sink:
        root = make_pub(
            {"a.md": article("Alpha", date="2026-11-03T10:00:00+01:00")},
            email=(
                'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\n'
                f'port = {sink.port}\nsecurity = "none"\nconnections = 2\nrate = 40\n'
            ),
            extra='[schedule]\nemail = "weekly"\nday = "monday"\ntime = "08:00"\n',
        )
        readers = add_many(root, 80)
        process = start(root, "publish", "--now", NOW)
        deadline = time.monotonic() + 30
        while sink.handler.count() < 10:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "publish sent nothing"
            time.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 3, (out, err)
        assert "not delivered yet; the next run resumes" in err
        stopped_at = sink.handler.count()
        assert stopped_at < len(readers), "the stop came too late to test anything"
        conn = connect(state_of(root))
        assert list(rows(conn, "2026-11-09", RowState.SENDING)) == []  # none uncertain
        conn.close()
        final = run(root, "publish", "--now", NOW)
        assert final.exit_code == 0, final.stderr
        assert sink.handler.per_recipient() == Counter(dict.fromkeys(readers, 1))
