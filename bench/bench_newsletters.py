"""Several newsletters at scale: ``python bench/bench_newsletters.py [--subscribers 100000]``.

A publication with three newsletters over the demo content (``daily``: everything, the
default; ``climate``: section Climate or tags climate/energy, with reader cadences
immediate/daily/weekly; ``alerts``: tag transport) and N subscribers: all on ``daily``, a
third on ``climate`` (cadences split evenly), a fifth on ``alerts``.

* planning: what one ``publish`` run does before sending: each newsletter's stream refreshed,
  each cadence planned (readers grouped by floor), and every planned edition stored with its
  ledger rows and its readers' new floor (``edition.newsletters.commit``). Timed for all N.
* sending: the three due editions of one run (``publish``'s path: ``send_edition`` per
  edition) to ``--send`` subscribers' worth of readers over one SMTP connection, against
  today's single-newsletter ``send_edition`` of the same edition size to as many active
  subscribers. aiosmtpd sinks in their own processes count every message.

Prints both; the result goes into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_smtp import SECRET, free_port, publication, sink  # noqa: E402

NOW = datetime(2027, 1, 1, 9, tzinfo=UTC)  # a Friday: daily and weekly cadences are due

NEWSLETTERS = """
[newsletters.daily]
title = "Daily"
schedule = "daily"
time = "07:00"
default = true

[newsletters.climate]
title = "Climate"
sections = ["Climate"]
tags = ["climate", "energy"]
schedule = "weekly"
day = "friday"
time = "08:00"
cadences = ["immediate", "daily", "weekly"]

