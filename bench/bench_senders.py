"""Sending near the wire, and many senders: ``python bench/bench_senders.py``.

One run reports, against the same sinks (``--sinks`` processes on one 127.0.0.1 port,
SO_REUSEPORT, counting messages): ``--sink fast`` (default) a minimal asyncio SMTP responder,
``--sink aiosmtpd`` the aiosmtpd sink of ``bench_smtp`` (which costs more CPU per message than
the sender, so it measures itself as much as the sender). Each row has its wall time, rate,
ratio, and the sender's CPU microseconds per message (this process's for the in-process rows,
the finished sender processes' for the others):

* floor: a plain smtplib loop sending one pre-built copy of the edition to every recipient
  over one connection (``floor, signed``: the same loop signing each copy with the same DKIM
  key first, so the RSA cost is in the floor too);
* syndicate, one worker on one connection, in-process ``send_edition``: unsigned, and
  DKIM-signed (2048-bit key, whatever signer ``delivery.dkim`` has);
* ``--processes 1,4``: that many ``syndicate email --send`` processes (one connection each)
  started together on one edition, wall time from start to the last exit (start-up included);
* ``--large N``: queue N subscribers and send them with DKIM on through ``--large-processes``
  sender processes; wall time, peak RSS of a sender, database size.

``--backend postgresql`` runs the same rows against a real PostgreSQL server that this script
starts (``tests/pg_server.py``: initdb + pg_ctl from Debian's ``postgresql`` package, as the
``postgres`` user when run as root) with the server's default durability (fsync,
synchronous_commit, full_page_writes on); every round gets a fresh schema, brought up by
``syndicate db upgrade`` and handed to the publication through ``$SYNDICATE_DATABASE_URL``.
Every row also says where the rest of the CPU went: the PostgreSQL server's per message
(postmaster and backends; 0 on SQLite), the sinks', and how busy the whole machine was
during the row (``/proc/stat``; other sessions' work included).

Every run starts from a fresh state database and checks the sinks got exactly one message per
recipient. Rounds are interleaved; best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import compileall
import multiprocessing as mp
import os
import resource
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_smtp import NOW, SECRET, add_subscribers, edition_for, free_port, sink  # noqa: E402

from syndicate.config.schema import DATABASE_URL_ENV  # noqa: E402

CLI_NOW = NOW.isoformat()


class FastSink:
    """A minimal SMTP responder (asyncio protocol): says yes to everything, counts messages.

    aiosmtpd parses every line in Python and costs more CPU per message than the sender on
    this machine, so with it the sink, not the sender, is what is measured; this one scans
    DATA for the terminating dot with ``bytes.find`` and nothing else."""

    def __init__(self, counter: Any) -> None:
        self.counter = counter

    def protocol(self) -> Any:
        import asyncio

        counter = self.counter

        class Session(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                self.buffer = b""
                self.data = False
                self.rcpts = 0
                transport.write(b"220 sink ESMTP\r\n")

            def data_received(self, chunk: bytes) -> None:
                self.buffer += chunk
                while True:
                    if self.data:
                        end = self.buffer.find(b"\r\n.\r\n")
                        if end < 0:
                            self.buffer = self.buffer[-4:]
                            return
                        self.buffer = self.buffer[end + 5 :]
                        self.data = False
                        with counter.get_lock():
                            counter.value += self.rcpts
                        self.rcpts = 0
                        self.transport.write(b"250 2.0.0 Ok: queued\r\n")
                        continue
                    line, found, rest = self.buffer.partition(b"\r\n")
                    if not found:
                        return
                    self.buffer = rest
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        self.transport.write(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    elif verb == b"DATA":
                        self.data = True
                        self.buffer = b"\r\n" + self.buffer  # a message may be empty
                        self.transport.write(b"354 go ahead\r\n")
                    elif verb == b"QUIT":
                        self.transport.write(b"221 bye\r\n")
                        self.transport.close()
                        return
                    else:
                        if verb == b"RCPT":
                            self.rcpts += 1
                        elif verb == b"RSET":
                            self.rcpts = 0
                        self.transport.write(b"250 2.0.0 Ok\r\n")

        return Session


def fast_sink(port: int, counter: Any, ready: Any, stop: Any) -> None:
    """A ``FastSink`` process on ``port`` (SO_REUSEPORT: several share it)."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(FastSink(counter).protocol(), "127.0.0.1", port, reuse_port=True)
    )
    threading.Thread(target=lambda: (stop.wait(), loop.call_soon_threadsafe(loop.stop))).start()
    ready.set()
    loop.run_forever()
    server.close()


