"""Shared fixtures: throwaway publications on disk and a CLI runner that keeps stderr apart."""

from __future__ import annotations

import compileall
import difflib
import functools
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syndicate.cli import cli

REPO = Path(__file__).resolve().parent.parent
DATABASE_URL_ENV = "SYNDICATE_DATABASE_URL"


def state_of(root: Path) -> Path | str:
    """What holds the state of the publication in ``root``: its SQLite file, or the PostgreSQL
    URL the test runs against (``both_backends`` tests); pass it to ``store.database.connect``."""
    return os.environ.get(DATABASE_URL_ENV) or root / "state" / "syndicate.db"


def table_names(conn: object) -> set[str]:
    """The tables of a state database, on either back-end."""
    from syndicate.store.database import is_postgres

    sql = (
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        if is_postgres(conn)  # type: ignore[arg-type]
        else "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    return {row[0] for row in conn.execute(sql)}  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """One real PostgreSQL server for this test process (see tests/pg_server.py)."""
    from tests.pg_server import PostgresServer, binaries

    if binaries() is None:
        pytest.skip("no PostgreSQL server here (Debian's postgresql package; .ci/run installs it)")
    server = PostgresServer()
    yield server
    from syndicate.store.postgres import close_pools

    close_pools()
    server.stop()


@pytest.fixture(autouse=True)
def state_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """"sqlite", or "postgresql" for the second run of a ``both_backends`` test: then the state
    store is a fresh schema on the test server, given to every command (and subprocess) through
    $SYNDICATE_DATABASE_URL."""
    backend = getattr(request, "param", "sqlite")
    if backend != "postgresql":
        monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
        yield backend
        return
    server = request.getfixturevalue("pg_server")
    url = server.url_for_test()
    upgrade_schema(url)
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    yield backend
    from syndicate.store.postgres import close_pools

    close_pools()


def upgrade_schema(url: str) -> None:
    """What `syndicate db upgrade` does to a new PostgreSQL schema, the quick way: the
    baseline's statements (``legacy.fresh_script``, translated as the running code translates)
    sent in one round trip, about 2.5x quicker than one statement at a time; then any later
    statement-only revisions as SQLite start-up applies them. tests/test_db.py checks that
    Alembic makes the same tables and columns."""
    from syndicate.store.database import connect
    from syndicate.store.migrations import runner
    from syndicate.store.postgres import PgConnection
    from syndicate.store.schema import apply_quick

    conn = connect(url)
    try:
        assert isinstance(conn, PgConnection)
        conn.raw.execute(_baseline_script())
        quick = apply_quick(conn)
    finally:
        conn.close()
    if not quick:  # a revision that needs Alembic
        runner.upgrade(url)


@functools.cache
def _baseline_script() -> bytes:
    from syndicate.store.migrations import BASELINE, legacy
    from syndicate.store.postgres import translate
    from syndicate.store.schema import VERSION_TABLE_DDL

    statements = [translate(s) for s in legacy.fresh_script(postgres=True)]
    statements += [VERSION_TABLE_DDL, f"INSERT INTO alembic_version VALUES ('{BASELINE}')"]
    return ("BEGIN;\n" + ";\n".join(statements) + ";\nCOMMIT").encode()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("state_backend", ["sqlite", "postgresql"], indirect=True)


BASE_CONFIG = """\
[publication]
title = "Test Times"
base_url = "https://news.test"
language = "en"
timezone = "Europe/Berlin"
description = "A publication for tests."
author = {{ name = "Desk", email = "desk@news.test" }}
postal_address = "1 Test Street, Testville"

[feeds]
{feeds}

[email]
from = "Test Times <news@news.test>"
unsubscribe_url = "https://news.test/unsubscribe"
unsubscribe_mailto = "unsubscribe@news.test"
{email}

[state]
db = "state/syndicate.db"
{extra}
"""


def article(
    title: str = "An article",
    date: str = "2026-11-02T09:00:00+01:00",
    body: str = "Some text.",
    **fields: object,
) -> str:
    """A TOML-front-matter article; extra fields are written as TOML values."""
    lines = [f"title = {_toml(title)}", f"date = {date}"]
    lines += [f"{key} = {_toml(value)}" for key, value in fields.items()]
    return "+++\n" + "\n".join(lines) + "\n+++\n" + textwrap.dedent(body).lstrip("\n")


def _toml(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


Publication = Callable[..., Path]


@pytest.fixture
def make_pub(tmp_path: Path) -> Publication:
    """Write a publication (config.toml + content/) under tmp_path and return its folder."""

    def make(
        articles: dict[str, str | bytes] | None = None,
        *,
        feeds: str = "",
        email: str = "",
        extra: str = "",
        name: str = "pub",
    ) -> Path:
        root = tmp_path / name
        (root / "content").mkdir(parents=True, exist_ok=True)
        (root / "config.toml").write_text(
            BASE_CONFIG.format(feeds=feeds, email=email, extra=extra), encoding="utf-8"
        )
        for filename, text in (articles or {}).items():
            path = root / "content" / filename
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
        return root

    return make


Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    """Invoke the CLI in-process; ``run(root, "build")`` uses root/config.toml."""

    def invoke(root: Path | None, *args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        prefix = ["--config", str(root / "config.toml")] if root is not None else []
        return runner.invoke(cli, [*prefix, *args], input=input, obj={}, catch_exceptions=False)

    return invoke


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file below root, by relative path: for byte-for-byte comparisons of builds."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def pytest_configure(config: pytest.Config) -> None:
    """Compile the package's bytecode once, before any test (or xdist worker) starts.

    Many tests run the CLI in a subprocess (crash, lock and start-up tests). Where
    $PYTHONDONTWRITEBYTECODE is set, as in these sessions, none of them writes a .pyc, so each
    one compiled all ~180 modules of the package from source again: ~0.12 s of CPU a process,
    a quarter of its imports. Python still reads a .pyc it finds and checks it against the
    source's mtime and size, so what runs is the same code."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller did it
        return
    compileall.compile_dir(REPO / "syndicate", quiet=1)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` rewrites golden files from current output (review them as a diff)."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ files from the current output instead of comparing",
    )


Golden = Callable[[Path, str], None]


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    """Compare text with a golden file byte for byte, or rewrite it under --update-golden."""
    update = bool(request.config.getoption("--update-golden"))

    def check(path: Path, actual: str) -> None:
        data = actual.encode("utf-8")
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        assert path.exists(), f"{path} is missing; run pytest --update-golden and review it"
        expected = path.read_bytes()
        if data != expected:
            diff = difflib.unified_diff(
                expected.decode("utf-8").splitlines(keepends=True),
                actual.splitlines(keepends=True),
                "expected",
                "actual",
            )
            pytest.fail(
                f"{path} differs; run pytest --update-golden and review the diff\n"
                + "".join(list(diff)[:200])  # whole feeds are long: the first hunks say enough
                + ("" if expected.count(b"\r") == data.count(b"\r") else "(line endings differ)"),
                pytrace=False,
            )

    return check


class Hub:
    """A WebSub hub on 127.0.0.1 that records every POST; ``statuses`` scripts its answers."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        self.pings: list[dict[str, list[str]]] = []
        self.content_types: list[str] = []
        self.statuses: list[int] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("ascii")
                status = hub.statuses.pop(0) if hub.statuses else 204
                if status < 300:
                    hub.pings.append(parse_qs(body))
                    hub.content_types.append(self.headers.get("Content-Type", ""))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def topics(self) -> list[str]:
        """The hub.url of every accepted ping, in arrival order."""
        return [ping["hub.url"][0] for ping in self.pings]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def hub() -> Iterator[Hub]:
    """A local WebSub hub (``hub.url``) recording pings; see ``Hub``."""
    server = Hub()
    yield server
    server.close()
