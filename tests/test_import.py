"""syndicate import: raw text, HTML and Markdown sources become content files that publish."""

from __future__ import annotations

import html
import json
import os
import re
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syndicate.content.articles import parse_article
from syndicate.content.render import render_html
from syndicate.ingest.dates import parse_loose_date
from syndicate.ingest.document import SourceError
from syndicate.ingest.importer import ImportOptions, import_sources
from syndicate.ingest.markdown import parse_markdown
from syndicate.ingest.markup import escape_block
from syndicate.ingest.text import parse_text
from syndicate.ingest.writer import render_document
from syndicate.model import Publication
from tests.conftest import Golden, Run
from tests.conftest import Publication as MakePub

FIXTURES = Path(__file__).parent / "fixtures" / "import"
GOLDEN = Path(__file__).parent / "golden" / "import"
BERLIN = ZoneInfo("Europe/Berlin")
PUB = Publication(title="Test Times", base_url="https://news.test", timezone=BERLIN)


def split(text: str) -> tuple[dict[str, object], str]:
    """A written content file -> (front matter as data, body)."""
    assert text.startswith("+++\n"), text[:80]
    head, body = text[4:].split("\n+++\n", 1)
    return tomllib.loads(head), body


def preview(source: Path, **options: object) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Import one source as a dry run: (file text, dropped lines, notes)."""
    settings: dict[str, object] = {"into": source.parent / "out", "publication": PUB}
    settings.update(options)
    report = import_sources([source], ImportOptions(dry_run=True, **settings))  # type: ignore[arg-type]
    assert not report.problems, report.problems
    (item,) = report.imported
    return item.text, item.dropped, item.notes


def faq_pairs(body: str) -> list[tuple[str, str]]:
    blocks = re.findall(r"^::: faq\n(.*?)^:::$", body, flags=re.M | re.S)
    pairs = []
    for block in blocks:
        lines = block.strip().split("\n")
        assert all(line.startswith(("Q: ", "A: ")) for line in lines), block
        pairs += [(q[3:], a[3:]) for q, a in zip(lines[::2], lines[1::2], strict=True)]
    return pairs


# --- a newsroom's analysis piece, end to end ---------------------------------------------

# Our own text in the shape of a CMS export: byline, dek, five headings, lead-in list items,
# a "Did you know?" and a "Pro Tip:" line, an FAQ of bullet Q/A pairs and trailing boilerplate.
SAMPLE = FIXTURES / "harbour-strike-analysis.txt"


def test_analysis_piece_imports_and_publishes(make_pub: MakePub, run: Run) -> None:
    root = make_pub()
    result = run(root, "import", str(SAMPLE))
    assert result.exit_code == 0, result.output
    (written,) = (root / "content").glob("*.md")
    meta, body = split(written.read_text(encoding="utf-8"))
    source = SAMPLE.read_text(encoding="utf-8").splitlines()
    assert meta["title"] == source[0].strip()
    assert meta["authors"] == [source[2].strip().removeprefix("by ")]
    headings = re.findall(r"^## .+$", body, flags=re.M)
    assert len(headings) == 6 or (len(headings) == 5 and meta.get("dek"))
    assert meta["dek"] == source[4].strip()
    assert len(re.findall(r"^- \*\*[^*]+:\*\* ", body, flags=re.M)) == 3
    assert len(re.findall(r"^> \[!NOTE\] Did you know\?$", body, flags=re.M)) == 1
    assert len(re.findall(r"^> \[!TIP\] Pro tip$", body, flags=re.M)) == 1
    assert len(faq_pairs(body)) == 4
    for boilerplate in ("Want to learn more?", "You may also like", "Leave a Comment"):
        assert boilerplate not in written.read_text(encoding="utf-8")
        assert boilerplate in result.output  # reported as dropped
    assert "\u2019" in meta["title"] and "\u2013" in body  # curly quotes and dashes kept

    built = run(root, "build")
    assert built.exit_code == 0, built.output
    for name in ("rss.xml", "atom.xml"):
        feed = feedparser.parse((root / "feeds" / name).read_bytes())
        assert feed.bozo == 0, (name, feed.get("bozo_exception"))
        titles = [entry.title for entry in feed.entries]
        assert meta["title"] in titles
    items = json.loads((root / "feeds" / "feed.json").read_text(encoding="utf-8"))["items"]
    (item,) = [item for item in items if item["title"] == meta["title"]]
    assert 'class="callout callout-tip"' in item["content_html"]
    assert '<dl class="faq">' in item["content_html"]


# --- our own fixtures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("night-ferry.txt", {"date": datetime(2026, 11, 20, 9, 0, tzinfo=BERLIN)}),
        ("library-hours.txt", {}),
        ("market-hall-bees.html", {}),
        ("allotment-waiting-list.md", {}),
        ("harbour-cranes.md", {"date": datetime(2026, 12, 1, 18, 0, tzinfo=BERLIN)}),
    ],
)
def test_fixture_matches_golden_file_and_loads(
    name: str, options: dict[str, object], golden: Golden, tmp_path: Path
) -> None:
    text, dropped, notes = preview(FIXTURES / name, into=tmp_path, **options)
    report = "".join(f"# dropped: {line}\n" for line in dropped)
    report += "".join(f"# note: {note}\n" for note in notes)
    golden(GOLDEN / f"{name}.md", text + report)
    article, warnings = parse_article(
        text.encode(), PUB, path=tmp_path / "x.md", display=Path("x.md")
    )
    assert article.title and not warnings
    render_html(article.body, article.url)  # renders without error


def test_windows_line_endings_numbered_list_and_callout_inside_it() -> None:
    raw = (FIXTURES / "night-ferry.txt").read_bytes()
    assert b"\r\n" in raw  # the fixture keeps its Windows line endings
    text, dropped, _ = preview(FIXTURES / "night-ferry.txt")
    meta, body = split(text)
    assert "\r" not in text
    assert "authors" not in meta and "dek" not in meta  # no byline: no author, no dek
    assert meta["summary"].startswith("The overnight ferry between the harbour")
    assert "## How to book a cabin\n\n1. Create an account" in body
    # The warning inside item 2 splits the list; item 3 keeps its number.
    assert re.search(
        r"^2\. Pick.*\n\n> \[!WARNING\] Warning\n> Cabins cannot .*\n\n3\. Print", body, re.M
    )
    assert "<https://ferry.example/booking>." in body
    assert "> [!NOTE] Editor\u2019s note" in body
    assert "**FAQ: Before You Travel**\n\n::: faq" in body
    assert len(faq_pairs(body)) == 3
    assert "- **Shore Power:** the ship plugs" in body
    assert dropped == (
        "Share this article",
        "You may also like",
        "Harbour Bridge Repairs Start in April",
        "Island School Gets a New Roof",
        "Leave a Comment",
    )
    html = render_html(body, "https://news.test/x/")
    assert "*Stella Maris*" in html  # plain-text asterisks stay asterisks
    assert "Maëlle" in html and "€38" in html and "—" in html


def test_byline_with_two_authors_and_date_dek_and_bare_faq() -> None:
    text, dropped, _ = preview(FIXTURES / "library-hours.txt")
    meta, body = split(text)
    assert meta["authors"] == ["Ana Souza", "Piet de Vries"]
    assert meta["date"] == datetime(2026, 11, 3, tzinfo=BERLIN)
    assert meta["dek"] == "Three branches stay open until 22:00 from Monday to Thursday"
    assert "> [!NOTE] Did you know?\n> The central library lent out" in body
    assert "> [!TIP] Pro tip\n> Book a study carrel" in body
    assert "> [!NOTE] Note\n> Children under 14" in body
    assert faq_pairs(body)[1] == (
        "Will weekend hours change?",
        "Not this year. The council will review Saturday opening in spring.",
    )
    assert "- Self-service loans and returns\n  - Returns after 20:00" in body
    html = render_html(body, "https://news.test/x/")
    assert "&lt;b&gt;late shift&lt;/b&gt;" in html and "[1]" in html and "it_." in html
    assert dropped == (
        "Subscribe to our newsletter for weekly updates",
        "Tags: libraries, city council",
    )


def test_html_page_imports_to_just_the_article() -> None:
    text, dropped, _ = preview(FIXTURES / "market-hall-bees.html")
    meta, body = split(text)
    assert meta["title"] == "Rooftop beehives return to the old market hall"
    assert meta["authors"] == ["Mira Okafor"]
    assert meta["date"] == datetime.fromisoformat("2026-10-12T07:30:00+02:00")
    assert meta["canonical_url"] == "https://harbour.example/news/rooftop-beehives"
    assert "lang" not in meta  # en-GB is the publication's language already
    assert body.count("## ") == 2
    assert (
        "[the city\u2019s oldest covered market](https://harbour.example/city/market-hall)" in body
    )
    assert (
        "![Two beekeepers in white suits lift a frame from a hive on a copper roof]"
        "(https://harbour.example/img/hive-roof.jpg)" in body
    )
    assert "> We lost half our colonies in the cold spring." in body
    assert "- **Water:** a shallow basin" in body
    assert "*late summer*" in body
    for junk in (
        "cookies", "Home", "Sport", "Weather", "dataLayer", "trackArticle", "Advertisement",
        "premium", "Share on", "Comments", "Anna", "Great news", "Most read", "Tram line",
        "All rights reserved", "Privacy", "Rooftop beehives return",
    ):  # fmt: skip
        assert junk not in body, junk
    assert dropped[0] == "Comments (12)"
    html = render_html(body, "https://news.test/x/")
    assert "<blockquote>" in html and 'alt="Two beekeepers' in html


SHORT_WORDPRESS_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<title>Ferry fares frozen &#8211; Harbour Weekly</title>
<link rel="canonical" href="https://harbour.example/2026/11/ferry-fares/">
<meta property="article:published_time" content="2026-11-20T06:00:00+00:00"></head>
<body><header id="masthead"><ul class="menu"><li><a href="/">Home</a></li></ul></header>
<main><article class="post"><h1 class="entry-title">Ferry fares frozen</h1>
<div class="entry-content"><p>Island ferry fares stay at this year's level in 2027.</p>
<h2>Who pays less</h2><ul><li>Students</li><li>Commuters with a season pass</li></ul>
<div class="sharedaddy"><h3>Share this:</h3><a href="https://x.example/share">X</a></div>
<div class="jp-relatedposts"><h3>Related</h3><a href="/older">Harbour dues</a></div>
</div></article><div id="comments"><h2>1 thought</h2><p>About time. - Kim</p></div></main>
<footer>(c) Harbour Weekly</footer></body></html>
"""


