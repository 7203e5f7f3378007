"""Double opt-in over real HTTP (wsgiref on 127.0.0.1) with mail caught by a real SMTP server."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from syndicate.config import Config, load_config
from syndicate.delivery.subscribers import Status, add_subscriber, get_subscriber
from syndicate.store.database import connect
from syndicate.web.confirm_outbox import enqueue
from syndicate.web.optin import basis, make_confirm_token, safe_redirect
from tests.conftest import Publication, article
from tests.smtp_server import SmtpSink, smtp_server
from tests.web_server import http_request, outbox_drained, web_server

pytestmark = pytest.mark.both_backends

SECRET = "test-secret-0123456789-abcdefgh"


def request(
    port: int,
    method: str,
    path: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One request; ``fields`` are sent as a form, as a browser posts them."""
    body = urlencode(fields).encode() if fields is not None else None
    sent = dict(headers or {})
    if body is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    return http_request(port, method, path, body, sent)


def status_of(config: Config, address: str) -> Status | None:
    conn = connect(config.state_target)
    try:
        found = get_subscriber(conn, address)
    finally:
        conn.close()
    return found.status if found is not None else None


ARTICLES = {
    "first.md": article("First story", date="2026-11-09T09:00:00+01:00", summary="One."),
    "second.md": article("Second story", date="2026-11-16T09:00:00+01:00", summary="Two."),
}


@pytest.fixture
def mail() -> Iterator[SmtpSink]:
    with smtp_server() as inbox:
        yield inbox


@pytest.fixture
def pub(
    make_pub: Publication, mail: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Config]:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)

    def make(rate_limit: int = 50) -> Config:
        root = make_pub(
            ARTICLES,
            email=(
                'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\n'
                f'port = {mail.port}\nsecurity = "none"\ntimeout = 10\n'
            ),
            extra=f"[subscribe]\nrate_limit = {rate_limit}\nconfirm_hours = 24\n",
        )
        return load_config(root / "config.toml")

    return make


def send_next_edition(config: Config, now: str) -> str:
    """Plan, render and send the edition due at ``now`` through the configured transport."""
    from syndicate.edition.render import render_edition
    from syndicate.edition.sending import send_edition
    from syndicate.edition.state import open_state, plan_edition

    conn = open_state(config)
    try:
        edition = plan_edition(config, conn, now=datetime.fromisoformat(now))
        assert edition is not None
        report = send_edition(config, conn, edition, render_edition(config, edition))
        assert report.complete, report.summary()
        return edition.id
    finally:
        conn.close()


def issue_link(config: Config, address: str, *, expires: datetime) -> str:
    """A confirmation link as the outbox makes one, without mailing it."""
    conn = connect(config.state_target)
    try:
        enqueue(conn, address, name="", now=time.time())
        found = get_subscriber(conn, address)
        assert found is not None
        nonce = secrets.token_urlsafe(16)
        conn.execute(
            "UPDATE confirm_outbox SET state = 'sent', outcome = 'sent', nonce = ?, basis = ?,"
            " expires = ? WHERE id = (SELECT MAX(id) FROM confirm_outbox)",
            (nonce, basis(found), int(expires.timestamp())),
        )
    finally:
        conn.close()
    return make_confirm_token(SECRET.encode(), address, expires=expires, nonce=nonce)


def confirm_link(inbox: SmtpSink, address: str) -> str:
    messages = inbox.to(address)
    assert len(messages) == 1, [m.recipients for m in inbox.messages]
    body = messages[0].message.get_body(("plain",))
    assert body is not None
    match = re.search(r"https?://\S+/confirm\?token=(\S+)", body.get_content())
    assert match is not None, body.get_content()
    return match.group(1)


