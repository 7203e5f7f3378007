"""The W3C Feed Validator, warnings included, over every RSS and Atom file of two builds.

The demo publication (the repository's config.toml and content/) and a hostile one
(``tests/hostile.py``) are built with ``syndicate build --out``; any validator error or warning
fails, with its message. JSON Feed has no W3C validator: its rules are checked directly. So are
the rules of /work/shared/FEEDS.md that the validator cannot see (stable guids, one enclosure,
absolute URLs, nothing draft or future). How the validator is found and kept offline:
``tests/w3c_validator.py``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest
from lxml import etree

from tests import hostile
from tests.conftest import REPO, Run
from tests.w3c_validator import Validator, locate

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
# Everything XML 1.0 forbids (its Char production), as raw characters.
NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@pytest.fixture(scope="session")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    """The W3C Feed Validator, imported once per session from outside the repository."""
    src = locate(tmp_path_factory.mktemp("feedvalidator"))
    if isinstance(src, str):
        pytest.skip(src)
    return Validator(src)


@pytest.fixture(scope="session")
def demo_feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo publication, copied (its build cache must not land in the repo) and built."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copy(REPO / "config.toml", root / "config.toml")
    shutil.copytree(REPO / "content", root / "content")
    return _build(root)


@pytest.fixture(scope="session")
def hostile_feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile publication (``tests/hostile.py``), built at its fixed ``--now``."""
    root = hostile.write(tmp_path_factory.mktemp("hostile"))
    hostile.send(root)  # one sent edition: the build writes the archive's feeds too
    return _build(root, "--now", hostile.NOW)


