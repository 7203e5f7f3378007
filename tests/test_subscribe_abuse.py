"""The subscribe form against hostile input: one mailbox under many spellings, encoded-word
addresses, old confirm links after an unsubscribe, and timing/status that would tell who is
subscribed. Real HTTP (wsgiref), real SMTP (aiosmtpd), the real state database."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from syndicate.config import Config, load_config
from syndicate.delivery.subscribers import (
    InvalidAddress,
    Status,
    add_subscriber,
    normalize_email,
    unsubscribe,
)
from syndicate.store.database import connect
from tests.conftest import Publication
from tests.smtp_server import Faults, SmtpSink
from tests.test_subscribe import SECRET, confirm_link, status_of
from tests.web_server import http_request, outbox_drained, web_server


@pytest.fixture
def mail() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


def make_config(make_pub: Publication, port: int, rate_limit: int = 1000) -> Config:
    root = make_pub(
        email=(
            'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\n'
            f'port = {port}\nsecurity = "none"\ntimeout = 10\n'
        ),
        extra=f"[subscribe]\nrate_limit = {rate_limit}\nconfirm_hours = 24\n",
    )
    return load_config(root / "config.toml")


def post(port: int, path: str, fields: dict[str, str]) -> tuple[int, str]:
    body = urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, text = http_request(port, "POST", path, body, headers)
    return status, text


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def test_one_mailbox_under_many_spellings_gets_three_mails_and_no_stranger_text(
    make_pub: Publication, mail: SmtpSink
) -> None:
    config = make_config(make_pub, mail.port)
    spam = "Win a prize at http://spam.example/"
    spellings = [
        "bombed@\uff45xample.com",  # full-width e
        "bombed@example。com",
        "bombed@EXAMPLE.com",
        "Bombed@example.com",
        "BOMBED+1@example.com",
        "bombed+2@Example.COM",
        "\uff42ombed@example.com",  # full-width b
    ] * 2
    with web_server(config) as port:
        for spelling in spellings:
            assert post(port, "/subscribe", {"email": spelling, "name": spam})[0] == 200
        outbox_drained(config)
    assert 1 <= len(mail.messages) <= 3, [m.recipients for m in mail.messages]
    for message in mail.messages:
        assert spam not in message.data.decode("utf-8", "replace")
        assert "Win a prize" not in str(message.message)


@pytest.mark.parametrize(
    "address",
    [
        "=?utf-8?q?evil=0d=0aBcc=3a_x=40y.z?=@example.com",
        "=?utf-8?q?Bob_=3Cbob=40evil.net=3E?=@example.com",
        "x=?utf-8?b?Qm9i?=@example.com",
    ],
)
def test_encoded_word_addresses_are_refused_everywhere(
    make_pub: Publication, mail: SmtpSink, address: str
) -> None:
    config = make_config(make_pub, mail.port)
    with web_server(config) as port:
        status, page = post(port, "/subscribe", {"email": address})
        assert status == 400
        assert '<form method="post"' in page and "encoded words" in page
    assert mail.messages == []
    conn = connect(config.state_target)
    try:
        count = conn.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0]
        assert count == 0
        with pytest.raises(InvalidAddress):
            add_subscriber(conn, address)
    finally:
        conn.close()
    with pytest.raises(InvalidAddress):
        normalize_email(address)


def test_edition_builder_never_puts_an_encoded_word_in_to(make_pub: Publication) -> None:
    from syndicate.delivery.settings import mailbox as _address
    from syndicate.errors import DeliveryError

    with pytest.raises(DeliveryError):
        _address("", "=?utf-8?q?Bob_=3Cbob=40evil.net=3E?=@example.com")
    assert _address("Ann", "ann@example.com") == "Ann <ann@example.com>"


def test_a_confirm_link_cannot_undo_an_unsubscribe_and_works_once(
    make_pub: Publication, mail: SmtpSink
) -> None:
    config = make_config(make_pub, mail.port)
    with web_server(config) as port:
        assert post(port, "/subscribe", {"email": "reader@example.com"})[0] == 200
        outbox_drained(config)
        token = confirm_link(mail, "reader@example.com")
        status, page = post(port, "/confirm", {"token": token})
        assert status == 200 and "You are subscribed" in page
        assert status_of(config, "reader@example.com") is Status.ACTIVE
        conn = connect(config.state_target)
        unsubscribe(conn, "reader@example.com", how="web")
        conn.close()
        status, _ = post(port, "/confirm", {"token": token})
        assert status == 410
        assert status_of(config, "reader@example.com") is Status.UNSUBSCRIBED

        # A link mailed before the reader unsubscribed does not bring them back either.
        assert post(port, "/subscribe", {"email": "second@example.com"})[0] == 200
        outbox_drained(config)
        early = confirm_link(mail, "second@example.com")
        conn = connect(config.state_target)
        add_subscriber(conn, "second@example.com", status=Status.ACTIVE, resubscribe=True)
        time.sleep(1.1)  # the store keeps seconds: the unsubscribe is a later change
        unsubscribe(conn, "second@example.com", how="web")
        conn.close()
        assert post(port, "/confirm", {"token": early})[0] == 410
        assert status_of(config, "second@example.com") is Status.UNSUBSCRIBED


def _timed(port: int, address: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    status, page = post(port, "/subscribe", {"email": address})
    return time.perf_counter() - started, status, page


@pytest.mark.parametrize("refuse", [False, True])
def test_new_and_active_addresses_look_the_same(make_pub: Publication, refuse: bool) -> None:
    faults = Faults(rcpt_delay=0.05)
    if refuse:
        faults.bounce = {f"new{n}@example.com" for n in range(40)}
    with SmtpSink(faults) as slow:
        config = make_config(make_pub, slow.port)
        conn = connect(config.state_target)
        for n in range(40):
            add_subscriber(conn, f"active{n}@example.com")
        conn.close()
        new: list[float] = []
        active: list[float] = []
        with web_server(config) as port:
            _timed(port, "warmup@example.com")
            for n in range(40):
                t_new, status_new, page_new = _timed(port, f"new{n}@example.com")
                t_active, status_active, page_active = _timed(port, f"active{n}@example.com")
                assert (status_new, page_new) == (status_active, page_active)
                assert status_new == 200
                new.append(t_new)
                active.append(t_active)
    # A confirmation sent while the request waits would put the server's 50 ms RCPT delay
    # (``rcpt_delay``) into every new address's answer; medians of interleaved requests 20 ms
    # apart still show that, with room for a loaded machine's noise (5 ms could flake there).
    gap = abs(statistics.median(new) - statistics.median(active))
    assert gap < 0.02, (statistics.median(new), statistics.median(active))
