"""content/: front matter in TOML or YAML, selection rules, and bad input reported per line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicate.config import load_config
from syndicate.content import load_articles, select_published
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