def _build(root: Path, *args: str) -> Path:
    from click.testing import CliRunner

    from syndicate.cli import cli

    out = root / "tmp"
    result = CliRunner().invoke(
        cli,
        ["--config", str(root / "config.toml"), "build", "--out", str(out), *args],
        obj={},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return out


def _xml_feeds(out: Path) -> list[Path]:
    feeds = sorted(p for p in out.rglob("*.xml"))
    assert feeds, f"no feeds in {out}"
    return feeds


def _served_at(out: Path, path: Path, base: str = "https://news.test/feeds") -> str:
    return f"{base}/{quote(path.relative_to(out).as_posix())}"  # as a client requests it


def _assert_valid(validator: Validator, out: Path, base: str) -> None:
    report = []
    for path in _xml_feeds(out):
        problems = validator.problems(path.read_bytes(), _served_at(out, path, base))
        report += [f"{path.relative_to(out)}: {problem}" for problem in problems]
    assert not report, "W3C Feed Validator:\n" + "\n".join(report)


def test_demo_publication_passes_the_w3c_validator(validator: Validator, demo_feeds: Path) -> None:
    _assert_valid(validator, demo_feeds, "https://example.org/feeds")


def test_hostile_publication_passes_the_w3c_validator(
    validator: Validator, hostile_feeds: Path
) -> None:
    names = {str(p.relative_to(hostile_feeds)) for p in _xml_feeds(hostile_feeds)}
    assert {"rss.xml", "atom.xml", "tags/podcast/atom.xml", "newsletter/atom.xml"} <= names
    _assert_valid(validator, hostile_feeds, "https://news.test/feeds")


def test_atom_declares_no_prefix_for_its_own_namespace(demo_feeds: Path) -> None:
    for path in demo_feeds.rglob("atom.xml"):
        head = path.read_bytes()[:400]
        assert b'xmlns="http://www.w3.org/2005/Atom"' in head, path
        assert b"xmlns:atom=" not in head and b"ns0:" not in path.read_bytes(), path


def test_the_validator_reports_a_warning_it_should(validator: Validator, demo_feeds: Path) -> None:
    """The harness itself: a feed served elsewhere than its rel=self is a warning we see."""
    problems = validator.problems((demo_feeds / "atom.xml").read_bytes(), "https://x.test/a.xml")
    assert any("SelfDoesntMatchLocation" in problem for problem in problems), problems


def _text(element: etree._Element | None) -> str:
    return "" if element is None or element.text is None else element.text


def test_hostile_feeds_keep_the_feed_rules(hostile_feeds: Path) -> None:
    """FEEDS.md rules the validator does not judge, over every file of the hostile build."""
    paths = sorted(p for p in hostile_feeds.rglob("*") if p.is_file())
    for path in paths:
        raw = path.read_text(encoding="utf-8")
        assert not NOT_XML_CHAR.search(raw), (path, NOT_XML_CHAR.findall(raw))  # rule 1
        assert "&#x1;" not in raw and "&#1;" not in raw, path
        for text in ("must not appear", "Secret", "Soon"):  # draft and future: nowhere
            assert text not in raw, (path, text)
    assert not (hostile_feeds / "tags" / "secret").exists()
    assert not (hostile_feeds / "tags" / "soon").exists()

    for path in hostile_feeds.rglob("rss.xml"):
        channel = etree.fromstring(path.read_bytes()).find("channel")
        assert channel is not None
        archive = path.parent.name == "newsletter"  # the editions' feed: its site is the archive
        home = "https://news.test/feeds/newsletter/" if archive else "https://news.test"
        assert _text(channel.find("link")) == home  # rule 2: the site, not the feed
        assert _text(channel.find("description"))
        self_links = [
            link.get("href") for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"
        ]
        assert self_links == [_served_at(hostile_feeds, path)]  # rule 6
        for item in channel.findall("item"):
            guid = item.find("guid")
            assert guid is not None and guid.text, path  # rule 3
            link = _text(item.find("link"))
            assert guid.get("isPermaLink") == ("true" if guid.text == link else "false")
            assert item.find("author") is None  # rule 8: names go to dc:creator
            assert archive or item.find(f"{DC}creator") is not None
            assert item.find("pubDate") is not None  # rule 5
            assert len(item.findall("enclosure")) <= 1  # rule 9
            for enclosure in item.findall("enclosure"):
                assert {"url", "length", "type"} <= set(enclosure.keys())

    parsed = feedparser.parse((hostile_feeds / "atom.xml").read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert len(parsed.entries) == 4
    for entry in parsed.entries:
        assert entry.published_parsed and entry.updated_parsed  # rule 5
        for content in entry.get("content", []):
            assert content.type == "text/html"  # rule 4: html, never "CDATA"
            for url in re.findall(r'(?:href|src)="([^"]*)"', content.value):
                assert url.startswith("https://"), url  # rule 7: absolute
    unicode = next(e for e in parsed.entries if e.title.startswith("Zoë"))
    assert "& <tags>" in unicode.title  # escaped once: read back as typed
    assert "\U0001f680" in unicode.title
    podcast = next(e for e in parsed.entries if e.title.startswith("Ein sehr"))
    assert [(link.rel, link.href) for link in podcast.links if link.rel == "enclosure"] == [
        ("enclosure", "https://news.test/ep1.mp3")
    ]
    rtl = next(e for e in parsed.entries if e.title.startswith("مرحبا"))
    assert rtl.title_detail.language == "ar"


@pytest.mark.parametrize(
    ("build", "site"),
    [("hostile_feeds", "https://news.test"), ("demo_feeds", "https://example.org")],
)
def test_json_feeds_follow_json_feed_1_1(
    request: pytest.FixtureRequest, build: str, site: str
) -> None:
    """JSON Feed has no W3C validator: version 1.1's rules (FEEDS.md rule 12) checked here."""
    out: Path = request.getfixturevalue(build)
    paths = list(out.rglob("feed.json"))
    assert len(paths) > 3
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["version"] == "https://jsonfeed.org/version/1.1"
        assert isinstance(document["title"], str) and document["title"]
        assert document["home_page_url"] == site
        assert document["feed_url"] == _served_at(out, path, f"{site}/feeds")
        assert "hubs" not in document  # WebSub is off
        assert isinstance(document["authors"], list) and document["authors"]
        assert document["items"], path
        for item in document["items"]:
            assert isinstance(item["id"], str) and item["id"]
            assert isinstance(item.get("content_html", item.get("content_text")), str)
            assert item["url"].startswith(f"{site}/")
            assert item["date_published"] and item["date_modified"]
            for author in item.get("authors", []):
                assert set(author) <= {"name", "url", "avatar"} and author["name"]
            for attachment in item.get("attachments", []):
                assert attachment["url"].startswith("https://")
                assert attachment["mime_type"] and attachment["size_in_bytes"] > 0


def test_two_builds_of_the_hostile_publication_are_byte_identical(
    hostile_feeds: Path, tmp_path: Path, run: Run
) -> None:
    root = tmp_path / "again"  # the same content and state (its sent edition), built anew
    shutil.copytree(hostile_feeds.parent, root, ignore=shutil.ignore_patterns("tmp"))
    result = run(root, "build", "--out", str(tmp_path / "out"), "--now", hostile.NOW)
    assert result.exit_code == 0, result.output
    first = {p.relative_to(hostile_feeds): p.read_bytes() for p in hostile_feeds.rglob("*.*")}
    second = {
        p.relative_to(tmp_path / "out"): p.read_bytes() for p in (tmp_path / "out").rglob("*.*")
    }
    assert second == first  # rule 10
