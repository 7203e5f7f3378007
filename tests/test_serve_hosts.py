"""`serve` on several processes (as on several hosts) against one state database: the per-IP
limit is one limit however requests are spread, and a confirmation queued by one server and
mailed by another reaches the reader exactly once, at a real SMTP server. Under gunicorn with
two workers the limit holds too."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from syndicate.config import load_config
from syndicate.store.database import connect
from tests.conftest import Publication
from tests.smtp_server import SmtpSink
from tests.test_web_serve import request, serving


def two_hosts(make_pub: Publication, sink: SmtpSink, *, rate_limit: int) -> tuple[Path, Path]:
    """Publications "a" (queues only: its host cannot reach the relay) and "b" (mails), whose
    configs name one state database."""
    email = (
        'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\n'
        f'port = {sink.port}\nsecurity = "none"\ntimeout = 10\n'
    )
    b = make_pub(name="b", email=email, extra=f"[subscribe]\nrate_limit = {rate_limit}\n")
    a = make_pub(
        name="a",
        email=email,
        extra=f"[subscribe]\nrate_limit = {rate_limit}\nsend_confirmations = false\n",
    )
    shared = load_config(b / "config.toml").state_db
    text = (a / "config.toml").read_text(encoding="utf-8")
    (a / "config.toml").write_text(
        text.replace('db = "state/syndicate.db"', f"db = {str(shared)!r}"), encoding="utf-8"
    )
    assert load_config(a / "config.toml").state_db == shared
    return a, b


def post(port: int, address: str) -> int:
    return request(port, "POST", "/subscribe", urlencode({"email": address}))[0]


def test_two_servers_share_the_limit_and_mail_each_request_once(make_pub: Publication) -> None:
    with SmtpSink() as sink:
        a, b = two_hosts(make_pub, sink, rate_limit=4)
        with serving(a) as port_a, serving(b) as port_b:
            ports = [port_a, port_b, port_a, port_b, port_a, port_b]
            addresses = [f"reader{n}@example.com" for n in range(len(ports))]
            statuses = [post(port, addr) for port, addr in zip(ports, addresses, strict=True)]
            # One limit of 4 for 127.0.0.1, whichever server counted the request.
            assert statuses == [200, 200, 200, 200, 429, 429]
            accepted = addresses[:4]  # two of them queued by "a", which mails nothing
            deadline = time.monotonic() + 20
            while sum(len(sink.to(addr)) for addr in accepted) < len(accepted):
                assert time.monotonic() < deadline, [m.recipients for m in sink.messages]
                time.sleep(0.05)
            time.sleep(0.3)  # a second copy, if one were coming, would be on its way now
        assert sorted(r for m in sink.messages for r in m.recipients) == sorted(accepted)
    conn = connect(load_config(a / "config.toml").state_db)
    try:
        rows = conn.execute("SELECT email, state FROM confirm_outbox ORDER BY email").fetchall()
    finally:
        conn.close()
    assert [(row[0], row[1]) for row in rows] == [(addr, "sent") for addr in sorted(accepted)]


@pytest.mark.skipif(shutil.which("gunicorn") is None, reason="needs gunicorn (test extras)")
def test_gunicorn_workers_share_one_limit(make_pub: Publication) -> None:
    gunicorn = str(shutil.which("gunicorn"))
    command = [gunicorn, "--workers", "2", "--bind", "127.0.0.1:PORT", "syndicate.web:app"]
    with SmtpSink() as sink:
        root = make_pub(
            email=(
                'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\n'
                f'port = {sink.port}\nsecurity = "none"\ntimeout = 10\n'
            ),
            extra="[subscribe]\nrate_limit = 3\n",
        )
        with serving(root, command) as port:
            # At once, so both sync workers (one request at a time each) take some: with a
            # limit per worker, up to 6 would get through.
            with ThreadPoolExecutor(max_workers=12) as pool:
                statuses = list(pool.map(lambda n: post(port, f"g{n}@example.com"), range(12)))
    # Strict under races: never more than the limit; a race may cost a place, never add one.
    assert 1 <= statuses.count(200) <= 3 and statuses.count(200) + statuses.count(429) == 12
