"""The three feed formats: valid, complete, deterministic, and every id kept for life."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate.config import load_config
from syndicate.errors import ContentError
from syndicate.publish.site import build
from tests.conftest import Publication, article, tree_bytes

ARTICLES = {
    "2026-11-01-rail.md": article(
        "Rail returns",
        date="2026-11-01T08:00:00+01:00",
        updated="2026-11-03T12:00:00+01:00",
        body="The **night train** is back. [Timetable](/timetable/)\n\n![A sleeper](img/car.jpg)\n",
        summary="Night trains are back.",
        tags=["Rail", "Climate"],
        section="Cities",
        authors=[{"name": "Zoë Müller", "email": "zoe@news.test"}],
        image="https://news.test/img/lead.jpg",
        image_alt="A train at dawn",
        enclosure={"url": "https://news.test/a.mp3", "type": "audio/mpeg", "length": 1234},
    ),
    "heat.md": article(
        "Heat plans",
        date="2026-11-02T09:00:00+01:00",
        tags=["Climate"],
        section="Climate",
        body="> [!TIP] Pro tip\n> Drink water.\n\n::: faq\nQ: Why?\nA: Heat.\n:::\n",
    ),
}


def built(root: Path) -> Path:
    build(load_config(root / "config.toml"))
    return root / "feeds"


def parse(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def test_build_writes_main_and_taxonomy_feeds(make_pub: Publication) -> None:
    feeds = built(make_pub(ARTICLES))
    names = sorted(str(p.relative_to(feeds)) for p in feeds.rglob("*") if p.is_file())
    expected = []
    for folder in ["", "sections/cities/", "sections/climate/", "tags/climate/", "tags/rail/"]:
        expected += [f"{folder}atom.xml", f"{folder}feed.json", f"{folder}rss.xml"]
    assert names == sorted(expected)


@pytest.mark.parametrize("filename", ["rss.xml", "atom.xml"])
def test_xml_feeds_round_trip_through_feedparser(make_pub: Publication, filename: str) -> None:
    parsed = parse(built(make_pub(ARTICLES)) / filename)
    assert parsed.feed.title == "Test Times"
    assert parsed.feed.link == "https://news.test"
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == [f"https://news.test/feeds/{filename}"]
    assert [e.title for e in parsed.entries] == ["Heat plans", "Rail returns"]
    rail = parsed.entries[1]
    assert rail.link == "https://news.test/rail/"
    assert rail.id == "https://news.test/rail/"
    assert rail.published_parsed[:5] == (2026, 11, 1, 7, 0)
    assert {t.term for t in rail.tags} >= {"Rail", "Climate"} or {t.term for t in rail.tags} >= {
        "rail",
        "climate",
    }
    assert rail.author == "Zoë Müller" or rail.author.startswith("Zoë Müller")
    content = rail.content[0].value
    assert '<a href="https://news.test/timetable/">Timetable</a>' in content
    assert 'src="https://news.test/rail/img/car.jpg"' in content
    assert rail.enclosures[0].href == "https://news.test/a.mp3"
    assert rail.enclosures[0].type == "audio/mpeg"
    assert rail.enclosures[0].length == "1234"
    assert rail.media_content[0]["url"] == "https://news.test/img/lead.jpg"


def test_atom_entries_have_published_and_updated(make_pub: Publication) -> None:
    parsed = parse(built(make_pub(ARTICLES)) / "atom.xml")
    rail = parsed.entries[1]
    assert rail.updated_parsed[:5] == (2026, 11, 3, 11, 0)
    assert rail.published_parsed[:5] == (2026, 11, 1, 7, 0)
    assert parsed.feed.updated_parsed[:5] == (2026, 11, 3, 11, 0)  # newest item, never "now"
    assert rail.summary == "Night trains are back."


def test_an_article_in_another_language_says_so_in_every_format(make_pub: Publication) -> None:
    feeds = built(
        make_pub({**ARTICLES, "de.md": article("Grüße aus Köln", slug="koeln", lang="de")})
    )
    atom = parse(feeds / "atom.xml")
    languages = {entry.title: entry.title_detail.language for entry in atom.entries}
    assert languages == {"Grüße aus Köln": "de", "Rail returns": "en", "Heat plans": "en"}
    assert b'<entry xml:lang="de">' in (feeds / "atom.xml").read_bytes()
    assert b"<entry>" in (feeds / "atom.xml").read_bytes(), "same language: inherited"
    items = json.loads((feeds / "feed.json").read_text(encoding="utf-8"))["items"]
    assert {item["title"]: item["language"] for item in items}["Grüße aus Köln"] == "de"


def test_json_feed_follows_version_1_1(make_pub: Publication) -> None:
    feeds = built(make_pub(ARTICLES))
    document = json.loads((feeds / "feed.json").read_text(encoding="utf-8"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == "https://news.test/feeds/feed.json"
    assert document["home_page_url"] == "https://news.test"
    rail = document["items"][1]
    assert rail["id"] == "https://news.test/rail/"
    assert rail["date_published"] == "2026-11-01T08:00:00+01:00"
    assert rail["date_modified"] == "2026-11-03T12:00:00+01:00"
    assert rail["authors"] == [{"name": "Zoë Müller"}]
    assert rail["tags"] == ["Rail", "Climate", "Cities"]
    assert rail["attachments"][0]["size_in_bytes"] == 1234
    assert "content_html" in rail


def test_json_feed_names_a_section_that_is_also_a_tag_once(make_pub: Publication) -> None:
    feeds = built(
        make_pub({"a.md": article("Floods", tags=["climate", "Rivers"], section="Climate")})
    )
    item = json.loads((feeds / "feed.json").read_text(encoding="utf-8"))["items"][0]
    assert item["tags"] == ["climate", "Rivers"]


def test_callouts_and_faqs_reach_feeds_as_distinct_blocks(make_pub: Publication) -> None:
    parsed = parse(built(make_pub(ARTICLES)) / "rss.xml")
    html = parsed.entries[0].content[0].value
    assert '<blockquote class="callout callout-tip">' in html
    assert "<strong>Pro tip</strong>" in html
    assert '<dl class="faq">' in html
    assert "<dt><strong>Why?</strong></dt>" in html


def test_websub_hub_links_in_every_format(make_pub: Publication) -> None:
    feeds = built(make_pub(ARTICLES, feeds='websub_hub = "https://hub.test/"'))
    for name in ("rss.xml", "atom.xml"):
        links = parse(feeds / name).feed.links
        assert [link.href for link in links if link.rel == "hub"] == ["https://hub.test/"]
    document = json.loads((feeds / "feed.json").read_text(encoding="utf-8"))
    assert document["hubs"] == [{"type": "WebSub", "url": "https://hub.test/"}]


def test_summary_only_feeds(make_pub: Publication) -> None:
    parsed = parse(built(make_pub(ARTICLES, feeds="full_content = false")) / "atom.xml")
    assert all(c.type != "text/html" for c in parsed.entries[1].get("content", []))
    assert parsed.entries[1].summary == "Night trains are back."


def test_max_items_caps_every_feed(make_pub: Publication) -> None:
    many = {f"a{i}.md": article(f"A{i}", date=f"2026-10-{i + 1:02d}", tags=["T"]) for i in range(7)}
    feeds = built(make_pub(many, feeds="max_items = 3"))
    assert [e.title for e in parse(feeds / "rss.xml").entries] == ["A6", "A5", "A4"]
    assert len(parse(feeds / "tags/t/atom.xml").entries) == 3


def test_two_builds_are_byte_identical_and_leave_mtimes_alone(make_pub: Publication) -> None:
    root = make_pub(ARTICLES)
    feeds = built(root)
    first = tree_bytes(feeds)
    mtimes = {p: p.stat().st_mtime_ns for p in feeds.rglob("*.xml")}
    built(root)
    assert tree_bytes(feeds) == first
    assert {p: p.stat().st_mtime_ns for p in feeds.rglob("*.xml")} == mtimes


def test_editing_one_article_changes_only_its_feeds_and_keeps_its_guid(
    make_pub: Publication,
) -> None:
    root = make_pub(ARTICLES)
    feeds = built(root)
    before = tree_bytes(feeds)
    path = root / "content" / "heat.md"
    path.write_text(path.read_text().replace("Drink water.", "Drink more water."))
    built(root)
    after = tree_bytes(feeds)
    changed = sorted(name for name in after if after[name] != before[name])
    assert changed == sorted(
        f"{folder}{name}"
        for folder in ["", "sections/climate/", "tags/climate/"]
        for name in ("atom.xml", "feed.json", "rss.xml")
    )
    heat = next(e for e in parse(feeds / "rss.xml").entries if e.title == "Heat plans")
    assert heat.id == "https://news.test/heat/"


def test_a_broken_article_writes_nothing(make_pub: Publication) -> None:
    root = make_pub(ARTICLES)
    feeds = built(root)
    before = tree_bytes(feeds)
    (root / "content" / "bad.md").write_text("+++\ntitle = \n+++\n")
    with pytest.raises(ContentError):
        built(root)
    assert tree_bytes(feeds) == before


@pytest.mark.parametrize(
    ("second", "wording"),
    [({"slug": "same", "id": "other"}, "duplicate slug 'same'"), ({"id": "one"}, "duplicate id")],
)
def test_two_files_with_one_slug_or_id_stop_the_build(
    make_pub: Publication, second: dict[str, str], wording: str
) -> None:
    first = {"slug": "same"} if "slug" in second else {"id": "one"}
    root = make_pub({"a.md": article("A", **first), "b.md": article("B", **second)})
    with pytest.raises(ContentError) as caught:
        built(root)
    (problem,) = caught.value.problems
    assert Path(str(problem.path)).name == "b.md" and problem.message.startswith(wording)


HOSTILE_BODY = """\
<script>alert('x')</script><img src=x onerror="alert(1)">
<a href="javascript:alert(1)" onclick="steal()">click</a> ]]> \x01\x0b\x1f
<iframe src="https://evil.test"></iframe><style>body{display:none}</style>
<p style="color:red" onmouseover="x()">styled</p>
"""


def test_a_hostile_article_yields_valid_sanitized_feeds(make_pub: Publication) -> None:
    hostile = article(
        "T" * 450 + " <script>alert(1)</script> ]]> \x01",
        body=HOSTILE_BODY,
        summary="]]> <b>bold</b> \x0b",
        tags=["<x>y", "]]>z"],
    )
    feeds = built(make_pub({"hostile.md": hostile}))
    document = json.loads((feeds / "feed.json").read_text(encoding="utf-8"))
    for name in ("rss.xml", "atom.xml", "feed.json"):
        if name == "feed.json":  # feedparser 6.0 reads no JSON Feed: check the document itself
            title, html = document["items"][0]["title"], document["items"][0]["content_html"]
        else:
            entry = parse(feeds / name).entries[0]
            title, html = entry.title, entry.content[0].value
        assert title.startswith("T" * 450)
        for bad in ("<script", "onerror", "onclick", "javascript:", "<iframe", "<style", "style="):
            assert bad not in html, (name, bad)
        raw = (feeds / name).read_text(encoding="utf-8")
        assert "\x01" not in raw and "\x0b" not in raw


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=st.text(min_size=1, max_size=80), body=st.text(max_size=300))
def test_any_article_text_gives_parseable_feeds_or_a_content_error(
    make_pub: Publication, title: str, body: str
) -> None:
    text = "+++\ntitle = " + json.dumps(title) + "\ndate = 2026-11-01\n+++\n" + body
    root = make_pub({"any.md": text}, name="prop")
    try:
        feeds = built(root)
    except ContentError:
        return
    for name in ("rss.xml", "atom.xml"):
        assert feedparser.parse((feeds / name).read_bytes()).bozo == 0
    json.loads((feeds / "feed.json").read_text(encoding="utf-8"))