def test_a_short_wordpress_page_keeps_its_structure_and_loses_its_furniture(
    tmp_path: Path,
) -> None:
    """A news brief shorter than trafilatura's usual minimum is still extracted as an article,
    and Jetpack's share and related-posts boxes (class words like "sharedaddy") are dropped."""
    page = tmp_path / "ferry.html"
    page.write_text(SHORT_WORDPRESS_PAGE, encoding="utf-8")
    text, _, _ = preview(page)
    meta, body = split(text)
    assert meta["title"] == "Ferry fares frozen"
    assert body.strip().splitlines()[0] == "Island ferry fares stay at this year's level in 2027."
    assert "## Who pays less" in body
    assert "- Students" in body and "- Commuters with a season pass" in body
    for junk in ("Share this", "Related", "Harbour dues", "About time", "Home"):
        assert junk not in body, junk


def test_html_without_own_url_drops_relative_images_with_a_note(tmp_path: Path) -> None:
    page = tmp_path / "saved.html"
    page.write_text(
        "<html><head><title>Snow day schedule</title></head><body><article>"
        "<h1>Snow day schedule</h1><p>All schools close on Friday because of the storm. "
        "Buses run a reduced timetable; <a href='timetable.html'>the timetable</a> lists "
        "every line.</p><p><img src='snow.jpg' alt='Snow on the school yard'></p>"
        "<p>Teachers will post homework online by nine in the morning, and the city "
        "will clear the main roads first.</p></article></body></html>",
        encoding="utf-8",
    )
    text, _, notes = preview(page, date=datetime(2026, 12, 4, tzinfo=BERLIN))
    _, body = split(text)
    assert "the timetable" in body and "timetable.html" not in body and "file:" not in body
    assert "snow.jpg" not in body
    assert any("Snow on the school yard" in note for note in notes)


