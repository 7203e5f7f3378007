"""The build cache makes builds faster, never different: every cached build is compared byte for
byte with a ``--no-cache`` build of the same content into another folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate.build import cache as buildcache
from syndicate.build import workers
from syndicate.build.pipeline import BuildResult
from syndicate.config import load_config
from syndicate.errors import ContentError
from syndicate.exporters.feedset import FeedSpec
from syndicate.publish.site import build
from tests.conftest import Publication, Run, article, tree_bytes
from tests.content_files import aged, write

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def corpus(make_pub: Publication) -> Path:
    root = make_pub({}, feeds="max_items = 3")
    for number in range(8):
        write(
            root,
            f"2026-11-{number + 1:02d}-story-{number}.md",
            article(
                f"Story {number}",
                date=f"2026-11-{number + 1:02d}T09:00:00+01:00",
                body=f"Paragraph {number} with [a link](/x/{number}/).\n\n> [!TIP] Tip\n> Read.\n",
                tags=["Rail", "Climate"] if number % 2 else ["Courts"],
                section="Cities" if number % 3 else "World",
            ),
        )
    write(
        root,
        "no-alt.md",
        article(
            "Pictured",
            date="2026-10-01T08:00:00+01:00",
            image="https://news.test/i.jpg",
            tags=["Rail"],
        ),
    )
    return root


def cached_build(root: Path, **options: object) -> BuildResult:
    return build(load_config(root / "config.toml"), now=NOW, **options)  # type: ignore[arg-type]


def assert_matches_fresh(root: Path) -> BuildResult:
    """Build with the cache into feeds/ and without into fresh/: same bytes, same warnings."""
    result = cached_build(root)
    reference = cached_build(root, out=root / "fresh", cache=False)
    assert tree_bytes(root / "feeds") == tree_bytes(root / "fresh")
    assert [str(w) for w in result.warnings] == [str(w) for w in reference.warnings]
    assert result.articles == reference.articles
    return result


def test_a_rebuild_with_nothing_changed_renders_and_writes_nothing(make_pub: Publication) -> None:
    root = corpus(make_pub)
    first = assert_matches_fresh(root)
    assert first.rendered > 0 and first.report.written
    before = {p: p.stat().st_mtime_ns for p in (root / "feeds").rglob("*") if p.is_file()}
    again = cached_build(root)
    assert again.rendered == 0 and not again.report.written and not again.produced
    assert len(again.report.unchanged) == len(before) == len(again.paths)
    assert {p: p.stat().st_mtime_ns for p in before} == before
    # Warnings come back from the cache exactly as a cold build reports them.
    assert [str(w) for w in again.warnings] == [str(w) for w in first.warnings]
    assert any("no alt text" in str(w) for w in again.warnings)
    assert again.summary() == first.summary().replace(
        f"({len(first.report.written)} changed, 0 unchanged)",
        f"(0 changed, {len(before)} unchanged)",
    ).replace(f"{first.seconds:.1f} s", f"{again.seconds:.1f} s")


def test_editing_one_article_rewrites_only_its_feeds(make_pub: Publication) -> None:
    root = corpus(make_pub)
    assert_matches_fresh(root)
    write(
        root,
        "2026-11-08-story-7.md",
        article(
            "Story 7, corrected",
            date="2026-11-08T09:00:00+01:00",
            body="New text.\n",
            tags=["Rail", "Climate"],
            section="Cities",
        ),
    )
    result = assert_matches_fresh(root)
    assert result.rendered == 1
    folders = {str(path.parent) for path in result.report.written}
    assert folders == {".", "tags/rail", "tags/climate", "sections/cities"}
    assert len(result.report.written) == 3 * len(folders)  # three formats each, nothing else


def test_delete_rename_and_add(make_pub: Publication) -> None:
    root = corpus(make_pub)
    assert_matches_fresh(root)
    (root / "content" / "2026-11-03-story-2.md").unlink()
    assert_matches_fresh(root)
    old = root / "content" / "2026-11-08-story-7.md"
    new = root / "content" / "2026-11-08-renamed.md"
    old.rename(new)
    aged(new)
    result = assert_matches_fresh(root)
    assert "renamed" in (root / "feeds" / "feed.json").read_text()
    assert result.report.written
    write(
        root,
        "sub/2026-11-20-new.md",
        article("Brand new", date="2026-11-20T09:00:00+01:00", tags=["Ferries"]),
    )
    result = assert_matches_fresh(root)
    assert (root / "feeds" / "tags" / "ferries" / "rss.xml").is_file()
    assert "Brand new" in (root / "feeds" / "rss.xml").read_text()


def test_touching_a_file_without_editing_it_renders_nothing(make_pub: Publication) -> None:
    root = corpus(make_pub)
    assert_matches_fresh(root)
    aged(root / "content" / "2026-11-05-story-4.md")
    result = assert_matches_fresh(root)
    assert result.rendered == 0 and not result.report.written


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(make_pub: Publication) -> None:
    # Coarse timestamps: a file edited twice within one tick keeps its stat. Files modified
    # moments before a build are therefore confirmed by hash on the next one.
    root = corpus(make_pub)
    path = root / "content" / "2026-11-08-story-7.md"
    stamp = path.stat().st_mtime_ns
    path.write_text(path.read_text().replace("Story 7", "Story X"), encoding="utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    stamp = path.stat().st_mtime_ns
    cached_build(root)
    path.write_text(path.read_text().replace("Story X", "Story Y"), encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))
    assert_matches_fresh(root)
    assert "Story Y" in (root / "feeds" / "rss.xml").read_text()


def test_changing_config_invalidates_the_cache(make_pub: Publication) -> None:
    root = corpus(make_pub)
    assert_matches_fresh(root)
    config = root / "config.toml"
    config.write_text(config.read_text().replace("Test Times", "Other Times"), encoding="utf-8")
    result = assert_matches_fresh(root)
    assert result.rendered > 0
    assert "Other Times" in (root / "feeds" / "atom.xml").read_text()


def test_changing_a_template_invalidates_the_cache(make_pub: Publication) -> None:
    root = corpus(make_pub)
    assert_matches_fresh(root)
    (root / "templates").mkdir()
    (root / "templates" / "digest.txt.j2").write_text("{{ publication.title }}\n", encoding="utf-8")
    assert cached_build(root).rendered > 0


def test_a_new_cache_format_starts_cold(
    make_pub: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = corpus(make_pub)
    assert_matches_fresh(root)
    monkeypatch.setattr(buildcache, "FORMAT", buildcache.FORMAT + 1)
    assert assert_matches_fresh(root).rendered > 0
    monkeypatch.setattr(buildcache, "__version__", "999.0")
    assert assert_matches_fresh(root).rendered > 0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad-record", "bad-output"])
def test_a_damaged_cache_rebuilds_cleanly(make_pub: Publication, damage: str) -> None:
    root = corpus(make_pub)
    assert_matches_fresh(root)
    path = root / "state" / buildcache.FILENAME
    if damage == "garbage":
        path.write_bytes(b"this is not SQLite" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1500])
    else:
        import sqlite3

        with sqlite3.connect(path) as conn:
            if damage == "bad-record":
                conn.execute("UPDATE sources SET record = x'00ff', size = size")
            else:
                conn.execute("UPDATE outputs SET digest = 'x'")
            conn.execute("DELETE FROM snapshots")
        conn.close()
    # An article changed too, so a wrongly trusted cache would show in the bytes.
    write(root, "2026-11-08-story-7.md", article("Story 7 again", date="2026-11-08T09:00:00+01:00"))
    assert_matches_fresh(root)


def test_an_output_file_changed_by_hand_is_rewritten(make_pub: Publication) -> None:
    root = corpus(make_pub)
    assert_matches_fresh(root)
    (root / "feeds" / "rss.xml").write_text("tampered", encoding="utf-8")
    (root / "feeds" / "tags" / "rail" / "atom.xml").unlink()
    result = assert_matches_fresh(root)
    assert sorted(map(str, result.report.written)) == ["rss.xml", "tags/rail/atom.xml"]


def test_an_embargo_ending_changes_the_feeds_without_any_file_changing(
    make_pub: Publication,
) -> None:
    root = corpus(make_pub)
    write(
        root,
        "later.md",
        article(
            "Embargoed", date="2026-11-30T09:00:00+01:00", publish_at="2026-12-02T09:00:00+01:00"
        ),
    )
    assert_matches_fresh(root)
    assert "Embargoed" not in (root / "feeds" / "rss.xml").read_text()
    config = load_config(root / "config.toml")
    later = datetime(2026, 12, 3, tzinfo=UTC)
    result = build(config, now=later)
    build(config, now=later, out=root / "fresh", cache=False)
    assert "Embargoed" in (root / "feeds" / "rss.xml").read_text()
    assert tree_bytes(root / "feeds") == tree_bytes(root / "fresh")
    assert result.rendered == 1


def test_content_errors_are_the_same_with_a_warm_cache(make_pub: Publication) -> None:
    root = corpus(make_pub)
    assert_matches_fresh(root)
    write(root, "broken.md", "+++\ntitle = \n+++\nBody\n")
    write(root, "dup.md", article("Dup", slug="story-3"))
    messages = []
    for _ in range(2):
        with pytest.raises(ContentError) as caught:
            cached_build(root)
        messages.append([str(p) for p in caught.value.problems])
    with pytest.raises(ContentError) as cold:
        cached_build(root, cache=False)
    assert messages[0] == messages[1] == [str(p) for p in cold.value.problems]
    assert any("no alt text" in m for m in messages[0])


def test_parallel_build_is_identical_to_serial(
    make_pub: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = corpus(make_pub)
    monkeypatch.setattr(workers, "PARSE_POOL_MIN", 0)
    monkeypatch.setattr(workers, "RENDER_POOL_MIN", 0)
    monkeypatch.setattr(workers, "SERIALISE_POOL_MIN", 0)
    parallel = cached_build(root, cache=False, jobs=2)
    serial = cached_build(root, out=root / "fresh", cache=False, jobs=1)
    assert tree_bytes(root / "feeds") == tree_bytes(root / "fresh")
    assert [str(w) for w in parallel.warnings] == [str(w) for w in serial.warnings]


def test_a_feed_failing_in_a_worker_leaves_every_file_as_it_was(
    make_pub: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers write feeds to temp files; when one fails, nothing is renamed into place and no
    temp file stays behind, including those of feeds that other workers had finished."""
    from syndicate.exporters.atom import AtomExporter

    root = corpus(make_pub)
    cached_build(root, cache=False, jobs=1)
    before = tree_bytes(root / "feeds")
    (root / "config.toml").write_text(
        (root / "config.toml").read_text(encoding="utf-8").replace("Test Times", "New Times"),
        encoding="utf-8",
    )
    original = AtomExporter.export_feed

    def failing(self: AtomExporter, pub: object, spec: FeedSpec) -> bytes:
        if spec.directory.name == "rail":
            raise RuntimeError("feed serialiser crashed")
        return original(self, pub, spec)  # type: ignore[arg-type]

    monkeypatch.setattr(AtomExporter, "export_feed", failing)
    monkeypatch.setattr(workers, "SERIALISE_POOL_MIN", 0)
    with pytest.raises(RuntimeError, match="crashed"):
        cached_build(root, cache=False, jobs=2)
    assert tree_bytes(root / "feeds") == before
    assert not [p for p in (root / "feeds").rglob("*") if p.name.endswith(".tmp")]


