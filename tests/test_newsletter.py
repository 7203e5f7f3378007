"""The rendered edition: HTML that mail clients can show, a text twin, templates, placeholders."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import html as lxml_html

from syndicate.config import Config, load_config
from syndicate.delivery.rendered import PLACEHOLDER_FIELDS, RenderedEdition
from syndicate.edition.render import render_edition
from syndicate.edition.state import open_state, plan_edition
from syndicate.errors import TemplateError
from syndicate.model import Edition
from tests.conftest import REPO, Publication, article

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
VALUES = {
    "email": "reader@example.net",
    "name": "Reader",
    "unsubscribe_url": "https://news.test/unsubscribe?token=abc&x=1",
    "view_url": "https://news.test/feeds/newsletter/2026-11-25/",
}
RICH_BODY = """\
Opening paragraph with a [relative link](/about/) and **bold** text.

## A heading

- one
- two

> [!WARNING] Mind the gap
> Trains may be late.

::: faq
Q: Who pays?
A: The city.
:::

![](/img/no-alt.jpg)

<img src="https://news.test/wide.jpg" width="1600" height="800">

```
code   block
```
"""


def demo_config(tmp_path: Path) -> Config:
    """A copy of the repository's demo publication (config.toml + content/)."""
    root = tmp_path / "demo"
    root.mkdir()
    shutil.copy(REPO / "config.toml", root / "config.toml")
    shutil.copytree(REPO / "content", root / "content")
    return load_config(root / "config.toml")


def edition_of(config: Config) -> Edition:
    edition = plan_edition(config, open_state(config), now=NOW)
    assert edition is not None
    return edition


def widths(element: lxml_html.HtmlElement) -> list[int]:
    """Every pixel width an element declares, in attributes or inline styles."""
    found = []
    for name in ("width", "min-width"):
        value = element.get(name) if name == "width" else None
        if value and re.fullmatch(r"\d+(px)?", value.strip()):
            found.append(int(value.strip().removesuffix("px")))
    style = element.get("style", "")
    pattern = r"(?<![-\w])(?:min-)?width\s*:\s*(\d+)px"
    found.extend(int(match.group(1)) for match in re.finditer(pattern, style))
    return found


