"""Ledger retention: what one large edition costs in the state database, before and after
``syndicate db prune`` folds its rows into per-edition totals, and how long the fold takes.

    python bench/bench_retention.py [--recipients N] [--failed-every N]

A SQLite state database with N active subscribers gets one edition's ledger rows (queued as
a send queues them, then marked sent with an SMTP server's reply as the provider id; every
``--failed-every``-th one failed with a 550 reply). Its file is VACUUMed and measured with the
subscribers alone, with the edition's rows, and after the prune; the ledger's share is the
difference. The fold's time is shown next to a plain ``DELETE`` of the same rows (the floor:
dropping them with nothing kept), both measured in this run.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syndicate.delivery import ledger  # noqa: E402
from syndicate.delivery.subscribers import ensure_subscribers  # noqa: E402
from syndicate.edition.prune import prune_ledger  # noqa: E402
from syndicate.edition.state import ensure_editions_schema  # noqa: E402
from syndicate.store.database import connect  # noqa: E402

EDITION = "2026-12-07"


def vacuumed_size(path: Path) -> int:
    """The file's bytes once free pages are returned (what a copy or backup would hold)."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.execute("VACUUM")
    raw.close()
    return path.stat().st_size


def subscribers_only(path: Path, count: int) -> None:
    conn = connect(path)
    ensure_subscribers(conn)
    ensure_editions_schema(conn)
    ledger.ensure_ledger(conn)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO subscribers (email, name, status, source, created, updated)"
        " VALUES (?, ?, 'active', 'bench', ?, ?)",
        [(f"reader{n:07d}@example.com", f"Reader {n}", now, now) for n in range(count)],
    )
    conn.execute(
        "INSERT INTO editions (id, created, status, subject, sent_at) VALUES (?, ?, 'sent', ?, ?)",
        (EDITION, now, "Bench edition", now),
    )
    conn.execute("COMMIT")
    conn.close()


def one_edition(path: Path, failed_every: int) -> int:
    """Queue the edition for everyone and record each outcome; returns the rows."""
    conn = connect(path)
    added = ledger.enqueue(conn, EDITION, "bench.test")
    conn.execute("BEGIN")
    conn.execute(
        "UPDATE deliveries SET state = 'sent', attempts = 1,"
        " provider_id = '250 2.0.0 Ok: queued as ' || substr(message_id, 13, 12)"
    )
    conn.execute(
        "UPDATE deliveries SET state = 'failed', provider_id = '',"
        " reason = '550 5.1.1 <' || email || '>: Recipient address rejected: User unknown'"
        " WHERE subscriber_id % ? = 0",
        (failed_every,),
    )
    conn.execute("COMMIT")
    conn.close()
    return added


def fold_seconds(path: Path) -> float:
    conn = connect(path)
    later = datetime.now(UTC) + timedelta(days=500)
    started = time.perf_counter()
    result = prune_ledger(conn, keep_days=400, now=later)
    seconds = time.perf_counter() - started
    conn.close()
    assert [f.edition for f in result.folded] == [EDITION], result.lines()
    return seconds


def delete_seconds(path: Path) -> float:
    conn = connect(path)
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.execute("DELETE FROM deliveries WHERE edition = ?", (EDITION,))
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--failed-every", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "state.db"
        subscribers_only(base, args.recipients)
        empty = vacuumed_size(base)
        rows = one_edition(base, args.failed_every)
        full = vacuumed_size(base)
        floor = Path(folder) / "floor.db"
        shutil.copy(base, floor)
        fold = fold_seconds(base)
        pruned = vacuumed_size(base)
        delete = delete_seconds(floor)
        dropped = vacuumed_size(floor)
    before, after = full - empty, pruned - empty
    print(f"one edition, {rows:,} recipients (1 in {args.failed_every} failed), SQLite, VACUUMed")
    print(f"{'':44}{'bytes':>14}{'per recipient':>15}")
    print(f"{'subscribers only (no ledger rows)':44}{empty:>14,}")
    print(f"{'ledger of the edition, before prune':44}{before:>14,}{before / rows:>15.1f}")
    print(f"{'ledger of the edition, after prune':44}{after:>14,}{after / rows:>15.1f}")
    print(f"{'floor: the same rows deleted, nothing kept':44}{dropped - empty:>14,}")
    print(f"after / before: {after / before:.1%}")
    print(f"fold (db prune) {fold:.2f}s; plain DELETE of the same rows (floor) {delete:.2f}s;"
          f" ratio {fold / delete:.1f}x")


if __name__ == "__main__":
    main()
