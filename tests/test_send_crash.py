"""The sending process SIGKILLed mid-run, then rerun: nobody is missed, and nobody gets two
copies except recipients the ledger reports as uncertain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syndicate.delivery.ledger import RowState
from tests.conftest import Publication, Run
from tests.sending import NOW, SECRET, add_many, ledger_rows, smtp_pub
from tests.smtp_server import Faults, SmtpSink

pytestmark = pytest.mark.both_backends

CLI = "from syndicate.cli import main; main()"
SEND = ("email", "--send", "--yes", "--now", NOW)


def start_send(root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SYNDICATE_SECRET": SECRET}
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "--config", str(root / "config.toml"), *SEND],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_after(process: subprocess.Popen[bytes], sink: SmtpSink, count: int) -> int:
    """SIGKILL ``process`` once the sink has ``count`` messages; returns how many it had."""
    deadline = time.monotonic() + 60
    while sink.handler.count() < count:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"sender exited early ({process.returncode}): {out!r} {err!r}")
        assert time.monotonic() < deadline, "sender made no progress"
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    return sink.handler.count()


def test_sigkill_mid_run_then_rerun(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    with SmtpSink() as sink:
        root = smtp_pub(make_pub, sink.port, connections=2)
        emails = add_many(root, 500)
        at_kill = kill_after(start_send(root), sink, 150)
        assert at_kill < 500, "the kill came too late to test anything"

        rerun = run(root, "email", "--send", "--yes", "--now", NOW)
        uncertain = {row.email for row in ledger_rows(root, RowState.SENDING)}
        assert len(uncertain) <= 2  # at most one message in flight per connection
        counts = sink.handler.per_recipient()
        assert max(counts.values()) == 1, "the default rerun must not resend anyone"
        missing = set(emails) - set(counts)
        assert missing <= uncertain, "only uncertain recipients may still lack a copy"
        assert rerun.exit_code == (3 if uncertain else 0), rerun.output
        if uncertain:
            assert f"uncertain {len(uncertain)}" in rerun.stdout

        final = run(root, "email", "--send", "--yes", "--resend-uncertain", "--now", NOW)
        if uncertain:
            assert final.exit_code == 0, final.output
        counts = sink.handler.per_recipient()
        assert set(counts) == set(emails), "nobody is missed"
        twice = {email for email, n in counts.items() if n > 1}
        assert twice <= uncertain
        assert max(counts.values()) <= 2
    assert {row.state for row in ledger_rows(root)} == {RowState.SENT}


def test_sigterm_stops_cleanly_with_nothing_uncertain(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    with SmtpSink() as sink:
        root = smtp_pub(make_pub, sink.port, connections=2, rate=200)
        emails = add_many(root, 300)
        process = start_send(root)
        deadline = time.monotonic() + 60
        while sink.handler.count() < 40:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 3, (out, err)
        assert b"interrupted" in err and b"rerun to resume" in err
        assert not ledger_rows(root, RowState.SENDING)  # in-flight messages were finished
        sent = {row.email for row in ledger_rows(root, RowState.SENT)}
        assert sent == set(sink.handler.per_recipient())
        assert len(sent) < 300

        rerun = run(root, "email", "--send", "--yes", "--now", NOW)
        assert rerun.exit_code == 0, rerun.output
        assert sorted(sink.handler.per_recipient().items()) == [(e, 1) for e in emails]


def test_a_kill_while_the_server_answers_the_envelope_leaves_nobody_uncertain(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger row is claimed only once MAIL and RCPT were accepted: a process killed
    while a slow server ponders RCPT never handed that message over, and the rerun just sends.
    The message before it was accepted, but its outcome rides with the next claim's commit
    (one commit per message, not two): it may be left uncertain, and is not sent again."""
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    with SmtpSink(Faults(rcpt_delay=0.3)) as sink:
        root = smtp_pub(make_pub, sink.port, connections=1)
        emails = add_many(root, 3)
        process = start_send(root)
        deadline = time.monotonic() + 30
        while sink.handler.rcpts < 2:  # the second recipient's RCPT is being answered
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
        uncertain = {row.email for row in ledger_rows(root, RowState.SENDING)}
        assert uncertain <= {emails[0]}, "the message in its envelope was never handed over"

        sink.handler.faults.rcpt_delay = 0
        rerun = run(root, *SEND)
    assert rerun.exit_code == (3 if uncertain else 0), rerun.output
    assert sorted(sink.handler.per_recipient().items()) == [(e, 1) for e in emails]
