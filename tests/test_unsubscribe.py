"""Signed unsubscribe tokens and the WSGI app over real HTTP (wsgiref on 127.0.0.1):
RFC 8058 one-click POST unsubscribes, GET never does, forged tokens change nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from syndicate.delivery.subscribers import Status, get_subscriber
from syndicate.delivery.tokens import (
    BadToken,
    SecretMissing,
    load_secret,
    make_token,
    unsubscribe_url,
    verify_token,
)
from syndicate.store.database import connect
from tests.conftest import Publication, Run
from tests.sending import (
    LATER,
    NOW,
    SECOND,
    SECRET,
    add_many,
    address,
    config_of,
    smtp_pub,
    token_of,
)
from tests.smtp_server import SmtpSink
from tests.web_server import http_request, web_server

pytestmark = pytest.mark.both_backends

KEY = SECRET.encode()
CLI = "from syndicate.cli import main; main()"


def fetch(
    port: int, method: str, path: str, body: bytes | None = None, kind: str = ""
) -> tuple[int, dict[str, str], str]:
    """One request; ``kind`` is the body's Content-Type."""
    return http_request(port, method, path, body, {"Content-Type": kind} if kind else {})


def status_of(root: Path, email: str) -> Status | None:
    conn = connect(config_of(root).state_target)
    try:
        found = get_subscriber(conn, email)
        return found.status if found else None
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def test_tokens_round_trip_and_refuse_tampering() -> None:
    token = make_token(KEY, "Reader@example.com")
    assert verify_token(KEY, token) == "Reader@example.com"
    head, _, mac = token.partition(".")
    other = make_token(KEY, "someone@example.com").partition(".")[0]
    with pytest.raises(BadToken) as swapped:
        verify_token(KEY, f"{other}.{mac}")
    assert swapped.value.forged
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    with pytest.raises(BadToken):
        verify_token(KEY, f"{head}.{flipped}")
    with pytest.raises(BadToken) as wrong_key:
        verify_token(b"another-secret-0123456789", token)
    assert wrong_key.value.forged
    with pytest.raises(BadToken):  # a token for another purpose is not an unsubscribe token
        verify_token(KEY, make_token(KEY, "reader@example.com", purpose="confirm"))
    for junk in ("", "nodot", ".", "a.b", "!!!.???", "x" * 3000):
        with pytest.raises(BadToken) as malformed:
            verify_token(KEY, junk)
        assert not malformed.value.forged
    assert unsubscribe_url("https://x.test/u", "T") == "https://x.test/u?token=T"
    assert unsubscribe_url("https://x.test/u?list=1", "T") == "https://x.test/u?list=1&token=T"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def test_only_the_exact_token_verifies() -> None:
    token = make_token(KEY, "Reader@example.com")
    head, _, mac = token.partition(".")
    recased = [_b64(a.encode()) for a in ("reader@example.com", "READER@EXAMPLE.COM")]
    # the last character of a 32-byte MAC carries 2 unused bits: another spelling, same bytes
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = mac[:-1] + alphabet[alphabet.index(mac[-1]) ^ 1]
    assert base64.urlsafe_b64decode(same_bytes + "=") == base64.urlsafe_b64decode(mac + "=")
    variants = [
        *(f"{other}.{mac}" for other in recased),
        f"{head}.{mac}=",
        f"{head}.{mac}!",
        f"{head}.{mac[:10]}*{mac[10:]}",
        f"{head}.{mac[:10]}\n{mac[10:]}",
        f" {token}",
        f"{token}\n",
        f"{head}=.{mac}",
        f"{head}.{same_bytes}",
    ]
    for variant in variants:
        with pytest.raises(BadToken):
            verify_token(KEY, variant)
    assert verify_token(KEY, token) == "Reader@example.com"


def test_links_signed_before_case_mattered_still_work_for_the_stored_address() -> None:
    mac = hmac.new(KEY, b"unsubscribe\0reader@example.com", hashlib.sha256).digest()
    old = f"{_b64(b'Reader@example.com')}.{_b64(mac)}"
    held = {"Reader@example.com"}
    assert verify_token(KEY, old, stored=held.__contains__) == "Reader@example.com"
    recased = f"{_b64(b'READER@example.com')}.{_b64(mac)}"
    with pytest.raises(BadToken):
        verify_token(KEY, recased, stored=held.__contains__)
    with pytest.raises(BadToken):
        verify_token(KEY, old)  # without the store's word, only today's tokens


