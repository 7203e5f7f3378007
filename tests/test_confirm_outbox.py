"""The confirmation outbox is durable: a request made while the relay is down is mailed once
it is back, and one left by a process that died is mailed by the next ``syndicate serve``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syndicate.config import Config, load_config
from syndicate.delivery.subscribers import Status
from syndicate.store.database import connect
from syndicate.web.confirm_outbox import FIRST_RETRY, drain, enqueue, untried_count
from tests.conftest import Publication
from tests.smtp_server import SmtpSink, free_port
from tests.test_subscribe import SECRET, status_of
from tests.test_subscribe_abuse import post
from tests.web_server import outbox_drained, web_server

pytestmark = pytest.mark.both_backends

SERVE = [sys.executable, "-c", "from syndicate.cli import main; main()", "--config"]


def smtp_config(make_pub: Publication, port: int) -> Config:
    root = make_pub(
        email=(
            'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\n'
            f'port = {port}\nsecurity = "none"\ntimeout = 5\n'
        ),
        extra="[subscribe]\nrate_limit = 100\n",
    )
    return load_config(root / "config.toml")


def outbox_rows(config: Config) -> list[tuple[str, str]]:
    conn = connect(config.state_target)
    try:
        rows = conn.execute("SELECT email, state FROM confirm_outbox ORDER BY id").fetchall()
    finally:
        conn.close()
    return [(row[0], row[1]) for row in rows]


def test_a_request_made_while_the_relay_is_down_is_mailed_when_it_is_back(
    make_pub: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    port = free_port()  # nothing listens here yet
    config = smtp_config(make_pub, port)
    with web_server(config) as web:
        status, page = post(web, "/subscribe", {"email": "patient@example.com"})
        assert status == 200 and "Check your inbox" in page
        outbox_drained(config)
    assert outbox_rows(config) == [("patient@example.com", "queued")]
    assert status_of(config, "patient@example.com") is Status.PENDING
    with SmtpSink() as sink:  # the relay is back (on another port: the config says so)
        text = config.path.read_text(encoding="utf-8")
        config.path.write_text(text.replace(f"port = {port}", f"port = {sink.port}"), "utf-8")
        config = load_config(config.path)
        assert drain(config, secret=SECRET.encode()) == 0  # not due yet: backoff
        later = time.time() + FIRST_RETRY + 1
        assert drain(config, secret=SECRET.encode(), clock=lambda: later) == 1
        assert [m.recipients for m in sink.messages] == [("patient@example.com",)]
    assert outbox_rows(config) == [("patient@example.com", "sent")]


def test_serve_mails_what_a_dead_process_left_in_the_outbox(make_pub: Publication) -> None:
    with SmtpSink() as sink:
        config = smtp_config(make_pub, sink.port)
        conn = connect(config.state_target)
        try:  # the request was stored, then the process died before mailing it
            enqueue(conn, "orphan@example.com", name="", now=time.time())
            assert untried_count(conn) == 1
        finally:
            conn.close()
        process = subprocess.Popen(
            [*SERVE, str(config.path), "serve", "--port", str(free_port())],
            env={**os.environ, "SYNDICATE_SECRET": SECRET},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 20
            while not sink.to("orphan@example.com"):
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the outbox was not drained"
                time.sleep(0.05)
        finally:
            process.terminate()
            process.communicate(timeout=20)
    assert config.state_url or Path(config.state_db).exists()
    assert status_of(config, "orphan@example.com") is Status.PENDING
