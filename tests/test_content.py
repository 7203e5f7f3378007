"""content/: front matter in TOML or YAML, selection rules, and bad input reported per line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.config import load_config
from syndicate.content.articles import load_articles, select_published
from syndicate.errors import ContentError
from tests.conftest import Publication, article


def load(root: Path):  # type: ignore[no-untyped-def]
    config = load_config(root / "config.toml")
    return load_articles(config.content_dir, config.publication)


def test_toml_and_yaml_front_matter(make_pub: Publication) -> None:
    yaml_article = (
        "---\ntitle: Grüße aus Köln\ndate: 2026-11-03T10:00:00+01:00\n"
        "tags: [Cities, Rail]\nauthors:\n  - name: Zoë\n    email: z@news.test\n---\nHallo.\n"
    )
    root = make_pub({"one.md": article("One", tags=["Rail"]), "2026-11-03-koeln.md": yaml_article})
    articles = {a.slug: a for a in load(root).articles}
    assert articles["koeln"].title == "Grüße aus Köln"
    assert articles["koeln"].date == datetime(2026, 11, 3, 9, tzinfo=UTC)
    assert articles["koeln"].authors[0].name == "Zoë"
    assert articles["one"].authors[0].name == "Desk"  # falls back to the publication's author


def test_naive_dates_take_the_publication_timezone(make_pub: Publication) -> None:
    root = make_pub({"a.md": article(date="2026-07-01T12:00:00")})
    (a,) = load(root).articles
    assert a.date.utcoffset() is not None
    assert a.date == datetime(2026, 7, 1, 10, tzinfo=UTC)  # Berlin summer time is UTC+2


def test_id_is_stable_and_independent_of_file_name(make_pub: Publication) -> None:
    root = make_pub({"x.md": article(slug="kept"), "y.md": article(id="urn:uuid:1234", slug="z")})
    ids = {a.slug: a.id for a in load(root).articles}
    assert ids == {"kept": "https://news.test/kept/", "z": "urn:uuid:1234"}


def test_drafts_and_embargoed_articles_are_not_published(make_pub: Publication) -> None:
    root = make_pub(
        {
            "draft.md": article("Draft", draft=True),
            "embargo.md": article("Embargo", publish_at="2026-11-10T08:00:00+01:00"),
            "future.md": article("Future", date="2026-12-01T08:00:00+01:00"),
            "live.md": article("Live"),
        }
    )
    articles = load(root).articles
    before = datetime(2026, 11, 10, 6, 59, tzinfo=UTC)
    after = datetime(2026, 11, 10, 7, 1, tzinfo=UTC)
    assert [a.title for a in select_published(articles, before)] == ["Live"]
    assert {a.title for a in select_published(articles, after)} == {"Live", "Embargo"}


def test_missing_alt_text_is_a_warning(make_pub: Publication) -> None:
    root = make_pub({"a.md": article(image="/img/a.jpg")})
    result = load(root)
    assert result.articles[0].image is not None
    assert result.articles[0].image.url == "https://news.test/img/a.jpg"
    assert [w.message for w in result.warnings] == ["image has no alt text; set image_alt"]


def problems_for(make_pub: Publication, files: dict[str, str | bytes]) -> list[str]:
    root = make_pub(files)
    with pytest.raises(ContentError) as caught:
        load(root)
    return [f"{Path(str(p.path)).name}:{p.line}: {p.message}" for p in caught.value.problems]


def test_bad_front_matter_syntax(make_pub: Publication) -> None:
    (message,) = problems_for(make_pub, {"a.md": '+++\ntitle = "x"\ndate = \n+++\n'})
    assert message.startswith("a.md:3: invalid TOML front matter")


def test_missing_title(make_pub: Publication) -> None:
    (message,) = problems_for(make_pub, {"a.md": "+++\ndate = 2026-11-01\n+++\nBody\n"})
    assert message == "a.md:1: title: required front-matter key is missing"


def test_unparseable_date(make_pub: Publication) -> None:
    text = '---\ntitle: X\ndate: "next tuesday"\n---\n'
    (message,) = problems_for(make_pub, {"a.md": text})
    assert message.startswith("a.md:3: date: not a date: 'next tuesday'")


def test_unknown_front_matter_key(make_pub: Publication) -> None:
    (message,) = problems_for(make_pub, {"a.md": article(catgory="x")})
    assert (
        message
        == "a.md:4: catgory: unknown front-matter key; see the README's front-matter reference"
    )


def test_duplicate_slug(make_pub: Publication) -> None:
    messages = problems_for(
        make_pub, {"a.md": article(slug="same"), "b.md": article(slug="same", id="other")}
    )
    assert messages == [
        "b.md:1: duplicate slug 'same': also used by " + messages[0].split("by ")[1]
    ]
    assert messages[0].endswith("a.md")


def test_invalid_utf8(make_pub: Publication) -> None:
    data = article("Caf").encode() + b"\nline two \xff\xfe\n"
    (message,) = problems_for(make_pub, {"a.md": data})
    assert message.startswith("a.md:6: invalid UTF-8 at byte")


def test_every_broken_file_is_reported_together(make_pub: Publication) -> None:
    messages = problems_for(
        make_pub,
        {
            "a.md": "no front matter here\n",
            "b.md": article(catgory="x"),
            "c.md": article("fine"),
        },
    )
    assert [m.split(":")[0] for m in messages] == ["a.md", "b.md"]


def test_links_that_are_not_web_addresses_are_errors(make_pub: Publication) -> None:
    # These values become links and image sources in every feed and email, where no
    # sanitizer sees them: a javascript: URL here would be a live link in a mail client.
    hostile = article(
        url="javascript:alert(1)",
        canonical_url="ftp://example.net/x",
        image={"url": "data:image/png;base64,AAAA", "alt": "x"},
        enclosure={"url": "file:///etc/passwd", "type": "audio/mpeg", "length": 1},
        authors=[{"name": "Ann", "url": "vbscript:x"}],
    )
    messages = problems_for(make_pub, {"a.md": hostile})
    assert [m.split(": ")[1] for m in messages] == [
        "url",
        "canonical_url",
        "image.url",
        "enclosure.url",
        "authors[0].url",
    ]
    assert all("not a web address" in m for m in messages)
    assert messages[0] == (
        "a.md:4: url: not a web address: 'javascript:alert(1)'; "
        "use an http(s) URL or a relative path"
    )


def test_relative_url_and_canonical_url_become_absolute(make_pub: Publication) -> None:
    root = make_pub({"a.md": article(url="/2026/a/", canonical_url="../b/")})
    (a,) = load(root).articles
    assert a.url == "https://news.test/2026/a/"
    assert a.canonical_url == "https://news.test/2026/b/"  # against the article URL


def test_lang_must_be_a_language_tag(make_pub: Publication) -> None:
    (message,) = problems_for(make_pub, {"a.md": article(lang="Deutsch!")})
    assert message == "a.md:4: lang: not a language tag: 'Deutsch!'; use e.g. 'en' or 'de-AT'"
    root = make_pub({"b.md": article(lang="de-AT")}, name="ok")
    assert load(root).articles[0].lang == "de-AT"


def test_authors_may_be_one_table(make_pub: Publication) -> None:
    # The front-matter reference: "a name, or a table { name, email, url }, or a list of either".
    root = make_pub(
        {
            "a.md": article(authors={"name": "Zoë", "email": "z@news.test"}),
            "b.md": article(slug="b", authors="Ann"),
        }
    )
    by_slug = {a.slug: a.authors for a in load(root).articles}
    assert [(x.name, x.email) for x in by_slug["a"]] == [("Zoë", "z@news.test")]
    assert [x.name for x in by_slug["b"]] == ["Ann"]
    (message,) = problems_for(make_pub, {"c.md": article(authors={"name": "Bo", "email": "nope"})})
    assert message == "c.md:4: authors.email: not an email address: 'nope'"


def test_mistakes_inside_a_table_name_the_nested_key(make_pub: Publication) -> None:
    messages = problems_for(
        make_pub,
        {
            "a.md": article(image={"url": "/x.png", "alt": "x", "width": "wide"}),
            "b.md": article(slug="b", authors=[{"nam": "Ann"}]),
            "c.md": article(
                slug="c", enclosure={"url": "/e.mp3", "type": "audio/mpeg", "length": -5}
            ),
            "d.md": article(slug="d", tags="solo"),
        },
    )
    assert messages == [
        "a.md:4: image.width: expected a whole number (got 'wide')",
        "b.md:5: authors[0].name: required key is missing",
        "b.md:5: authors[0].nam: unknown key; see the README's front-matter reference",
        "c.md:5: enclosure.length: should be greater than or equal to 0 (got -5)",
        'd.md:5: tags: expected a list, such as ["a", "b"] (got \'solo\')',
    ]


@given(
    st.sampled_from(["https://news.example/", "http://news.example/", "/", "//", "", "./"]),
    st.text(alphabet="abc./?#;:%@ \\-_~", max_size=30),
)
def test_absolute_urls_come_out_as_urljoin_gives_them(start: str, rest: str) -> None:
    """The shortcut for already absolute URLs never changes what urljoin would return."""
    from urllib.parse import urljoin

    from syndicate.content.articles import _absolute

    url = start + rest
    for base in ("https://paper.example/a/", "https://paper.example", "http://x.example/a?b"):
        assert _absolute(url, base) == urljoin(base, url)