def test_demo_edition_html_is_complete(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    edition = edition_of(config)
    html = render_edition(config, edition).fill_html(VALUES)
    doc = lxml_html.document_fromstring(html)
    assert doc.get("lang") == "en"
    assert doc.findtext(".//title").strip() == edition.subject
    assert not doc.xpath("//script"), "no scripts in email"
    preheader = edition.articles[0].dek
    assert preheader and preheader in html
    hrefs = {a.get("href") for a in doc.iter("a")}
    for art in edition.articles:
        assert art.title in doc.text_content()
        assert art.url in hrefs
    assert "https://news.test/unsubscribe?token=abc&amp;x=1" in html, "placeholder escaped"
    assert VALUES["view_url"] in hrefs
    assert "Musterstraße 1" in html, "postal address in the footer"
    assert 'name="color-scheme" content="light dark"' in html
    assert "prefers-color-scheme: dark" in html
    assert "SYNDICATE-" not in html


def test_nothing_wider_than_600px(make_pub: Publication) -> None:
    root = make_pub(
        {"x.md": article("Wide", body=RICH_BODY, image="/img/hero.jpg")},
        email="full_content = true",
    )
    config = load_config(root / "config.toml")
    html = render_edition(config, edition_of(config)).fill_html(VALUES)
    doc = lxml_html.document_fromstring(html)
    too_wide = [
        (el.tag, w) for el in doc.iter() if isinstance(el.tag, str) for w in widths(el) if w > 600
    ]
    assert not too_wide
    assert 'width="1600"' not in html and 'width="552" height="276"' in html


def test_full_content_keeps_callouts_faqs_and_alt(make_pub: Publication) -> None:
    root = make_pub(
        {"x.md": article("Rich", body=RICH_BODY, image="/img/hero.jpg")},
        email="full_content = true",
    )
    config = load_config(root / "config.toml")
    html = render_edition(config, edition_of(config)).fill_html(VALUES)
    doc = lxml_html.document_fromstring(html)
    callout = doc.xpath("//blockquote[contains(@class, 'callout-warning')]")[0]
    assert "background-color" in callout.get("style"), "CSS inlined into the callout box"
    faq = doc.xpath("//dl[contains(@class, 'faq')]")[0]
    assert "border" in faq.get("style")
    images = doc.xpath("//img")
    assert images and all(img.get("alt") is not None for img in images)
    hero = [img for img in images if img.get("src") == "https://news.test/img/hero.jpg"]
    assert hero and hero[0].get("alt") == "", "a hero image without alt text gets alt=''"
    body_img = [img for img in images if img.get("src") == "https://news.test/img/no-alt.jpg"]
    assert body_img and body_img[0].get("alt") == ""
    assert 'href="https://news.test/about/"' in html, "relative links made absolute"


def test_summary_mode_is_the_default(make_pub: Publication) -> None:
    root = make_pub({"x.md": article("Short", body=RICH_BODY, summary="Just the gist.")})
    config = load_config(root / "config.toml")
    rendered = render_edition(config, edition_of(config))
    assert "Just the gist." in rendered.html
    assert "Mind the gap" not in rendered.html
    assert "Read on the web" in rendered.html


def test_text_twin_is_clean_plain_text(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    edition = edition_of(config)
    text = render_edition(config, edition).fill_text(VALUES)
    check_plain_text(text)
    for art in edition.articles:
        assert art.url in text
    assert VALUES["unsubscribe_url"] in text.splitlines()
    assert "reader@example.net" in text


def test_full_text_twin_numbers_links_per_article(make_pub: Publication) -> None:
    articles = {
        "x.md": article("One", date="2026-11-20T08:00:00Z", body=RICH_BODY),
        "y.md": article("Two", date="2026-11-21T08:00:00Z", body="See [this](https://a.test/)."),
    }
    root = make_pub(articles, email="full_content = true")
    config = load_config(root / "config.toml")
    text = render_edition(config, edition_of(config)).fill_text(VALUES)
    check_plain_text(text)
    assert "See this [1]." in text
    assert "[1] https://a.test/" in text
    assert "[1] https://news.test/about/" in text, "numbering restarts for each article"
    assert "WARNING: Mind the gap" in text
    assert "Q: Who pays?" in text


def check_plain_text(text: str) -> None:
    assert not re.search(r"<[a-zA-Z/][^>]*>", text), "no HTML tags"
    assert not re.search(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", text, re.I), "no HTML entities"
    for line in text.splitlines():
        assert len(line) <= 78 or re.fullmatch(r"\S*https?://\S+", line.strip()), line


def test_template_override_changes_output(make_pub: Publication) -> None:
    root = make_pub({"x.md": article("Overridden")})
    source = (REPO / "templates" / "email.mjml.j2").read_text(encoding="utf-8")
    (root / "templates").mkdir()
    (root / "templates" / "email.mjml.j2").write_text(
        source.replace("Read on the web", "Weiterlesen"), encoding="utf-8"
    )
    (root / "templates" / "email.txt.j2").write_text(
        "Hallo {{ recipient.email }}\n{% for a in articles %}{{ a.title }}\n{% endfor %}",
        encoding="utf-8",
    )
    config = load_config(root / "config.toml")
    rendered = render_edition(config, edition_of(config))
    assert "Weiterlesen" in rendered.html and "Read on the web" not in rendered.html
    assert rendered.fill_text(VALUES) == "Hallo reader@example.net\nOverridden\n"


@pytest.mark.parametrize(
    ("name", "anchor", "broken", "message"),
    [
        ("email.mjml.j2", "<mj-column>", "{% if %}", "expected an expression"),
        ("email.mjml.j2", "<mj-column>", "{{ edition.nope }}", "nope"),
        ("email.mjml.j2", "<mj-column>", "<mj-text>a <b>bold</mj-text>", "invalid mjml"),
        ("email.mjml.j2", '<mj-text css-class="syn-text">', "<p>1 < 2</p>", "invalid mjml"),
        ("email.txt.j2", "{{", "{{ articles[0].missing }}", "missing"),
    ],
)
def test_template_errors_name_file_line_and_edition(
    make_pub: Publication, name: str, anchor: str, broken: str, message: str
) -> None:
    root = make_pub({"x.md": article("Broken"), "y.md": article("Also broken")})
    lines = (REPO / "templates" / name).read_text(encoding="utf-8").splitlines(keepends=True)
    # The broken line goes right after the first line holding ``anchor``.
    line = next(number for number, text in enumerate(lines, 1) if anchor in text) + 1
    lines.insert(line - 1, broken + "\n")
    (root / "templates").mkdir()
    (root / "templates" / name).write_text("".join(lines), encoding="utf-8")
    config = load_config(root / "config.toml")
    with pytest.raises(TemplateError) as caught:
        render_edition(config, edition_of(config))
    error = str(caught.value)
    assert f"templates/{name}:{line}:" in error, error
    assert message in error.lower()
    assert "edition 2026-11-25" in error


def test_article_text_cannot_spoof_a_placeholder(make_pub: Publication) -> None:
    root = make_pub({"x.md": article("Spoof", summary="placeholder")})
    config = load_config(root / "config.toml")
    edition = edition_of(config)
    genuine = render_edition(config, edition)
    fake = genuine.placeholder("unsubscribe_url")
    spoof_root = make_pub({"x.md": article("Spoof", summary=fake)}, name="spoof")
    spoof_config = load_config(spoof_root / "config.toml")
    rendered = render_edition(spoof_config, edition_of(spoof_config))
    assert rendered.marker != genuine.marker
    assert fake in rendered.fill_html(VALUES), "the article's text stays as written"
    assert fake in rendered.fill_text(VALUES)


def test_placeholders_escape_per_format(make_pub: Publication) -> None:
    root = make_pub({"x.md": article("Escapes")})
    config = load_config(root / "config.toml")
    rendered = render_edition(config, edition_of(config))
    values = dict(VALUES, email='o"brien<&>@example.net')
    assert "o&quot;brien&lt;&amp;&gt;@example.net" in rendered.fill_html(values)
    assert 'o"brien<&>@example.net' in rendered.fill_text(values)
    with pytest.raises(ValueError, match="no value"):
        rendered.fill_html({"email": "x"})
    assert set(PLACEHOLDER_FIELDS) == set(VALUES)


def test_placeholder_next_to_capitals_is_still_found(make_pub: Publication) -> None:
    root = make_pub({"x.md": article("Adjacent")})
    (root / "templates").mkdir()
    (root / "templates" / "email.txt.j2").write_text(
        "{{ recipient.email }}-NAME-{{ recipient.name }}EMAIL\n", encoding="utf-8"
    )
    config = load_config(root / "config.toml")
    rendered = render_edition(config, edition_of(config))
    assert rendered.fill_text(VALUES) == "reader@example.net-NAME-ReaderEMAIL\n"


def test_rendering_is_deterministic(make_pub: Publication) -> None:
    root = make_pub({"x.md": article("Same", body=RICH_BODY)}, email="full_content = true")
    config = load_config(root / "config.toml")
    edition = edition_of(config)
    first: RenderedEdition = render_edition(config, edition)
    assert render_edition(config, edition) == first


def test_article_language_is_marked(make_pub: Publication) -> None:
    root = make_pub(
        {"x.md": article("Auf Deutsch", body="Hallo Welt.", lang="de")},
        email="full_content = true",
    )
    config = load_config(root / "config.toml")
    html = render_edition(config, edition_of(config)).html
    assert '<html lang="en"' in html
    assert 'lang="de"' in html
