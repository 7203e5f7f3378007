"""Ledger retention: `db prune` folds old, finished sends into per-edition totals.

Two editions go to a real SMTP sink (one address refused at RCPT), bounce notifications are
processed, a reader leaves, and the first edition's rows are aged past
``[state] keep_ledger_days``. Pruning must leave every report number as it was (the JSON report
compared whole), keep the readers a correction notice needs, and never send anything twice;
a prune SIGKILLed inside its transaction leaves the rows, and the next one folds them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndicate.delivery import ledger, retention
from syndicate.delivery.ledger import RowState
from syndicate.store.database import connect
from tests.conftest import Publication, Run, state_of
from tests.sending import LATER, NOW, SECOND, SECRET, add_many, address, smtp_pub
from tests.smtp_server import Faults, SmtpSink
from tests.test_corrections import CORRECTED
from tests.test_report import write_notices

CLI = [sys.executable, "-c", "from syndicate.cli import main; main()"]
REFUSED = address(3)
AGE = timedelta(days=500)  # past the default keep_ledger_days (400)


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def ok(result: object) -> str:
    code = getattr(result, "exit_code")  # noqa: B009 - click's Result, typed loosely here
    text = str(getattr(result, "output", "")) + str(getattr(result, "stderr", ""))
    assert code == 0, text
    return text


def age(root: Path, edition: str, by: timedelta) -> None:
    """Move an edition's ledger times back by ``by`` (as if it had been sent then)."""
    conn = connect(state_of(root))
    rows = conn.execute(
        "SELECT email, queued_at, updated FROM deliveries WHERE edition = ?", (edition,)
    ).fetchall()
    conn.execute("BEGIN IMMEDIATE")
    for email, queued, updated in rows:
        conn.execute(
            "UPDATE deliveries SET queued_at = ?, updated = ? WHERE edition = ? AND email = ?",
            (_back(queued, by), _back(updated, by), edition, email),
        )
    conn.execute("COMMIT")
    conn.close()


def _back(stamp: str, by: timedelta) -> str:
    return (datetime.fromisoformat(stamp) - by).isoformat(timespec="seconds")


def editions(root: Path) -> list[str]:
    conn = connect(state_of(root))
    try:
        return [s.edition for s in ledger.editions(conn)]
    finally:
        conn.close()


