"""Import of real-world shapes: what earlier versions lost (sections, untitled pages, charsets,
the heading over a Q/A run) is kept, with the page's structure."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from syndicate.content.render import render_html
from syndicate.ingest.html import _to_html
from syndicate.ingest.importer import ImportOptions, import_sources
from syndicate.model import Publication

BERLIN = ZoneInfo("Europe/Berlin")
PUB = Publication(title="Test Times", base_url="https://news.test", timezone=BERLIN)
WHEN = datetime(2026, 12, 5, 9, 0, tzinfo=BERLIN)


def body_of(source: Path) -> tuple[str, tuple[str, ...]]:
    """Dry-run import of one source: (Markdown body, notes)."""
    options = ImportOptions(into=source.parent / "out", publication=PUB, date=WHEN, dry_run=True)
    report = import_sources([source], options)
    assert not report.problems, report.problems
    (item,) = report.imported
    return item.text.split("\n+++\n", 1)[1], item.notes


STRUCTURED = """<!DOCTYPE html><html lang="en"><head><title>Cranes on the east quay</title>
<link rel="canonical" href="https://port.example/news/cranes"></head><body>
<nav><a href="/">Home</a> <a href="/port">Port</a></nav><main><article>
<h1>Cranes on the east quay</h1>
<p>The two old cranes on the east quay will be restored over the winter, the port authority
said on Tuesday, after a two-year campaign by residents who call them the town's skyline.</p>
<img src="https://port.example/img/crane.jpg" alt="A rusty crane against a grey sky">
<section id="paying" class="section"><h2>Paying for it</h2>
<p>The city pays half of the bill and a <a href="https://port.example/fund">residents' fund</a>
the rest; donations reached <em>forty thousand euros</em> in the first month alone.</p>
<ul><li>New paint in the old colours</li><li>New glass for both cabins</li></ul>
<blockquote><p>They are what people see first when they come home by sea.</p></blockquote>
</section>
<h3>Timetable</h3><ol><li>Scaffolding in January</li><li>Painting from March</li></ol>
<p>The port hopes to open one crane to visitors in the summer, with a small exhibition on
the dockers who worked them, and guided climbs for groups of up to six people.</p>
</article></main><footer>(c) Port News</footer></body></html>
"""


def test_html_keeps_headings_lists_quotes_links_and_images(
    tmp_path: Path,
) -> None:
    page = tmp_path / "cranes.html"
    page.write_text(STRUCTURED, encoding="utf-8")
    body, _ = body_of(page)
    assert "## Paying for it" in body
    assert "[residents' fund](https://port.example/fund)" in body
    assert "*forty thousand euros*" in body
    assert "- New paint in the old colours\n- New glass for both cabins" in body
    assert "> They are what people see first when they come home by sea." in body
    assert "### Timetable" in body and "1. Scaffolding in January\n2. Painting from March" in body
    assert "![A rusty crane against a grey sky](https://port.example/img/crane.jpg)" in body
    assert "Home" not in body and "Port News" not in body
    html = render_html(body, "https://news.test/x/")
    assert 'alt="A rusty crane against a grey sky"' in html and "<blockquote>" in html


UNTITLED = """<html><body><div>
<p>Ferries to the outer islands run on the winter timetable from Monday, with two crossings a
day instead of four, the shipping company said, because fewer visitors travel in December.</p>
<p>Season tickets stay valid, and the night ferry keeps its Friday sailing for commuters who
work late shifts at the hospital on the mainland.</p></div></body></html>
"""


def test_a_page_without_any_title_imports_titled_by_its_first_words(tmp_path: Path) -> None:
    page = tmp_path / "untitled.html"
    page.write_text(UNTITLED, encoding="utf-8")
    body, notes = body_of(page)
    assert body.startswith("\nFerries to the outer islands run on the winter timetable")
    assert "night ferry keeps its Friday sailing" in body
    (note,) = [note for note in notes if "names no title" in note]
    assert "Ferries to the outer islands run on the winter timetable\u2026" in note


def test_a_page_saved_as_utf8_under_a_gb2312_declaration_imports(tmp_path: Path) -> None:
    page = tmp_path / "saved.html"
    text = (
        "<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'>"
        "<title>\u6e2f\u53e3\u65b0\u95fb</title></head><body><article><h1>\u6e2f\u53e3\u65b0\u95fb"
        "</h1><p>"
        + "\u8fd9\u662f\u4e00\u7bc7\u5173\u4e8e\u6e2f\u53e3\u7684\u6587\u7ae0\u3002" * 12
        + "</p><p>Caf\u00e9 \u2014 "
        + "a second paragraph of the story. " * 5
        + "</p>"
        "</article></body></html>"
    )
    page.write_bytes(text.encode("utf-8"))
    body, notes = body_of(page)
    assert "\u8fd9\u662f\u4e00\u7bc7\u5173\u4e8e\u6e2f\u53e3\u7684\u6587\u7ae0" in body
    assert "Caf\u00e9 \u2014" in body
    assert any("read as UTF-8" in note and "gb18030" in note for note in notes)


def test_a_gbk_page_declared_gb2312_is_read_as_gbk(tmp_path: Path) -> None:
    """Browsers read GB2312 labels as GBK; a GBK-only character must not fail the import."""
    page = tmp_path / "gbk.html"
    story = "\u9555\u6e2f\u53e3\u7684\u6587\u7ae0\u3002" * 15  # 镕 is GBK, not GB2312
    page.write_bytes(
        (
            "<html><head><meta charset='gb2312'><title>\u6e2f\u53e3</title></head><body>"
            f"<article><h1>\u6e2f\u53e3</h1><p>{story}</p><p>{story}</p></article></body></html>"
        ).encode("gbk")
    )
    body, _ = body_of(page)
    assert "\u9555\u6e2f\u53e3" in body


# --- plain text: the heading over a Q/A run -----------------------------------------------

QA_UNDER_HEADING = """Night buses return to the old town

