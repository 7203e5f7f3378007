"""Import benchmark: raw text and HTML sources -> content files. ``python bench/bench_import.py``.

Generates synthetic sources in a temporary folder — plain-text exports shaped like a CMS's
(title, byline, dek, headings, bullets with lead-ins, callouts, a Q/A run, trailing
boilerplate; ~900 words each) and saved article pages (navigation, cookie banner, ads,
comments, scripts around ~600 words of article) — and times, as the median of several runs
after a warm-up: importing every text source, importing every page, and the first HTML import
of a process (which pays for importing trafilatura).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_seconds

from syndicate.ingest.importer import ImportOptions, import_sources
from syndicate.model import Publication

WORDS = (
    "council harbour ferry budget school library tram river bridge market housing energy "
    "district volunteers residents festival museum climate transport hospital university "
    "the a of and to in for with on that by from at as is was will new old city week"
).split()
PUB = Publication(title="Bench", base_url="https://bench.example")


def sentence(rng: random.Random, words: int = 14) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng, rng.randint(8, 20)) for _ in range(5))


def heading(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(5)).capitalize()


def text_source(rng: random.Random, number: int) -> str:
    lines = [f"Story {number}: {heading(rng)}", "", "by Desk Writer", "", heading(rng) + "?", ""]
    for section in range(5):
        lines += [paragraph(rng), "", heading(rng), "", paragraph(rng), ""]
        if section == 2:
            lines += [f"  • {heading(rng)}: {sentence(rng)}" for _ in range(3)] + [""]
            lines += [f"Did you know? {sentence(rng)}", "", f"Pro Tip: {sentence(rng)}", ""]
    lines += ["FAQ: Questions", ""]
    for _ in range(4):
        lines += [f"  • Q: {sentence(rng)[:-1]}?", f"    A: {sentence(rng)}"]
    lines += ["", paragraph(rng), "", "Want to learn more? Read our archive.", ""]
    lines += ["You may also like", "", "Leave a Comment", ""]
    return "\n".join(lines)


def html_source(rng: random.Random, number: int) -> str:
    body = "".join(
        f"<h2>{heading(rng)}</h2><p>{paragraph(rng)}</p><p>{paragraph(rng)}</p>" for _ in range(3)
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>Page {number}: {heading(rng)}</title>"
        "<meta name='author' content='Desk Writer'>"
        "<meta property='article:published_time' content='2026-10-12T07:30:00+02:00'>"
        f"<link rel='canonical' href='https://paper.example/page-{number}'>"
        "<script>var tracking = 1;</script></head><body>"
        "<div class='cookie-banner'><p>We use cookies.</p><button>OK</button></div>"
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/city'>City</a></li></ul></nav>"
        f"<main><article><h1>Page {number}</h1><p>{paragraph(rng)}</p>{body}"
        "<ul><li><strong>One:</strong> first</li><li><strong>Two:</strong> second</li></ul>"
        f"<blockquote><p>{sentence(rng)}</p></blockquote>"
        "<div class='ad'>Advertisement</div><h3>Comments (3)</h3>"
        f"<div class='comment'><p>{sentence(rng)}</p></div></article></main>"
        "<footer><p>© 2026 Paper</p></footer></body></html>"
    )


def main() -> None:
    """Generate the sources, time the imports, print a results table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(20261125)
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        texts = [root / f"text-{n}.txt" for n in range(args.texts)]
        pages = [root / f"page-{n}.html" for n in range(args.pages)]
        for number, path in enumerate(texts):
            path.write_text(text_source(rng, number), encoding="utf-8")
        for number, path in enumerate(pages):
            path.write_text(html_source(rng, number), encoding="utf-8")
        text_bytes = sum(path.stat().st_size for path in texts)
        page_bytes = sum(path.stat().st_size for path in pages)
        counter = iter(range(1_000_000))

        def run(sources: list[Path]) -> None:
            options = ImportOptions(
                into=root / f"out-{next(counter)}",
                publication=PUB,
                date=datetime(2026, 11, 1, tzinfo=UTC),
            )
            report = import_sources(sources, options)
            assert not report.problems, report.problems[:3]

        cold = subprocess.run(
            [sys.executable, "-c", (
                "import time; from pathlib import Path; t = time.perf_counter();"
                "from syndicate.ingest.importer import convert, ImportOptions;"
                "from syndicate.model import Publication;"
                f"p = Path({str(pages[0])!r});"
                "convert(p.read_bytes(), p, ImportOptions(into=p.parent,"
                " publication=Publication(title='b', base_url='https://b.example')));"
                "print(time.perf_counter() - t)"
            )],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows = [
            (f"{args.texts} plain-text sources ({text_bytes / 1e6:.1f} MB)", median_seconds(lambda: run(texts), args.runs), args.texts),
            (f"{args.pages} HTML pages ({page_bytes / 1e6:.1f} MB)", median_seconds(lambda: run(pages), args.runs), args.pages),
        ]  # fmt: skip
    print("| case | median | min | max | per source |")
    print("|---|---|---|---|---|")
    for label, (median, low, high), count in rows:
        print(
            f"| {label} | {median:.2f} s | {low:.2f} s | {high:.2f} s | "
            f"{median / count * 1000:.1f} ms |"
        )
    print(
        f"| first HTML page in a fresh process (imports trafilatura) | {float(cold.stdout):.2f} s | | | |"
    )


if __name__ == "__main__":
    main()
