"""Several `email --send` processes on one edition: they split the recipients (batches claimed
under a lease), a SIGKILLed one's claimed rows are taken over once its lease expires, and
nobody gets two copies; only the rows it had in flight are uncertain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from syndicate.delivery.ledger import RowState
from tests.conftest import Publication, Run
from tests.sending import NOW, SECRET, add_many, ledger_rows, smtp_pub
from tests.smtp_server import Faults, SmtpSink

pytestmark = pytest.mark.both_backends

CLI = "from syndicate.cli import main; main()"
SEND = ("email", "--send", "--yes", "--now", NOW)
LEASE = "lease = 1\nclaim_batch = 25\n"  # short leases keep the takeover test fast
# A few ms per message (per connection, not for the sink as a whole): a sender that starts
# late on a busy machine still finds work, so "each sender sent some" is not a race.
PACE = 0.003


def start_send(root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SYNDICATE_SECRET": SECRET}
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "--config", str(root / "config.toml"), *SEND],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def pid_of(worker: str) -> int:
    """``host:pid:random`` -> pid."""
    return int(worker.split(":")[-2])


def senders(root: Path, count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` senders started together (the first one creates the edition, under the
    edition lease; the others join it)."""
    return [start_send(root) for _ in range(count)]


def test_three_senders_split_one_edition_and_send_each_message_once(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    with SmtpSink(Faults(rcpt_delay=PACE)) as sink:
        root = smtp_pub(make_pub, sink.port, connections=1, sending=LEASE)
        emails = add_many(root, 600)
        processes = senders(root, 3)
        for process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, (out, err)
        counts = sink.handler.per_recipient()
        assert sorted(counts.items()) == [(email, 1) for email in emails], "one copy each"
        status = run(root, "email", "--status", "latest")
    rows = ledger_rows(root)
    assert {row.state for row in rows} == {RowState.SENT}
    by_pid = Counter(pid_of(row.worker) for row in rows)
    assert set(by_pid) == {p.pid for p in processes}, by_pid  # the work was split
    assert "senders: 3; claimed 600, sent 600, failed 0, live 0" in status.stdout
    for process in processes:
        assert f":{process.pid}:" in status.stdout
    assert status.stdout.count("lease finished") == 3


def test_a_sigkilled_sender_is_taken_over_and_nobody_gets_two_copies(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    with SmtpSink(Faults(rcpt_delay=PACE)) as sink:
        root = smtp_pub(make_pub, sink.port, connections=1, sending=LEASE)
        emails = add_many(root, 900)
        processes = senders(root, 3)
        victim, survivors = processes[0], processes[1:]
        deadline = time.monotonic() + 60
        while (
            Counter(pid_of(r.worker) for r in ledger_rows(root, RowState.SENT)).get(victim.pid, 0)
            < 30
        ):
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "the first sender made no progress"
            time.sleep(0.005)
        victim.send_signal(signal.SIGKILL)
        # Not reaped yet: to the others it looks alive (a zombie), so only its lease expiring
        # frees its claimed rows; this tests the lease, not the same-host pid check.
        held = {r.email for r in ledger_rows(root, RowState.QUEUED) if pid_of_or(r) == victim.pid}
        for process in survivors:
            out, err = process.communicate(timeout=60)
            assert process.returncode in (0, 3), (out, err)
        victim.communicate(timeout=10)
        assert victim.returncode == -signal.SIGKILL

        rows = {row.email: row for row in ledger_rows(root)}
        uncertain = {e for e, row in rows.items() if row.state == RowState.SENDING}
        assert all(pid_of(rows[e].worker) == victim.pid for e in uncertain)
        assert len(uncertain) <= 1  # one connection: its message in flight, or its outcome
        taken = {e for e in held if pid_of(rows[e].worker) != victim.pid}
        assert taken == held, "the killed sender's claimed rows were taken over"

        rerun = run(root, *SEND)
        assert rerun.exit_code == (3 if uncertain else 0), rerun.output
        counts = sink.handler.per_recipient()
        assert max(counts.values()) == 1, "two senders never send the same row"
        assert {e for e in emails if counts.get(e) != 1} <= uncertain
        assert {rows[e].state for e in set(emails) - uncertain} == {RowState.SENT}
        sent_by = Counter(pid_of(r.worker) for r in ledger_rows(root, RowState.SENT))
        for process in survivors:
            assert sent_by[process.pid] > 0, sent_by  # each surviving worker sent some
        status = run(root, "email", "--status", "latest")
        assert f":{victim.pid}:" in status.stdout and "lease expired" in status.stdout
        for email in uncertain:
            assert f"uncertain {email}" in status.stdout


def pid_of_or(row: object) -> int:
    """The pid of a row's worker, or 0 for a row nobody claimed yet."""
    worker = getattr(row, "worker", "")
    return pid_of(worker) if worker else 0


def test_a_sender_on_another_host_that_went_silent_is_taken_over_after_its_lease(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker on another host (its pid means nothing here) claimed rows and stopped
    renewing: `email --send` waits for its lease to run out, then sends them itself."""
    from datetime import datetime

    from syndicate.delivery import claims
    from syndicate.delivery.ledger import enqueue
    from syndicate.edition.sending import select_edition
    from syndicate.edition.state import mark_sending
    from syndicate.store.database import connect
    from tests.sending import config_of

    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    with SmtpSink() as sink:
        root = smtp_pub(make_pub, sink.port, connections=1, sending=LEASE)
        emails = add_many(root, 40)
        config = config_of(root)
        conn = connect(config.state_target)
        chosen = select_edition(config, conn, now=datetime.fromisoformat(NOW))
        assert chosen is not None
        edition = chosen.edition.id
        mark_sending(conn, chosen.edition)
        enqueue(conn, edition, "news.test")
        elsewhere = "otherhost:4242:abcdef"
        claims.begin(conn)
        claims.register(conn, edition, elsewhere, 1.5)
        held = claims.claim_batch(conn, edition, elsewhere, size=10, lease=1.5)
        conn.execute("COMMIT")
        conn.close()
        assert len(held) == 10

        started = time.monotonic()
        result = run(root, *SEND)
        waited = time.monotonic() - started
        assert result.exit_code == 0, result.output
        assert sorted(sink.handler.per_recipient().items()) == [(e, 1) for e in emails]
        status = run(root, "email", "--status", edition)
    assert waited >= 1.0, "the other host's rows were taken only after its lease"
    rows = {row.email: row for row in ledger_rows(root)}
    assert all(rows[c.email].worker != elsewhere for c in held)
    assert f"worker {elsewhere} on otherhost: claimed 10, sent 0, failed 0" in status.stdout
    assert "lease expired" in status.stdout
