"""`syndicate build --html FILE`: the `-v` timings as a chart on a self-contained page that
passes the Nu checker; and progress bars (position, rate) where people look, never under cron."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import nu_checker
from tests.conftest import Publication, Run, article
from tests.terminal import Terminal

PHASES = ("scan", "sources", "render", "serialise", "write")


def test_build_html_draws_the_verbose_timings(make_pub: Publication, run: Run) -> None:
    root = make_pub({f"a{n}.md": article(f"Article {n}", slug=f"a{n}") for n in range(3)})
    page = root / "timings.html"
    result = run(root, "-v", "build", "--no-cache", "--html", str(page))
    assert result.exit_code == 0, result.output
    logged = re.findall(r"build: (\w+)\s+done at ([\d.]+) s \((\d+)\)", result.stderr)
    assert tuple(name for name, _, _ in logged) == PHASES
    text = page.read_text(encoding="utf-8")
    assert '<img src="data:image/svg+xml;base64,' in text and "<script" not in text
    for name, at, count in logged:  # the same numbers as -v, in the table under the chart
        assert re.search(rf"<th scope=\"row\">{name}</th>.*<td class=\"n\">{count}</td>"
                         rf"<td class=\"n\">{at} s</td>", text), name
    jar = nu_checker.locate()
    if isinstance(jar, str):
        pytest.skip(jar)
    assert nu_checker.problems(jar, page) == []


def test_a_build_that_changes_nothing_still_has_its_page(make_pub: Publication, run: Run) -> None:
    root = make_pub({"a.md": article()})
    assert run(root, "build").exit_code == 0
    page = root / "timings.html"
    result = run(root, "build", "--html", str(page))
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert "(0 changed, 3 unchanged)" in text
    assert re.findall(r'<th scope="row">(\w+)</th>', text)[:1] == ["scan"]


def test_subscribers_import_shows_progress_on_a_terminal_only(
    make_pub: Publication, tmp_path: Path
) -> None:
    root = make_pub()
    rows = "email,name\n" + "".join(f"r{n}@example.com,Reader {n}\n" for n in range(300))
    (tmp_path / "list.csv").write_text(rows, encoding="utf-8")
    args = ("--config", str(root / "config.toml"), "subscribers", "import", str(tmp_path / "list.csv"))
    code, screen = Terminal(*args).finish()
    assert code == 0, screen
    assert "importing" in screen and "300/300" in screen and "rows/s" in screen, screen
    assert "imported 300 new subscribers" in screen
    # Under cron (no terminal): not a byte of progress.
    (tmp_path / "more.csv").write_text(rows.replace("r", "s", 300), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "from syndicate.cli import main; main()", *args[:-1],
         str(tmp_path / "more.csv")],
        capture_output=True, text=True, env=os.environ, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "importing" not in done.stdout


def test_import_reports_progress_per_document_and_per_site_page(tmp_path: Path) -> None:
    from syndicate.ingest.importer import import_sources, options_for

    fixtures = Path(__file__).parent / "fixtures"
    sources = [*sorted((fixtures / "import").iterdir()), fixtures / "migrate" / "hugo-site"]
    seen: list[tuple[int, int]] = []
    report = import_sources(
        sources,
        options_for(None, into=tmp_path / "content", dry_run=True),
        lambda done, total: seen.append((done, total)),
    )
    assert [done for done, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][0] == seen[-1][1] == len(report.imported) + len(report.problems)
    assert seen[-1][1] > len(sources)  # the site counted its pages
