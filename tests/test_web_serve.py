"""`syndicate serve` over real HTTP: its access log never holds a token (a token is a
credential: it unsubscribes or confirms an address), and its forms are valid HTML."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

from syndicate.delivery.tokens import make_token
from tests.conftest import Publication
from tests.sending import SECRET, add_many
from tests.smtp_server import free_port

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


def start(root: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CLI,
            "--config",
            str(root / "config.toml"),
            "serve",
            "--port",
            f"{port}",
        ],
        env={**os.environ, "SYNDICATE_SECRET": SECRET},
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