def test_markdown_yaml_front_matter_becomes_toml(tmp_path: Path) -> None:
    text, _, notes = preview(FIXTURES / "allotment-waiting-list.md")
    meta, body = split(text)
    assert meta["title"] == "Allotment waiting list shrinks as new plots open"
    assert meta["date"] == datetime(2026, 9, 14, 8, 15, tzinfo=BERLIN)
    assert meta["summary"].startswith("Forty new plots at the old rail yard")
    assert meta["tags"] == ["City", "gardens", "housing"]
    assert meta["image"] == {"url": "/img/plots.jpg", "alt": "Raised beds between old rail tracks"}
    assert notes == (
        "front-matter key 'layout' dropped: syndicate has no such key",
        "front-matter key 'comments' dropped: syndicate has no such key",
    )
    assert body == (FIXTURES / "allotment-waiting-list.md").read_text().split("---\n", 2)[2]


def test_markdown_without_front_matter_takes_heading_and_byline() -> None:
    text, _, _ = preview(FIXTURES / "harbour-cranes.md", date=datetime(2026, 12, 1, tzinfo=BERLIN))
    meta, body = split(text)
    assert meta["title"] == "Harbour cranes lit up for the winter festival"
    assert meta["authors"] == ["Sam Okonkwo"]
    assert body.startswith("\nThe three old cranes") and "By Sam" not in body


