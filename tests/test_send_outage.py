"""An SMTP server that is down for a while costs nobody their copy: cron's reruns during the
outage count no attempts against recipients, and the first run after it sends to everyone."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.delivery.ledger import RowState
from tests.conftest import Publication, Run
from tests.sending import NOW, SECRET, add_many, ledger_rows, smtp_pub
from tests.smtp_server import Faults, SmtpSink, free_port

pytestmark = pytest.mark.both_backends


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def give_up_after_two_attempts(root: Path) -> None:
    """``max_attempts = 2``: a recipient who is really refused twice is failed."""
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[email.sending]\n", "[email.sending]\nmax_attempts = 2\n"), encoding="utf-8"
    )


def test_an_outage_longer_than_max_attempts_fails_nobody(make_pub: Publication, run: Run) -> None:
    server = SmtpSink()  # its port is reserved but nothing listens until it is started
    root = smtp_pub(make_pub, server.port, connections=1, retries=1, max_errors=4)
    give_up_after_two_attempts(root)
    emails = add_many(root, 6)

    for _ in range(5):  # cron keeps trying while the server is down
        result = run(root, "email", "--send", "--yes", "--now", NOW)
        assert result.exit_code == 3, result.output
        assert "connection refused" in result.stderr  # at once, not after the retries
    rows = ledger_rows(root)
    assert {row.state for row in rows} == {RowState.QUEUED}, [(r.email, r.state) for r in rows]
    assert {row.attempts for row in rows} == {0}

    with server:
        result = run(root, "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "sent 6, deferred 0, failed 0" in result.stdout
    assert sorted(server.handler.per_recipient().items()) == [(e, 1) for e in emails]


def test_a_server_answering_421_for_hours_fails_nobody(make_pub: Publication, run: Run) -> None:
    """421 is the server closing the channel, not a verdict on the recipient."""
    server = SmtpSink(Faults(busy_mails=10_000))
    root = smtp_pub(make_pub, server.port, connections=1, retries=1, max_errors=4)
    give_up_after_two_attempts(root)
    emails = add_many(root, 3)
    with server:
        for _ in range(3):
            result = run(root, "email", "--send", "--yes", "--now", NOW)
            assert result.exit_code == 3, result.output
            assert "421 4.3.2" in result.stderr
        rows = ledger_rows(root)
        assert {row.state for row in rows} == {RowState.QUEUED}, [(r.email, r.state) for r in rows]
        assert {row.attempts for row in rows} == {0}

        server.handler.faults.busy_mails = 0  # the server is back to normal
        result = run(root, "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert sorted(server.handler.per_recipient().items()) == [(e, 1) for e in emails]


def test_publish_during_an_outage_says_each_error_once(make_pub: Publication, run: Run) -> None:
    root = smtp_pub(make_pub, free_port(), connections=2, retries=1, max_errors=6)
    with (root / "config.toml").open("a", encoding="utf-8") as config:
        config.write('\n[schedule]\nemail = "on-new"\n')
    add_many(root, 4)

    result = run(root, "publish", "--now", NOW)  # nothing listens on that port

    assert result.exit_code == 3, result.output
    lines = result.stderr.splitlines()
    refused = [line for line in lines if "cannot connect" in line and "warning: edition" in line]
    assert len(refused) == 1, result.stderr  # cron mails this: one line, not one per attempt
    assert any("4 recipients not delivered yet" in line for line in lines), result.stderr
