"""Digest benchmark: a full-text digest of 1,000 articles. ``python bench/bench_digest.py``.

Generates 1,000 synthetic articles (~1,100 words each, with headings, lists, links, callouts
and FAQs; see make_corpus.py) in a temporary folder, then times, as the median of several runs:
the whole ``syndicate digest --full`` path (load content, select, render), the rendering alone
(Markdown -> wrapped text for every article, plus the template), and a summaries-only digest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_corpus import make_corpus
from timing import median_seconds

from syndicate.build.digest import make_digest
from syndicate.config import load_config
from syndicate.content.articles import load_published
from syndicate.text.digest import Period, render_digest

NOW = datetime(2100, 1, 1, tzinfo=UTC)
EVERYTHING = Period(datetime(1970, 1, 1, tzinfo=UTC), NOW)


def main(argv: list[str] | None = None) -> int:
    """Build the corpus, run each case, print a results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_corpus(args.articles, root)
        config = load_config(root / "config.toml")
        pub = config.publication
        articles, _ = load_published(config, NOW)
        full = make_digest(config, since=EVERYTHING.since, until=NOW, full=True, now=NOW)
        assert len(full.articles) == args.articles, len(full.articles)
        options = pub.digest.__class__(width=pub.digest.width, links="article", full=True)
        cases: list[tuple[str, Callable[[], object]]] = [
            (
                "digest --full (load + render)",
                lambda: make_digest(config, since=EVERYTHING.since, until=NOW, full=True, now=NOW),
            ),
            (
                "render only, full text",
                lambda: render_digest(pub, articles, EVERYTHING, options=options),
            ),
            (
                "digest (summaries)",
                lambda: make_digest(config, since=EVERYTHING.since, until=NOW, full=False, now=NOW),
            ),
        ]
        size = len(full.text.encode("utf-8"))
        lines = full.text.count("\n")
        print(f"{args.articles} articles, full digest {size / 1e6:.1f} MB, {lines:,} lines")
        print(f"{'case':34} {'median':>9} {'min':>9} {'max':>9}")
        for name, action in cases:
            median, fastest, slowest = median_seconds(action, args.runs)
            print(f"{name:34} {median:8.2f}s {fastest:8.2f}s {slowest:8.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
