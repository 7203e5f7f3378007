"""Web benchmark: ``python bench/bench_serve.py [--posts 2000] [--gets 2000] [--clients 4]``.

Starts the real servers on 127.0.0.1, one after the other, against a fresh publication whose
confirmations go to an aiosmtpd sink in its own process:

* waitress, as ``syndicate serve`` runs it (8 threads, one process);
* gunicorn with ``--workers`` sync workers (default 2) on ``syndicate.web:app``.

A client in another process then drives, against each server:

* latency: one connection, requests one after the other: ``--gets`` ``GET /`` (the trivial
  page: router, config, one HTML string; the floor) and ``--posts`` subscribe POSTs, each
  with a new address, timed from the request's first byte to the response's last;
* throughput: ``--clients`` connections at once, the same mix again (new addresses).

p50/p95 of the POST and the trivial GET, and requests/s of each, come from the same run, so
the ratio POST/GET says what a subscribe costs over the server's own floor. The POST covers
the origin check, the per-IP and per-mailbox limits (in the state database), address
validation, one outbox insert and the "check your inbox" page; the confirmation email is
mailed by the outbox's sender thread, outside the request, and the run waits until the sink
has every one of them (reported as "mailed/s", the sender's rate while the load ran).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SECRET = "benchmark-secret-0123456789abcdef"
CONFIG = """\
[publication]
title = "Bench Times"
base_url = "https://news.test"
language = "en"
timezone = "Europe/Berlin"
description = "A publication for benchmarks."
author = {{ name = "Desk", email = "desk@news.test" }}
postal_address = "1 Test Street, Testville"

[email]
from = "Bench Times <news@news.test>"
unsubscribe_url = "https://news.test/unsubscribe"
unsubscribe_mailto = "unsubscribe@news.test"
transport = "smtp"

[email.smtp]
host = "127.0.0.1"
port = {port}
security = "none"

[subscribe]
rate_limit = 1000000000

[state]
db = "state/syndicate.db"
"""
CLI = "from syndicate.cli import main; main()"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sink(port: int, counter: Synchronized[int], ready: Event, stop: Event) -> None:
    """The aiosmtpd process: accept everything, count messages."""
    from aiosmtpd.controller import Controller

    class Count:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with counter.get_lock():
                counter.value += len(envelope.rcpt_tos)
            return "250 2.0.0 Ok"

    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"server exited: {process.communicate()}") from None
            if time.monotonic() > deadline:
                raise SystemExit("server did not start") from None
            time.sleep(0.05)


def server_command(kind: str, port: int, workers: int) -> list[str]:
    if kind == "waitress":
        return [sys.executable, "-c", CLI, "serve", "--port", str(port)]
    gunicorn = shutil.which("gunicorn") or "gunicorn"
    return [
        gunicorn,
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "syndicate.web:app",
    ]


# --- the client (runs in its own process) ----------------------------------------------------


def _one(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None) -> float:
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=FORM if body is not None else {})
    response = conn.getresponse()
    response.read()
    took = time.perf_counter() - started
    if response.status not in (200, 303):
        raise SystemExit(f"{method} {path}: HTTP {response.status}")
    if response.will_close:
        conn.close()  # gunicorn's sync workers close after each answer; reconnect next time
    return took


def _post_body(tag: str, n: int) -> bytes:
    return urlencode({"email": f"r{tag}{n}@bench.example"}).encode()


def client(port: int, gets: int, posts: int, clients: int, out: Any) -> None:
    """Latency (one connection) then throughput (``clients`` connections); results to ``out``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for n in range(50):  # warm-up: imports, template compilation, first connections
        _one(conn, "GET", "/", None)
        _one(conn, "POST", "/subscribe", _post_body("w", n))
    get_times = [_one(conn, "GET", "/", None) for _ in range(gets)]
    post_times = [_one(conn, "POST", "/subscribe", _post_body("l", n)) for n in range(posts)]
    conn.close()

    def load(method: str, count: int, tag: str) -> float:
        def work(k: int) -> None:
            mine = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for n in range(k, count, clients):
                body = _post_body(f"{tag}{k}x", n) if method == "POST" else None
                _one(mine, method, "/subscribe" if method == "POST" else "/", body)
            mine.close()

        threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return count / (time.perf_counter() - started)

    get_rate = load("GET", gets, "g")
    post_rate = load("POST", posts, "t")
    out.put(
        {
            "get": get_times,
            "post": post_times,
            "get_rate": get_rate,
            "post_rate": post_rate,
            "mails": 50 + posts * 2,
        }
    )


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def run_one(kind: str, args: argparse.Namespace, counter: Synchronized[int], smtp: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"bench-serve-{kind}-"))
    (root / "content").mkdir()
    (root / "config.toml").write_text(CONFIG.format(port=smtp), encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "SYNDICATE_SECRET": SECRET,
        "SYNDICATE_CONFIG": str(root / "config.toml"),
        "PYTHONPATH": str(REPO),
    }
    with counter.get_lock():
        counter.value = 0
    process = subprocess.Popen(
        server_command(kind, port, args.workers),
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port, process)
        queue: mp.Queue[dict] = mp.Queue()
        started = time.perf_counter()
        worker = mp.Process(target=client, args=(port, args.gets, args.posts, args.clients, queue))
        worker.start()
        result = queue.get()
        worker.join()
        deadline = time.monotonic() + 300
        while counter.value < result["mails"] and time.monotonic() < deadline:
            time.sleep(0.05)
        mailed = counter.value
        result["mailed_rate"] = mailed / (time.perf_counter() - started)
        result["mailed"] = mailed
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--server", choices=("waitress", "gunicorn", "both"), default="both")
    args = parser.parse_args()
    counter: Synchronized[int] = mp.Value("q", 0)  # type: ignore[assignment]
    ready, stop = mp.Event(), mp.Event()
    smtp = free_port()
    sinker = mp.Process(target=sink, args=(smtp, counter, ready, stop), daemon=True)
    sinker.start()
    ready.wait(30)
    kinds = ["waitress", "gunicorn"] if args.server == "both" else [args.server]
    rows = []
    try:
        for kind in kinds:
            r = run_one(kind, args, counter, smtp)
            label = kind if kind == "waitress" else f"gunicorn, {args.workers} workers"
            rows.append((label, r))
    finally:
        stop.set()
        sinker.join(10)
    print(
        f"{'server':<22} {'GET / p50':>10} {'p95':>8} {'POST p50':>10} {'p95':>8} "
        f"{'POST/GET':>9} {'GET/s':>7} {'POST/s':>7} {'mailed/s':>9}"
    )
    for label, r in rows:
        g50, g95 = pct(r["get"], 50) * 1e3, pct(r["get"], 95) * 1e3
        p50, p95 = pct(r["post"], 50) * 1e3, pct(r["post"], 95) * 1e3
        print(
            f"{label:<22} {g50:>8.2f}ms {g95:>6.2f}ms {p50:>8.2f}ms {p95:>6.2f}ms "
            f"{p50 / g50:>8.1f}x {r['get_rate']:>7.0f} {r['post_rate']:>7.0f} "
            f"{r['mailed_rate']:>9.0f}"
        )
        if r["mailed"] != r["mails"]:
            print(f"  !! the sink got {r['mailed']} of {r['mails']} confirmations")


if __name__ == "__main__":
    main()