def test_build_no_cache_option(make_pub: Publication, run: Run) -> None:
    root = corpus(make_pub)
    result = run(root, "build", "--no-cache", "--now", "2026-12-01T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert not (root / "state" / buildcache.FILENAME).exists()
    result = run(root, "build", "--now", "2026-12-01T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert "(0 changed, " in result.stdout
    assert (root / "state" / buildcache.FILENAME).is_file()


HEAVY = {
    "feedgen",
    "lxml",
    "nh3",
    "markdown_it",
    "jinja2",
    "yaml",
    "mjml",
    "boto3",
    "botocore",
    "trafilatura",
    "smtplib",
    "email.mime",
    "aiosmtpd",
    "dkim",
    "css_inline",
}


def test_cli_import_and_a_no_op_build_stay_light(make_pub: Publication) -> None:
    """Start-up cost is imports: --help and a no-op build must not load what they do not use."""
    root = corpus(make_pub)
    cached_build(root)
    cached_build(root)  # the second build is the one whose snapshot a no-op can trust
    probe = (
        "import sys\n"
        "import syndicate.cli\n"
        f"print(','.join(sorted(m for m in sys.modules if m in {HEAVY!r})))\n"
        "from syndicate.cli import cli\n"
        "try:\n"
        "    cli(['--config', sys.argv[1], '-q', 'build', '--now', '2026-12-01T00:00:00Z'], obj={})\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"print(','.join(sorted(m for m in sys.modules if m in {HEAVY!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(root / "config.toml")],
        capture_output=True,
        text=True,
        check=True,
    )
    at_import, after_build = done.stdout.splitlines()
    assert at_import == ""
    assert after_build == "", f"a no-op build imported {after_build}"


def test_a_feeds_only_build_loads_nothing_of_the_newsletter(make_pub: Publication) -> None:
    """No state database (no edition ever made): the archive, and with it the edition renderer
    and the delivery ledger, is never imported (``publish/site.py``)."""
    root = corpus(make_pub)
    cached_build(root)
    assert not load_config(root / "config.toml").state_db.exists()
    probe = (
        "import sys\n"
        "from syndicate.cli import cli\n"
        "try:\n"
        "    cli(['--config', sys.argv[1], '-q', 'build', '--now', '2026-12-01T00:00:00Z'], obj={})\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print(sorted(m for m in sys.modules if m.startswith(('syndicate.edition', 'syndicate.delivery.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(root / "config.toml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


SUMMARIES_PLUGIN = """
from pathlib import PurePosixPath
from syndicate.exporters import Artifact


class SummariesExporter:
    name = "summaries"

    def export(self, pub, articles):
        lines = [f"{a.slug}|{a.summary}|{bool(a.html)}" for a in articles]
        return [Artifact(PurePosixPath("summaries.txt"), "\\n".join(lines).encode(), "text/plain")]
"""


@pytest.fixture
def summaries_plugin(tmp_path: Path) -> Iterator[Path]:
    """A third-party exporter (not a FeedExporter) installed through an entry point."""
    from syndicate.exporters import registry

    site = tmp_path / "site"
    (site / "summaries_plugin").mkdir(parents=True)
    (site / "summaries_plugin" / "__init__.py").write_text(SUMMARIES_PLUGIN)
    info = site / "summaries_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: summaries-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[syndicate.exporters]\nsummaries = summaries_plugin:SummariesExporter\n"
    )
    sys.path.insert(0, str(site))
    registry.cache_clear()
    yield site
    sys.path.remove(str(site))
    sys.modules.pop("summaries_plugin", None)
    registry.cache_clear()


def test_plugin_exporters_see_every_summary_with_or_without_cache(
    summaries_plugin: Path, make_pub: Publication
) -> None:
    # Articles outside every feed still reach plugins with their body-derived summary, as
    # they did before bodies became lazy; only feed articles carry html.
    root = corpus(make_pub)
    for _ in range(3):
        assert_matches_fresh(root)
    text = (root / "feeds" / "summaries.txt").read_text()
    assert "story-1|Paragraph 1 with a link.|False" in text  # in no feed: summary, no html
    assert "story-7|Paragraph 7 with a link.|True" in text
    assert len(text.splitlines()) == 9


@given(
    fence=st.sampled_from(["+++", "---"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    body=st.text(max_size=40),
)
def test_a_body_is_read_from_the_byte_where_it_starts(
    fence: str, newline: str, bom: bool, body: str
) -> None:
    """The stored body offset points exactly at the body, whatever the line ends or BOM."""
    from syndicate.content.frontmatter import split
    from syndicate.content.sources import _body_offset

    key = 'title = "Grüße"' if fence == "+++" else "title: Grüße"
    text = ("\ufeff" if bom else "") + newline.join([fence, key, fence]) + newline + body
    data = text.encode("utf-8")
    parsed = split(text.removeprefix("\ufeff"))
    assert data[_body_offset(data, parsed.body_line) :].decode("utf-8") == parsed.body


def test_read_bytes_reads_whatever_the_file_holds_now(tmp_path: Path) -> None:
    """The scan's size is only a hint: a file that grew or shrank since is read whole."""
    from syndicate.content.sources import read_bytes

    path = tmp_path / "a.md"
    data = bytes(range(256)) * 1000
    path.write_bytes(data)
    assert read_bytes(path, len(data)) == data
    assert read_bytes(path, 10) == data, "grew after the scan"
    assert read_bytes(path, len(data) + 500) == data, "shrank after the scan"
    assert read_bytes(path) == data
    assert read_bytes(path, len(data), 1000) == data[1000:]
    assert read_bytes(path, len(data), len(data)) == b""
    (tmp_path / "empty.md").write_bytes(b"")
    assert read_bytes(tmp_path / "empty.md", 0) == b""


def test_a_source_parsed_here_equals_its_decoded_record(make_pub: Publication) -> None:
    """The parent keeps the Sources it parses itself and decodes those from workers: both
    must be the same article, down to each date's offset, or a build's output would depend
    on which process parsed which file."""
    from dataclasses import replace

    from syndicate.content.sources import decode, parse_file, scan

    root = corpus(make_pub)
    write(
        root,
        "assorted.md",
        article(
            "Assorted",
            date="2026-11-20T09:00:00",  # no offset: the publication's zone
            updated="2026-11-21T10:30:00Z",
            publish_at="2026-11-20T08:00:00-05:00",
            summary="Own summary.",
            dek="A dek",
            authors=["Ana Souza", "Li Wei"],
            image={"url": "/i/lead.jpg", "alt": "Lead", "width": 640, "height": 360},
            enclosure={"url": "https://news.test/a.mp3", "type": "audio/mpeg", "length": 123},
            canonical_url="https://elsewhere.test/a",
            lang="de",
            tags=["Rail", "Zürich"],
            section="Cities",
        ),
    )
    pub = load_config(root / "config.toml").publication
    stats = scan(root / "content")
    assert len(stats) == 10
    for stat in stats:
        sha, record, problems, here = parse_file(stat, pub)
        assert record is not None and here is not None, problems
        decoded = decode(stat, sha, record)
        # (marshal's bytes for equal values may differ with object identity: not compared)
        assert replace(here, record=b"") == replace(decoded, record=b"")
        for name in ("date", "updated", "publish_at"):
            assert str(getattr(here.article, name)) == str(getattr(decoded.article, name))
        remote_sha, remote_record, _, kept = parse_file(stat, pub, keep=False)
        assert kept is None and remote_record is not None  # a worker sends the record alone
        assert replace(decode(stat, remote_sha, remote_record), record=b"") == replace(
            here, record=b""
        )


def _chunk_owner(chunk: int) -> tuple[int, int]:
    time.sleep(0.01)
    return chunk, os.getpid()


@pytest.mark.skipif(not workers._can_fork(), reason="the pools fork")
def test_this_process_and_its_workers_share_the_chunks_each_once_in_order() -> None:
    """``_fan_out``: a forked worker takes chunks from the front, this process from the back;
    every chunk runs exactly once and results come back in chunk order."""
    results = list(workers._fan_out(list(range(40)), _chunk_owner, _chunk_owner, jobs=2, warm=""))
    assert [chunk for chunk, _ in results] == list(range(40))
    owners = [pid for _, pid in results]
    assert owners[0] != os.getpid()  # the worker started at the front ...
    assert owners[-1] == os.getpid()  # ... and this process at the back
    # One switch-over point: the worker's chunks, then this process's.
    assert owners == sorted(owners, key=lambda pid: pid == os.getpid())


@pytest.mark.skipif(not workers._can_fork(), reason="the pools fork")
def test_idle_runs_once_here_when_only_the_workers_chunks_are_left() -> None:
    """``_fan_out``'s ``idle`` (what the next phases will need, loaded while this process
    would wait) runs in this process, at most once, and changes no result."""
    calls: list[int] = []
    results = list(
        workers._fan_out(
            list(range(40)),
            _chunk_owner,
            _chunk_owner,
            jobs=2,
            warm="",
            idle=lambda: calls.append(os.getpid()),
        )
    )
    assert [chunk for chunk, _ in results] == list(range(40))
    assert calls in ([], [os.getpid()])
