"""Each reader's own attributes in the edition templates (`{{ reader.city }}`): sent over real
SMTP with hostile values (HTML and CR/LF), the one-render fast path kept for templates that
never name `reader`, and which attributes a template reads found from its syntax tree."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from syndicate.delivery import subscriptions
from syndicate.store.database import connect
from syndicate.text.templates import attributes_read, template_environment
from tests.conftest import REPO, Publication, Run, article
from tests.newsletters_fixture import SECRET, config_of, make_newsletters_pub
from tests.smtp_server import smtp_server

NOW = "2026-11-13T09:00:00+01:00"  # Friday of the first week: days 0-4 are published
HOSTILE = '<script>alert("x")</script>\r\nBcc: victim@example.net\r\n\r\nInjected'


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def _override(root: Path) -> None:
    """Greet each reader by city in both templates; a plan read by subscript, in HTML."""
    html = (REPO / "templates" / "email.mjml.j2").read_text(encoding="utf-8")
    text = (REPO / "templates" / "email.txt.j2").read_text(encoding="utf-8")
    marker = "{{ edition_date }} · "
    assert marker in html
    html = html.replace(
        marker,
        'Hello {{ reader.city or "friend" }} ({{ reader["plan"] }}) · ' + marker,
        1,
    )
    (root / "templates").mkdir()
    (root / "templates" / "email.mjml.j2").write_text(html, encoding="utf-8")
    (root / "templates" / "email.txt.j2").write_text(
        'Hello {{ reader.city or "friend" }}\n' + text, encoding="utf-8"
    )


def test_each_reader_gets_their_own_attributes_escaped(make_pub: Publication, run: Run) -> None:
    with smtp_server() as inbox:
        root = make_newsletters_pub(make_pub, inbox.port)
        _override(root)
        readers = {
            "berlin@example.com": {"city": "Berlin", "plan": "pro"},
            "hostile@example.com": {"city": HOSTILE, "plan": "<b>x</b>"},
            "plain@example.com": {},
        }
        for address in readers:
            result = run(root, "subscribers", "add", address, "--newsletter", "climate")
            assert result.exit_code == 0, result.stderr
        conn = connect(config_of(root).state_target)
        try:
            for address, values in readers.items():
                row = conn.execute("SELECT id FROM subscribers WHERE email = ?", (address,))
                subscriptions.set_attributes(conn, row.fetchone()[0], values)
            conn.commit()
        finally:
            conn.close()
        args = ("email", "--newsletter", "climate", "--send", "--yes", "--now", NOW)
        result = run(root, *args)
        assert result.exit_code == 0, result.output + result.stderr
        again = run(root, *args)
        assert again.exit_code == 0 and "nothing to send" in again.output
    mails = {m.recipients: m.message for m in inbox.messages}
    assert sorted(mails) == [(address,) for address in sorted(readers)]

    berlin = mails[("berlin@example.com",)]
    assert _body(berlin, "plain").startswith("Hello Berlin\n")
    assert "Hello Berlin (pro) · " in _body(berlin, "html")

    plain = mails[("plain@example.com",)]
    assert _body(plain, "plain").startswith("Hello friend\n")
    assert "Hello friend () · " in _body(plain, "html")

    hostile = mails[("hostile@example.com",)]
    assert hostile["Bcc"] is None and hostile["To"] == "hostile@example.com"
    assert [name.lower() for name in hostile] == [name.lower() for name in berlin]
    html = _body(hostile, "html")
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "(&lt;b&gt;x&lt;/b&gt;)" in html
    text = _body(hostile, "plain")
    # Plain text is not HTML; CR/LF in a value are spaces (a value is one line).
    assert text.startswith(
        'Hello <script>alert("x")</script>  Bcc: victim@example.net    Injected\n'
    )
    # The rest of each copy is the same edition: same subject, same articles.
    for message in mails.values():
        assert message["Subject"] == berlin["Subject"]
        assert "Story 03" in _body(message, "plain")


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_templates_without_reader_keep_the_single_render(make_pub: Publication) -> None:
    root = make_pub({"a.md": article("A story", date="2026-11-10T10:00:00+01:00")})
    env = template_environment(config_of(root), autoescape=True)
    assert attributes_read(env, ["email.mjml.j2", "email.txt.j2"], "reader") == (False, frozenset())


def test_which_reader_attributes_a_template_reads(tmp_path: Path) -> None:
    (tmp_path / "a.j2").write_text(
        '{{ reader.city }}{% include "b.j2" %}{{ segment.x }}', encoding="utf-8"
    )
    (tmp_path / "b.j2").write_text('{% if reader["plan"] %}{{ reader.tier }}{% endif %}')
    (tmp_path / "loop.j2").write_text("{% for k, v in reader.items() %}{{ v }}{% endfor %}")
    (tmp_path / "dynamic.j2").write_text("{% include name %}")
    (tmp_path / "none.j2").write_text("{{ readers }}{{ recipient.email }}")
    env = template_environment(tmp_path, autoescape=True)
    assert attributes_read(env, ["a.j2"], "reader") == (True, frozenset({"city", "plan", "tier"}))
    assert attributes_read(env, ["loop.j2"], "reader") == (True, None)
    assert attributes_read(env, ["dynamic.j2"], "reader") == (True, None)
    assert attributes_read(env, ["none.j2"], "reader") == (False, frozenset())


def test_click_tracking_covers_each_readers_copy(make_pub: Publication, run: Run) -> None:
    """Each reader's copy has tracked links, unless an attribute made a link the edition's
    own copy lacks (never registered): then that copy keeps its direct links."""
    with smtp_server() as inbox:
        root = make_newsletters_pub(make_pub, inbox.port, "[tracking]\nclicks = true\n")
        _override(root)
        html = root / "templates" / "email.mjml.j2"
        html.write_text(
            html.read_text(encoding="utf-8").replace(
                "Hello {{",
                '<a href="https://news.test/local/{{ reader.city }}">Local</a> Hello {{',
                1,
            ),
            encoding="utf-8",
        )
        for address in ("berlin@example.com", "plain@example.com"):
            assert (
                run(root, "subscribers", "add", address, "--newsletter", "climate").exit_code == 0
            )
        conn = connect(config_of(root).state_target)
        try:
            row = conn.execute("SELECT id FROM subscribers WHERE email = 'berlin@example.com'")
            subscriptions.set_attributes(conn, row.fetchone()[0], {"city": "Berlin"})
            conn.commit()
        finally:
            conn.close()
        result = run(root, "email", "--newsletter", "climate", "--send", "--yes", "--now", NOW)
        assert result.exit_code == 0, result.output + result.stderr
    mails = {m.recipients[0]: _body(m.message, "html") for m in inbox.messages}
    assert "Hello Berlin" in mails["berlin@example.com"]
    assert "Hello friend" in mails["plain@example.com"]
    assert "/c/climate-" in mails["plain@example.com"]
    assert 'href="https://news.test/local/"' not in mails["plain@example.com"]
    assert 'href="https://news.test/local/Berlin"' in mails["berlin@example.com"]
    assert "/c/climate-" not in mails["berlin@example.com"]


def test_a_template_failing_on_one_readers_values_fails_only_their_row(
    make_pub: Publication, run: Run
) -> None:
    with smtp_server() as inbox:
        root = make_newsletters_pub(make_pub, inbox.port)
        (root / "templates").mkdir()
        text = (REPO / "templates" / "email.txt.j2").read_text(encoding="utf-8")
        (root / "templates" / "email.txt.j2").write_text(
            "{% if reader.plan %}{{ reader.plan.tier }}{% endif %}\n" + text, encoding="utf-8"
        )
        for address in ("pro@example.com", "plain@example.com"):
            assert (
                run(root, "subscribers", "add", address, "--newsletter", "climate").exit_code == 0
            )
        conn = connect(config_of(root).state_target)
        try:
            row = conn.execute("SELECT id FROM subscribers WHERE email = 'pro@example.com'")
            subscriptions.set_attributes(conn, row.fetchone()[0], {"plan": "pro"})
            conn.commit()
        finally:
            conn.close()
        result = run(root, "email", "--newsletter", "climate", "--send", "--yes", "--now", NOW)
        assert "Traceback" not in result.stderr
        assert "failed 1" in result.output, result.output + result.stderr
    assert [m.recipients for m in inbox.messages] == [("plain@example.com",)]
    conn = connect(config_of(root).state_target)
    try:
        state, reason = conn.execute(
            "SELECT state, reason FROM deliveries WHERE email = 'pro@example.com'"
        ).fetchone()
    finally:
        conn.close()
    assert state == "failed"
    assert "the template fails with this reader's attributes" in reason
    assert "email.txt.j2:1" in reason
