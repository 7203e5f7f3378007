"""SMTP sending benchmark: ``python bench/bench_smtp.py [--recipients 5000]``.

aiosmtpd sinks run in their own processes on one 127.0.0.1 port (SO_REUSEPORT) and count
messages. Against them:

* ceiling: a bare smtplib loop sending one pre-built message (the demo edition, personalised
  once) to every recipient over one connection: no ledger, no personalisation, nothing else;
* syndicate: ``send_edition`` for the same edition and as many active subscribers, through the
  smtp transport with 1, 2 and 4 connections: personalisation, signed tokens, and the ledger
  (a commit per claimed batch, one per message: the mark before the hand-off, carrying the
  previous message's outcome) included.

``--reader`` overrides the templates with copies that greet each reader by a ``city``
attribute (``{{ reader.city }}``, 5 distinct cities over the subscribers); ``--reader
first_name`` by an attribute unique to each reader (``{{ reader.first_name }}``). Plain
``{{ reader.x }}`` uses are filled into one render per edition, like the address.

Every run starts from a fresh state database, and the sink must count exactly one message per
recipient. Prints a table; the result goes into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import smtplib
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

NOW = datetime(2027, 1, 1, tzinfo=UTC)
SECRET = "benchmark-secret-0123456789abcdef"
CEILING = "smtplib loop, 1 conn. (ceiling)"


def sink(port: int, counter: Synchronized[int], ready: Event, stop: Event) -> None:
    """The aiosmtpd process: accept everything, count messages."""
    from aiosmtpd.controller import Controller

    class Count:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with counter.get_lock():
                counter.value += len(envelope.rcpt_tos)
            return "250 2.0.0 Ok"

    class Shared(Controller):  # type: ignore[misc]
        """Several sink processes on one port (SO_REUSEPORT): the sink is not the limit."""

        def _create_server(self) -> Any:
            return self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=self.port, reuse_port=True
            )

        def _trigger_server(self) -> None:
            # The kernel may hand the start-up probe to a sibling process: probe until ours
            # has answered one.
            for _ in range(500):
                with socket.create_connection((self.hostname, self.port), 5.0) as probe:
                    probe.recv(1024)
                if self._factory_invoked.wait(0.01):
                    return

    controller = Shared(Count(), hostname="127.0.0.1", port=port, ready_timeout=60)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CITIES = ("Berlin", "Hamburg", "München", "Köln", "<Leipzig>")


def reader_templates(root: Path, attribute: str) -> None:
    """Built-in templates plus a greeting from each reader's ``attribute``."""
    (root / "templates").mkdir()
    html = (REPO / "templates" / "email.mjml.j2").read_text(encoding="utf-8")
    html = html.replace(
        "{{ edition_date }} · ", f"Hello {{{{ reader.{attribute} }}}} · {{{{ edition_date }}}} · ", 1
    )
    text = (REPO / "templates" / "email.txt.j2").read_text(encoding="utf-8")
    (root / "templates" / "email.mjml.j2").write_text(html, encoding="utf-8")
    (root / "templates" / "email.txt.j2").write_text(
        f"Hello {{{{ reader.{attribute} }}}}\n" + text, encoding="utf-8"
    )
    (root / "templates" / "attribute").write_text(attribute, encoding="utf-8")


def publication(root: Path, port: int, connections: int, reader: str = "") -> Path:
    """A copy of the demo publication's settings sending to the sink; content from the repo."""
    root.mkdir(parents=True)
    if reader:
        reader_templates(root, reader)
    (root / "config.toml").write_text(
        f"""
[publication]
title = "The Example Dispatch"
base_url = "https://example.org"
timezone = "Europe/Berlin"
author = {{ name = "Chief Editor", email = "editor@example.org" }}
postal_address = "The Example Dispatch, Musterstraße 1, 10115 Berlin, Germany"

[content]
dir = "{REPO / "content"}"

[email]
from = "The Example Dispatch <news@example.org>"
transport = "smtp"
unsubscribe_url = "https://example.org/unsubscribe"
unsubscribe_mailto = "unsubscribe@example.org"

[email.smtp]
host = "127.0.0.1"
port = {port}
security = "none"
connections = {connections}

[state]
db = "state/syndicate.db"
""",
        encoding="utf-8",
    )
    return root / "config.toml"


