"""Feed entries made once and reused by every feed they are in give the same bytes as feeds
made whole (exporters/entries.py, exporters/spliced.py, the JSON Feed's item texts)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.api import Publication as Pub
from syndicate.exporters import _feedgen, jsonfeed
from syndicate.exporters.atom import AtomExporter
from syndicate.exporters.entries import EntryCache
from syndicate.exporters.feedset import FeedSpec, feed_specs
from syndicate.exporters.jsonfeed import JsonFeedExporter, JsonFeedSettings
from syndicate.exporters.rss import RssExporter
from syndicate.exporters.spliced import ATOM, RSS, Format, _whole, feed_bytes
from syndicate.model import Article, Publication
from tests.conftest import Publication as MakePub
from tests.conftest import article

CORRECTION = (
    '\n[[corrections]]\ndate = 2026-11-05T09:00:00+01:00\ntext = "The date was wrong."\n'
    'kind = "correction"\n'
)
ARTICLES = {
    "rail.md": article(
        "Rail & <returns>",
        date="2026-11-01T08:00:00+01:00",
        updated="2026-11-03T12:00:00+01:00",
        body="The **night train** is back & <b>loud</b>. [Timetable](/timetable/)\n",
        summary="Night trains <are> back & more.",
        tags=["Rail", "Climate"],
        section="Cities",
        authors=[{"name": "Zoë Müller", "email": "zoe@news.test", "url": "https://z.test/"}],
        image="https://news.test/img/lead.jpg",
        image_alt="A train at dawn",
        enclosure={"url": "https://news.test/a.mp3", "type": "audio/mpeg", "length": 1234},
    ),
    "heat.md": article(
        "Heat plans",
        date="2026-11-02T09:00:00+01:00",
        tags=["Climate", "Heat"],
        section="Climate",
        lang="de",
        body="> [!TIP] Pro tip\n> Drink water.\n\n::: faq\nQ: Why?\nA: Heat.\n:::\n",
    ),
    "floods.md": article(
        "Floods",
        date="2026-11-04T09:00:00+01:00",
        tags=["Climate", "Rail"],
        body="Water, everywhere: <entry> and </entry>, <item> and </item> in the text.\n",
    ),
    "fixed.md": article("Fixed", date="2026-11-03T09:00:00+01:00", tags=["Heat"]).replace(
        "\n+++\n", CORRECTION + "+++\n", 1
    ),
}
FEEDS = 'websub_hub = "https://hub.test/"'
EXTRA = "[corrections]\nfeed = true\n"


@pytest.fixture(params=["", FEEDS], ids=["plain", "hub"])
def publication(make_pub: MakePub, request: pytest.FixtureRequest) -> tuple[Publication, list]:
    root = make_pub(ARTICLES, feeds=request.param, extra=EXTRA)
    pub = Pub.load(root / "config.toml")
    articles = pub.articles()
    return pub.config.publication, feed_specs(pub.config.publication, articles)


def whole_xml(pub: Publication, spec: FeedSpec, *, atom: bool) -> bytes:
    """A feed as the exporters made it before entries were reused: feedgen, whole."""
    form = "application/atom+xml" if atom else "application/rss+xml"
    url = spec.url(pub, "atom.xml" if atom else "rss.xml")
    fg = _feedgen.new_feed(pub, spec, url, form)
    if atom and spec.updated is None:
        from datetime import UTC, datetime

        fg.updated(datetime(1970, 1, 1, tzinfo=UTC))
    serialise = (lambda f: f.atom_str(pretty=True)) if atom else _feedgen.rss_bytes
    add = partial(_add, pub, atom)
    return _whole(fg, spec.entries(pub), add, serialise)


def _add(pub: Publication, atom: bool, fg: object, article: Article) -> None:
    _feedgen.add_entry(fg, pub, article, atom=atom)  # type: ignore[arg-type]


def whole_json(pub: Publication, spec: FeedSpec, *, pretty: bool) -> bytes:
    """A JSON Feed as ``json.dumps`` writes the whole document."""
    document = jsonfeed._feed(pub, spec)
    document["items"] = [jsonfeed._item(pub, a) for a in spec.entries(pub)]
    if pretty:
        text = json.dumps(document, ensure_ascii=False, indent=2)
    else:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode()


def test_reused_entries_give_the_bytes_of_whole_feeds(publication: tuple) -> None:
    pub, specs = publication
    assert len(specs) > 5 and any(spec.corrections for spec in specs)
    assert any(len(spec.articles) > 1 for spec in specs)
    rss, atom = RssExporter(), AtomExporter()
    pretty, compact = JsonFeedExporter(), JsonFeedExporter(JsonFeedSettings(pretty=False))
    for order in (specs, specs[::-1], specs):  # entries made by earlier feeds, in any order
        for spec in order:
            assert rss.export_feed(pub, spec) == whole_xml(pub, spec, atom=False)
            assert atom.export_feed(pub, spec) == whole_xml(pub, spec, atom=True)
            assert pretty.export_feed(pub, spec) == whole_json(pub, spec, pretty=True)
            assert compact.export_feed(pub, spec) == whole_json(pub, spec, pretty=False)
    for kept in (rss._items, atom._entries, pretty._items, compact._items):
        assert all(kept.find(pub, a) is not None for a in specs[0].articles)  # reused


def test_a_feed_without_entries(publication: tuple) -> None:
    pub, specs = publication
    empty = FeedSpec(specs[0].directory, "Empty", "Nothing yet", (), pub.base_url)
    assert RssExporter().export_feed(pub, empty) == whole_xml(pub, empty, atom=False)
    assert AtomExporter().export_feed(pub, empty) == whole_xml(pub, empty, atom=True)
    for pretty in (True, False):
        exporter = JsonFeedExporter(JsonFeedSettings(pretty=pretty))
        assert exporter.export_feed(pub, empty) == whole_json(pub, empty, pretty=pretty)


def test_an_entry_is_reused_only_for_the_same_objects(publication: tuple) -> None:
    pub, specs = publication
    first = specs[0].articles[0]
    made: EntryCache[str] = EntryCache()
    assert made.get(pub, first, lambda p, a: a.title) == first.title
    assert made.get(pub, first, lambda p, a: "again") == first.title  # kept
    from dataclasses import replace

    edited = replace(first, title="Edited")
    assert made.find(pub, edited) is None  # same id, another Article: made anew
    assert made.get(pub, edited, lambda p, a: a.title) == "Edited"
    assert made.find(replace(pub, language="de"), edited) is None  # another publication


def test_a_cut_that_finds_too_few_entries_makes_the_feed_whole(publication: tuple) -> None:
    pub, specs = publication
    spec = max(specs, key=lambda s: len(s.articles))
    blind = Format(b"\n  <nothing", b">", ATOM.end)  # finds no entry: the whole feed instead
    made: EntryCache[bytes] = EntryCache()

    def head() -> object:
        return _feedgen.new_feed(pub, spec, spec.url(pub, "atom.xml"), "application/atom+xml")

    got = feed_bytes(
        head(),  # type: ignore[arg-type]
        pub,
        spec.entries(pub),
        made,
        form=blind,
        add_entry=partial(_add, pub, True),
        serialise=lambda f: f.atom_str(pretty=True),
        whole=head,  # type: ignore[arg-type]
    )
    assert got == whole_xml(pub, spec, atom=True)
    assert all(made.find(pub, a) is None for a in spec.articles)


def test_entry_boundaries_are_found_by_their_tags_only() -> None:
    document = b"<feed>\n  <entry>\n    <x>&lt;entry&gt;</x>\n  </entry>\n  <entry xml:lang='de'>"
    assert ATOM.starts(document) == [document.index(b"  <entry>"), document.rindex(b"  <entry")]
    assert RSS.starts(b"<c>\n    <item>\n    <items>\n") == [4]


def test_built_feeds_equal_whole_feeds(make_pub: MakePub, tmp_path: Path) -> None:
    """A real build (the exporters the config names) writes what whole feeds would be."""
    root = make_pub(ARTICLES, extra=EXTRA)
    pub = Pub.load(root / "config.toml")
    pub.build()
    publication = pub.config.publication
    for spec in feed_specs(publication, pub.articles()):
        folder = root / "feeds" / spec.directory
        assert (folder / "rss.xml").read_bytes() == whole_xml(publication, spec, atom=False)
        assert (folder / "atom.xml").read_bytes() == whole_xml(publication, spec, atom=True)
        assert (folder / "feed.json").read_bytes() == whole_json(publication, spec, pretty=True)


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8"))
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES, st.integers(0, 3))
def test_json_items_are_laid_out_as_json_dumps_indents_them(value: object, level: int) -> None:
    expected = json.dumps(value, ensure_ascii=False, indent=2)
    assert jsonfeed.indented(value, level) == expected.replace("\n", "\n" + "  " * level)
