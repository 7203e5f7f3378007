"""Retractions leave the feeds, and nothing temporary is ever left where a static host serves.

A build removes the files of earlier builds that the content no longer makes (``manifest.py``),
never a file it did not write; a killed build's temp files live outside the output folder and
are swept by the next build.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
from conftest import Publication, Run, article, tree_bytes

NOW = "2026-11-20T12:00:00+00:00"
CLI = [sys.executable, "-c", "from syndicate.cli import main; main()"]


def culture_pub(make_pub: Publication, **culture: object) -> Path:
    return make_pub(
        {
            "news.md": article("News", tags=["politics"], section="news"),
            "culture.md": article("Opera", tags=["culture"], section="culture", **culture),
        }
    )


def retract(root: Path, how: str) -> None:
    if how == "draft":
        text = article("Opera", tags=["culture"], section="culture", draft=True)
    else:  # moved into the future
        text = article("Opera", date="2027-03-01T09:00:00+01:00", tags=["culture"])
    (root / "content" / "culture.md").write_text(text, encoding="utf-8")


def feed_files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("how", ["draft", "future"])
@pytest.mark.parametrize("cache", [True, False])
def test_a_retracted_article_leaves_every_feed(
    make_pub: Publication, run: Run, how: str, cache: bool
) -> None:
    root = culture_pub(make_pub)
    flags = [] if cache else ["--no-cache"]
    first = run(root, "build", "--now", NOW, *flags)
    assert first.exit_code == 0, first.output
    feeds = root / "feeds"
    assert (feeds / "tags" / "culture" / "rss.xml").is_file()
    assert (feeds / "sections" / "culture" / "atom.xml").is_file()
    mine = feeds / "tags" / "README.txt"  # a file the user put there: never syndicate's to remove
    mine.write_text("hello", encoding="utf-8")
    retract(root, how)
    again = run(root, "build", "--now", NOW, *flags)
    assert again.exit_code == 0, again.output
    assert not (feeds / "tags" / "culture").exists()  # files and the folders they leave empty
    assert not (feeds / "sections" / "culture").exists()
    assert mine.read_text(encoding="utf-8") == "hello"
    assert "6 removed)" in again.output, again.output  # 3 formats x (tag + section)
    for path in feeds.rglob("*.xml"):
        titles = [entry.title for entry in feedparser.parse(path.read_bytes()).entries]
        assert "Opera" not in titles, path
    # the manifest lives outside the output folder, and the output is that of a clean build
    assert not [p for p in feeds.rglob("*") if "manifest" in p.name or p.suffix == ".tmp"]
    clean = make_pub({}, name="clean")
    for name in ("news.md", "culture.md"):
        (clean / "content" / name).write_bytes((root / "content" / name).read_bytes())
    assert run(clean, "build", "--now", NOW).exit_code == 0
    mine.unlink()
    assert tree_bytes(feeds) == tree_bytes(clean / "feeds")
    quiet = run(root, "build", "--now", NOW, *flags)  # nothing more to remove
    assert "removed" not in quiet.output


def test_out_dir_has_its_own_manifest_and_user_files_stay(
    make_pub: Publication, run: Run, tmp_path: Path
) -> None:
    root = culture_pub(make_pub)
    out = tmp_path / "site" / "public"
    assert run(root, "build", "--out", str(out), "--now", NOW).exit_code == 0
    assert run(root, "build", "--now", NOW).exit_code == 0
    own = out / "tags" / "culture" / "notes.txt"  # the user's file keeps its folder
    own.write_text("mine", encoding="utf-8")
    retract(root, "draft")
    result = run(root, "build", "--out", str(out), "--now", NOW)
    assert result.exit_code == 0, result.output
    assert feed_files(out / "tags" / "culture") == {"notes.txt"}
    assert not (out / "sections" / "culture").exists()
    assert (root / "feeds" / "tags" / "culture" / "rss.xml").is_file()  # another folder: untouched
    manifest = json.loads((tmp_path / "site" / ".public.syndicate" / "manifest.json").read_bytes())
    assert "tags/culture/rss.xml" not in manifest["files"]
    assert "tags/politics/rss.xml" in manifest["files"]


def test_a_manifest_left_by_a_killed_build_is_finished_by_the_next(
    make_pub: Publication, run: Run
) -> None:
    root = culture_pub(make_pub)
    assert run(root, "build", "--now", NOW).exit_code == 0
    # Killed after listing (and writing) a file, before pruning: nothing changed since, so the
    # next build is the quick one that serialises nothing; it still removes the file.
    work = root / ".feeds.syndicate"
    data = json.loads((work / "manifest.json").read_bytes())
    stray = root / "feeds" / "tags" / "gone" / "rss.xml"
    stray.parent.mkdir(parents=True)
    stray.write_text("<rss/>", encoding="utf-8")
    data["files"].append("tags/gone/rss.xml")
    data["files"].append("../../outside.txt")  # a damaged entry is never followed
    outside = root.parent / "outside.txt"
    outside.write_text("keep", encoding="utf-8")
    (work / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    result = run(root, "build", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "(0 changed" in result.output and "1 removed)" in result.output
    assert not stray.parent.exists() and outside.read_text(encoding="utf-8") == "keep"


def test_a_killed_build_leaves_no_temp_file_in_the_output_and_the_next_sweeps_its_own(
    make_pub: Publication, run: Run
) -> None:
    root = culture_pub(make_pub)
    env = {**os.environ, "SYNDICATE_CRASH_AT": "staged:3"}
    killed = subprocess.run(
        [*CLI, "--config", str(root / "config.toml"), "build", "--now", NOW],
        cwd=root,
        env=env,
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    temps = root / ".feeds.syndicate" / "tmp"
    left = sorted(temps.iterdir())
    assert left, "the killed build had staged feeds"
    assert all(p.name.startswith(f"{killed_pid(left[0])}") for p in left)
    assert not [p for p in (root / "feeds").rglob("*") if p.name.endswith(".tmp")]
    live = temps / f"{os.getpid()}-cafe.x.tmp"  # a live run's temp file is left alone
    live.write_bytes(b"<half")
    result = run(root, "build", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert sorted(temps.iterdir()) == [live]
    assert {"rss.xml", "atom.xml", "feed.json"} <= feed_files(root / "feeds")


def killed_pid(temp: Path) -> int:
    return int(temp.name.split("-")[0].split(".")[0])
