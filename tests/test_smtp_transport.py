"""The smtp transport against aiosmtpd: STARTTLS and implicit TLS with a certificate the test
makes, AUTH with the password from the environment, parallel connections, the rate limit."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import time
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import example, given
from hypothesis import strategies as st

from syndicate.delivery.transports import ConnectionLost, TransportDown, unledgered
from syndicate.delivery.transports.smtp import (
    SmtpSession,
    SmtpSettings,
    envelope_address,
    is_bad_address,
    wire_format,
)
from tests.conftest import Publication, Run
from tests.sending import NOW, SECRET, add_many, smtp_pub
from tests.smtp_server import SmtpSink, free_port

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def authenticator(
    server: object, session: object, envelope: object, mechanism: str, auth: object
) -> AuthResult:
    ok = (
        isinstance(auth, LoginPassword)
        and auth.login == b"news"
        and auth.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def settings(port: int, security: str, username: str = "") -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=port,
        security=security,
        username=username,
        password_env="TEST_SMTP_PASSWORD",
        timeout=5,
    )


MESSAGE = b"From: a@news.test\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n.dot line\r\nbody\r\n"


def test_starttls_and_login_with_the_password_from_the_environment(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    with SmtpSink(
        tls_context=server_tls(certificate), require_starttls=True, authenticator=authenticator
    ) as sink:
        session = SmtpSession(settings(sink.port, "starttls", "news"))
        reply = session.send("a@news.test", "b@example.com", MESSAGE, claim=unledgered)
        session.send(
            "a@news.test", "c@example.com", MESSAGE, claim=unledgered
        )  # the same connection
        session.close()
        assert reply.startswith("250 2.0.0 Ok: queued as Q1")
        assert [m.recipients for m in sink.messages] == [("b@example.com",), ("c@example.com",)]
        assert len(sink.handler.peers) == 1
        assert b"\r\n.dot line\r\n" in sink.messages[0].data  # dot-stuffing undone by the server

        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
        with pytest.raises(TransportDown, match=r"login to 127\.0\.0\.1:\d+ as 'news' failed: 535"):
            SmtpSession(settings(sink.port, "starttls", "news")).prepare()
        monkeypatch.delenv("TEST_SMTP_PASSWORD")
        with pytest.raises(TransportDown, match=r"\$TEST_SMTP_PASSWORD is empty"):
            SmtpSession(settings(sink.port, "starttls", "news")).prepare()


def test_untrusted_certificate_and_missing_starttls_are_clear_errors(
    certificate: tuple[Path, Path],
) -> None:
    with SmtpSink(tls_context=server_tls(certificate)) as sink:
        with pytest.raises(TransportDown, match="not trusted"):
            SmtpSession(settings(sink.port, "starttls")).prepare()
    with SmtpSink() as plain:
        with pytest.raises(TransportDown, match="does not offer STARTTLS"):
            SmtpSession(settings(plain.port, "starttls")).prepare()
    with pytest.raises(ConnectionLost, match="cannot connect"):
        SmtpSession(settings(free_port(), "none")).prepare()


def test_implicit_tls(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with SmtpSink(ssl_context=server_tls(certificate)) as sink:
        session = SmtpSession(settings(sink.port, "tls"))
        session.send("a@news.test", "b@example.com", MESSAGE, claim=unledgered)
        session.close()
        assert len(sink.messages) == 1


def test_parallel_connections_share_the_work(make_pub: Publication, run: Run) -> None:
    with SmtpSink() as sink:
        root = smtp_pub(make_pub, sink.port, connections=4)
        add_many(root, 80)
        result = run(root, "email", "--send", "--yes", "--now", NOW)
        assert result.exit_code == 0, result.output
        assert len(sink.messages) == 80
        assert len(sink.handler.peers) == 4  # four connections, each reused


def test_rate_limit_spaces_the_messages(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    with SmtpSink() as sink:
        root = smtp_pub(make_pub, sink.port, connections=2, rate=40)
        add_many(root, 21)
        start = time.monotonic()
        result = run(root, "email", "--send", "--yes", "--now", NOW)
        elapsed = time.monotonic() - start
        assert result.exit_code == 0, result.output
        assert len(sink.messages) == 21
    assert elapsed >= 0.5  # 21 messages at 40/s: the last one no sooner than 0.5 s in


def test_reply_classification_and_framing() -> None:
    assert is_bad_address(550, "550 5.1.1 <x@y>: Recipient address rejected: User unknown")
    assert is_bad_address(550, "550 5.1.10 Recipient address rejected: null MX")
    assert not is_bad_address(550, "550 5.7.1 Message rejected as spam")
    assert not is_bad_address(552, "552 5.2.2 Mailbox full")
    assert is_bad_address(550, "550 No such user here")
    assert not is_bad_address(451, "451 4.1.1 temporarily unknown")
    assert wire_format(b"a\nb") == b"a\r\nb\r\n.\r\n"
    assert wire_format(b".a\r\n.b\r\n") == b"..a\r\n..b\r\n.\r\n"


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


@given(
    st.from_regex(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\"<>(),;: \\-]{1,20}@[A-Za-z0-9.\-\[\]<> ]{1,20}",
        fullmatch=True,
    )
)
@example("reader.one+tag@news.example.com")
@example("o'brien@example.org")
@example("a..b@example.org")
@example(".a@example.org")
@example("a@-example.org")
def test_envelope_addresses_are_what_smtplib_quoteaddr_makes_of_them(address: str) -> None:
    import smtplib

    assert envelope_address(address) == smtplib.quoteaddr(address)
