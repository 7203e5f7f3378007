"""The spine's commands from a user's seat: init, validate, build, errors without tracebacks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import feedparser

from syndicate import __version__
from tests.conftest import REPO, Publication, Run, article
from tests.terminal import Terminal


def test_version(run: Run) -> None:
    result = run(None, "--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_init_then_build_writes_every_feed(tmp_path: Path, run: Run) -> None:
    target = tmp_path / "paper"
    result = run(None, "init", str(target))
    assert result.exit_code == 0, result.output
    assert (target / "templates").is_dir()
    assert len(list((target / "content").glob("*.md"))) == 3
    result = run(target, "build")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote 3 feeds + ")
    for name in ("rss.xml", "atom.xml", "feed.json"):
        assert (target / "feeds" / name).is_file()
    assert list((target / "feeds" / "tags").glob("*/rss.xml"))
    assert list((target / "feeds" / "sections").glob("*/atom.xml"))


def test_init_dates_the_starter_articles_in_the_last_days(tmp_path: Path, run: Run) -> None:
    """A new publication's digest and newsletter have something to show on day one."""
    target = tmp_path / "paper"
    run(None, "init", str(target))
    newest = max(
        date.fromisoformat(line.removeprefix("date = ")[:10])
        for path in (target / "content").glob("*.md")
        for line in path.read_text(encoding="utf-8").splitlines()[:4]
        if line.startswith("date = ")
    )
    assert newest == datetime.now(UTC).date() - timedelta(days=1)
    howto = (target / "content" / "how-we-work.md").read_text(encoding="utf-8")
    assert "date = 2026-11-19T10:00:00+01:00" in howto, "the example in the body is unchanged"
    result = run(target, "digest")
    assert result.exit_code == 0, result.output
    assert "3 articles:" in result.output


def test_init_refuses_an_existing_publication(tmp_path: Path, run: Run) -> None:
    run(None, "init", str(tmp_path / "p"))
    result = run(None, "init", str(tmp_path / "p"))
    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_validate_lists_every_problem_and_exits_1(make_pub: Publication, run: Run) -> None:
    root = make_pub(
        {
            "a.md": '+++\ntitle = "A"\n+++\n',
            "b.md": article("B", colour="red"),
            "c.md": article("C", image="x.jpg"),
        }
    )
    result = run(root, "validate")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any(
        line.endswith("a.md:1: date: required front-matter key is missing") for line in lines
    )
    assert any("b.md:4: colour: unknown front-matter key" in line for line in lines)
    assert any("c.md:4: warning: image has no alt text" in line for line in lines)
    assert "Traceback" not in result.output + result.stderr


def test_validate_ok(make_pub: Publication, run: Run) -> None:
    result = run(make_pub({"a.md": article()}), "validate")
    assert result.exit_code == 0, result.stderr
    assert "valid" in result.output


def test_config_error_is_a_clean_message(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article()}, extra="[bogus]\nx = 1\n")
    result = run(root, "build")
    assert result.exit_code == 1
    assert "config.toml:" in result.stderr and "bogus: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_out_option(make_pub: Publication, run: Run, tmp_path: Path) -> None:
    root = make_pub({"a.md": article()})
    result = run(root, "build", "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    assert feedparser.parse((tmp_path / "site" / "rss.xml").read_bytes()).bozo == 0


def test_demo_publication_builds_valid_feeds(tmp_path: Path, run: Run) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(REPO / "content", demo / "content")
    shutil.copy(REPO / "config.toml", demo / "config.toml")
    result = run(demo, "build")
    assert result.exit_code == 0, result.output
    for path in (demo / "feeds").rglob("*.xml"):
        assert feedparser.parse(path.read_bytes()).bozo == 0, path
    assert len(feedparser.parse((demo / "feeds" / "rss.xml").read_bytes()).entries) >= 8


def test_console_script_runs_without_a_terminal(make_pub: Publication) -> None:
    root = make_pub({"a.md": article()})
    env = {**os.environ, "SYNDICATE_CONFIG": str(root / "config.toml")}
    script = Path(sys.executable).parent / "syndicate"
    done = subprocess.run(
        [str(script), "build"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 3 feeds" in done.stdout
    assert done.stderr == ""  # no progress bar without a terminal


def on_terminal(*args: str) -> str:
    """Run the CLI on a pseudo-terminal until it exits (successfully); return the screen."""
    code, screen = Terminal(*args).finish()
    assert code == 0, screen
    return screen


def test_build_on_a_terminal_shows_progress(make_pub: Publication) -> None:
    root = make_pub({f"a{n}.md": article(f"Article {n}", slug=f"a{n}") for n in range(60)})
    config = str(root / "config.toml")
    screen = on_terminal("--config", config, "build", "--no-cache")
    assert "rendering" in screen and "100%" in screen, screen
    assert re.search(r" (\d+)/\1 ", screen) and "articles/s" in screen, screen  # position, rate
    assert "wrote 3 feeds" in screen
    quiet = on_terminal("--config", config, "--quiet", "build", "--no-cache")
    assert "rendering" not in quiet


def test_a_small_build_on_a_terminal_shows_no_bar(make_pub: Publication) -> None:
    root = make_pub({f"a{n}.md": article(f"Article {n}", slug=f"a{n}") for n in range(5)})
    screen = on_terminal("--config", str(root / "config.toml"), "build", "--no-cache")
    assert "wrote 3 feeds" in screen and "rendering" not in screen, screen
