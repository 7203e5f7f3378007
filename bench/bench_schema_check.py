"""The cost of the schema check at start-up: this tree against another checkout (main).

Each case runs as cron runs it, a new interpreter each time, alternating between the two
trees so that a busy machine slows both alike; the figure is user + sys CPU (median of
``--runs``), which moves less with load than wall time. Cases: ``syndicate --help`` (no
state), a no-op ``build`` (feeds up to date; no state opened), and ``subscribers list`` on an
existing SQLite state (opens it: the start-up check, one query), and the first ``subscribers
add`` of a new publication (makes the state: every table now, only the subscribers tables on
the peer). Also reports whether Alembic
or SQLAlchemy got imported (they must not be, when the schema is current), and how long
making a new SQLite state takes in-process (``ensure_current`` on an empty file).

    python bench/bench_schema_check.py --peer /work/main --runs 15
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CONFIG = """[publication]
title = "Bench Times"
base_url = "https://news.test"
language = "en"
timezone = "Europe/Berlin"
description = "Bench."
"""
ARTICLE = """+++
title = "Alpha"
date = 2026-11-02T09:00:00+01:00
+++
Body.
"""
PROBE = (
    "import sys\nfrom syndicate.cli import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "sys.stderr.write('HEAVY=' + str(sorted(m for m in ('alembic', 'sqlalchemy') "
    "if m in sys.modules)) + '\\n')\n"
)


def cpu_of(tree: Path, root: Path, *args: str) -> tuple[float, str]:
    """User + sys CPU seconds of one run of the CLI from ``tree``, and its HEAVY line."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("SYNDICATE_DATABASE_URL", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--config", str(root / "config.toml"), *args],
        env=env, capture_output=True, text=True, check=False, cwd=root,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    heavy = next((ln for ln in done.stderr.splitlines() if ln.startswith("HEAVY=")), "?")
    if done.returncode:
        raise SystemExit(f"{args} failed in {tree}: {done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), heavy


def publication(folder: Path) -> Path:
    root = folder / "pub"
    (root / "content").mkdir(parents=True)
    (root / "config.toml").write_text(CONFIG, encoding="utf-8")
    (root / "content" / "alpha.md").write_text(ARTICLE, encoding="utf-8")
    return root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", type=Path, required=True, help="the other checkout (main)")
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    trees = {"this tree": HERE, "peer": options.peer.resolve()}
    cases = {"--help": ("--help",), "no-op build": ("build",), "subscribers list": ("subscribers", "list")}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {name: publication(Path(tmp) / name.replace(" ", "_")) for name in trees}
        for name, tree in trees.items():  # state made by each tree's own code, feeds built
            cpu_of(tree, roots[name], "subscribers", "add", "a@example.com")
            cpu_of(tree, roots[name], "build")
        results: dict[tuple[str, str], list[float]] = {}
        heavy: dict[tuple[str, str], str] = {}
        fresh_case = "first subscribers add (new state)"
        for run in range(options.runs):
            for case, args in cases.items():
                for name, tree in trees.items():
                    seconds, loaded = cpu_of(tree, roots[name], *args)
                    results.setdefault((case, name), []).append(seconds)
                    heavy[(case, name)] = loaded
            for name, tree in trees.items():  # a new state each time: made by the first command
                root = publication(Path(tmp) / f"new_{run}_{name.replace(' ', '_')}")
                seconds, loaded = cpu_of(tree, root, "subscribers", "add", "a@example.com")
                results.setdefault((fresh_case, name), []).append(seconds)
                heavy[(fresh_case, name)] = loaded
        print(f"{'case':<36}{'this tree':>11}{'peer':>9}{'ratio':>8}  heavy modules (this tree)")
        for case in [*cases, fresh_case]:
            mine = statistics.median(results[(case, "this tree")])
            peer = statistics.median(results[(case, "peer")])
            print(
                f"{case:<36}{mine * 1000:>9.0f}ms{peer * 1000:>7.0f}ms{mine / peer:>8.2f}"
                f"  {heavy[(case, 'this tree')]}"
            )
        sys.path.insert(0, str(HERE))
        from syndicate.store.database import connect
        from syndicate.store.schema import ensure_current

        folder = Path(tmp) / "fresh"
        folder.mkdir()
        times = []
        for n in range(50):
            started = time.perf_counter()
            conn = connect(folder / f"s{n}.db")
            ensure_current(conn)
            conn.close()
            times.append(time.perf_counter() - started)
        shutil.rmtree(folder)
        print(f"new SQLite state (connect + schema + close): {statistics.median(times) * 1000:.1f} ms median of 50")


if __name__ == "__main__":
    main()
