"""The MIME message: structure, headers, encodings, and refusal of header injection."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from syndicate.config import Config, load_config
from syndicate.delivery.message import (
    Recipient,
    build_message,
    message_bytes,
    preview_recipient,
)
from syndicate.delivery.rendered import RenderedEdition
from syndicate.delivery.settings import MessageSettings
from syndicate.edition.render import render_edition
from syndicate.edition.state import open_state, plan_edition
from syndicate.errors import ConfigError, DeliveryError, TemplateError
from tests.conftest import Publication, article

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
EXPECTED_HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
    "X-Auto-Response-Suppress",
    "MIME-Version",
    "Content-Type",
]


def rendered_for(
    make_pub: Publication, email: str = "", **fields: object
) -> tuple[Config, RenderedEdition]:
    body = "Grüße aus **Berlin**. " + "A long sentence that goes on. " * 40
    root = make_pub({"x.md": article("Über uns", body=body, **fields)}, email=email)
    config = load_config(root / "config.toml")
    edition = plan_edition(config, open_state(config), now=NOW)
    assert edition is not None
    return config, render_edition(config, edition)


def recipient(**changes: str) -> Recipient:
    base = Recipient(
        email="ann@example.net",
        name="Ann O'Brien",
        unsubscribe_url="https://news.test/unsubscribe?token=" + "t" * 100,
        view_url="https://news.test/feeds/newsletter/2026-11-25/",
        message_id="<2026-11-25.abc123@news.test>",
    )
    return dataclasses.replace(base, **changes)


def parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def test_message_structure_and_headers(make_pub: Publication) -> None:
    config, rendered = rendered_for(make_pub, email="full_content = true")
    data = message_bytes(build_message(MessageSettings.from_config(config), rendered, recipient()))
    message = parse(data)
    assert list(message.keys()) == EXPECTED_HEADERS
    assert message["From"] == "Test Times <news@news.test>"
    assert message["To"] == "Ann O'Brien <ann@example.net>"
    assert message["Subject"] == "Test Times: Über uns"
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == "<2026-11-25.abc123@news.test>"
    assert message["List-Id"] == '"Test Times" <newsletter.news.test>'
    assert message["List-Unsubscribe"] == (
        "<https://news.test/unsubscribe?token=" + "t" * 100 + ">, "
        "<mailto:unsubscribe@news.test?subject=unsubscribe>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part["MIME-Version"] is None
    text, html = (p.get_content() for p in parts)
    assert "Grüße aus Berlin." in text and "ann@example.net" in text
    assert "Grüße aus <strong>Berlin</strong>." in html
    assert "token=" + "t" * 100 in html


def test_wire_format_keeps_lines_short_and_urls_intact(make_pub: Publication) -> None:
    config, rendered = rendered_for(make_pub, email="full_content = true")
    data = message_bytes(build_message(MessageSettings.from_config(config), rendered, recipient()))
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    long_lines = [line for line in data.split(b"\r\n") if len(line) > 998]
    assert not long_lines, "no line over SMTP's 998-byte limit"
    header = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?utf-8?q?=3Chttps" not in header, "List-Unsubscribe must not be RFC 2047-encoded"
    assert re.search(r"List-Unsubscribe: <https://news\.test/unsubscribe\?token=t{100}>", header)


def test_reply_to_is_optional(make_pub: Publication) -> None:
    config, rendered = rendered_for(make_pub)
    assert "Reply-To" not in build_message(MessageSettings.from_config(config), rendered, recipient())
    config, rendered = rendered_for(make_pub, email='reply_to = "Desk <desk@news.test>"')
    assert build_message(MessageSettings.from_config(config), rendered, recipient())["Reply-To"] == "Desk <desk@news.test>"


def test_messages_are_reproducible_apart_from_the_recipient(make_pub: Publication) -> None:
    config, rendered = rendered_for(make_pub)
    first = message_bytes(build_message(MessageSettings.from_config(config), rendered, recipient()))
    assert message_bytes(build_message(MessageSettings.from_config(config), rendered, recipient())) == first
    other = recipient(email="bob@example.net", name="", message_id="<x.y@news.test>")
    second = message_bytes(build_message(MessageSettings.from_config(config), rendered, other))
    strip = re.compile(rb"ann@example\.net|bob@example\.net|Ann O'Brien|<2026[^>]*>|<x\.y[^>]*>")
    assert parse(first).get_body(("html",)) is not None
    html_first = parse(first).get_body(("html",)).get_content()  # type: ignore[union-attr]
    html_second = parse(second).get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert strip.sub(b"", html_first.encode()) == strip.sub(b"", html_second.encode())


def test_preview_recipient_is_a_safe_stand_in(make_pub: Publication) -> None:
    config, rendered = rendered_for(make_pub)
    stand_in = preview_recipient(MessageSettings.from_config(config), rendered)
    assert stand_in.email == "subscriber@example.invalid"
    assert stand_in.unsubscribe_url == "https://news.test/unsubscribe?token=preview"
    assert stand_in.view_url == "https://news.test/feeds/newsletter/2026-11-25/"
    assert re.fullmatch(r"<2026-11-25\.[0-9a-f]+@news\.test>", stand_in.message_id)


def test_archive_url_is_configurable(make_pub: Publication) -> None:
    root = make_pub(email='archive_url = "https://news.test/letters/{edition}.html"')
    config = load_config(root / "config.toml")
    assert MessageSettings.from_config(config).archive_url("2026-11-25-2") == "https://news.test/letters/2026-11-25-2.html"


@pytest.mark.parametrize("key", ["subject", "from", "reply_to"])
def test_crlf_in_config_headers_is_rejected(make_pub: Publication, key: str) -> None:
    root = make_pub(email=f'{key} = "Test Times <a@news.test>\\r\\nBcc: victim@example.net"')
    text = (root / "config.toml").read_text().replace('from = "Test Times <news@news.test>"', "")
    (root / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=rf"email\.{key}: must be one line"):
        load_config(root / "config.toml")


def test_crlf_in_rendered_subject_is_rejected(make_pub: Publication) -> None:
    root = make_pub({"x.md": article("Hi")}, email="subject = \"{{ '\\\\n'.join(['a', 'b']) }}\"")
    config = load_config(root / "config.toml")
    with pytest.raises(TemplateError, match="line break"):
        plan_edition(config, open_state(config), now=NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Ann\r\nBcc: victim@example.net"},
        {"email": "ann@example.net\nBcc: victim@example.net"},
        {"unsubscribe_url": "https://news.test/u\r\nX: y"},
    ],
)
def test_crlf_in_recipient_fields_is_refused(
    make_pub: Publication, changes: dict[str, str]
) -> None:
    config, rendered = rendered_for(make_pub)
    with pytest.raises(DeliveryError, match="line break"):
        build_message(MessageSettings.from_config(config), rendered, recipient(**changes))


def test_from_falls_back_to_the_publication_author(make_pub: Publication) -> None:
    root = make_pub({"x.md": article("Hi")})
    text = (root / "config.toml").read_text().replace('from = "Test Times <news@news.test>"\n', "")
    (root / "config.toml").write_text(text)
    config = load_config(root / "config.toml")
    edition = plan_edition(config, open_state(config), now=NOW)
    assert edition is not None
    message = build_message(MessageSettings.from_config(config), render_edition(config, edition), recipient())
    assert message["From"] == "Test Times <desk@news.test>"