by Desk Writer

The council restores the night bus network after two years.

The council voted on Thursday to bring back four night bus lines that were cut two years ago,
after a petition signed by eleven thousand residents.

Who pays for it

The transport budget covers the first year; after that the lines must carry enough riders.

Questions for Riders: What Changes in January

  \u2022 Q: When do the first buses run?
    A: On the second Friday of January, from midnight to five.
  \u2022 Q: Do day tickets count?
    A: Yes, until five in the morning.

The operator will publish the timetable in December.
"""


def test_a_bare_line_over_a_qa_run_is_a_section_heading(tmp_path: Path) -> None:
    source = tmp_path / "night-buses.txt"
    source.write_text(QA_UNDER_HEADING, encoding="utf-8")
    body, _ = body_of(source)
    assert "## Who pays for it" in body
    assert "## Questions for Riders: What Changes in January\n\n::: faq\n" in body
    assert "**Questions for Riders" not in body
    assert len(re.findall(r"^Q: ", body, flags=re.M)) == 2


def test_text_standing_loose_in_body_imports(tmp_path: Path) -> None:
    page = tmp_path / "loose.html"
    page.write_text(
        "<html><body>\n  The harbour office opens at eight from Monday, an hour earlier than "
        "before, so that fishermen can register their catch before the market starts.\n"
        "</body></html>",
        encoding="utf-8",
    )
    body, _ = body_of(page)
    assert body.strip().startswith("The harbour office opens at eight from Monday")


def test_text_trafilatura_puts_inside_an_image_follows_the_image() -> None:
    """MSN-style pages: trafilatura's <graphic> can hold the caption and the first paragraph;
    an <img> holds no text, so it used to vanish."""
    body = etree.fromstring(
        "<body><p><graphic src='https://x.example/a.jpg' alt='Mario'>Provided by the studio. "
        "The first paragraph of the story.</graphic></p></body>"
    )
    html = _to_html(body)
    assert '<img src="https://x.example/a.jpg" alt="Mario">Provided by the studio.' in html
    assert "The first paragraph of the story." in html
