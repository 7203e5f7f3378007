"""A state database made by syndicate before [newsletters] (main's own CLI: see
tests/fixtures/newsletters/make_main_db.sh) is upgraded in place on first use: a backup
copy first (made by the schema upgrade, ``store.schema``), every subscriber and ledger row kept, subscribers on the default newsletter,
and doing it again changes nothing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.smtp_server import smtp_server

FIXTURE = Path(__file__).parent / "fixtures" / "newsletters"
# A checkout of syndicate from before [newsletters] (its CLI makes the old database afresh);
# without it the committed database made that way stands in.
MAIN = Path(os.environ.get("SYNDICATE_PRE_NEWSLETTERS_CHECKOUT", "/nonexistent"))
SECRET = "fixture-secret-0123456789"

NEWSLETTERS = """
[newsletters.daily]
title = "Fixture Times: Daily"
schedule = "daily"
time = "07:00"
default = true

[newsletters.climate]
title = "Climate"
tags = ["climate"]
schedule = "weekly"
"""


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(row) for row in conn.execute(sql)]
    finally:
        conn.close()


def old_database(tmp_path: Path, source: str) -> Path:
    """The fixture publication with a state database made by main's code."""
    root = tmp_path / "pub"
    shutil.copytree(FIXTURE / "pub", root)
    (root / "state").mkdir()
    if source == "committed":
        shutil.copy(FIXTURE / "state-before-newsletters.db", root / "state" / "syndicate.db")
    else:  # made right now by the main checkout's own CLI
        if not (MAIN / "syndicate").is_dir():
            pytest.skip("set $SYNDICATE_PRE_NEWSLETTERS_CHECKOUT to a pre-newsletters checkout")
        made = tmp_path / "made"
        shutil.copytree(FIXTURE, made)
        subprocess.run(
            ["sh", str(made / "make_main_db.sh"), str(MAIN)], check=True, capture_output=True
        )
        shutil.copy(made / "state-before-newsletters.db", root / "state" / "syndicate.db")
    return root


@pytest.mark.parametrize("source", ["committed", "main"])
def test_upgrade_keeps_everything_and_subscribes_to_the_defaults(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    root = old_database(tmp_path, source)
    db = root / "state" / "syndicate.db"
    subscribers = rows(db, "SELECT id, email, status, created FROM subscribers ORDER BY id")
    ledger = rows(db, "SELECT * FROM deliveries ORDER BY edition, email")
    editions = rows(db, "SELECT * FROM editions")
    assert len(subscribers) == 3 and len(ledger) == 2
    original = db.read_bytes()

    # The one-newsletter config still works on it, unchanged. The schema upgrade (to the
    # Alembic baseline, which adds the subscriptions tables) copied the file aside first.
    listed = run(root, "subscribers", "list")
    assert listed.exit_code == 0 and listed.output.count("\n") == 3
    assert (root / "state" / "syndicate.db.before-newsletters.bak").exists()
    assert rows(db, "SELECT subscriber_id FROM subscriptions") == []

    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + NEWSLETTERS, encoding="utf-8")
    listed = run(root, "subscribers", "list", "--newsletter", "daily")
    assert listed.exit_code == 0, listed.output + listed.stderr
    backup = root / "state" / "syndicate.db.before-newsletters.bak"
    assert (
        backup.read_bytes() == original
        or rows(backup, "SELECT id, email, status, created FROM subscribers ORDER BY id")
        == subscribers
    )
    assert (
        rows(backup, "SELECT component FROM schema_versions WHERE component = 'subscriptions'")
        == []
    )
    # Every subscriber and ledger row kept; each subscriber on the default newsletter.
    assert rows(db, "SELECT id, email, status, created FROM subscribers ORDER BY id") == subscribers
    # The ledger's original columns, unchanged (later revisions add columns after them).
    upgraded = rows(db, "SELECT * FROM deliveries ORDER BY edition, email")
    assert [row[: len(ledger[0])] for row in upgraded] == ledger
    assert rows(db, "SELECT * FROM editions") == editions
    assert rows(
        db, "SELECT subscriber_id, newsletter, status, how FROM subscriptions ORDER BY 1"
    ) == [(sid, "daily", "active", "upgrade") for sid, *_ in subscribers]
    assert [line.split("\t")[0] for line in listed.output.splitlines()] == [
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
    ]

    # Again: nothing changes, the backup is not rewritten.
    stamp = backup.stat().st_mtime_ns
    before = rows(db, "SELECT * FROM subscriptions ORDER BY 1, 2")
    assert run(root, "newsletters").exit_code == 0
    assert rows(db, "SELECT * FROM subscriptions ORDER BY 1, 2") == before
    assert backup.stat().st_mtime_ns == stamp

    # The next daily edition carries only what the one-newsletter edition did not send,
    # to the active subscribers only.
    with smtp_server() as inbox:
        config.write_text(
            config.read_text(encoding="utf-8").replace(
                'transport = "file"',
                f'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\nport = {inbox.port}\n'
                'security = "none"',
            ),
            encoding="utf-8",
        )
        result = run(root, "publish", "--now", "2026-11-05T08:00:00+01:00")
        assert result.exit_code == 0, result.output + result.stderr
    assert sorted(r for m in inbox.messages for r in m.recipients) == [
        "ann@example.com",
        "bob@example.com",
    ]
    for mail in inbox.messages:
        text = mail.message.get_body(("plain",)).get_content()
        assert "Second story" in text and "First story" not in text
    # The ledger's later migrations only add columns (senders' claims): the old ones stay.
    after = rows(db, "SELECT * FROM deliveries WHERE edition = '2026-11-03' ORDER BY email")
    assert [row[: len(ledger[0])] for row in after] == ledger


def test_two_processes_upgrading_at_once_make_one_true_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    root = old_database(tmp_path, "committed")
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + NEWSLETTERS, encoding="utf-8")
    db = root / "state" / "syndicate.db"
    original = rows(db, "SELECT * FROM subscribers ORDER BY id")
    cli = [sys.executable, "-c", "from syndicate.cli import main; main()", "--config", str(config)]
    runs = [
        subprocess.Popen(
            [*cli, "subscribers", "list", "--newsletter", "daily"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in runs:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert out.count("\n") == 3
    backup = root / "state" / "syndicate.db.before-newsletters.bak"
    assert rows(backup, "SELECT * FROM subscribers ORDER BY id") == original
    assert rows(backup, "SELECT name FROM sqlite_master WHERE name = 'subscriptions'") == []
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT subscriber_id) FROM subscriptions") == [(3, 3)]
