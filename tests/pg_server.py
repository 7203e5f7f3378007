"""A real PostgreSQL server for the tests: initdb'ed in a temporary folder, on 127.0.0.1.

The server binaries come from the system (Debian's postgresql package, which .ci/run installs).
PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
``postgres`` user (or ``nobody``). Each test gets its own schema in one database, which is much
quicker than a database per test: ``url_for_test`` returns a URL whose search_path is that
schema (citext lives in ``public``, installed once).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

SUPERUSER = "syndicate"
DATABASE = "syndicate_test"


def binaries() -> Path | None:
    """The folder of initdb/pg_ctl, or None when no PostgreSQL server is installed."""
    found = shutil.which("pg_config")
    if found:
        bindir = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if bindir and Path(bindir, "initdb").exists():
            return Path(bindir)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    return None


# The tests trade durability for speed; a benchmark runs what an operator would (``durable``).
FAST_SETTINGS = " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class PostgresServer:
    """One throwaway server; ``stop()`` (or process exit) removes it.

    ``durable=True`` keeps PostgreSQL's default durability (fsync, synchronous_commit and
    full_page_writes on), as a production server runs: what bench/bench_senders.py measures.
    """

    def __init__(self, *, durable: bool = False) -> None:
        bindir = binaries()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (install Debian's postgresql)")
        self.bindir = bindir
        self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="syndicate-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o755)
        self._check(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root}"
            " -c max_connections=200" + ("" if durable else FAST_SETTINGS)
        )
        self._check(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        self._wait()
        self.admin(f"CREATE DATABASE {DATABASE}")
        self.admin("CREATE EXTENSION IF NOT EXISTS citext", database=DATABASE)

    def _check(self, argv: list[str]) -> None:
        result = subprocess.run(argv, capture_output=True, text=True, user=self.user, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stdout}\n{result.stderr}")

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("PostgreSQL did not start listening")

    def url(self, database: str = DATABASE, schema: str | None = None) -> str:
        base = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"
        if schema is None:
            return base
        return f"{base}?options=-csearch_path%3D{schema},public"

    def admin(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def url_for_test(self) -> str:
        """A fresh, empty schema of the test database, as a URL that uses it."""
        schema = "t_" + uuid.uuid4().hex[:12]
        self.admin(f"CREATE SCHEMA {schema}", database=DATABASE)
        return self.url(DATABASE, schema)

    def stop(self) -> None:
        subprocess.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            user=self.user,
            cwd=self.root,
        )
        shutil.rmtree(self.root, ignore_errors=True)