def publication(root: Path, port: int, *, dkim: Path | None, batch: int = 100) -> Path:
    """The demo publication's settings, sending to the sink over one connection."""
    root.mkdir(parents=True)
    signing = f'[email.dkim]\nselector = "bench"\nkey_file = "{dkim}"\n' if dkim is not None else ""
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
connections = 1

[email.sending]
claim_batch = {batch}

{signing}
[state]
db = "state/syndicate.db"
""",
        encoding="utf-8",
    )
    return root / "config.toml"


def dkim_key(root: Path) -> Path:
    """A 2048-bit RSA key for signing, as ``syndicate dkim`` would write it."""
    from syndicate.delivery.dkim import generate_key

    private, _ = generate_key(2048)
    path = root / "dkim.pem"
    path.write_bytes(private)
    path.chmod(0o600)
    return path


def floor(config: Any, port: int, count: int, *, sign: bool) -> float:
    """Seconds for the plain smtplib loop (signing each copy first with ``sign``)."""
    from syndicate.delivery.dkim import signer_for
    from syndicate.delivery.send import Job, message_builder
    from syndicate.delivery.settings import DeliverySettings

    conn, _, rendered = edition_for(config)
    conn.close()
    settings = DeliverySettings.from_config(config)
    unsigned = settings.__class__(
        message=settings.message,
        transport=settings.transport,
        dkim=settings.dkim.__class__(key_file=None, selector="", domain=""),
        policy=settings.policy,
        state_db=settings.state_db,
    )
    build = message_builder(unsigned, rendered, SECRET.encode(), date=NOW)
    message = build(Job("reader@example.com", "Reader", "<x@example.org>", 0))
    signer = signer_for(settings.dkim) if sign else None
    smtp = smtplib.SMTP("127.0.0.1", port)
    start = time.perf_counter()
    for n in range(count):
        wire = signer.sign(message) if signer is not None else message
        smtp.sendmail("news@example.org", [f"reader{n:06d}@example.com"], wire)
    seconds = time.perf_counter() - start
    smtp.quit()
    return seconds


def in_process(config: Any) -> tuple[float, Any]:
    """One worker, one connection: ``send_edition`` in this process."""
    from syndicate.edition.sending import send_edition

    conn, edition, rendered = edition_for(config)
    start = time.perf_counter()
    report = send_edition(config, conn, edition, rendered)
    seconds = time.perf_counter() - start
    conn.close()
    return seconds, report


def processes(config_path: Path, count: int, *, verbose: bool = False) -> tuple[float, int]:
    """``count`` sender processes on one edition; (wall seconds, peak RSS KB of one).
    ``verbose``: print each one's summary line (what it sent, in how long)."""
    env = {**os.environ, "SYNDICATE_SECRET": SECRET}
    command = cli(config_path)
    start = time.perf_counter()
    running = [
        subprocess.Popen(
            [*command, "email", "--send", "--yes", "--now", CLI_NOW],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]
    for process in running:
        out, err = process.communicate()
        assert process.returncode == 0, (out, err)
        if verbose:
            print("    " + out.decode().strip().splitlines()[-1])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the sender processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Backend:
    """Where the rounds keep their state: a SQLite file each (default), or a fresh schema
    each on one PostgreSQL server started here with its default durability settings."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.server: Any = None
        if kind == "postgresql":
            from tests.pg_server import PostgresServer

            self.server = PostgresServer(durable=True)

    def prepare(self, config_path: Path) -> None:
        """A new state store for the publication at ``config_path`` (PostgreSQL: a new
        schema, upgraded by ``syndicate db upgrade``, named in $SYNDICATE_DATABASE_URL)."""
        if self.server is None:
            os.environ.pop(DATABASE_URL_ENV, None)
            return
        from syndicate.store.postgres import close_pools

        close_pools()  # the previous round's pools: their schema is done with
        os.environ[DATABASE_URL_ENV] = self.server.url_for_test()
        subprocess.run(
            [*cli(config_path), "db", "upgrade"], check=True, capture_output=True, env=os.environ
        )

    def cpu(self) -> float:
        """CPU seconds the server has used so far (postmaster, exited and live backends)."""
        if self.server is None:
            return 0.0
        pid = int((self.server.data / "postmaster.pid").read_text().split()[0])
        tick = os.sysconf("SC_CLK_TCK")
        total = sum(_stat(pid)[11:15])  # utime, stime, cutime, cstime
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = _stat(int(entry.name))
                except OSError:
                    continue
                if fields[1] == str(pid):
                    total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.server is not None:
            from syndicate.store.postgres import close_pools

            close_pools()
            self.server.stop()


def _stat(pid: int) -> list[Any]:
    """/proc/PID/stat after the command name: state, ppid, ... (utime is [11])."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields: list[Any] = text[text.rindex(")") + 2 :].split()
    fields[11:15] = [int(value) for value in fields[11:15]]
    return fields


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def cli(config_path: Path) -> list[str]:
    """The ``syndicate`` command line for the publication at ``config_path``."""
    return [sys.executable, "-c", "from syndicate.cli import main; main()", "--config", str(config_path)]