# --- bad input: one line naming the file, the others still imported, exit 1 ----------------


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.txt"
    path.write_text("Good news\n\nThe bridge reopens on Monday after repairs.\n", encoding="utf-8")
    return path


def bad_import(run: Run, tmp_path: Path, bad: Path, good: Path) -> str:
    into = tmp_path / "content"
    result = run(None, "import", str(bad), str(good), "--into", str(into), "--date", "2026-11-01")
    assert result.exit_code == 1, result.output
    assert [path.name for path in into.iterdir()] == ["good-news.md"]  # the good one went in
    (line,) = [line for line in result.stderr.splitlines() if bad.name in line]
    return line


def test_empty_file_is_one_line_error(run: Run, tmp_path: Path, good: Path) -> None:
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"  \r\n\n")
    assert bad_import(run, tmp_path, bad, good).endswith("empty.txt: empty file")


def test_binary_file_is_one_line_error(run: Run, tmp_path: Path, good: Path) -> None:
    bad = tmp_path / "photo.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    assert "photo.txt: binary file (it contains NUL bytes)" in bad_import(run, tmp_path, bad, good)


def test_undecodable_bytes_are_one_line_error(run: Run, tmp_path: Path, good: Path) -> None:
    bad = tmp_path / "mangled.txt"
    bad.write_bytes("Title\n\nCaf\u00e9 prices rise.\n".encode() + b"Bad byte \x81 here.\n")
    line = bad_import(run, tmp_path, bad, good)
    assert "mangled.txt: not UTF-8, Windows-1252 or Latin-1 text: byte 0x81 at line 4" in line


def test_no_recognisable_title_is_one_line_error(run: Run, tmp_path: Path, good: Path) -> None:
    bad = tmp_path / "notitle.txt"
    bad.write_text("  • first point\n  • second point\n\nSome text.\n", encoding="utf-8")
    assert "notitle.txt: no recognisable title" in bad_import(run, tmp_path, bad, good)


def test_windows_1252_and_latin_1_are_decoded(tmp_path: Path) -> None:
    source = tmp_path / "legacy.txt"
    source.write_bytes(
        "Caf\u00e9 owners \u201cdelighted\u201d\n\nPrices fall \u2013 \u00a33 a cup.\n".encode(
            "cp1252"
        )
    )
    text, _, notes = preview(source, date=datetime(2026, 11, 1, tzinfo=BERLIN))
    meta, body = split(text)
    assert meta["title"] == "Caf\u00e9 owners \u201cdelighted\u201d"
    assert "Prices fall \u2013 \u00a33 a cup." in body
    assert notes and notes[0].startswith("read as Windows-1252")


