"""Cron benchmark: what a ``syndicate publish`` run costs when there is nothing to do.

``python bench/bench_publish.py`` (options: ``--articles N``, ``--runs N``). Cron runs publish
every minute, so the no-op run is the one that matters. Generates N synthetic articles with
``make_corpus.py``, publishes once (cold build), then times the median of several runs of:
a no-op run in-process; the same as cron pays it (a fresh interpreter per run); a run whose
lock is taken (exits at once); a weekly schedule between due moments; an ``on-new`` schedule
(which reads every article when the content changed, and skips that when nothing did); and a
``--dry-run``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_corpus import make_corpus
from timing import median_seconds

from syndicate.config import load_config
from syndicate.publish.run import publish
from syndicate.store.lock import lock_path, run_lock

NOW = datetime(2025, 12, 31, 12, 0, tzinfo=UTC)
CLI = [sys.executable, "-c", "from syndicate.cli import main; main()"]


def set_schedule(root: Path, table: str) -> None:
    """Replace the [schedule] table of the corpus config (appended at the end)."""
    path = root / "config.toml"
    text = path.read_text(encoding="utf-8").split("\n[schedule]")[0]
    path.write_text(text + ("\n" + table if table else ""), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    rows: list[tuple[str, tuple[float, float, float]]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        make_corpus(args.articles, root)
        config_path = root / "config.toml"
        env = {**os.environ, "SYNDICATE_SECRET": "bench-secret-0123456789-0123456789-abc"}
        started = time.perf_counter()
        publish(load_config(config_path), now=NOW)
        cold = time.perf_counter() - started
        rows.append((f"first run: cold build of {args.articles:,} articles", (cold, cold, cold)))

        def in_process() -> None:
            report = publish(load_config(config_path), now=NOW)
            assert not report.actions, report.actions

        def as_cron() -> None:
            subprocess.run(
                [*CLI, "--config", str(config_path), "publish", "--now", NOW.isoformat()],
                check=True,
                env=env,
            )

        rows.append(
            ("no-op run, in-process (load config + publish)", median_seconds(in_process, args.runs))
        )
        rows.append(
            ("no-op run as cron runs it (new interpreter)", median_seconds(as_cron, args.runs))
        )
        with run_lock(lock_path(load_config(config_path).state_db)):
            rows.append(
                ("lock held by another run: exit 0 at once", median_seconds(as_cron, args.runs))
            )
        set_schedule(root, '[schedule]\nemail = "weekly"\nday = "monday"\ntime = "08:00"\n')
        publish(load_config(config_path), now=NOW)  # handles the due moment once
        rows.append(("weekly schedule, between due moments", median_seconds(in_process, args.runs)))
        set_schedule(root, '[schedule]\nemail = "on-new"\nmin_articles = 100000\n')
        started = time.perf_counter()
        in_process()
        first = time.perf_counter() - started
        rows.append(("on-new, first check (reads every article)", (first, first, first)))
        rows.append(
            ("on-new, nothing new since (no re-read)", median_seconds(in_process, args.runs))
        )
        set_schedule(root, "")

        def dry_run() -> None:
            publish(load_config(config_path), now=NOW, dry_run=True)

        rows.append(
            (
                "--dry-run (builds into a scratch folder, no cache)",
                median_seconds(dry_run, max(1, args.runs // 3)),
            )
        )
    width = max(len(name) for name, _ in rows)
    print(f"{'case':<{width}} | median | min | max")
    print(f"{'-' * width}-|--------|-----|----")
    for name, (med, low, high) in rows:
        print(f"{name:<{width}} | {med * 1000:.0f} ms | {low * 1000:.0f} ms | {high * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
