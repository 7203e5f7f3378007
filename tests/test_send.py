"""`syndicate email --send` against a real aiosmtpd server on 127.0.0.1: exactly one copy each,
resumable, faults classified, and the file transport and test copy."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicate.content.when import parse_datetime
from syndicate.delivery import ledger
from syndicate.delivery.ledger import RowState
from syndicate.delivery.subscribers import Status, get_subscriber
from syndicate.edition.render import render_edition
from syndicate.edition.sending import send_edition
from syndicate.edition.state import get_edition, open_state, plan_edition
from syndicate.store.database import connect
from tests.conftest import Publication, Run
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
from tests.smtp_server import Faults, SmtpSink

pytestmark = pytest.mark.both_backends


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def send(run: Run, root: Path, *extra: str) -> tuple[int, str, str]:
    result = run(root, "email", "--send", "--yes", "--now", NOW, *extra)
    return result.exit_code, result.stdout, result.stderr


def test_500_subscribers_get_one_copy_each_and_a_rerun_sends_nothing(
    make_pub: Publication, run: Run, sink: SmtpSink
) -> None:
    root = smtp_pub(make_pub, sink.port, connections=4)
    emails = add_many(root, 500)

    code, out, err = send(run, root)

    assert code == 0, out + err
    assert "sent 500, deferred 0, failed 0, skipped 0, uncertain 0" in out
    assert len(sink.messages) == 500
    assert sorted(sink.handler.per_recipient().items()) == [(e, 1) for e in emails]
    ids = set()
    for received in sink.messages:
        [recipient] = received.recipients
        assert received.mail_from == "news@news.test"
        assert_personal_token(received.data, recipient)
        message = received.message
        assert message["To"].addresses[0].addr_spec == recipient
        ids.add(message["Message-ID"])
    assert len(ids) == 500
    rows = ledger_rows(root)
    assert {row.state for row in rows} == {RowState.SENT}
    assert {row.message_id for row in rows} == ids
    edition = get_edition(open_state(config_of(root)), rows[0].edition)
    assert edition is not None and edition.status == "sent"

    code, out, err = send(run, root)
    assert code == 0, out + err
    assert "nothing to send" in out
    assert len(sink.messages) == 500


def test_451_every_7th_rcpt_and_a_dropped_connection_still_one_copy_each(
    make_pub: Publication, run: Run
) -> None:
    faults = Faults(tempfail_every_rcpt=7, drop_at_mail={200})
    with SmtpSink(faults) as sink:
        root = smtp_pub(make_pub, sink.port, connections=2, retries=1)
        emails = add_many(root, 500)
        first, out, err = send(run, root)
        assert sink.handler.tempfails > 70 and sink.handler.drops == 1
        if first == 3:  # some recipients were deferred twice: the rerun finishes them
            assert "pending" in err
            second, out, err = send(run, root)
            assert second == 0, out + err
        else:
            assert first == 0, out + err
        assert sorted(sink.handler.per_recipient().items()) == [(e, 1) for e in emails]
    deferred_once = [row for row in ledger_rows(root) if row.attempts > 1]
    assert deferred_once, "the 451s should show as extra attempts in the ledger"
    assert all(row.state is RowState.SENT for row in ledger_rows(root))


def test_deferred_past_the_in_run_limit_are_left_for_the_next_run(
    make_pub: Publication, run: Run
) -> None:
    with SmtpSink(Faults(tempfail_every_rcpt=2)) as sink:
        root = smtp_pub(make_pub, sink.port, connections=1, retries=0)
        emails = add_many(root, 10)
        code, out, err = send(run, root)
        assert code == 3, out + err
        assert "deferred 5" in out and "rerun to resume" in err
        deferred = ledger_rows(root, RowState.DEFERRED)
        assert len(deferred) == 5
        assert all(r.reason.startswith("451 4.3.0") and r.retry_at for r in deferred)
        status = run(root, "email", "--status", "latest")
        assert status.exit_code == 0
        assert "5 deferred, 5 sent" in status.stdout
        assert f"deferred {deferred[0].email}" in status.stdout
        sink.handler.faults.tempfail_every_rcpt = 0
        code, out, err = send(run, root)
        assert code == 0, out + err
        assert "sent 5," in out
        assert sorted(sink.handler.per_recipient().items()) == [(e, 1) for e in emails]


def test_550_511_fails_the_row_and_marks_the_subscriber_bounced(
    make_pub: Publication, run: Run
) -> None:
    bad = address(3)
    with SmtpSink(Faults(bounce={bad})) as sink:
        root = smtp_pub(make_pub, sink.port)
        add_many(root, 6)
        code, out, err = send(run, root)
        assert code == 0, out + err  # a permanent failure is final: nothing is pending
        assert "sent 5, deferred 0, failed 1" in out
        assert bad not in sink.handler.per_recipient()
    [failed] = ledger_rows(root, RowState.FAILED)
    assert failed.email == bad and failed.reason.startswith("550 5.1.1")
    conn = connect(config_of(root).state_target)
    sub = get_subscriber(conn, bad)
    assert sub is not None and sub.status is Status.BOUNCED and "5.1.1" in sub.reason


def test_disconnect_after_data_is_uncertain_and_not_resent_by_default(
    make_pub: Publication, run: Run
) -> None:
    with SmtpSink(Faults(drop_after_data={4})) as sink:
        root = smtp_pub(make_pub, sink.port, connections=1)
        emails = add_many(root, 8)
        code, out, err = send(run, root)
        assert code == 3, out + err
        assert "uncertain 1" in out and "--resend-uncertain" in err
        [uncertain] = ledger_rows(root, RowState.SENDING)
        assert uncertain.email == emails[3] and "outcome unknown" in uncertain.reason
        assert sorted(sink.handler.per_recipient().items()) == [(e, 1) for e in emails]

        code, out, err = send(run, root)  # a plain rerun leaves the uncertain one alone
        assert code == 3 and "sent 0" in out and "uncertain 1" in out
        assert len(sink.messages) == 8
        edition = get_edition(open_state(config_of(root)), uncertain.edition)
        assert edition is not None and edition.status == "sending"

        code, out, err = send(run, root, "--resend-uncertain")
        assert code == 0, out + err
        assert sink.handler.per_recipient()[emails[3]] == 2  # the price of at-least-once
        assert len(sink.messages) == 9
        assert edition.id in run(root, "email", "--status", edition.id).stdout


def test_skip_uncertain_completes_the_edition_without_resending(
    make_pub: Publication, run: Run
) -> None:
    with SmtpSink(Faults(drop_after_data={2})) as sink:
        root = smtp_pub(make_pub, sink.port, connections=1)
        add_many(root, 3)
        assert send(run, root)[0] == 3
        code, out, err = send(run, root, "--skip-uncertain")
        assert code == 0, out + err
        assert len(sink.messages) == 3
    [skipped] = ledger_rows(root, RowState.SKIPPED)
    assert "not resent" in skipped.reason


def test_unsubscribed_after_queueing_is_skipped(make_pub: Publication, sink: SmtpSink) -> None:
    root = smtp_pub(make_pub, sink.port, connections=1)
    emails = add_many(root, 4)
    config = config_of(root)
    conn = open_state(config)
    edition = plan_edition(config, conn, now=parse_datetime(NOW, config.publication.timezone))
    assert edition is not None
    ledger.enqueue(conn, edition.id, "news.test")
    conn.execute("UPDATE subscribers SET status = 'unsubscribed' WHERE email = ?", (emails[1],))
    seen: list[tuple[int, int]] = []
    report = send_edition(
        config,
        conn,
        edition,
        render_edition(config, edition),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (report.sent, report.skipped, report.exit_code) == (3, 1, 0)
    assert emails[1] not in sink.handler.per_recipient()
    assert seen[-1] == (4, 4)


def test_send_needs_a_terminal_or_yes(make_pub: Publication, run: Run, sink: SmtpSink) -> None:
    root = smtp_pub(make_pub, sink.port)
    add_many(root, 2)
    result = run(root, "email", "--send", "--now", NOW)
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert sink.messages == []


def test_send_without_secret_is_a_clear_error(
    make_pub: Publication, run: Run, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNDICATE_SECRET")
    root = smtp_pub(make_pub, sink.port)
    add_many(root, 2)
    result = run(root, "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 1
    assert "SYNDICATE_SECRET is not set" in result.stderr
    assert sink.messages == []


def test_no_subscribers_leaves_the_edition_a_draft(
    make_pub: Publication, run: Run, sink: SmtpSink
) -> None:
    root = smtp_pub(make_pub, sink.port)
    result = run(root, "email", "--send", "--yes", "--now", NOW)
    assert result.exit_code == 1
    assert "no active subscribers" in result.stderr
    assert not ledger_rows(root)


def test_test_copy_goes_out_without_touching_the_ledger(
    make_pub: Publication, run: Run, sink: SmtpSink
) -> None:
    root = smtp_pub(make_pub, sink.port)
    add_many(root, 2)
    result = run(root, "email", "--to", "Editor@Example.org", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "test copy of edition" in result.stdout
    [copy] = sink.messages
    assert copy.recipients == ("Editor@example.org",)
    assert_personal_token(copy.data, "editor@example.org")
    assert not ledger_rows(root)
    code, out, _ = send(run, root)
    assert code == 0 and "sent 2," in out
    assert len(sink.messages) == 3


def test_test_copy_refused_by_the_server_says_why(make_pub: Publication, run: Run) -> None:
    with SmtpSink(Faults(bounce={"nobody@example.org"})) as sink:
        root = smtp_pub(make_pub, sink.port)
        result = run(root, "email", "--to", "nobody@example.org", "--now", NOW)
    assert result.exit_code == 1
    assert "550 5.1.1" in result.stderr


def test_server_down_stops_after_errors_and_leaves_everyone_queued(
    make_pub: Publication, run: Run
) -> None:
    from tests.smtp_server import free_port

    root = smtp_pub(make_pub, free_port(), connections=1, max_errors=8, retries=0)
    add_many(root, 5)
    code, out, err = send(run, root)
    assert code == 3, out + err
    assert "127.0.0.1" in err and "connection refused" in err
    assert {row.state for row in ledger_rows(root)} <= {RowState.QUEUED, RowState.DEFERRED}
    assert not ledger_rows(root, RowState.SENDING)  # nothing was in flight: nothing uncertain


def test_file_transport_writes_a_maildir_by_default(make_pub: Publication, run: Run) -> None:
    from tests.sending import ARTICLES

    root = make_pub(ARTICLES)
    emails = add_many(root, 3)
    code, out, err = send(run, root)
    assert code == 0, out + err
    assert "via file: sent 3" in out
    box = mailbox.Maildir(root / "outbox", create=False)
    delivered = sorted(str(message["To"]).split("<")[-1].rstrip(">") for message in box)
    assert delivered == emails
    for key in box.keys():
        data = box.get_bytes(key)
        recipient = str(box[key]["To"]).split("<")[-1].rstrip(">")
        assert_personal_token(data.replace(b"\n", b"\r\n").replace(b"\r\r", b"\r"), recipient)


def test_on_a_terminal_send_asks_first_and_shows_progress(make_pub: Publication) -> None:
    from tests.sending import ARTICLES
    from tests.terminal import Terminal

    root = make_pub(ARTICLES)
    add_many(root, 30)
    command = ("--config", str(root / "config.toml"), "email", "--send", "--now", NOW)

    def on_terminal(answer: bytes) -> tuple[int, str]:
        terminal = Terminal(*command, env={"SYNDICATE_SECRET": SECRET})
        terminal.wait_for(b"[y/N]")
        terminal.type(answer)
        return terminal.finish()

    code, screen = on_terminal(b"n\n")
    assert code == 1 and "to 30 recipients via file? [y/N]" in screen and "Aborted" in screen
    assert not ledger_rows(root)
    code, screen = on_terminal(b"y\n")
    assert code == 0, screen
    assert "sending" in screen and "100%" in screen  # the progress bar
    assert "30/30" in screen and "messages/s" in screen  # position and rate
    assert "sent 30, deferred 0" in screen
    assert len(list((root / "outbox" / "new").iterdir())) == 30