def live_rows(root: Path, edition: str) -> int:
    conn = connect(state_of(root))
    try:
        row = conn.execute(
            "SELECT COUNT(*) FROM deliveries WHERE edition = ?", (edition,)
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


@pytest.mark.both_backends
def test_a_pruned_edition_reports_the_same_numbers(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    with SmtpSink(Faults(bounce={REFUSED})) as sink:
        root = smtp_pub(make_pub, sink.port, retries=0)
        readers = add_many(root, 12)
        assert run(root, "email", "--send", "--yes", "--now", NOW).exit_code in (0, 3)
        [first] = editions(root)
        conn = connect(state_of(root))
        rows = {row.email: row for row in ledger.rows(conn, first)}
        conn.close()
        assert rows[REFUSED].state is RowState.FAILED
        # Notifications: a hard bounce, a soft one and a complaint quoting their Message-ID,
        # and a hard bounce that quotes none (matched by address and time).
        hard, soft, complaint, quiet = readers[0], readers[1], readers[2], readers[4]
        write_notices(
            tmp_path / "notices",
            {
                "hard.eml": (hard, rows[hard].message_id),
                "soft.eml": (soft, rows[soft].message_id),
                "complaint.eml": (complaint, rows[complaint].message_id),
                "hard-without-message-id.eml": (quiet, ""),
            },
        )
        ok(run(root, "bounces", "process", str(tmp_path / "notices")))
        ok(run(root, "subscribers", "unsubscribe", readers[5]))
        age(root, first, AGE)
        (root / "content" / "second.md").write_text(SECOND, encoding="utf-8")
        assert run(root, "email", "--send", "--yes", "--now", LATER).exit_code in (0, 3)
        sent_so_far = sink.handler.count()
        [_, second] = editions(root)

        report_all = ok(run(root, "report", "--json"))
        report_first = ok(run(root, "report", first, "--json"))
        status_before = ok(run(root, "email", "--status", first)).splitlines()
        ok(run(root, "report", "--html", str(tmp_path / "before.html")))
        numbers = next(e for e in json.loads(report_all)["editions"] if e["edition"] == first)
        # The soft bounce quotes the first edition's Message-ID: only pinning keeps it there
        # (by address and time alone it would count for the second edition).
        assert numbers["bounces"] == {"hard": 3, "soft": 1, "complaints": 1}
        assert numbers["unsubscribes"] == 1 and numbers["failed"] == 1

        dry = ok(run(root, "db", "prune", "--dry-run"))
        assert f"would fold {first}: 12 rows" in dry and second not in dry
        assert live_rows(root, first) == 12

        pruned = ok(run(root, "db", "prune"))
        assert f"folded {first}: 12 rows (1 failed, 11 sent)" in pruned, pruned
        assert "folded 12 rows of 1 send" in pruned
        assert live_rows(root, first) == 0 and live_rows(root, second) > 0
        assert editions(root) == [first, second]

        assert ok(run(root, "report", "--json")) == report_all
        assert ok(run(root, "report", first, "--json")) == report_first
        ok(run(root, "report", "--html", str(tmp_path / "after.html")))
        assert (tmp_path / "after.html").read_bytes() == (tmp_path / "before.html").read_bytes()
        status_after = ok(run(root, "email", "--status", first)).splitlines()
        assert status_after[:2] == status_before[:2]  # the edition line and its counts
        assert any("pruned" in line for line in status_after)
        assert any(line.startswith("  failed x1: 550") for line in status_after), status_after

        again = ok(run(root, "db", "prune"))
        assert "nothing to fold" in again
        assert ok(run(root, "report", "--json")) == report_all

        # A correction to the first edition's article still reaches its readers: those who
        # had a delivered copy and are still subscribed (not the refused, bounced, complained
        # or departed ones), once each, and a rerun sends nothing.
        (root / "content" / "first.md").write_text(CORRECTED, encoding="utf-8")
        ok(run(root, "email", "--correction", "first", "--send", "--yes"))
        notices = sink.messages[sent_so_far:]
        expected = set(readers) - {REFUSED, hard, complaint, quiet, readers[5]}
        assert sorted(r for m in notices for r in m.recipients) == sorted(expected)
        ok(run(root, "email", "--correction", "first", "--send", "--yes"))
        assert sink.handler.count() == sent_so_far + len(expected)

        # Much later the notice's own send is pruned too; sending it again still sends nothing.
        later = (datetime.now(UTC) + AGE).isoformat(timespec="seconds")
        folded = ok(run(root, "db", "prune", "--now", later))
        assert "folded correction-first-" in folded and f"folded {second}" in folded
        ok(run(root, "email", "--correction", "first", "--send", "--yes"))
        ok(run(root, "email", "--send", "--yes", "--now", later))
        assert sink.handler.count() == sent_so_far + len(expected)
        assert ok(run(root, "report", first, "--json")) == report_first


def file_pub(make_pub: Publication, run: Run, *, extra: str = "", editions: int = 1) -> Path:
    """A publication with the file transport and ``editions`` editions sent to 5 readers."""
    root = make_pub({"first.md": CORRECTED}, extra=extra)
    add_many(root, 5)
    ok(run(root, "email", "--send", "--yes", "--now", NOW))
    if editions > 1:
        (root / "content" / "second.md").write_text(SECOND, encoding="utf-8")
        ok(run(root, "email", "--send", "--yes", "--now", LATER))
    return root


@pytest.mark.both_backends
def test_a_prune_killed_inside_its_transaction_leaves_rows_or_totals(
    make_pub: Publication, run: Run
) -> None:
    root = file_pub(make_pub, run, editions=2)
    first, second = editions(root)
    before = ok(run(root, "report", "--json"))
    later = (datetime.now(UTC) + AGE).isoformat(timespec="seconds")
    command = [*CLI, "--config", str(root / "config.toml")]
    for crash, folded in (("prune:1", set()), ("prune:2", {first})):
        killed = subprocess.run(
            [*command, "db", "prune", "--now", later],
            env={**os.environ, "SYNDICATE_CRASH_AT": crash},
            capture_output=True,
            text=True,
            check=False,
        )
        assert killed.returncode == -9, killed.stderr
        conn = connect(state_of(root))
        for edition in (first, second):
            kept = retention.totals(conn, edition)
            assert (edition in folded) == bool(kept)
            assert (live_rows(root, edition) == 0) == bool(kept)  # rows or totals, never both
        conn.close()
        assert ok(run(root, "report", "--json")) == before
    done = ok(run(root, "db", "prune", "--now", later))
    assert f"folded {second}" in done and f"folded {first}" not in done
    assert ok(run(root, "report", "--json")) == before


def test_publish_prunes_at_most_once_a_day(make_pub: Publication, run: Run) -> None:
    root = file_pub(make_pub, run)
    [first] = editions(root)
    start = datetime.now(UTC) + AGE
    published = run(root, "publish", "--verbose", "--now", start.isoformat())
    assert published.exit_code == 0, published.output + published.stderr
    assert f"folded {first}: 5 rows (5 sent)" in published.output + published.stderr
    conn = connect(state_of(root))
    stamp = retention.last_run(conn, "prune-ledger")
    assert stamp == start.isoformat(timespec="seconds")
    conn.close()
    for hours, ran in ((23, False), (25, True)):
        moment = start + timedelta(hours=hours)
        ok(run(root, "publish", "--now", moment.isoformat()))
        conn = connect(state_of(root))
        last = retention.last_run(conn, "prune-ledger")
        conn.close()
        assert (last == moment.isoformat(timespec="seconds")) is ran


def test_keep_ledger_days_zero_keeps_everything(make_pub: Publication, run: Run) -> None:
    root = file_pub(make_pub, run, extra="keep_ledger_days = 0\n")
    [first] = editions(root)
    later = (datetime.now(UTC) + AGE * 3).isoformat(timespec="seconds")
    ok(run(root, "publish", "--now", later))
    said = ok(run(root, "db", "prune", "--now", later))
    assert "keeps the ledger for ever: nothing pruned" in said
    assert live_rows(root, first) == 5
    once = ok(run(root, "db", "prune", "--keep-days", "30", "--now", later))
    assert f"folded {first}" in once and live_rows(root, first) == 0


@pytest.mark.parametrize("value", ["5", "-1", '"400"', "29"])
def test_a_bad_keep_ledger_days_names_the_key(
    make_pub: Publication, run: Run, value: str
) -> None:
    root = make_pub({}, extra=f"keep_ledger_days = {value}\n")
    result = run(root, "db", "prune")
    assert result.exit_code == 1
    assert "config.toml:" in result.stderr and "state.keep_ledger_days" in result.stderr
    assert "Traceback" not in result.stderr


def test_keep_days_below_the_minimum_is_a_usage_error(make_pub: Publication, run: Run) -> None:
    root = make_pub({})
    result = run(root, "db", "prune", "--keep-days", "3")
    assert result.exit_code == 2 and "--keep-days" in result.stderr