def test_missing_source_is_reported_and_others_imported(
    run: Run, tmp_path: Path, good: Path
) -> None:
    line = bad_import(run, tmp_path, tmp_path / "nope.txt", good)
    assert line.endswith("nope.txt: no such file")


# --- idempotence, --dry-run, --force, --into ---------------------------------------------


def test_importing_twice_gives_the_same_file(run: Run, tmp_path: Path) -> None:
    into = tmp_path / "content"
    source = FIXTURES / "night-ferry.txt"
    args = ("import", str(source), "--into", str(into), "--timezone", "Europe/Berlin")
    first = run(None, *args)
    assert first.exit_code == 0, first.output
    (written,) = into.iterdir()
    before = written.read_bytes()
    mtime = written.stat().st_mtime_ns
    second = run(None, *args)
    assert second.exit_code == 0, second.output
    assert "unchanged (already imported)" in second.stdout
    assert written.read_bytes() == before and written.stat().st_mtime_ns == mtime


def test_existing_different_file_needs_force(run: Run, tmp_path: Path) -> None:
    into = tmp_path / "content"
    source = tmp_path / "story.txt"
    source.write_text("Market day\n\nStalls open at eight.\n", encoding="utf-8")
    assert run(None, "import", str(source), "--into", str(into)).exit_code == 0
    source.write_text("Market day\n\nStalls open at nine.\n", encoding="utf-8")
    refused = run(None, "import", str(source), "--into", str(into))
    assert refused.exit_code == 1
    assert "already exists with different content; pass --force" in refused.stderr
    assert "eight" in (into / "market-day.md").read_text(encoding="utf-8")
    forced = run(None, "import", str(source), "--into", str(into), "--force")
    assert forced.exit_code == 0, forced.output
    assert "overwrote" in forced.stdout
    assert "nine" in (into / "market-day.md").read_text(encoding="utf-8")


def test_dry_run_writes_nothing_and_shows_the_drops(run: Run, tmp_path: Path) -> None:
    into = tmp_path / "content"
    result = run(
        None, "import", str(FIXTURES / "night-ferry.txt"), "--into", str(into), "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert not into.exists()
    assert "would write" in result.stdout and 'title = "Night Ferry' in result.stdout
    assert "dropped boilerplate: 'Island School Gets a New Roof'" in result.stderr


def test_title_cannot_escape_into(run: Run, tmp_path: Path) -> None:
    into = tmp_path / "pub" / "content"
    source = tmp_path / "sneaky.txt"
    source.write_text("../../etc\n\nA title that tries to climb out.\n", encoding="utf-8")
    result = run(None, "import", str(source), "--into", str(into))
    assert result.exit_code == 0, result.output
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md")] == [
        "pub/content/etc.md"
    ]


def test_front_matter_slug_cannot_escape_into(run: Run, tmp_path: Path) -> None:
    into = tmp_path / "pub" / "content"
    source = tmp_path / "sneaky.md"
    source.write_text('+++\ntitle = "Hi"\nslug = "../../../evil"\n+++\nText.\n', encoding="utf-8")
    result = run(None, "import", str(source), "--into", str(into))
    assert result.exit_code == 1
    assert "sneaky.md: no usable file name" in result.stderr
    assert not list(tmp_path.rglob("*evil*"))