def test_subscribe_confirm_then_receive_next_edition(
    pub: Callable[..., Config], mail: SmtpSink
) -> None:
    config = pub()
    conn = connect(config.state_target)
    add_subscriber(conn, "existing@example.com")
    conn.close()
    with web_server(config) as port:
        status, _, page = request(port, "GET", "/subscribe")
        assert status == 200 and 'name="website"' in page and 'name="email"' in page

        status, _, page = request(
            port, "POST", "/subscribe", {"email": "Reader@Example.com", "name": "Reader"}
        )
        assert status == 200 and "Check your inbox" in page
        outbox_drained(config)
        assert status_of(config, "reader@example.com") is Status.PENDING
        confirmation = mail.to("Reader@example.com")[0].message
        assert confirmation["Subject"] == "Confirm your subscription to Test Times"
        assert confirmation["Auto-Submitted"] == "auto-generated"

        # Pending subscribers never receive editions.
        send_next_edition(config, "2026-11-10T09:00:00+01:00")
        assert len(mail.to("existing@example.com")) == 1
        assert len(mail.to("Reader@example.com")) == 1  # only the confirmation

        token = confirm_link(mail, "Reader@example.com")
        status, _, page = request(port, "GET", f"/confirm?token={token}")
        assert status == 200 and "Yes, subscribe me" in page
        assert status_of(config, "reader@example.com") is Status.PENDING  # GET changes nothing

        status, _, page = request(port, "POST", "/confirm", {"token": token})
        assert status == 200 and "You are subscribed" in page
        assert status_of(config, "reader@example.com") is Status.ACTIVE

        status, _, page = request(port, "POST", "/confirm", {"token": token})
        assert status == 200 and "You are subscribed" in page  # a second click is harmless
        assert status_of(config, "reader@example.com") is Status.ACTIVE

    edition = send_next_edition(config, "2026-11-17T09:00:00+01:00")
    received = [m for m in mail.to("Reader@example.com") if "Second story" in m.message["Subject"]]
    assert len(received) == 1
    assert received[0].message["Message-ID"].startswith(f"<{edition}.")


def test_expired_and_tampered_tokens_are_refused(
    pub: Callable[..., Config], mail: SmtpSink
) -> None:
    config = pub()
    conn = connect(config.state_target)
    add_subscriber(conn, "late@example.com", status=Status.PENDING)
    conn.close()
    past = datetime.now(UTC) - timedelta(hours=1)
    expired = issue_link(config, "late@example.com", expires=past)
    future = datetime.now(UTC) + timedelta(hours=1)
    good = issue_link(config, "late@example.com", expires=future)
    stamp, rest = good.split(".", 1)
    stretched = f"{int(stamp) + 86400 * 365}.{rest}"  # a longer life: the signature breaks
    nonce = rest.split(".", 1)[0]
    other = make_confirm_token(
        b"another-secret-9876543210", "late@example.com", expires=future, nonce=nonce
    )
    with web_server(config) as port:
        status, _, page = request(port, "GET", f"/confirm?token={expired}")
        assert status == 410 and "expired" in page
        assert request(port, "POST", "/confirm", {"token": expired})[0] == 410
        changed = good[:-2] + ("AA" if not good.endswith("AA") else "QA")  # canonical, wrong
        for bad in (stretched, other, changed):
            assert request(port, "GET", f"/confirm?token={bad}")[0] == 403
            assert request(port, "POST", "/confirm", {"token": bad})[0] == 403
        assert request(port, "POST", "/confirm", {"token": "nonsense"})[0] == 400
        # A foreign page cannot post the form, even with a good token.
        status, _, _ = request(
            port, "POST", "/confirm", {"token": good}, {"Origin": "https://evil.example"}
        )
        assert status == 403
        assert status_of(config, "late@example.com") is Status.PENDING
        # The token in the query string alone does not confirm: it must be in the POST body.
        assert request(port, "POST", f"/confirm?token={good}", {})[0] == 400
        assert status_of(config, "late@example.com") is Status.PENDING
        status, _, _ = request(port, "POST", "/confirm", {"token": good})
        assert status == 200
    assert status_of(config, "late@example.com") is Status.ACTIVE
    assert mail.messages == []


def test_honeypot_bot_gets_no_mail_and_is_not_stored(
    pub: Callable[..., Config], mail: SmtpSink
) -> None:
    config = pub()
    with web_server(config) as port:
        status, _, page = request(
            port,
            "POST",
            "/subscribe",
            {"email": "bot@example.com", "name": "Bot", "website": "https://spam.example"},
        )
    assert status == 200 and "Check your inbox" in page  # the bot learns nothing
    assert mail.messages == []
    assert status_of(config, "bot@example.com") is None