def fresh(
    root: Path, port: int, recipients: int, *, dkim: Path | None, backend: Backend, batch: int
) -> Any:
    """A publication with ``recipients`` active subscribers, on a fresh state store."""
    from syndicate.config import load_config

    path = publication(root, port, dkim=dkim, batch=batch)
    backend.prepare(path)
    config = load_config(path)
    add_subscribers(config, recipients)
    return config


def db_size(config: Any) -> int:
    """Bytes of the state database with its WAL (PostgreSQL: its schema's tables and indexes)."""
    if config.state_url:
        from syndicate.store.database import connect

        conn = connect(config.state_url)
        try:
            row = conn.execute(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            ).fetchone()
        finally:
            conn.close()
        return int(row[0])
    base = Path(config.state_db)
    return sum(p.stat().st_size for p in base.parent.glob(base.name + "*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--signed-recipients", type=int, default=600)
    parser.add_argument("--processes", default="1,4", help="comma-separated sender counts")
    parser.add_argument(
        "--process-recipients", type=int, default=0, help="recipients of the process rows"
    )
    parser.add_argument("--sinks", type=int, default=2)
    parser.add_argument(
        "--sink", choices=("fast", "aiosmtpd"), default="fast", help="the SMTP sink's kind"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", type=int, default=0, help="also a DKIM send to N recipients")
    parser.add_argument("--large-processes", type=int, default=4)
    parser.add_argument("--skip-main", action="store_true", help="only the --large run")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql"), default="sqlite", help="the state store"
    )
    parser.add_argument("--batch", type=int, default=100, help="[email.sending] claim_batch")
    parser.add_argument("--verbose", action="store_true", help="print every round")
    args = parser.parse_args()
    os.environ["SYNDICATE_SECRET"] = SECRET
    # Sender processes start as from an installed wheel, whose bytecode pip compiles at
    # install time: with $PYTHONDONTWRITEBYTECODE set (as on this machine) an editable
    # checkout would otherwise compile every module of the package in every process.
    compileall.compile_dir(REPO / "syndicate", quiet=1)

    context = mp.get_context("spawn")
    counter = context.Value("q", 0)
    stop = context.Event()
    port = free_port()
    servers = []
    for _ in range(args.sinks):
        ready = context.Event()
        target = fast_sink if args.sink == "fast" else sink
        server = context.Process(target=target, args=(port, counter, ready, stop), daemon=True)
        server.start()
        if not ready.wait(90):
            raise SystemExit("an aiosmtpd sink did not start")
        servers.append(server)
    best: dict[str, tuple[float, int, float, float, float, float]] = {}
    backend = Backend(args.backend)

    def sinks_cpu() -> float:
        tick = os.sysconf("SC_CLK_TCK")
        return sum(sum(_stat(server.pid)[11:13]) for server in servers) / tick

    class Meter:
        """The server's and the sinks' CPU and the machine's busy share over one row."""

        def __init__(self) -> None:
            self.server = backend.cpu()
            self.sinks = sinks_cpu()
            self.machine = machine_busy()

        def read(self) -> tuple[float, float, float]:
            busy, total = machine_busy()
            share = (busy - self.machine[0]) / max(1, total - self.machine[1])
            return backend.cpu() - self.server, sinks_cpu() - self.sinks, share

    def keep(
        label: str, seconds: float, count: int, cpu: float, meter: Meter | None = None
    ) -> None:
        """The fastest run of a row, with the sender's CPU seconds in it."""
        server, sinks, busy = meter.read() if meter is not None else (0.0, 0.0, 0.0)
        if args.verbose:
            extra = f", server {server / count * 1e6:.0f} us/msg, sinks {sinks / count * 1e6:.0f}"
            extra += f" us/msg, machine {busy:.0%} busy"
            print(f"  {label}: {count / seconds:.0f} msgs/s, {cpu / count * 1e6:.0f} us/msg{extra}")
        if label not in best or seconds < best[label][0]:
            best[label] = (seconds, count, cpu, server, sinks, busy)

    def expect(before: int, count: int) -> None:
        time.sleep(0.2)
        assert counter.value - before == count, (counter.value - before, count)

    try:
        with tempfile.TemporaryDirectory() as tmp:
            key = dkim_key(Path(tmp))
            batch = args.batch
            n, s = args.recipients, args.signed_recipients
            for attempt in range(0 if args.skip_main else args.repeat):
                base = Path(tmp) / str(attempt)
                for label, signed, count in (
                    ("floor: smtplib loop", False, n),
                    ("floor, signed: smtplib loop + DKIM sign", True, s),
                ):
                    config = fresh(
                        base / f"floor-{signed}", port, 1, dkim=key, backend=backend, batch=batch
                    )
                    before = counter.value
                    meter = Meter()
                    cpu = time.process_time()
                    seconds = floor(config, port, count, sign=signed)
                    keep(label, seconds, count, time.process_time() - cpu, meter)
                    expect(before, count)
                for label, dkim, count in (
                    ("syndicate, 1 worker, 1 conn.", None, n),
                    ("syndicate, 1 worker, 1 conn., signed", key, s),
                ):
                    config = fresh(
                        base / f"one-{dkim is not None}",
                        port,
                        count,
                        dkim=dkim,
                        backend=backend,
                        batch=batch,
                    )
                    before = counter.value
                    meter = Meter()
                    cpu = time.process_time()
                    seconds, report = in_process(config)
                    used = time.process_time() - cpu
                    keep(label, seconds, count, used, meter)
                    assert report.sent == count and report.complete, report.summary()
                    expect(before, count)
                m = args.process_recipients or n  # more: start-up (~0.6 s CPU each) amortised
                for many in (int(c) for c in args.processes.split(",")):
                    config = fresh(
                        base / f"p{many}", port, m, dkim=None, backend=backend, batch=batch
                    )
                    before = counter.value
                    meter = Meter()
                    cpu = children_cpu()
                    seconds, _ = processes(config.path, many, verbose=args.verbose)
                    used = children_cpu() - cpu
                    keep(f"syndicate, {many} process(es) x 1 conn.", seconds, m, used, meter)
                    expect(before, m)
            if args.large:
                config = fresh(
                    Path(tmp) / "large", port, args.large, dkim=key, backend=backend, batch=batch
                )
                before = counter.value
                seconds, peak = processes(config.path, args.large_processes)
                expect(before, args.large)
                print(
                    f"large edition: {args.large} recipients, DKIM 2048-bit, "
                    f"{args.large_processes} sender processes: {seconds:.1f} s "
                    f"({args.large / seconds:.0f} msgs/s), peak RSS of a sender "
                    f"{peak / 1024:.0f} MB, database {db_size(config) / 1e6:.0f} MB"
                )
    finally:
        stop.set()
        for server in servers:
            server.join(10)
        backend.stop()
    if not best:
        return
    print(
        f"{args.recipients} recipients ({args.signed_recipients} signed), {args.sinks} "
        f"{args.sink} sink process(es), {os.cpu_count()} CPUs, best of {args.repeat}, "
        f"state: {args.backend}, claim batch {batch}; load average {os.getloadavg()}"
    )
    print(
        f"{'sender':<44} {'seconds':>8} {'msgs/s':>8} {'ratio':>8} {'CPU us/msg':>11}"
        f" {'server us/msg':>13} {'sinks us/msg':>12} {'machine busy':>12}"
    )
    rate = {label: count / seconds for label, (seconds, count, *_) in best.items()}
    floors = {
        "": rate["floor: smtplib loop"],
        "signed": rate["floor, signed: smtplib loop + DKIM sign"],
    }
    one = rate.get("syndicate, 1 process(es) x 1 conn.")
    for label, (seconds, count, cpu, server, sinks, busy) in best.items():
        if label.startswith("syndicate, ") and "process" in label and one:
            ratio = f"{rate[label] / one:.2f}x"
        else:
            ratio = f"{rate[label] / floors['signed' if 'signed' in label else '']:.0%}"
        per = cpu / count * 1e6
        print(
            f"{label:<44} {seconds:>8.2f} {rate[label]:>8.0f} {ratio:>8} {per:>11.0f}"
            f" {server / count * 1e6:>13.0f} {sinks / count * 1e6:>12.0f} {busy:>12.0%}"
        )


if __name__ == "__main__":
    main()