def add_subscribers(config: Any, count: int) -> None:
    from syndicate.delivery.subscribers import ensure_subscribers, utcnow
    from syndicate.store.database import connect

    conn = connect(config.state_target)  # the SQLite file, or $SYNDICATE_DATABASE_URL
    ensure_subscribers(conn)
    now = utcnow()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO subscribers (email, name, status, source, created, updated)"
        " VALUES (?, ?, 'active', 'bench', ?, ?)",
        [(f"reader{n:06d}@example.com", f"Reader {n}", now, now) for n in range(count)],
    )
    if (config.root / "templates").is_dir():
        from syndicate.delivery.subscriptions import ensure_subscriptions

        attribute = (config.root / "templates" / "attribute").read_text(encoding="utf-8")
        conn.execute("COMMIT")
        ensure_subscriptions(conn, [])
        conn.execute("BEGIN")
        values = (
            [CITIES[n % len(CITIES)] for n in range(count)]
            if attribute == "city"
            else [f"Reader{n:06d}" for n in range(count)]
        )
        conn.executemany(
            "INSERT INTO subscriber_attributes (subscriber_id, name, value) VALUES (?, ?, ?)",
            [(n + 1, attribute, value) for n, value in enumerate(values)],
        )
    conn.execute("COMMIT")
    conn.close()


def edition_for(config: Any) -> tuple[Any, Any, Any]:
    from syndicate.edition.render import render_edition
    from syndicate.edition.state import open_state, plan_edition

    conn = open_state(config)
    edition = plan_edition(config, conn, now=NOW)
    assert edition is not None, "the demo content should give an edition"
    return conn, edition, render_edition(config, edition)


def ceiling(config: Any, port: int, count: int) -> tuple[float, int]:
    """Seconds for a bare smtplib loop; returns (seconds, message size)."""
    from syndicate.delivery.send import Job, message_builder
    from syndicate.delivery.settings import DeliverySettings

    conn, _, rendered = edition_for(config)
    conn.close()
    settings = DeliverySettings.from_config(config)
    build = message_builder(settings, rendered, SECRET.encode(), date=NOW)
    message = build(Job("reader@example.com", "Reader", "<x@example.org>", 0))
    smtp = smtplib.SMTP("127.0.0.1", port)
    start = time.perf_counter()
    for n in range(count):
        smtp.sendmail("news@example.org", [f"reader{n:06d}@example.com"], message)
    seconds = time.perf_counter() - start
    smtp.quit()
    return seconds, len(message)


def syndicate_send(config: Any) -> tuple[float, Any]:
    from syndicate.edition.sending import send_edition

    conn, edition, rendered = edition_for(config)
    start = time.perf_counter()
    report = send_edition(config, conn, edition, rendered)
    seconds = time.perf_counter() - start
    conn.close()
    return seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--connections", default="1,2,4", help="comma-separated counts")
    parser.add_argument("--sinks", type=int, default=2, help="aiosmtpd processes (one port)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the best counts")
    parser.add_argument(
        "--reader",
        nargs="?",
        const="city",
        default="",
        choices=("city", "first_name"),
        help="templates greeting each reader by reader.city (5 values) or reader.first_name",
    )
    args = parser.parse_args()
    os.environ["SYNDICATE_SECRET"] = SECRET

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
    counts = [int(c) for c in args.connections.split(",")]
    best: dict[str, float] = {}
    size = 0

    def keep(label: str, seconds: float) -> None:
        best[label] = min(best.get(label, float("inf")), seconds)

    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = load_config(publication(Path(tmp) / "ceiling", port, 1))
            # Interleaved rounds: a busy machine slows every sender alike, not just one.
            for attempt in range(args.repeat):
                before = counter.value
                seconds, size = ceiling(base, port, args.recipients)
                time.sleep(0.2)
                assert counter.value - before == args.recipients, "sink lost messages"
                keep(CEILING, seconds)
                for connections in counts:
                    path = publication(
                        Path(tmp) / f"c{connections}-{attempt}", port, connections, args.reader
                    )
                    config = load_config(path)
                    add_subscribers(config, args.recipients)
                    before = counter.value
                    seconds, report = syndicate_send(config)
                    assert report.sent == args.recipients and report.complete, report.summary()
                    time.sleep(0.2)
                    assert counter.value - before == args.recipients, "not one copy each"
                    keep(f"syndicate send_edition, {connections} conn.", seconds)
    finally:
        stop.set()
        for server in servers:
            server.join(10)
    rows = list(best.items())

    ceiling_rate = args.recipients / best[CEILING]
    print(
        f"{args.recipients} recipients, message {size / 1024:.1f} KB, {args.sinks} sink "
        f"process(es), {os.cpu_count()} CPUs, best of {args.repeat}"
    )
    print(f"{'sender':<36} {'seconds':>8} {'msgs/s':>8} {'of ceiling':>11}")
    for label, seconds in rows:
        rate = args.recipients / seconds
        print(f"{label:<36} {seconds:>8.2f} {rate:>8.0f} {rate / ceiling_rate:>10.0%}")


if __name__ == "__main__":
    main()