def test_rate_limit_redirects_and_escaping(pub: Callable[..., Config], mail: SmtpSink) -> None:
    config = pub(rate_limit=3)
    with web_server(config) as port:
        status, headers, _ = request(
            port, "POST", "/subscribe", {"email": "a@example.com", "next": "/thanks/"}
        )
        assert status == 303 and headers["location"] == "https://news.test/thanks/"
        status, headers, page = request(
            port, "POST", "/subscribe", {"email": "b@example.com", "next": "https://evil.example/"}
        )
        assert status == 200 and "location" not in headers and "Check your inbox" in page
        status, _, page = request(
            port, "POST", "/subscribe", {"email": "<script>alert(1)</script>", "name": "<b>x</b>"}
        )
        assert status == 400
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
        assert "<b>x</b>" not in page
        status, _, page = request(port, "POST", "/subscribe", {"email": "c@example.com"})
        assert status == 429
        status, _, _ = request(
            port,
            "POST",
            "/subscribe",
            {"email": "d@example.com"},
            {"Origin": "https://evil.example"},
        )
        assert status == 403
    assert sorted(r for m in mail.messages for r in m.recipients) == [
        "a@example.com",
        "b@example.com",
    ]


def test_suppressed_and_active_addresses_get_no_confirmation(
    pub: Callable[..., Config], mail: SmtpSink
) -> None:
    config = pub()
    conn = connect(config.state_target)
    add_subscriber(conn, "active@example.com")
    add_subscriber(conn, "bounced@example.com", status=Status.BOUNCED)
    conn.close()
    with web_server(config) as port:
        for address in ("active@example.com", "bounced@example.com"):
            status, _, page = request(port, "POST", "/subscribe", {"email": address})
            assert status == 200 and "Check your inbox" in page
    assert mail.messages == []
    assert status_of(config, "bounced@example.com") is Status.BOUNCED


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/thanks/", "https://news.test/thanks/"),
        ("https://news.test/welcome", "https://news.test/welcome"),
        ("https://evil.example/", None),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("https://news.test.evil.example/", None),
        ("", None),
    ],
)
def test_safe_redirect(make_pub: Publication, target: str, expected: str | None) -> None:
    config = load_config(make_pub() / "config.toml")
    assert safe_redirect(config, target) == expected


def test_confirmation_email_is_dkim_signed_when_configured(
    make_pub: Publication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dkim

    from syndicate.delivery.dkim import dns_record, generate_key
    from syndicate.web.optin import build_confirmation

    private, public = generate_key(1024)
    key = tmp_path / "dkim.pem"
    key.write_bytes(private)
    key.chmod(0o600)
    root = make_pub(email=f'[email.dkim]\nselector = "s1"\nkey_file = "{key}"\n')
    config = load_config(root / "config.toml")
    confirmation = build_confirmation(
        config, "new@example.com", token="1.nonce.token", now=datetime.now(UTC)
    )
    record = dns_record("s1", "news.test", public)
    assert dkim.verify(
        confirmation.message,
        dnsfunc=lambda name, timeout=5: record.value.encode() if b"s1._domainkey" in name else None,
    )


def test_own_form_posts_same_origin_and_unsubscribed_reader_can_return(
    pub: Callable[..., Config], mail: SmtpSink
) -> None:
    from syndicate.delivery.subscribers import unsubscribe

    config = pub()
    conn = connect(config.state_target)
    add_subscriber(conn, "back@example.com")
    unsubscribe(conn, "back@example.com", how="web")
    conn.close()
    with web_server(config) as port:
        status, _, page = request(port, "GET", "/subscribe")
        assert '<form method="post">' in page  # no action: posts to wherever it is served
        own = {"Origin": f"http://127.0.0.1:{port}"}
        status, _, _ = request(port, "POST", "/subscribe", {"email": "back@example.com"}, own)
        assert status == 200
        outbox_drained(config)
        assert status_of(config, "back@example.com") is Status.UNSUBSCRIBED  # until confirmed
        token = confirm_link(mail, "back@example.com")
        status, _, page = request(port, "POST", "/confirm", {"token": token}, own)
        assert status == 200 and "You are subscribed" in page
    assert status_of(config, "back@example.com") is Status.ACTIVE