def test_default_into_is_the_content_dir_and_options_apply(make_pub: MakePub, run: Run) -> None:
    root = make_pub()
    result = run(
        root, "import", str(FIXTURES / "harbour-cranes.md"), "--date", "2026-12-01T18:00",
        "--tag", "Winter", "--tag", "Harbour", "--section", "City",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    meta, _ = split((root / "content/harbour-cranes-lit-up-for-the-winter-festival.md").read_text())
    assert meta["date"] == datetime(2026, 12, 1, 18, 0, tzinfo=BERLIN)  # the publication's zone
    assert meta["tags"] == ["Winter", "Harbour"] and meta["section"] == "City"
    assert run(root, "validate").exit_code == 0


def test_works_without_config_in_utc_or_given_zone(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNDICATE_CONFIG", raising=False)
    source = FIXTURES / "harbour-cranes.md"
    assert (
        run(None, "import", str(source), "--into", "a", "--date", "2026-12-01T18:00").exit_code == 0
    )
    assert "date = 2026-12-01T18:00:00+00:00" in next(Path("a").iterdir()).read_text()
    args = ("import", str(source), "--into", "b", "--date", "2026-12-01T18:00")
    assert run(None, *args, "--timezone", "Europe/Berlin").exit_code == 0
    assert "date = 2026-12-01T18:00:00+01:00" in next(Path("b").iterdir()).read_text()
    missing = run(None, "import", str(source))
    assert missing.exit_code == 1 and "pass --into DIR" in missing.stderr


def test_date_defaults_to_the_source_files_mtime(tmp_path: Path) -> None:
    source = tmp_path / "story.txt"
    source.write_text("Market day\n\nStalls open at eight.\n", encoding="utf-8")
    stamp = datetime(2026, 11, 2, 6, 45, 31, tzinfo=BERLIN).timestamp()
    os.utime(source, (stamp, stamp))
    text, _, _ = preview(source)
    assert split(text)[0]["date"] == datetime(2026, 11, 2, 6, 45, tzinfo=BERLIN)


def test_format_detection_without_a_suffix(tmp_path: Path) -> None:
    page = tmp_path / "export"
    page.write_text(
        "<!DOCTYPE html><html><head><title>Night market opens</title></head><body><article>"
        "<h1>Night market opens</h1><p>Forty stalls open every Friday from six until "
        "midnight on the cathedral square, with food, music and a flea market.</p>"
        "<p>The city expects up to five thousand visitors on the first evening.</p>"
        "</article></body></html>",
        encoding="utf-8",
    )
    report = import_sources(
        [page],
        ImportOptions(
            into=tmp_path / "c",
            publication=PUB,
            dry_run=True,
            date=datetime(2026, 1, 1, tzinfo=BERLIN),
        ),
    )
    assert report.imported[0].fmt == "html"
    assert "Forty stalls open every Friday" in report.imported[0].text


# --- properties ------------------------------------------------------------------------------

_TEXT_PIECES = st.sampled_from(
    ["ab", " ", "c*d", "_", "[x]", "<b>", "`", "\\", "~~", "&amp;", "#", "!", "-", "+", "=",
     "|", ":::", "1.", "2)", "\u2019", "\u00e9", "https://x.example/a_b.", "**", "> ", "[!NOTE]"]
)  # fmt: skip
_LINES = st.sampled_from(
    ["Title of a story", "by Jane Doe", "By A and B | 3 November 2026", "", "", "", "  • item",
     "  • Lead In: text", "1. first", "2) second", "   Warning: careful", "Q: why?",
     "A: because.", "    A: indented", "Did you know?", "Pro Tip: do it", "Note:",
     "A heading line", "A sentence that ends.", "You may also like", "Leave a Comment",
     "Comments (3)", "Advertisement", "* star", "- dash", "      ◦ nested", "FAQ: Things",
     "odd *chars* _ [x] <y> `z` \\ ~~", "\t tabbed", "2026-11-03", "# hash", "> quote?", ":::",
     "::: faq", "+++", "---", "\u00a0", "Tags: a, b"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT_PIECES, min_size=1, max_size=12).map("".join))
def test_escaped_text_renders_as_exactly_that_text(text: str) -> None:
    text = " ".join(text.split())
    assume(text)
    rendered = render_html(escape_block(text), "https://news.test/x/")
    shown = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert " ".join(shown.split()) == text, rendered


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, min_size=1, max_size=25))
def test_any_text_imports_to_a_loadable_article_or_a_clean_error(lines: list[str]) -> None:
    source = "\r\n".join(lines)
    for parse in (parse_text, parse_markdown):
        try:
            doc = parse(source, BERLIN)
        except SourceError:
            continue
        text = render_document(doc, date=datetime(2026, 1, 1, tzinfo=BERLIN))
        article, _ = parse_article(text.encode(), PUB, path=Path("x.md"), display=Path("x.md"))
        render_html(article.body, article.url)