def test_secret_must_be_set_and_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNDICATE_SECRET")
    with pytest.raises(SecretMissing, match=r"\$SYNDICATE_SECRET is not set"):
        load_secret()
    monkeypatch.setenv("SYNDICATE_SECRET", "short")
    with pytest.raises(SecretMissing, match="at least 16"):
        load_secret()


def test_one_click_post_unsubscribes_and_the_next_edition_skips_the_address(
    make_pub: Publication, run: Run
) -> None:
    with SmtpSink() as sink:
        root = smtp_pub(make_pub, sink.port)
        emails = add_many(root, 5)
        leaver = emails[2]
        result = run(root, "email", "--send", "--yes", "--now", NOW)
        assert result.exit_code == 0, result.output
        [message] = sink.to(leaver)
        token = token_of(message.data)
        assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        with web_server(config_of(root)) as port:
            # A link scanner (GET) sees the page, and nothing changes.
            status, headers, page = fetch(port, "GET", f"/unsubscribe?token={token}")
            assert status == 200 and leaver in page and '<form method="post"' in page
            assert headers["cache-control"] == "no-store"
            assert status_of(root, leaver) is Status.ACTIVE
            # The mailbox provider's one-click POST (RFC 8058) unsubscribes at once.
            status, _, page = fetch(
                port,
                "POST",
                f"/unsubscribe?token={token}",
                b"List-Unsubscribe=One-Click",
                "application/x-www-form-urlencoded",
            )
            assert status == 200 and "unsubscribed" in page
            assert status_of(root, leaver) is Status.UNSUBSCRIBED
            # Repeating it is harmless.
            assert fetch(port, "POST", f"/unsubscribe?token={token}")[0] == 200

        (root / "content" / "second.md").write_text(SECOND, encoding="utf-8")
        result = run(root, "email", "--send", "--yes", "--now", LATER)
        assert result.exit_code == 0, result.output
        assert "sent 4, deferred 0, failed 0, skipped 0" in result.stdout
        assert len(sink.to(leaver)) == 1
        assert all(len(sink.to(email)) == 2 for email in emails if email != leaver)