[newsletters.alerts]
title = "Transport alerts"
tags = ["transport"]
schedule = "on-new"
"""


def newsletter_publication(root: Path, port: int) -> Path:
    path = publication(root, port, 1)
    path.write_text(path.read_text(encoding="utf-8") + NEWSLETTERS, encoding="utf-8")
    return path


def add_readers(config: Any, count: int) -> None:
    """N subscribers and their subscriptions, in bulk (as an import would leave them)."""
    from syndicate.delivery.subscribers import ensure_subscribers, utcnow
    from syndicate.edition.newsletters import ensure_newsletters
    from syndicate.edition.state import open_state

    conn = open_state(config)
    ensure_subscribers(conn)
    ensure_newsletters(config, conn)
    now = utcnow()
    cadences = ("immediate", "daily", "weekly")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO subscribers (id, email, name, status, source, created, updated)"
        " VALUES (?, ?, ?, 'active', 'bench', ?, ?)",
        [(n + 1, f"reader{n:06d}@example.com", f"Reader {n}", now, now) for n in range(count)],
    )
    rows = []
    for n in range(count):
        rows.append((n + 1, "daily", ""))
        if n % 3 == 0:
            rows.append((n + 1, "climate", cadences[(n // 3) % 3]))
        if n % 5 == 0:
            rows.append((n + 1, "alerts", ""))
    conn.executemany(
        "INSERT INTO subscriptions (subscriber_id, newsletter, status, cadence, floor, how,"
        " created, updated) VALUES (?, ?, 'active', ?, NULL, 'bench', ?, ?)",
        [(sid, name, cadence, now, now) for sid, name, cadence in rows],
    )
    conn.execute("COMMIT")
    conn.close()


def plan_all(config: Any) -> tuple[float, float, list[tuple[Any, Any]], int]:
    """(planning seconds, storing seconds, [(edition, rendered)], messages queued)."""
    from syndicate.config import configured_newsletters, newsletter_config
    from syndicate.content.articles import load_articles
    from syndicate.edition import newsletters as planner
    from syndicate.edition.newsletter_send import state_connection
    from syndicate.edition.render import render_edition

    articles = load_articles(config.content_dir, config.publication).articles
    conn = state_connection(config)
    start = time.perf_counter()
    plans = []
    for newsletter in configured_newsletters(config):
        planner.refresh(config, conn, newsletter, articles, NOW)
        for cadence, _ in planner.cadence_groups(newsletter):
            plans += planner.plan(config, conn, newsletter, cadence, articles, now=NOW)
    planned = time.perf_counter() - start
    made = []
    queued = 0
    stored = 0.0
    for item in plans:
        edition = planner.edition_for(config, conn, item, now=NOW)
        rendered = render_edition(newsletter_config(config, item.newsletter), edition)
        start = time.perf_counter()
        queued += planner.commit(config, conn, item, edition)
        stored += time.perf_counter() - start
        made.append((edition, rendered))
    conn.close()
    return planned, stored, made, queued


def single_enqueue(root: Path, port: int, count: int) -> float:
    """Today's one-newsletter send: seconds to queue ``count`` ledger rows at its start."""
    from bench_smtp import add_subscribers, edition_for

    from syndicate.config import load_config
    from syndicate.delivery import ledger

    config = load_config(publication(root, port, 1))
    add_subscribers(config, count)
    conn, edition, _ = edition_for(config)
    start = time.perf_counter()
    assert ledger.enqueue(conn, edition.id, "example.org") == count
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def send_all(config: Any, made: list[tuple[Any, Any]]) -> tuple[float, int]:
    from syndicate.config import newsletter_config
    from syndicate.edition.sending import send_edition
    from syndicate.edition.state import open_state

    conn = open_state(config)
    sent = 0
    start = time.perf_counter()
    for edition, rendered in made:
        report = send_edition(
            newsletter_config(config, edition.newsletter), conn, edition, rendered
        )
        assert report.complete, report.summary()
        sent += report.sent
    seconds = time.perf_counter() - start
    conn.close()
    return seconds, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000, help="for the planning")
    parser.add_argument("--send", type=int, default=6000, help="subscribers for the send part")
    parser.add_argument("--sinks", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    os.environ["SYNDICATE_SECRET"] = SECRET

    from bench_smtp import add_subscribers, syndicate_send

    from syndicate.config import load_config

    context = mp.get_context("spawn")
    counter = context.Value("q", 0)
    stop = context.Event()
    port = free_port()
    servers = []
    for _ in range(args.sinks):
        ready = context.Event()
        server = context.Process(target=sink, args=(port, counter, ready, stop), daemon=True)
        server.start()
        if not ready.wait(90):
            raise SystemExit("an aiosmtpd sink did not start")
        servers.append(server)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = load_config(newsletter_publication(Path(tmp) / "plan", port))
            add_readers(config, args.subscribers)
            planned, stored, made, queued = plan_all(config)
            print(
                f"planning {args.subscribers} subscribers over 3 newsletters: decide who gets "
                f"what {planned:.2f} s; store {len(made)} editions with {queued} ledger rows "
                f"and the new floors {stored:.2f} s"
            )
            baseline = single_enqueue(Path(tmp) / "enqueue", port, queued)
            print(
                f"  (today's one-newsletter send queues {queued} ledger rows in {baseline:.2f} s)"
            )
            if not args.send:
                return
            sent = 0

            def multi(attempt: int) -> float:
                nonlocal sent
                config = load_config(newsletter_publication(Path(tmp) / f"m{attempt}", port))
                add_readers(config, args.send)
                _, _, made, queued = plan_all(config)
                before = counter.value
                seconds, sent = send_all(config, made)
                time.sleep(0.2)
                assert sent == queued == counter.value - before, (sent, queued)
                return sent / seconds

            def one(attempt: int) -> float:
                single = load_config(publication(Path(tmp) / f"s{attempt}", port, 1))
                add_subscribers(single, sent)
                before = counter.value
                seconds, report = syndicate_send(single)
                time.sleep(0.2)
                assert report.sent == sent == counter.value - before
                return sent / seconds

            best_multi = multi(0)  # first: it fixes how many messages the single send has
            best_single = one(0)
            for attempt in range(1, args.repeat):
                # Interleaved, order alternating: machine load hits both alike.
                if attempt % 2:
                    best_single = max(best_single, one(attempt))
                    best_multi = max(best_multi, multi(attempt))
                else:
                    best_multi = max(best_multi, multi(attempt))
                    best_single = max(best_single, one(attempt))
            print(
                f"sending ({args.send} subscribers, {sent} messages, 1 connection, best of "
                f"{args.repeat}): three newsletters {best_multi:.0f} msgs/s, one newsletter "
                f"{best_single:.0f} msgs/s: {best_multi / best_single:.0%}"
            )
    finally:
        stop.set()
        for server in servers:
            server.join(10)


if __name__ == "__main__":
    main()
