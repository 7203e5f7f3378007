"""HTML import quality: our imported article text vs trafilatura's, against public ground truth.

``python bench/bench_extract.py [--data PATH] [--show N]``

Dataset: Mozilla Readability's test pages (https://github.com/mozilla/readability,
``test/test-pages/<case>/source.html`` with the maintainers' reviewed ``expected.html``; Apache
2.0). They are not copied into this repository: ``--data`` (or ``$SYNDICATE_EXTRACT_DATA``)
names a checkout, its ``test/test-pages`` folder, or a bare git directory of it; without either,
the repository is cloned once (``git clone --depth 1``) into ``~/.cache/syndicate-bench``.

For every page it scores, against the text of ``expected.html``:

- **ours**: the Markdown body of the file ``syndicate import --format html`` would write
  (a dry run of ``import_sources``), rendered as our articles are and read back as text;
- **trafilatura**: ``trafilatura.extract(html)`` with its default options (plain text).

The score is the usual token-level F1: tokens are ``\\w+`` words, compared as bags (multisets)
of words, precision = shared / predicted, recall = shared / expected. A page that gives no
text scores 0 (1 if the expected text is empty too). Means over all pages are reported, with
the number of pages that produce no file.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lxml import html as lxml_html

from syndicate.content.render import render_html
from syndicate.ingest.importer import ImportOptions, import_sources
from syndicate.model import Publication

REPOSITORY = "https://github.com/mozilla/readability.git"
CACHE = Path.home() / ".cache" / "syndicate-bench" / "readability"
MIRROR = Path("/work/.mirror/mozilla+readability/repo")  # where the dev machine keeps a copy
PUB = Publication(title="Bench", base_url="https://bench.example")
TOKEN = re.compile(r"\w+")
BLOCKS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol dl dt dd blockquote pre table tr td th br hr figure "
    "figcaption section article header footer aside details summary".split()
)
HIDDEN = frozenset({"script", "style", "noscript", "template", "head"})


@dataclass(frozen=True, slots=True)
class Score:
    """Precision, recall and F1 of one extraction against one expected text."""

    precision: float
    recall: float
    f1: float


def tokens(text: str) -> Counter[str]:
    """Bag of words of a text."""
    return Counter(TOKEN.findall(text))


def score(predicted: str, expected: str) -> Score:
    """Bag-of-words precision, recall and F1."""
    got, want = tokens(predicted), tokens(expected)
    if not got and not want:
        return Score(1.0, 1.0, 1.0)
    if not got or not want:
        return Score(0.0, 0.0, 0.0)
    shared = sum((got & want).values())
    precision, recall = shared / sum(got.values()), shared / sum(want.values())
    f1 = 2 * precision * recall / (precision + recall) if shared else 0.0
    return Score(precision, recall, f1)


def html_text(fragment: str) -> str:
    """Visible text of HTML, block elements separated so words never run together."""
    if not fragment.strip():
        return ""
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    parts: list[str] = []

    def walk(element: lxml_html.HtmlElement) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in HIDDEN:
            parts.append(" ")
        else:
            parts.append(element.text or "")
            for child in element:
                walk(child)
        if tag in BLOCKS:
            parts.append("\n")
        parts.append(element.tail or "")

    walk(root)
    return re.sub(r"[ \t]+", " ", "".join(parts))


def pages(data: Path) -> Iterator[tuple[str, str, str]]:
    """(case name, source HTML, expected text) for every test page."""
    for case in sorted(path for path in data.iterdir() if (path / "source.html").exists()):
        source = (case / "source.html").read_text(encoding="utf-8", errors="replace")
        expected = (case / "expected.html").read_text(encoding="utf-8", errors="replace")
        yield case.name, source, html_text(expected)


def resolve_data(given: str | None, work: Path) -> Path:
    """The folder of test pages: given, from the environment, the dev mirror or a clone."""
    candidates = [Path(p) for p in (given, os.environ.get("SYNDICATE_EXTRACT_DATA")) if p]
    if not candidates:
        candidates = [MIRROR] if MIRROR.exists() else []
    if not candidates:
        if not CACHE.exists():
            CACHE.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, str(CACHE)], check=True)
        candidates = [CACHE]
    root = candidates[0]
    if (root / "test" / "test-pages").is_dir():
        return root / "test" / "test-pages"
    if (root / "HEAD").is_file() and (root / "objects").is_dir():  # a bare git directory
        archive = subprocess.run(
            ["git", f"--git-dir={root}", "archive", "HEAD", "test/test-pages"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
        return work / "test" / "test-pages"
    return root


def ours(name: str, source: str, work: Path) -> str | None:
    """The article text ``syndicate import`` would write for a page; None if no file."""
    page = work / f"{name}.html"
    page.write_text(source, encoding="utf-8")
    options = ImportOptions(
        into=work / "out",
        publication=PUB,
        fmt="html",
        date=datetime(2026, 1, 1, tzinfo=UTC),
        dry_run=True,
    )
    report = import_sources([page], options)
    if not report.imported:
        return None
    text = report.imported[0].text
    body = text[4:].split("\n+++\n", 1)[1]
    tomllib.loads(text[4:].split("\n+++\n", 1)[0])  # the front matter is well formed
    return html_text(render_html(body, "https://bench.example/a/"))


def main() -> None:
    """Score both extractors on every page, print per-extractor means."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="readability checkout, its test/test-pages, or bare git")
    parser.add_argument("--show", type=int, default=0, help="list the N pages we lose most on")
    args = parser.parse_args()
    import trafilatura  # heavy: only here, as in the importer

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    results: dict[str, list[Score]] = {"ours": [], "trafilatura": []}
    missing: dict[str, list[str]] = {"ours": [], "trafilatura": []}
    gaps: list[tuple[float, str]] = []
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        data = resolve_data(args.data, work)
        for name, source, expected in pages(data):
            mine = ours(name, source, work)
            theirs = trafilatura.extract(source)
            for key, text in (("ours", mine), ("trafilatura", theirs)):
                if text is None:
                    missing[key].append(name)
                results[key].append(score(text or "", expected))
            gaps.append((results["trafilatura"][-1].f1 - results["ours"][-1].f1, name))
    count = len(results["ours"])
    print(f"{count} pages from {data}")
    print("| extractor | F1 | precision | recall | pages without output |")
    print("|---|---|---|---|---|")
    for key, scores in results.items():
        means = [statistics.fmean(getattr(s, field) for s in scores) for field in Score.__slots__]
        label = "ours (`syndicate import`)" if key == "ours" else "trafilatura.extract"
        print(
            f"| {label} | {means[2]:.4f} | {means[0]:.4f} | {means[1]:.4f} | {len(missing[key])} |"
        )
    for key, names in missing.items():
        if names:
            print(f"no output ({key}): {', '.join(names)}", file=sys.stderr)
    for gap, name in sorted(gaps, reverse=True)[: args.show]:
        print(f"{name}: trafilatura - ours = {gap:+.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
