"""Edition selection (the RSS-to-email rule, --since, --article) and the editions table."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicate.config import Config, load_config
from syndicate.edition.state import (
    get_edition,
    list_editions,
    load_edition,
    mark_sending,
    mark_sent,
    open_state,
    plan_edition,
    record_edition,
)
from syndicate.errors import StateError, TemplateError, UsageError
from tests.conftest import Publication, article

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ARTICLES = {
    "a.md": article("Alpha", date="2026-11-20T08:00:00+01:00", slug="alpha"),
    "b.md": article("Bravo", date="2026-11-22T08:00:00+01:00", slug="bravo"),
    "c.md": article("Charlie", date="2026-11-24T08:00:00+01:00", slug="charlie"),
    "draft.md": article("Draft", date="2026-11-23T08:00:00+01:00", slug="draft", draft=True),
    "later.md": article(
        "Later",
        date="2026-11-23T08:00:00+01:00",
        slug="later",
        publish_at="2026-12-01T08:00:00+01:00",
    ),
}


def setup(make_pub: Publication, email: str = "") -> tuple[Config, sqlite3.Connection]:
    config = load_config(make_pub(ARTICLES, email=email) / "config.toml")
    return config, open_state(config)


def titles(edition: object) -> list[str]:
    return [a.title for a in edition.articles]  # type: ignore[attr-defined]


def test_default_is_every_published_article_newest_first(make_pub: Publication) -> None:
    config, conn = setup(make_pub)
    edition = plan_edition(config, conn, now=NOW)
    assert edition is not None
    assert titles(edition) == ["Charlie", "Bravo", "Alpha"]
    assert edition.id == "2026-11-25"
    assert edition.subject == "Test Times: Charlie"
    assert all(a.html for a in edition.articles), "articles arrive rendered"


def test_max_articles_caps_the_edition(make_pub: Publication) -> None:
    config, conn = setup(make_pub, email="max_articles = 2")
    edition = plan_edition(config, conn, now=NOW)
    assert edition is not None and titles(edition) == ["Charlie", "Bravo"]


def test_article_in_a_sent_edition_is_not_in_the_next(make_pub: Publication) -> None:
    config, conn = setup(make_pub, email="max_articles = 2")
    first = plan_edition(config, conn, now=NOW)
    assert first is not None
    mark_sent(conn, first, at=NOW)
    second = plan_edition(config, conn, now=NOW)
    assert second is not None
    assert titles(second) == ["Alpha"]
    assert second.id == "2026-11-25-2", "the sent edition's id is never reused"
    mark_sent(conn, second, at=NOW)
    assert plan_edition(config, conn, now=NOW) is None, "nothing new: no edition"


def test_sent_state_is_simulated_directly_in_the_database(make_pub: Publication) -> None:
    config, conn = setup(make_pub)
    article_id = "https://news.test/charlie/"
    conn.execute(
        "INSERT INTO editions (id, created, status, subject) VALUES ('old', ?, 'sent', 's')",
        (NOW.isoformat(),),
    )
    conn.execute(
        "INSERT INTO edition_articles (edition_id, position, article_id) VALUES ('old', 0, ?)",
        (article_id,),
    )
    edition = plan_edition(config, conn, now=NOW)
    assert edition is not None and titles(edition) == ["Bravo", "Alpha"]


def test_a_draft_does_not_exclude_its_articles_and_keeps_its_id(make_pub: Publication) -> None:
    config, conn = setup(make_pub)
    edition = plan_edition(config, conn, now=NOW)
    assert edition is not None
    record_edition(conn, edition)
    again = plan_edition(config, conn, now=NOW)
    assert again is not None and again.id == edition.id
    assert titles(again) == titles(edition)


def test_a_sending_edition_counts_as_delivered(make_pub: Publication) -> None:
    config, conn = setup(make_pub, email="max_articles = 1")
    edition = plan_edition(config, conn, now=NOW)
    assert edition is not None
    mark_sending(conn, edition)
    mark_sending(conn, edition)  # a resumed run records it again: no error
    following = plan_edition(config, conn, now=NOW)
    assert following is not None and titles(following) == ["Bravo"]
    record = get_edition(conn, edition.id)
    assert record is not None and record.status == "sending" and record.sent_at is None
    with pytest.raises(StateError, match="already sending"):
        record_edition(conn, edition, status="draft")


def test_since_includes_already_sent_articles(make_pub: Publication) -> None:
    config, conn = setup(make_pub)
    edition = plan_edition(config, conn, now=NOW)
    assert edition is not None
    mark_sent(conn, edition, at=NOW)
    since = datetime(2026, 11, 21, tzinfo=UTC)
    again = plan_edition(config, conn, now=NOW, since=since)
    assert again is not None and titles(again) == ["Charlie", "Bravo"]


def test_article_slugs_choose_exactly_those(make_pub: Publication) -> None:
    config, conn = setup(make_pub, email="max_articles = 1")
    edition = plan_edition(config, conn, now=NOW, slugs=["alpha", "charlie"])
    assert edition is not None and titles(edition) == ["Charlie", "Alpha"]
    assert edition.subject == "Test Times: Charlie"


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("nope", "no article with slug 'nope'"),
        ("draft", "not published yet"),
        ("later", "not published yet"),
    ],
)
def test_bad_slugs_are_usage_errors(make_pub: Publication, slug: str, message: str) -> None:
    config, conn = setup(make_pub)
    with pytest.raises(UsageError, match=message):
        plan_edition(config, conn, now=NOW, slugs=[slug])


def test_edition_id_uses_the_publication_timezone(make_pub: Publication) -> None:
    config, conn = setup(make_pub)
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # already the 25th in Berlin
    edition = plan_edition(config, conn, now=late)
    assert edition is not None and edition.id == "2026-11-25"


def test_editions_round_trip_through_the_database(make_pub: Publication) -> None:
    config, conn = setup(make_pub)
    edition = plan_edition(config, conn, now=NOW)
    assert edition is not None
    mark_sent(conn, edition, at=NOW)
    conn.close()
    conn = open_state(config)  # a new process sees the same state
    [record] = list_editions(conn, status="sent")
    assert record.id == edition.id and record.created == NOW and record.sent_at == NOW
    assert record.article_ids == tuple(a.id for a in edition.articles)
    rebuilt = load_edition(config, record)
    assert rebuilt == edition


def test_deleted_article_of_a_stored_edition_is_named(make_pub: Publication) -> None:
    config, conn = setup(make_pub)
    edition = plan_edition(config, conn, now=NOW)
    assert edition is not None
    record_edition(conn, edition)
    (config.content_dir / "c.md").unlink()
    record = get_edition(conn, edition.id)
    assert record is not None
    with pytest.raises(StateError, match="charlie"):
        load_edition(config, record)


def test_schema_is_versioned(make_pub: Publication) -> None:
    config, conn = setup(make_pub)
    version = conn.execute(
        "SELECT version FROM schema_versions WHERE component = 'editions'"
    ).fetchone()[0]
    assert version == 1
    assert Path(config.state_db).is_file()


def test_subject_template_errors_name_the_config_line(make_pub: Publication) -> None:
    config, conn = setup(make_pub, email='subject = "{{ edition.nope }}"')
    with pytest.raises(TemplateError, match=r"config\.toml:\d+: \[email\] subject: .*nope"):
        plan_edition(config, conn, now=NOW)


def test_subject_renders_content_as_text_not_template(make_pub: Publication) -> None:
    root = make_pub({"x.md": article("{{ 7 * 7 }} & <b>bold</b>", date="2026-11-20T08:00:00Z")})
    config = load_config(root / "config.toml")
    edition = plan_edition(config, open_state(config), now=NOW)
    assert edition is not None
    assert edition.subject == "Test Times: {{ 7 * 7 }} & <b>bold</b>"
