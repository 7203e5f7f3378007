"""The archive's pages are valid HTML5, not email HTML: the W3C checker (vnu) rejected
MJML's Outlook-only markup on the edition pages and a microsecond `datetime` on the index.
These checks name each construct it refused, so the test fails without a validator installed.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from lxml import html as lxml_html

from syndicate.config import Config, load_config
from syndicate.delivery.subscribers import add_subscriber
from syndicate.edition.archive_page import web_html
from syndicate.store.database import connect
from tests.conftest import Publication, article

SECRET = "archive-html-secret-0123456789"
# HTML's valid global date and time string: at most three digits of a second's fraction.
VALID_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)$")


@pytest.fixture
def pub(make_pub: Publication, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)
    body = (
        "Text.\n\n![A rain garden](https://news.test/garden.jpg)\n\n> [!TIP] Tip\n> Water less.\n"
    )
    root = make_pub(
        {"a.md": article("Rain gardens", date="2026-11-02T09:00:00+01:00", body=body)},
        email="full_content = true\n",
    )
    config = load_config(root / "config.toml")
    conn = connect(config.state_target)
    add_subscriber(conn, "reader@example.com")
    conn.close()
    return config


def send(config: Config) -> str:
    from syndicate.edition.render import render_edition
    from syndicate.edition.sending import send_edition
    from syndicate.edition.state import open_state, plan_edition

    conn = open_state(config)
    try:
        edition = plan_edition(
            config, conn, now=datetime.fromisoformat("2026-11-03T09:00:00+01:00")
        )
        assert edition is not None
        report = send_edition(config, conn, edition, render_edition(config, edition))
        assert report.complete
        return edition.id
    finally:
        conn.close()


def test_edition_page_has_no_outlook_only_markup(pub: Config) -> None:
    edition = send(pub)
    page = (pub.feeds_dir / "newsletter" / edition / "index.html").read_text()
    tree = lxml_html.document_fromstring(page)

    assert "xmlns:v" not in page and "xmlns:o" not in page
    images = tree.xpath("//img")
    assert images, "the fixture has a body image"
    for img in images:
        assert img.get("height") in (None, *(str(n) for n in range(1, 5000))), img.get("height")
    css = " ".join(tree.xpath("//style/text()") + tree.xpath("//@style"))
    assert "mso-" not in css and "supported-color-schemes" not in css
    assert "color-scheme: light dark" in css  # the declaration browsers know stays
    assert "Rain gardens" in page and "Water less." in page


def test_index_time_elements_have_valid_datetimes(pub: Config) -> None:
    send(pub)
    index = (pub.feeds_dir / "newsletter" / "index.html").read_text()
    stamps = lxml_html.document_fromstring(index).xpath("//time/@datetime")

    assert stamps
    for stamp in stamps:
        assert VALID_DATETIME.match(stamp), stamp


def test_cleaning_keeps_everything_else() -> None:
    email = (
        '<html lang="en" xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">'
        "<head><style>td { border-collapse: collapse; mso-table-lspace: 0pt; }</style></head>"
        '<body><img alt="x" height="auto" width="552" style="height:auto;mso-foo:1">'
        "<p>mso-table-lspace: is text here, not CSS;</p></body></html>"
    )

    assert web_html(email) == (
        '<html lang="en" xmlns="http://www.w3.org/1999/xhtml">'
        "<head><style>td { border-collapse: collapse; }</style></head>"
        '<body><img alt="x" width="552" style="height:auto;">'
        "<p>mso-table-lspace: is text here, not CSS;</p></body></html>"
    )
