"""Templates that read ``reader`` only as plain ``{{ reader.x }}``: one render with a
placeholder per attribute, each reader's values spliced in per message. Its copies must be
byte-identical to rendering the templates with that reader's values (the per-combination path
every other use of ``reader`` keeps), for hostile values too, and reach each reader over SMTP."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from syndicate.config import Config
from syndicate.delivery import subscriptions
from syndicate.delivery.message import Recipient, build_message, message_bytes
from syndicate.delivery.personalize import Personalizer, _shape
from syndicate.delivery.rendered import ReaderTemplates, RenderedEdition
from syndicate.delivery.settings import MessageSettings
from syndicate.delivery.transports import WireMessage
from syndicate.delivery.transports.smtp import wire_format
from syndicate.edition import render as render_module
from syndicate.edition.render import render_edition
from syndicate.edition.state import open_state, plan_edition
from syndicate.store.database import connect
from tests.conftest import BASE_CONFIG, REPO, Publication, Run, article
from tests.newsletters_fixture import SECRET, make_newsletters_pub
from tests.newsletters_fixture import config_of as newsletters_config
from tests.sending import NOW, config_of
from tests.smtp_server import smtp_server

DATE = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

# Values that stress escaping, line breaks, tidying (empty, trailing blanks) and width.
READERS: list[dict[str, str]] = [
    {"first_name": "Ada", "city": "Berlin", "note": "VIP"},
    {"first_name": '<script>alert("x")</script>', "city": "Tom & Jerry's <b>"},
    {"first_name": "O'Brien \"Bob\"", "city": "x\r\nBcc: evil@example.net\r\n\r\nbody"},
    {"first_name": "Zoë 😀 李小龍 e\u0301", "city": "\u2028tab\there\x00\x1b[31m\x85"},
    {"first_name": "", "city": "", "note": ""},
    {},
    {"first_name": "  padded  ", "note": "trailing   "},
    {"first_name": "long " * 40, "city": "w" * 300, "note": "word " * 50},
    {"first_name": "SYNDICATE-not-a-placeholder", "note": "{{ reader.city }} %s {0}"},
]


def reader_templates(root: Path) -> None:
    """The built-in templates with a reader's attributes in the header, a link title and
    the text: ``first_name`` with a fallback, ``city`` plain, ``note`` on a line of its own
    (empty, it leaves a blank line the text tidying folds)."""
    html = (REPO / "templates" / "email.mjml.j2").read_text(encoding="utf-8")
    marker = "{{ edition_date }} · "
    assert marker in html
    html = html.replace(
        marker,
        'Hello {{ reader.first_name or "friend" }} from {{ reader["city"] }} '
        '<a href="https://news.test/" title="{{ reader.city }}">home</a> · ' + marker,
        1,
    )
    text = (REPO / "templates" / "email.txt.j2").read_text(encoding="utf-8")
    marker = "{{ edition_date }}\n"
    assert marker in text
    text = text.replace(
        marker,
        marker + '\nHello {{ reader.first_name or "friend" }}, in {{ reader.city }}!   \n\n'
        "{{ reader.note }}\n\n\n",
        1,
    )
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "email.mjml.j2").write_text(html, encoding="utf-8")
    (root / "templates" / "email.txt.j2").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, RenderedEdition]:
    root = tmp_path_factory.mktemp("pub")
    (root / "content").mkdir()
    (root / "config.toml").write_text(
        BASE_CONFIG.format(feeds="", email="", extra=""), encoding="utf-8"
    )
    body = "Ünïcode, = signs\n\n" + "Long paragraph. " * 40
    for n in range(2):
        (root / "content" / f"a{n}.md").write_text(
            article(f"Story {n}", date=f"2026-11-1{n}T09:00:00+01:00", body=body),
            encoding="utf-8",
        )
    reader_templates(root)
    config = config_of(root)
    planned = plan_edition(config, open_state(config), now=datetime.fromisoformat(NOW))
    assert planned is not None
    return config, render_edition(config, planned)


def _per_reader(rendered: RenderedEdition) -> ReaderTemplates:
    assert rendered.per_reader is not None
    return rendered.per_reader


def test_filled_copies_are_byte_identical_to_rendering_each_reader(
    edition: tuple[Config, RenderedEdition],
) -> None:
    _, rendered = edition
    per_reader = _per_reader(rendered)
    assert per_reader.slots == (("first_name", "friend"), ("city", None), ("note", None))
    fill = per_reader.filler(rendered.marker)
    assert fill is not None
    for values in READERS:
        slow = per_reader.render(dict(per_reader.key(values)))
        fast = fill.fill(values)
        assert fast.html == slow.html, values
        assert fast.text == slow.text, values
    hostile = fill.fill(READERS[1])
    assert "<script>" not in hostile.html and "&lt;script&gt;" in hostile.html
    assert 'title="Tom &amp; Jerry&#39;s &lt;b&gt;"' in hostile.html
    assert 'Hello <script>alert("x")</script>, in Tom & Jerry\'s <b>!\n' in hostile.text
    broken = fill.fill(READERS[2])
    assert "in x  Bcc: evil@example.net    body!\n" in broken.text  # one line, no break
    assert "Hello friend, in !\n\n" in fill.fill({}).text


def test_each_message_equals_the_per_reader_render_once_parsed(
    edition: tuple[Config, RenderedEdition],
) -> None:
    config, rendered = edition
    per_reader = _per_reader(rendered)
    fill = per_reader.filler(rendered.marker)
    assert fill is not None
    settings = MessageSettings.from_config(config)
    fast = Personalizer(settings, fill.rendered, date=DATE, reader=fill)
    assert fast.fast
    parse = BytesParser(policy=policy.default).parsebytes
    for n, values in enumerate(READERS):
        person = Recipient(
            email=f"r{n}@example.com",
            name=f"Reader {n}",
            unsubscribe_url=f"https://news.test/unsubscribe?token=t{n}",
            view_url="https://news.test/feeds/newsletter/2026-11-20/",
            message_id=f"<2026-11-20.r{n}@news.test>",
        )
        raw = fast(person, values)
        slow = build_message(
            settings, per_reader.render(dict(per_reader.key(values))), person, date=DATE
        )
        assert _shape(parse(raw)) == _shape(parse(message_bytes(slow))), values
        assert isinstance(raw, WireMessage) and raw.payload == wire_format(raw)
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert b"evil@" not in head and b"Bcc" not in head


@pytest.mark.parametrize(
    "use",
    [
        "{% if reader.city %}x{% endif %}",
        "{{ reader.city | upper }}",
        "{% filter upper %}{{ reader.city }}{% endfilter %}",
        "{% for k in reader %}{{ k }}{% endfor %}",
        '{{ reader.city }}{{ reader.city or "x" }}',
    ],
)
def test_any_other_use_of_reader_keeps_the_render_per_combination(
    tmp_path: Path, use: str
) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "config.toml").write_text(
        BASE_CONFIG.format(feeds="", email="", extra=""), encoding="utf-8"
    )
    (tmp_path / "content" / "a.md").write_text(
        article("A story", date="2026-11-10T09:00:00+01:00"), encoding="utf-8"
    )
    (tmp_path / "templates").mkdir()
    text = (REPO / "templates" / "email.txt.j2").read_text(encoding="utf-8")
    (tmp_path / "templates" / "email.txt.j2").write_text(use + "\n" + text, encoding="utf-8")
    config = config_of(tmp_path)
    planned = plan_edition(config, open_state(config), now=datetime.fromisoformat(NOW))
    assert planned is not None
    rendered = render_edition(config, planned)
    per_reader = _per_reader(rendered)
    assert per_reader.slots is None
    assert per_reader.filler(rendered.marker) is None


def test_each_reader_gets_their_own_first_name_over_smtp(
    make_pub: Publication, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    compiled: list[str] = []
    real = render_module._compile

    def counting(*args: Any, **kwargs: Any) -> str:
        compiled.append("mjml")
        return real(*args, **kwargs)

    monkeypatch.setattr(render_module, "_compile", counting)
    names = {f"reader{n:02d}@example.com": f"Name{n:02d}" for n in range(12)}
    names["hostile@example.com"] = '<script>x</script>\r\nBcc: victim@example.net'
    with smtp_server() as inbox:
        root = make_newsletters_pub(make_pub, inbox.port)
        reader_templates(root)
        for address in names:
            result = run(root, "subscribers", "add", address, "--newsletter", "climate")
            assert result.exit_code == 0, result.stderr
        conn = connect(newsletters_config(root).state_db)
        try:
            for address, name in names.items():
                row = conn.execute("SELECT id FROM subscribers WHERE email = ?", (address,))
                subscriptions.set_attributes(conn, row.fetchone()[0], {"first_name": name})
            conn.commit()
        finally:
            conn.close()
        args = ("email", "--newsletter", "climate", "--send", "--yes", "--now", NOW)
        result = run(root, *args)
        assert result.exit_code == 0, result.output + result.stderr
    # The edition, its placeholder copy and the three proof samples: not one per reader.
    assert len(compiled) <= 6 < len(names), compiled
    mails = {m.recipients[0]: m.message for m in inbox.messages}
    assert sorted(mails) == sorted(names)
    for address, name in names.items():
        if address.startswith("hostile"):
            continue
        assert f"\nHello {name}, in !\n" in _body(mails[address], "plain")
        assert f"Hello {name} from " in _body(mails[address], "html")
        others = [other for other in names.values() if other != name and "<" not in other]
        assert not any(other in _body(mails[address], "plain") for other in others)
    hostile = mails["hostile@example.com"]
    assert hostile["Bcc"] is None
    assert "Hello &lt;script&gt;x&lt;/script&gt;  Bcc: victim@example.net from" in _body(
        hostile, "html"
    )
    assert "\nHello <script>x</script>  Bcc: victim@example.net, in !\n" in _body(
        hostile, "plain"
    )


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")
