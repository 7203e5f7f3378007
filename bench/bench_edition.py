"""Newsletter benchmark: render a 20-article edition. ``python bench/bench_edition.py``.

Generates 20 synthetic articles (~1,100 words each, with headings, lists, links, images,
callouts and FAQs; see make_corpus.py), plans one edition of all 20, and times, as the median
of several runs: ``render_edition`` with summaries (the default) and with full bodies (CSS
inlining, XHTML, MJML and the text twin included), the MJML compile alone, building one
recipient's MIME message (as wire bytes) from the rendered edition, and the whole preview (load content, plan,
render, write the three files).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_corpus import make_corpus
from mjml import mjml2html
from timing import median_seconds

from syndicate.config import Config, load_config
from syndicate.delivery.message import (
    build_message,
    message_bytes,
    preview_recipient,
)
from syndicate.delivery.settings import MessageSettings
from syndicate.edition.preview import preview_edition
from syndicate.edition.render import mjml_source, render_edition
from syndicate.edition.state import open_state, plan_edition

NOW = datetime(2100, 1, 1, tzinfo=UTC)


def with_email(config: Config, **changes: object) -> Config:
    """The same config with some ``[email]`` keys changed."""
    email = config.model.email.model_copy(update=changes)
    return replace(config, model=config.model.model_copy(update={"email": email}))


def main(argv: list[str] | None = None) -> int:
    """Build the corpus, run each case, print a results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_corpus(args.articles, root)
        config = with_email(load_config(root / "config.toml"), max_articles=args.articles)
        full_config = with_email(config, full_content=True)
        edition = plan_edition(config, open_state(config), now=NOW)
        assert edition is not None and len(edition.articles) == args.articles
        summary = render_edition(config, edition)
        full = render_edition(full_config, edition)
        recipient = preview_recipient(MessageSettings.from_config(config), full)
        mjml = mjml_source(full_config, edition)
        out = root / "preview"
        cases: list[tuple[str, Callable[[], object]]] = [
            ("render_edition, summaries (default)", lambda: render_edition(config, edition)),
            ("render_edition, full bodies", lambda: render_edition(full_config, edition)),
            ("  of which: mjml2html alone", lambda: mjml2html(mjml, fonts={})),
            (
                "message_bytes(build_message()), summaries",
                lambda: message_bytes(
                    build_message(MessageSettings.from_config(config), summary, recipient)
                ),
            ),
            (
                "message_bytes(build_message()), full",
                lambda: message_bytes(
                    build_message(MessageSettings.from_config(full_config), full, recipient)
                ),
            ),
            (
                "syndicate email preview, end to end",
                lambda: preview_edition(config, now=NOW, out=out),
            ),
        ]
        print(
            f"{args.articles}-article edition, median of {args.runs} runs "
            f"(HTML: summaries {len(summary.html.encode()) / 1024:.0f} KB, "
            f"full {len(full.html.encode()) / 1024:.0f} KB; MJML source "
            f"{len(mjml.encode()) / 1024:.0f} KB)"
        )
        print(f"{'case':<44} {'median':>10} {'min':>10} {'max':>10}")
        for name, action in cases:
            median, fastest, slowest = median_seconds(action, args.runs)
            print(
                f"{name:<44} {median * 1000:>8.2f}ms {fastest * 1000:>8.2f}ms "
                f"{slowest * 1000:>8.2f}ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