def test_reimporting_an_imported_file_changes_nothing(run: Run, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    sources = [str(path) for path in sorted(FIXTURES.iterdir())]
    assert (
        run(None, "import", *sources, "--into", str(first), "--date", "2026-11-01").exit_code == 0
    )
    written = sorted(first.iterdir())
    result = run(None, "import", *map(str, written), "--into", str(second))
    assert result.exit_code == 0, result.output
    for path in written:
        assert (second / path.name).read_bytes() == path.read_bytes(), path.name


def test_html_callouts_faq_and_tables_become_our_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Winter tyres: what drivers must know</title>"
        "<link rel='canonical' href='https://paper.example/tyres'></head><body><article>"
        "<h1>Winter tyres: what drivers must know</h1>"
        "<p>From December, cars on mountain roads must have winter tyres or carry chains, "
        "the roads agency said on Monday, ending years of confusing local rules.</p>"
        "<p><strong>Pro tip:</strong> check the tread depth with a one-euro coin.</p>"
        "<h2>Fines</h2><table><tr><th>Offence</th><th>Fine</th></tr>"
        "<tr><td>No winter tyres</td><td>€80</td></tr><tr><td>No chains</td><td>€40</td></tr>"
        "</table><p>Q: Do all-season tyres count?</p><p>A: Yes, if they carry the snowflake "
        "symbol.</p><p>Q: What about rental cars?</p><p>A: The rental company must fit them."
        "</p><p>Police will start checks on the pass roads in the second week of December.</p>"
        "</article></body></html>",
        encoding="utf-8",
    )
    text, _, _ = preview(page, date=datetime(2026, 11, 30, tzinfo=BERLIN))
    _, body = split(text)
    assert "> [!TIP] Pro tip\n> Check the tread depth with a one-euro coin." in body
    assert "| Offence | Fine |\n|---|---|\n| No winter tyres | \u20ac80 |" in body
    assert faq_pairs(body) == [
        ("Do all-season tyres count?", "Yes, if they carry the snowflake symbol."),
        ("What about rental cars?", "The rental company must fit them."),
    ]
    rendered = render_html(body, "https://news.test/x/")
    assert "<table>" in rendered and 'class="callout callout-tip"' in rendered


def test_utf8_with_stray_windows_1252_bytes_keeps_both(tmp_path: Path) -> None:
    source = tmp_path / "pasted.txt"
    source.write_bytes(
        "Caf\u00e9 owners meet\n\nThe caf\u00e9 said ".encode()
        + "\u201cno\u201d \u2013 twice.\n".encode("cp1252")
    )
    text, _, notes = preview(source, date=datetime(2026, 11, 1, tzinfo=BERLIN))
    assert "The caf\u00e9 said \u201cno\u201d \u2013 twice." in split(text)[1]
    assert "the first on line 3" in notes[0]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("3 November 2026", datetime(2026, 11, 3, tzinfo=BERLIN)),
        ("Published Nov. 3, 2026, 9:15 pm", datetime(2026, 11, 3, 21, 15, tzinfo=BERLIN)),
        (
            "Updated: Tuesday, 3rd November 2026 at 08.30",
            datetime(2026, 11, 3, 8, 30, tzinfo=BERLIN),
        ),
        ("2026-11-03T09:15:00Z", datetime.fromisoformat("2026-11-03T09:15:00+00:00")),
        ("2026-11-03", datetime(2026, 11, 3, tzinfo=BERLIN)),
        ("31 February 2026", None),
        ("Smarch 3, 2026", None),
        ("The vote on 3 November 2026 was close", None),
    ],
)
def test_dates_as_sources_write_them(line: str, expected: datetime | None) -> None:
    assert parse_loose_date(line, BERLIN) == expected
