"""A dead or misconfigured SMTP server fails a send at once with one line that names it.

Connection refused, an unknown host or a failed TLS handshake at the first connection of a run
cannot be cured by waiting out the in-run retries (10 s, 20 s, 40 s by default: 72 s of
silence, with ``publish`` holding its lock all along). The run stops at once, says which
server and what to check, counts no attempt and leaves every recipient for the next run.
Retries after the server was reached (a dropped connection, a 4xx) still back off, and say
what they wait for under ``-v``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from syndicate.delivery.ledger import RowState
from tests.conftest import Publication, Run
from tests.sending import NOW, SECRET, add_many, ledger_rows, smtp_pub
from tests.smtp_server import Faults, SmtpSink, free_port

SLOW = {"retry_delay": 10.0, "retries": 3}  # the defaults: 10 + 20 + 40 s of retries


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def set_smtp(root: Path, old: str, new: str) -> None:
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new), encoding="utf-8")


def send_fails_fast(root: Path, run: Run, *expected: str) -> str:
    """Runs ``email --send --yes``; asserts a quick exit 3, nothing claimed, one clear line."""
    started = time.monotonic()
    result = run(root, "email", "--send", "--yes", "--now", NOW)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"took {elapsed:.1f} s: {result.stderr}"
    assert result.exit_code == 3, result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if all(e in line for e in expected)]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    rows = ledger_rows(root)
    assert {row.state for row in rows} == {RowState.QUEUED}
    assert {row.attempts for row in rows} == {0}
    return lines[0]


def test_connection_refused_fails_fast(make_pub: Publication, run: Run) -> None:
    port = free_port()  # nothing listens there
    root = smtp_pub(make_pub, port, connections=2, **SLOW)
    add_many(root, 4)
    line = send_fails_fast(root, run, f"127.0.0.1:{port}", "refused")
    assert "[email.smtp]" in line  # what to check


def test_unknown_host_fails_fast(make_pub: Publication, run: Run) -> None:
    root = smtp_pub(make_pub, 25, connections=1, **SLOW)
    set_smtp(root, 'host = "127.0.0.1"', 'host = "nonexistent.invalid"')
    add_many(root, 3)
    line = send_fails_fast(root, run, "nonexistent.invalid:25")
    assert "host" in line and "[email.smtp]" in line


def test_implicit_tls_against_a_plain_server_fails_fast(make_pub: Publication, run: Run) -> None:
    with SmtpSink() as server:
        root = smtp_pub(make_pub, server.port, connections=1, **SLOW)
        set_smtp(root, 'security = "none"', 'security = "tls"')
        add_many(root, 3)
        line = send_fails_fast(root, run, f"127.0.0.1:{server.port}", "TLS")
        assert "security" in line
    assert server.messages == []


def test_starttls_required_but_not_offered_fails_fast(make_pub: Publication, run: Run) -> None:
    with SmtpSink() as server:
        root = smtp_pub(make_pub, server.port, connections=1, **SLOW)
        set_smtp(root, 'security = "none"', 'security = "starttls"')
        add_many(root, 2)
        send_fails_fast(root, run, f"127.0.0.1:{server.port}", "STARTTLS")
    assert server.messages == []


def test_publish_does_not_hold_the_lock_for_a_dead_server(make_pub: Publication, run: Run) -> None:
    root = smtp_pub(make_pub, free_port(), connections=2, **SLOW)
    with (root / "config.toml").open("a", encoding="utf-8") as config:
        config.write('\n[schedule]\nemail = "on-new"\n')
    add_many(root, 3)
    started = time.monotonic()
    result = run(root, "publish", "--now", NOW)
    assert time.monotonic() - started < 10, result.stderr
    assert result.exit_code == 3, result.output + result.stderr
    assert "refused" in result.stderr and "3 recipients not delivered yet" in result.stderr


def test_retries_after_the_server_was_reached_say_what_they_wait_for(
    make_pub: Publication, run: Run
) -> None:
    """A 4xx (or a drop) after a working connection is retried with backoff, told under -v."""
    with SmtpSink(Faults(tempfail_every_rcpt=2)) as server:
        root = smtp_pub(make_pub, server.port, connections=1, retry_delay=0.05, retries=3)
        emails = add_many(root, 4)
        result = run(root, "-v", "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 0, result.output + result.stderr
    waits = [line for line in result.stderr.splitlines() if "retry in 0.1 s (1 of 3)" in line]
    assert waits and "451" in waits[0], result.stderr
    assert sorted(server.handler.per_recipient().items()) == [(e, 1) for e in emails]
