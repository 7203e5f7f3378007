"""DKIM: keys from `syndicate dkim keygen` sign messages that dkimpy verifies offline."""

from __future__ import annotations

import re
import stat
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import dkim
import pytest

from syndicate.config import load_config
from syndicate.delivery.dkim import (
    DkimError,
    DkimSigner,
    dns_record,
    generate_key,
    read_private_key,
    sign_message,
)
from syndicate.delivery.settings import DkimSettings
from tests.conftest import Publication, Run


def newsletter_bytes(to: str = "reader@example.com") -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Test Times <news@news.test>"
    msg["To"] = to
    msg["Subject"] = "Test Times: the week"
    msg["Date"] = "Wed, 25 Nov 2026 08:00:00 +0100"
    msg["Message-ID"] = "<2026-11-25.1@news.test>"
    msg["List-Id"] = "Test Times <news.news.test>"
    msg["List-Unsubscribe"] = (
        "<https://news.test/unsubscribe?token=abc.def>, <mailto:unsubscribe@news.test>"
    )
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content("Plain text.\n" + "long line " * 40 + "\n", cte="quoted-printable")
    msg.add_alternative("<p>" + "x" * 2000 + "</p>", subtype="html", cte="quoted-printable")
    return msg.as_bytes()


def dns_table(records: dict[str, str]):  # type: ignore[no-untyped-def]
    """A dnsfunc for dkim.verify answering from a dict instead of the network."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        value = records.get(name.decode("ascii").rstrip("."))
        return value.encode("ascii") if value is not None else None

    return lookup


def signed_tags(message: bytes) -> dict[str, str]:
    header = message.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n[ \t]+", " ", header)
    line = next(h for h in unfolded.split("\r\n") if h.lower().startswith("dkim-signature:"))
    value = line.split(":", 1)[1]
    return {
        k.strip(): re.sub(r"\s+", "", v)
        for k, _, v in (part.partition("=") for part in value.split(";"))
        if k.strip()
    }


def test_signed_message_verifies_with_unsubscribe_post_signed() -> None:
    private, public = generate_key(1024)
    record = dns_record("s2026", "news.test", public)
    signer = DkimSigner(selector="s2026", domain="news.test", private_key=private)
    signed = signer.sign(newsletter_bytes())
    assert dkim.verify(signed, dnsfunc=dns_table({record.name: record.value}))
    signed_headers = signed_tags(signed)["h"].lower().split(":")
    for name in ("from", "to", "subject", "date", "message-id", "list-id"):
        assert name in signed_headers
    assert "list-unsubscribe" in signed_headers
    assert "list-unsubscribe-post" in signed_headers


def test_tampered_header_or_wrong_key_fails() -> None:
    private, public = generate_key(1024)
    record = dns_record("s1", "news.test", public)
    signed = DkimSigner(selector="s1", domain="news.test", private_key=private).sign(
        newsletter_bytes()
    )
    dns = dns_table({record.name: record.value})
    tampered = signed.replace(b"token=abc.def", b"token=evil.xyz")
    assert not dkim.verify(tampered, dnsfunc=dns)
    _, other_public = generate_key(1024)
    other = dns_record("s1", "news.test", other_public)
    assert not dkim.verify(signed, dnsfunc=dns_table({other.name: other.value}))


def test_keygen_cli_writes_private_key_and_prints_txt_record(
    make_pub: Publication, run: Run
) -> None:
    root = make_pub(
        email='[email.dkim]\nselector = "mail"\nkey_file = "keys/dkim.pem"\n',
    )
    result = run(root, "dkim", "keygen", "--bits", "1024", "--out", str(root / "keys/dkim.pem"))
    assert result.exit_code == 0, result.output
    key_path = root / "keys" / "dkim.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert "mail._domainkey.news.test" in result.output
    value = re.search(r"v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+", result.output)
    assert value is not None

    config = load_config(root / "config.toml")
    signed = sign_message(DkimSettings.from_config(config), newsletter_bytes())
    assert signed.startswith(b"DKIM-Signature:")
    dns = dns_table({"mail._domainkey.news.test": value.group(0)})
    assert dkim.verify(signed, dnsfunc=dns)

    again = run(root, "dkim", "keygen", "--out", str(key_path))
    assert again.exit_code == 1
    assert "refusing to overwrite" in again.stderr


def test_group_readable_key_is_refused_with_chmod_hint(tmp_path: Path) -> None:
    private, _ = generate_key(1024)
    key = tmp_path / "dkim.pem"
    key.write_bytes(private)
    key.chmod(0o640)
    with pytest.raises(DkimError, match="chmod 600"):
        read_private_key(key)
    key.chmod(0o600)
    assert read_private_key(key) == private
    bogus = tmp_path / "bogus.pem"
    bogus.write_bytes(b"not a key")
    bogus.chmod(0o600)
    with pytest.raises(DkimError, match="not a PEM"):
        read_private_key(bogus)


def test_no_dkim_config_leaves_message_alone(make_pub: Publication) -> None:
    config = load_config(make_pub() / "config.toml")
    message = newsletter_bytes()
    assert sign_message(DkimSettings.from_config(config), message) == message


def test_sent_edition_is_signed_over_its_final_bytes(
    make_pub: Publication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mailbox
    from datetime import datetime

    from syndicate.delivery.subscribers import add_subscriber
    from syndicate.edition.render import render_edition
    from syndicate.edition.sending import send_edition
    from syndicate.edition.state import open_state, plan_edition
    from tests.conftest import article

    monkeypatch.setenv("SYNDICATE_SECRET", "dkim-test-secret-0123456789")
    private, public = generate_key(1024)
    key = tmp_path / "dkim.pem"
    key.write_bytes(private)
    key.chmod(0o600)
    root = make_pub(
        {"a.md": article("Signed news", summary="Short.")},
        email=f'[email.dkim]\nselector = "ed1"\nkey_file = "{key}"\n',
    )
    config = load_config(root / "config.toml")
    conn = open_state(config)
    for address in ("one@example.com", "two@example.org"):
        add_subscriber(conn, address)
    edition = plan_edition(config, conn, now=datetime.fromisoformat("2026-11-03T09:00:00+01:00"))
    assert edition is not None
    assert send_edition(config, conn, edition, render_edition(config, edition)).sent == 2
    conn.close()
    record = dns_record("ed1", "news.test", public)
    dns = dns_table({record.name: record.value})
    box = mailbox.Maildir(root / "outbox", factory=None, create=False)
    messages = [box.get_bytes(key) for key in box.keys()]
    assert len(messages) == 2
    for data in messages:
        assert dkim.verify(data, dnsfunc=dns)
        assert "list-unsubscribe-post" in signed_tags(data)["h"].lower().split(":")
