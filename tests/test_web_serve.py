"""`syndicate serve` over real HTTP: its access log never holds a token (a token is a
credential: it unsubscribes or confirms an address), its forms are valid HTML, a slow client
stalls no one, a burst of posts all get answers, and every page refuses to be framed. The
same app under gunicorn does a whole subscribe round trip."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest

from syndicate.config import load_config
from syndicate.delivery.subscribers import Status, get_subscriber
from syndicate.delivery.tokens import make_token
from syndicate.store.database import connect
from tests.conftest import Publication
from tests.sending import SECRET, add_many
from tests.smtp_server import SmtpSink, free_port

CLI = "from syndicate.cli import main; main()"


def request(port: int, method: str, path: str, body: str = "") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        conn.request(method, path, body=body.encode() or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8")
    finally:
        conn.close()


def start(root: Path, port: int, command: list[str] | None = None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command
        or [
            sys.executable,
            "-c",
            CLI,
            "--config",
            str(root / "config.toml"),
            "serve",
            "--port",
            f"{port}",
        ],
        env={
            **os.environ,
            "SYNDICATE_SECRET": SECRET,
            "SYNDICATE_CONFIG": str(root / "config.toml"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            request(port, "GET", "/")
            return process
        except OSError:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_access_log_redacts_tokens_and_forms_are_valid(make_pub: Publication) -> None:
    root = make_pub()
    [reader] = add_many(root, 1)
    token = make_token(SECRET.encode(), reader)
    port = free_port()
    process = start(root, port)
    try:
        status, form = request(port, "GET", "/subscribe")
        assert status == 200
        assert '<form method="post"' in form
        assert 'action=""' not in form  # the W3C checker refuses an empty action
        assert request(port, "GET", f"/unsubscribe?token={token}")[0] == 200
        one_click = request(
            port, "POST", f"/unsubscribe?token={token}", "List-Unsubscribe=One-Click"
        )
        assert one_click[0] == 200
        assert request(port, "GET", "/confirm?token=1.forged.token")[0] in (400, 403)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    log = (out + err).decode()
    assert "POST /unsubscribe?token=[redacted] HTTP/1.1" in log
    assert "GET /confirm?token=[redacted] HTTP/1.1" in log
    assert token not in log and token.split(".")[1] not in log
    assert "forged" not in log


@contextmanager
def serving(root: Path, command: list[str] | None = None) -> Iterator[int]:
    port = free_port()
    process = start(root, port, [a.replace("PORT", str(port)) for a in command or []] or None)
    try:
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=20)


def smtp_root(make_pub: Publication, sink: SmtpSink) -> Path:
    return make_pub(
        email=(
            'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\n'
            f'port = {sink.port}\nsecurity = "none"\ntimeout = 10\n'
        ),
        extra="[subscribe]\nrate_limit = 1000\n",
    )


def test_a_slow_client_stalls_no_one_and_every_page_refuses_frames(make_pub: Publication) -> None:
    root = make_pub()
    with serving(root) as port:
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            slow.sendall(b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            started = time.monotonic()
            for path in ("/", "/subscribe", "/nowhere", "/unsubscribe"):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                conn.close()
                assert response.getheader("X-Frame-Options") == "DENY", path
                policy = response.getheader("Content-Security-Policy") or ""
                assert "frame-ancestors 'none'" in policy, path
            assert time.monotonic() - started < 3
        finally:
            slow.close()


def test_a_hundred_parallel_posts_all_get_answers(make_pub: Publication) -> None:
    with SmtpSink() as sink:
        root = smtp_root(make_pub, sink)
        with serving(root) as port:

            def one(n: int) -> int:
                return request(
                    port, "POST", "/subscribe", urlencode({"email": f"p{n}@example.com"})
                )[0]

            with ThreadPoolExecutor(max_workers=100) as pool:
                statuses = list(pool.map(one, range(100)))
    assert statuses == [200] * 100


def confirm_token(sink: SmtpSink, address: str) -> str:
    deadline = time.monotonic() + 20
    while not sink.to(address):
        assert time.monotonic() < deadline, "no confirmation email"
        time.sleep(0.05)
    body = sink.to(address)[0].message.get_body(("plain",))
    assert body is not None
    match = re.search(r"/confirm\?token=(\S+)", body.get_content())
    assert match is not None
    return match.group(1)


@pytest.mark.skipif(shutil.which("gunicorn") is None, reason="needs gunicorn (test extras)")
def test_gunicorn_serves_the_app_for_a_subscribe_round_trip(make_pub: Publication) -> None:
    gunicorn = str(shutil.which("gunicorn"))
    command = [gunicorn, "--workers", "2", "--bind", "127.0.0.1:PORT", "syndicate.web:app"]
    with SmtpSink() as sink:
        root = smtp_root(make_pub, sink)
        with serving(root, command) as port:
            status, page = request(
                port, "POST", "/subscribe", urlencode({"email": "g@example.com"})
            )
            assert status == 200 and "Check your inbox" in page
            token = confirm_token(sink, "g@example.com")
            status, page = request(port, "POST", "/confirm", urlencode({"token": token}))
            assert status == 200 and "You are subscribed" in page
    conn = connect(load_config(root / "config.toml").state_db)
    try:
        found = get_subscriber(conn, "g@example.com")
    finally:
        conn.close()
    assert found is not None and found.status is Status.ACTIVE
