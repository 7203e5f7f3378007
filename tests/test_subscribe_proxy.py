"""Behind a reverse proxy every request comes from the proxy's address: with
``[subscribe] trusted_proxies`` the rate limit counts the reader's own address from
X-Forwarded-For, so a handful of sign-ups no longer locks everyone else out; without it, or
from an untrusted peer, a forged X-Forwarded-For changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from syndicate.config import Config, load_config
from tests.conftest import Publication
from tests.smtp_server import SmtpSink
from tests.web_server import http_request, web_server

SECRET = "proxy-test-secret-0123456789-abcd"


@pytest.fixture
def mail() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


def pub(make_pub: Publication, mail: SmtpSink, proxies: str) -> Config:
    root = make_pub(
        email=(
            'transport = "smtp"\n[email.smtp]\nhost = "127.0.0.1"\n'
            f'port = {mail.port}\nsecurity = "none"\ntimeout = 10\n'
        ),
        extra=f"[subscribe]\nrate_limit = 2\ntrusted_proxies = [{proxies}]\n",
    )
    return load_config(root / "config.toml")


def subscribe(port: int, email: str, forwarded_for: str) -> int:
    body = urlencode({"email": email}).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-For": forwarded_for,
    }
    return http_request(port, "POST", "/subscribe", body, headers)[0]


def test_readers_behind_a_trusted_proxy_each_get_their_own_limit(
    make_pub: Publication, mail: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    config = pub(make_pub, mail, '"127.0.0.0/8"')  # the test's requests come from 127.0.0.1
    with web_server(config) as port:
        statuses = [subscribe(port, f"r{n}@example.com", f"203.0.113.{n}") for n in range(5)]
        assert statuses == [200] * 5  # five readers, one proxy: none is turned away
        # One reader's own address is still limited, whatever it puts in front of it.
        assert subscribe(port, "x1@example.com", "198.51.100.7") == 200
        assert subscribe(port, "x2@example.com", "1.2.3.4, 198.51.100.7") == 200
        assert subscribe(port, "x3@example.com", "5.6.7.8, 198.51.100.7") == 429
    assert len(mail.messages) == 7


def test_without_trusted_proxies_a_forged_header_is_ignored(
    make_pub: Publication, mail: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    config = pub(make_pub, mail, "")
    with web_server(config) as port:
        statuses = [subscribe(port, f"r{n}@example.com", f"203.0.113.{n}") for n in range(3)]
    assert statuses == [200, 200, 429]


def test_a_bad_proxy_address_is_a_config_error(make_pub: Publication, mail: SmtpSink) -> None:
    from syndicate.errors import SyndicateError

    with pytest.raises(SyndicateError, match=r"trusted_proxies.*not an IP address"):
        pub(make_pub, mail, '"proxy.local"')
