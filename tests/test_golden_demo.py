"""Golden files for every rendered format of the demo publication, and a corpus checksum manifest.

Why: a restructuring (issue 14) or any refactor must not change what readers get. The demo
publication (the repo's own config.toml + content/) is rendered through the real CLI at a fixed
``--now`` and every format is compared byte for byte with tests/golden/demo/; a 200-article
corpus from bench/make_corpus.py is compared with a SHA-256 manifest in tests/golden/corpus/.
After an intended change, rewrite them and review the diff:

    python -m pytest tests/test_golden_demo.py --update-golden
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, Golden, tree_bytes

from syndicate.cli import cli

# After every demo article's date (the newest is 2026-11-23), so none is embargoed; the edition
# date, the .eml's Date header and the digest's "until" all come from here, never from the clock.
NOW = "2026-12-05T12:00:00+00:00"
EDITION = "2026-12-05"
DIGEST_RANGE = ("--since", "2026-10-01", "--until", "2026-12-01")  # holds every demo article
GOLDEN = Path(__file__).parent / "golden"
DEMO = GOLDEN / "demo"
CORPUS = GOLDEN / "corpus"
CORPUS_SIZE = 200

# Files kept whole, so a change shows as a readable diff: the publication's feeds in all three
# formats, one tag's and one section's, the email edition (HTML, text, the exact .eml) and both
# digests. Every other feed file is covered by feeds.sha256.json.
FEEDS = [
    f"feeds/{folder}{name}"
    for folder in ("", "tags/climate/", "sections/cities/")
    for name in ("rss.xml", "atom.xml", "feed.json")
]
EMAIL = [f"newsletter/{EDITION}.{ext}" for ext in ("html", "txt", "eml")]
DIGESTS = ["digest/summary.txt", "digest/full.txt"]
WHOLE = FEEDS + EMAIL + DIGESTS


def copy_demo(root: Path) -> Path:
    """The demo publication copied to root (its build cache and state must not land in the repo)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config.toml", root / "config.toml")
    shutil.copytree(REPO / "content", root / "content")
    return root


def in_process(root: Path, args: list[str]) -> None:
    """One CLI command through click's CliRunner."""
    result = CliRunner().invoke(
        cli, ["--config", str(root / "config.toml"), *args], obj={}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output


def render_demo(root: Path) -> dict[str, bytes]:
    """Every rendered format of the demo publication at NOW, by path below root/out."""
    out = root / "out"
    in_process(root, ["build", "--now", NOW, "--out", str(out / "feeds")])
    in_process(root, ["email", "--now", NOW, "--out", str(out / "newsletter")])
    for mode in ("summary", "full"):
        target = out / "digest" / f"{mode}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        in_process(root, ["digest", "--now", NOW, *DIGEST_RANGE, f"--{mode}", "-o", str(target)])
    return tree_bytes(out)


def sha256_manifest(files: dict[str, bytes], prefix: str = "") -> str:
    """path -> SHA-256 of every file whose path starts with prefix, as stable JSON."""
    digests = {
        path.removeprefix(prefix): hashlib.sha256(data).hexdigest()
        for path, data in sorted(files.items())
        if path.startswith(prefix)
    }
    return json.dumps(digests, indent=1, sort_keys=True) + "\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The demo publication rendered once through the CLI."""
    return render_demo(copy_demo(tmp_path_factory.mktemp("demo") / "pub"))


@pytest.mark.parametrize("name", WHOLE)
def test_demo_output_matches_golden_file(name: str, demo: dict[str, bytes], golden: Golden) -> None:
    assert name in demo, f"{name} was not written; written: {sorted(demo)}"
    golden(DEMO / name, demo[name].decode("utf-8"))


def test_every_demo_feed_matches_checksum_manifest(demo: dict[str, bytes], golden: Golden) -> None:
    # Every tag and section feed, not only the ones kept whole: a file added or lost shows too.
    manifest = sha256_manifest(demo, "feeds/")
    assert len(json.loads(manifest)) == 42  # 3 + (11 tags + 2 sections) x 3 formats
    golden(DEMO / "feeds.sha256.json", manifest)


def test_demo_output_is_the_same_twice(demo: dict[str, bytes], tmp_path: Path) -> None:
    # Another folder, cold caches: the same bytes. (Across processes, hence string hash seeds,
    # every run compares with goldens written by another process.)
    again = render_demo(copy_demo(tmp_path / "elsewhere"))
    assert sorted(again) == sorted(demo)
    assert [name for name in demo if again[name] != demo[name]] == []


def test_now_is_after_every_demo_article(demo: dict[str, bytes]) -> None:
    # The goldens hold every demo article: none is embargoed at NOW. A new demo article dated
    # after NOW would silently be left out; move NOW (and EDITION) and --update-golden instead.
    articles = sorted((REPO / "content").glob("*.md"))
    items = json.loads(demo["feeds/feed.json"])["items"]
    assert len(items) == len(articles) == 9
    assert f"{len(articles)} articles:".encode() in demo["digest/summary.txt"]
    assert b"\r\nDate: Sat, 05 Dec 2026 12:00:00 +0000\r\n" in demo[f"newsletter/{EDITION}.eml"]


def make_corpus(count: int, root: Path) -> None:
    """bench/make_corpus.py's corpus (bench/ is scripts, not a package: load it by path)."""
    spec = importlib.util.spec_from_file_location("make_corpus", REPO / "bench" / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_corpus(count, root)


def test_corpus_builds_to_stored_checksums(tmp_path: Path, golden: Golden) -> None:
    # 200 articles of bench/make_corpus.py (50 tags, 6 sections, several years): larger input
    # than the demo, so a restructuring cannot change output where the demo does not reach.
    root = tmp_path / "corpus"
    make_corpus(CORPUS_SIZE, root)
    in_process(root, ["build", "--now", NOW, "--out", str(root / "feeds")])
    manifest = sha256_manifest(tree_bytes(root / "feeds"))
    assert len(json.loads(manifest)) > 100
    golden(CORPUS / f"make_corpus-{CORPUS_SIZE}.sha256.json", manifest)