def test_forged_and_malformed_tokens_are_refused_and_change_nothing(
    make_pub: Publication,
) -> None:
    root = make_pub()
    [victim] = add_many(root, 1)
    genuine = make_token(KEY, victim)
    forged = make_token(b"attacker-guessed-secret-123", victim)
    tampered = make_token(KEY, address(99)).partition(".")[0] + "." + genuine.partition(".")[2]
    with web_server(config_of(root)) as port:
        for token in (forged, tampered):
            for method in ("GET", "POST"):
                status, _, page = fetch(port, method, f"/unsubscribe?token={token}")
                assert status == 403, (method, token)
                assert "not valid" in page
        assert fetch(port, "POST", "/unsubscribe?token=garbage")[0] == 400
        assert fetch(port, "POST", "/unsubscribe")[0] == 400
        assert fetch(port, "DELETE", "/unsubscribe")[0] == 405
        assert fetch(port, "GET", "/nowhere")[0] == 404
        status, _, page = fetch(  # multipart, as RFC 8058 suggests receivers send it
            port,
            "POST",
            f"/unsubscribe?token={forged}",
            b'--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        )
        assert status == 403
    assert status_of(root, victim) is Status.ACTIVE


def test_button_form_post_and_configured_path(make_pub: Publication) -> None:
    root = make_pub()
    text = (root / "config.toml").read_text(encoding="utf-8")
    (root / "config.toml").write_text(
        text.replace("https://news.test/unsubscribe", "https://news.test/newsletter/leave"),
        encoding="utf-8",
    )
    [reader] = add_many(root, 1)
    token = make_token(KEY, reader)
    with web_server(config_of(root)) as port:
        status, _, page = fetch(port, "GET", f"/newsletter/leave?token={token}")
        assert status == 200 and f'value="{token}"' in page
        status, _, _ = fetch(
            port,
            "POST",
            "/newsletter/leave",
            f"token={token}".encode(),
            "application/x-www-form-urlencoded",
        )
        assert status == 200
    assert status_of(root, reader) is Status.UNSUBSCRIBED


def test_multipart_one_click_post_unsubscribes(make_pub: Publication) -> None:
    root = make_pub()
    [reader] = add_many(root, 1)
    with web_server(config_of(root)) as port:
        status, _, _ = fetch(
            port,
            "POST",
            f"/unsubscribe?token={make_token(KEY, reader)}",
            b'--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        )
    assert status == 200
    conn = connect(config_of(root).state_target)
    found = get_subscriber(conn, reader)
    conn.close()
    assert found is not None and found.status is Status.UNSUBSCRIBED
    assert found.reason == "one-click"


def test_server_without_secret_answers_500_and_changes_nothing(
    make_pub: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_pub()
    [reader] = add_many(root, 1)
    token = make_token(KEY, reader)
    monkeypatch.delenv("SYNDICATE_SECRET")
    with web_server(config_of(root)) as port:
        status, _, page = fetch(port, "POST", f"/unsubscribe?token={token}")
    assert status == 500 and SECRET not in page
    assert status_of(root, reader) is Status.ACTIVE


def test_cli_unsubscribe_by_token(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    [reader] = add_many(root, 1)
    result = run(root, "subscribers", "unsubscribe", "--token", make_token(KEY, reader))
    assert result.exit_code == 0, result.output
    assert f"unsubscribed {reader}" in result.stdout
    assert status_of(root, reader) is Status.UNSUBSCRIBED
    forged = make_token(b"not-the-secret-000000000", address(1))
    result = run(root, "subscribers", "unsubscribe", "--token", forged)
    assert result.exit_code == 1
    assert "signature does not match" in result.stderr


def test_module_app_reads_syndicate_config(
    make_pub: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    from io import BytesIO

    from syndicate.web.app import App

    root = make_pub()
    [reader] = add_many(root, 1)
    monkeypatch.setenv("SYNDICATE_CONFIG", str(root / "config.toml"))
    app = App()  # what `gunicorn syndicate.web:app` runs: no config until the first request
    seen: list[str] = []
    body = app(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/unsubscribe",
            "QUERY_STRING": f"token={make_token(KEY, reader)}",
            "CONTENT_LENGTH": "26",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "wsgi.input": BytesIO(b"List-Unsubscribe=One-Click"),
        },
        lambda status, headers: seen.append(status),
    )
    assert seen == ["200 OK"] and b"unsubscribed" in b"".join(body)
    assert status_of(root, reader) is Status.UNSUBSCRIBED


def test_serve_command_answers_over_http(make_pub: Publication) -> None:
    import os
    import subprocess
    import sys
    import time

    from tests.smtp_server import free_port

    root = make_pub()
    [reader] = add_many(root, 1)
    port = free_port()
    serve = ("serve", "--port", str(port))
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, "--config", str(root / "config.toml"), *serve],
        env={**os.environ, "SYNDICATE_SECRET": SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, _, page = fetch(
                    port, "GET", f"/unsubscribe?token={make_token(KEY, reader)}"
                )
                break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert status == 200 and reader in page
        assert fetch(port, "POST", f"/unsubscribe?token={make_token(KEY, reader)}")[0] == 200
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert b"serving Test Times on http://127.0.0.1:" in out
    assert status_of(root, reader) is Status.UNSUBSCRIBED


def test_serve_refuses_to_start_without_a_secret(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNDICATE_SECRET")
    result = run(make_pub(), "serve", "--port", "1")
    assert result.exit_code == 1 and "SYNDICATE_SECRET" in result.stderr


def test_delivery_commands_have_help_and_readme_sections(run: Run) -> None:
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for heading in (
        "### `syndicate email --send",
        "### `syndicate serve",
        "### `syndicate subscribers add|remove|list|import|export|unsubscribe`",
        "### `[email.smtp]`",
        "### `[email.ses]`",
        "### `[email.sending]`",
        "## Unsubscribe setup",
    ):
        assert heading in readme, heading
    import click

    from syndicate.cli import cli

    group = cli.commands["subscribers"]
    assert isinstance(group, click.Group)
    assert sorted(group.commands) == ["add", "export", "import", "list", "remove", "unsubscribe"]
    for command in [group, cli.commands["serve"], *group.commands.values()]:
        assert command.help and len(command.help) > 30, command.name
    email_help = run(None, "email", "--help").stdout
    for option in ("--to", "--send", "--yes", "--status", "--resend-uncertain"):
        assert option in email_help
