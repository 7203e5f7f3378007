"""One schema, owned by Alembic: `syndicate db upgrade|current|copy` on a real PostgreSQL server
(tests/pg_server.py) and on SQLite, the start-up check, and old SQLite databases upgraded."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from syndicate.store.database import connect
from syndicate.store.migrations import BASELINE, HEAD, REVISIONS, legacy, runner
from syndicate.store.schema import apply_baseline, apply_quick, ensure_current, revision, stamp
from tests.conftest import DATABASE_URL_ENV, Publication, Run, article, upgrade_schema
from tests.sending import NOW, SECRET, smtp_pub
from tests.smtp_server import SmtpSink

BOUNCES = Path(__file__).parent / "fixtures" / "bounces"
Columns = dict[str, list[tuple[str, str]]]


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATE_SECRET", SECRET)


def sqlite_columns(db: Path) -> Columns:
    """table -> [(column, declared type)] of a SQLite file (Alembic's own table left out)."""
    conn = sqlite3.connect(db)
    try:
        names = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] != "alembic_version"
        ]
        return {
            name: [(r[1], r[2].upper()) for r in conn.execute(f"PRAGMA table_info({name})")]
            for name in sorted(names)
        }
    finally:
        conn.close()


def pg_columns(url: str) -> Columns:
    conn = connect(url)
    try:
        found: Columns = {}
        for table, column, kind in conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name != 'alembic_version'"
            " ORDER BY table_name, ordinal_position"
        ):
            found.setdefault(table, []).append((column, kind))
        return found
    finally:
        conn.close()


def names(columns: Columns) -> dict[str, list[str]]:
    return {table: [c for c, _ in cols] for table, cols in columns.items()}


def test_revisions_listed_for_the_start_up_check_are_alembics_history() -> None:
    assert list(REVISIONS) == runner.script_revisions()
    assert BASELINE == REVISIONS[0] and HEAD == REVISIONS[-1]


def test_a_new_sqlite_database_is_made_at_the_head_without_alembic(tmp_path: Path) -> None:
    import sys

    conn = connect(tmp_path / "s.db")
    ensure_current(conn)
    assert revision(conn) == HEAD
    assert "alembic" not in sys.modules or "sqlalchemy" in sys.modules  # (loaded by others)
    conn.close()
    columns = sqlite_columns(tmp_path / "s.db")
    assert {"subscribers", "deliveries", "bounce_events", "suppressions", "editions"} <= set(
        columns
    )


def test_alembic_and_the_start_up_path_make_the_same_sqlite_schema(tmp_path: Path) -> None:
    runner.upgrade(tmp_path / "alembic.db")
    conn = connect(tmp_path / "quick.db")
    ensure_current(conn)
    conn.close()
    assert sqlite_columns(tmp_path / "alembic.db") == sqlite_columns(tmp_path / "quick.db")
    check = connect(tmp_path / "alembic.db")
    assert revision(check) == HEAD
    check.close()


def test_each_revision_after_the_baseline_can_be_taken_down_and_up_again(tmp_path: Path) -> None:
    from alembic import command

    runner.upgrade(tmp_path / "baseline.db", BASELINE)
    runner.upgrade(tmp_path / "round.db")
    engine = runner.engine_for(tmp_path / "round.db")
    config = runner.make_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BASELINE)
    engine.dispose()
    assert sqlite_columns(tmp_path / "round.db") == sqlite_columns(tmp_path / "baseline.db")
    runner.upgrade(tmp_path / "round.db")
    runner.upgrade(tmp_path / "head.db")
    assert sqlite_columns(tmp_path / "round.db") == sqlite_columns(tmp_path / "head.db")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_baseline_taken_down_leaves_an_empty_database_that_upgrades_again(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    from alembic import command

    if backend == "postgresql":
        target: Path | str = request.getfixturevalue("pg_server").url_for_test()
        columns: Callable[[Any], Columns] = pg_columns
    else:
        target, columns = tmp_path / "round.db", sqlite_columns
    runner.upgrade(target)
    head = columns(target)
    assert set(legacy.baseline_tables()) <= set(head)
    engine = runner.engine_for(target)
    config = runner.make_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    engine.dispose()
    assert columns(target) == {}
    runner.upgrade(target)
    assert columns(target) == head


def test_an_unknown_revision_is_refused_on_sqlite(tmp_path: Path, make_pub: Publication, run: Run) -> None:
    root = make_pub()
    assert run(root, "subscribers", "add", "a@example.com").exit_code == 0
    conn = connect(root / "state" / "syndicate.db")
    conn.execute("BEGIN")
    stamp(conn, "9999")
    conn.execute("COMMIT")
    conn.close()
    result = run(root, "subscribers", "list")
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        f"error: state database schema is at revision 9999, newer than this syndicate "
        f"(which knows up to {HEAD}); upgrade syndicate"
    ]


@pytest.mark.parametrize("legacy_versions", [{"confirm_outbox": 1, "publish": 1}, {}])
def test_a_sqlite_database_from_the_per_component_days_is_upgraded_with_its_rows(
    make_pub: Publication, run: Run, legacy_versions: dict[str, int]
) -> None:
    """Components at older versions (or missing) in ``schema_versions``, as the old runner
    left them: the first command brings the database to the head, rows kept, no backup made
    (no subscribers yet)."""
    root = make_pub()
    db = root / "state" / "syndicate.db"
    db.parent.mkdir()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(legacy.SCHEMA_VERSIONS)
    for component, chain in legacy.CHAINS:
        version = legacy_versions.get(component, 0 if legacy_versions else len(chain))
        if component in ("subscribers", "editions"):
            version = len(chain)
        for migration in chain[:version]:
            for statement in legacy.statements(migration):
                conn.execute(statement)
        if version:
            conn.execute("INSERT INTO schema_versions VALUES (?, ?)", (component, version))
    conn.execute(
        "INSERT INTO editions (id, created, status, subject) VALUES ('e1', 'x', 'sent', 'S')"
    )
    if legacy_versions:
        conn.execute(
            "INSERT INTO confirm_outbox (email, address_key, requested) VALUES ('a@x.org', 'k', 1)"
        )
        conn.execute("INSERT INTO publish_periods VALUES ('p', 'd', 'p', 'sent', 'e1', 1, 'u')")
    conn.close()

    assert run(root, "db", "current").output.startswith(f"{db}: revision none, head {HEAD}")
    result = run(root, "subscribers", "list")
    assert result.exit_code == 0, result.stderr
    assert sqlite_columns(db) == sqlite_columns(fresh_sqlite(root.parent))
    check = sqlite3.connect(db)
    assert check.execute("SELECT id FROM editions").fetchall() == [("e1",)]
    assert check.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    if legacy_versions:
        assert check.execute("SELECT email, newsletters FROM confirm_outbox").fetchall() == [
            ("a@x.org", "")
        ]
        assert check.execute("SELECT period FROM publish_periods").fetchall() == [("p",)]
    check.close()
    assert not (root / "state" / "syndicate.db.before-newsletters.bak").exists()
    assert run(root, "db", "current").output.endswith("(current)\n")


def fresh_sqlite(folder: Path) -> Path:
    db = folder / "fresh.db"
    conn = connect(db)
    ensure_current(conn)
    conn.close()
    return db


def test_upgrade_sql_prints_the_script_without_connecting(make_pub: Publication, run: Run) -> None:
    root = make_pub()
    result = run(root, "db", "upgrade", "--sql")
    assert result.exit_code == 0, result.stderr
    assert "CREATE TABLE subscribers" in result.output
    assert "INSERT INTO alembic_version (version_num) VALUES ('0001')" in result.output
    assert not (root / "state").exists()


# --- PostgreSQL ------------------------------------------------------------------------------


def test_postgresql_is_never_migrated_by_itself_and_db_upgrade_makes_the_sqlite_schema(
    make_pub: Publication, run: Run, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_pub()
    url = pg_server.url_for_test()
    monkeypatch.setenv(DATABASE_URL_ENV, url)

    result = run(root, "subscribers", "list")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: state database schema is at revision none (an empty database), this syndicate "
        f"needs {HEAD}: run `syndicate db upgrade`"
    ]
    assert pg_columns(url) == {}
    assert "revision none" in run(root, "db", "current").output

    sql = run(root, "db", "upgrade", "--sql")
    assert "CREATE TABLE subscribers" in sql.output and "CITEXT" in sql.output
    result = run(root, "db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert "upgraded from revision none to" in result.output
    assert "already at revision" in run(root, "db", "upgrade").output
    assert run(root, "db", "current").output.endswith("(current)\n")
    assert run(root, "subscribers", "add", "Ann@Example.com").exit_code == 0
    assert run(root, "subscribers", "list").output.startswith("Ann@example.com\t")

    # The same tables and columns as SQLite's, and as the quick paths: apply_baseline and the
    # tests' one-round-trip script (conftest.upgrade_schema).
    assert names(pg_columns(url)) == names(sqlite_columns(fresh_sqlite(root.parent)))
    quick = pg_server.url_for_test()
    conn = connect(quick)
    assert apply_baseline(conn) and apply_quick(conn)
    conn.close()
    assert pg_columns(quick) == pg_columns(url)
    scripted = pg_server.url_for_test()
    upgrade_schema(scripted)
    assert pg_columns(scripted) == pg_columns(url)
    monkeypatch.setenv(DATABASE_URL_ENV, scripted)
    assert run(root, "db", "current").output.endswith("(current)\n")


def test_a_postgresql_schema_newer_than_the_code_is_refused(
    make_pub: Publication, run: Run, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_pub()
    url = pg_server.url_for_test()
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    assert run(root, "db", "upgrade").exit_code == 0
    conn = connect(url)
    conn.execute("BEGIN")
    stamp(conn, "9999")
    conn.execute("COMMIT")
    conn.close()
    for command in (("subscribers", "list"), ("db", "upgrade")):
        result = run(root, *command)
        assert result.exit_code != 0
        assert "revision 9999, newer than this syndicate" in result.stderr
        assert "Traceback" not in result.stderr


def test_db_upgrade_brings_a_postgresql_store_of_the_per_component_days_to_the_head(
    make_pub: Publication, run: Run, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL store made before Alembic (per-component versions, no alembic_version):
    behind, until `db upgrade` runs the baseline, which keeps its rows."""
    root = make_pub()
    url = pg_server.url_for_test()
    conn = connect(url)
    conn.execute("BEGIN")
    conn.execute(legacy.SCHEMA_VERSIONS)
    for component, chain in legacy.CHAINS[:2]:  # subscribers, editions
        for statement in legacy.statements(chain[0]):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_versions VALUES (?, 1)", (component,))
    conn.execute(
        "INSERT INTO subscribers (email, created, updated) VALUES ('old@example.com', 'c', 'u')"
    )
    conn.execute("COMMIT")
    conn.close()
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    result = run(root, "subscribers", "list")
    assert result.exit_code != 0 and "run `syndicate db upgrade`" in result.stderr
    assert run(root, "db", "upgrade").exit_code == 0
    assert run(root, "subscribers", "list").output.startswith("old@example.com\t")


def test_db_copy_moves_a_sqlite_state_and_every_command_reads_the_same(
    make_pub: Publication, run: Run, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpSink() as sink:
        root = smtp_pub(make_pub, sink.port, articles={"a.md": article("Alpha")})
        for email in ("ann@example.com", "bob@example.com", "nobody@example.org"):
            assert run(root, "subscribers", "add", email).exit_code == 0
        assert run(root, "bounces", "process", str(BOUNCES / "exim-hard.eml")).exit_code == 0
        assert run(root, "bounces", "process", str(BOUNCES / "ses-complaint.json")).exit_code == 0
        sent = run(root, "email", "--send", "--yes", "--now", NOW)
        assert sent.exit_code == 0, sent.stderr
    assert sorted(r for m in sink.messages for r in m.recipients) == [
        "ann@example.com",
        "bob@example.com",
    ]
    commands = (
        ("subscribers", "list"),
        ("email", "--status", "latest"),
        ("report", "--json"),
        ("bounces", "list"),
    )
    before = {command: run(root, *command).output for command in commands}

    url = pg_server.url_for_test()
    refused = run(root, "db", "copy", "--to", url, "--yes")
    assert refused.exit_code != 0 and "run `syndicate db upgrade`" in refused.stderr
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    assert run(root, "db", "upgrade").exit_code == 0
    monkeypatch.delenv(DATABASE_URL_ENV)

    copied = run(root, "db", "copy", "--to", url, "--yes")
    assert copied.exit_code == 0, copied.stderr
    lines = {line.split()[0]: line.split() for line in copied.output.splitlines()[:-1]}
    for table in ("subscribers", "deliveries", "editions", "suppressions", "bounce_events"):
        assert lines[table][1] == lines[table][5] != "0", lines[table]
    assert "every count matches" in copied.output

    again = run(root, "db", "copy", "--to", url, "--yes")
    assert again.exit_code != 0
    assert "already holds state (" in again.stderr and "copy only into an empty" in again.stderr

    monkeypatch.setenv(DATABASE_URL_ENV, url)
    for command in commands:
        assert run(root, *command).output == before[command], command
    # The identity sequence is past the copied ids: a new subscriber gets a new one.
    assert run(root, "subscribers", "add", "cat@example.com").exit_code == 0
    conn = connect(url)
    ids = [row[0] for row in conn.execute("SELECT id FROM subscribers ORDER BY id")]
    conn.close()
    assert len(ids) == len(set(ids)) == 4


LATER = """
import json, sys
from pathlib import Path
from syndicate.store.database import connect
from syndicate.store import schema
from syndicate.store.migrations import HEAD, runner
db, url = Path(sys.argv[1]), sys.argv[2]
out = {"head": HEAD}
conn = connect(db)
schema.ensure_current(conn)
out["sqlite"] = schema.revision(conn)
out["rows"] = [list(r) for r in conn.execute("SELECT email, lease_owner FROM deliveries")]
out["alembic loaded"] = "alembic" in sys.modules or "sqlalchemy" in sys.modules
conn.close()
pg = connect(url)
try:
    schema.ensure_current(pg)
except Exception as exc:
    out["behind"] = str(exc)
pg.close()
runner.upgrade(url)
pg = connect(url)
schema._checked.clear()
schema.ensure_current(pg)
out["pg"] = schema.revision(pg)
out["pg rows"] = [list(r) for r in pg.execute("SELECT email, lease_owner FROM deliveries")]
pg.close()
print(json.dumps(out))
"""


def test_a_revision_made_by_the_recipe_upgrades_sqlite_at_start_up_and_postgresql_on_request(
    tmp_path: Path, pg_server: Any
) -> None:
    """docs/architecture.md's recipe, followed in a copy of the package: a statement-only
    revision 0002 on top of the baseline. An SQLite file at 0001 upgrades itself on first use
    without loading Alembic; a PostgreSQL store at 0001 is behind until Alembic upgrades it;
    the rows stay, and both get the same columns."""
    import json
    import shutil
    import subprocess
    import sys

    import syndicate
    from syndicate.store.migrations import HEAD, REVISIONS

    following = f"{len(REVISIONS) + 1:04d}"  # the id the recipe gives the next revision
    code = tmp_path / "code"
    shutil.copytree(
        Path(syndicate.__file__).parent,
        code / "syndicate",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    db, url = tmp_path / "s.db", pg_server.url_for_test()
    for target in (db, url):
        conn = connect(target)
        apply_baseline(conn)
        conn.execute(
            "INSERT INTO deliveries (edition, email, message_id, queued_at, updated)"
            " VALUES ('e', 'a@example.com', 'm', 'q', 'u')"
        )
        conn.close()
    env = {"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"}
    made = subprocess.run(
        [sys.executable, "-m", "syndicate.store.migrations.runner", "add", "leases"],
        env=env, capture_output=True, text=True, check=True, cwd=tmp_path,
    )
    revision_file = code / "syndicate" / "store" / "migrations" / "versions" / f"r{following}_add_leases.py"
    assert str(revision_file) in made.stdout
    text = revision_file.read_text(encoding="utf-8")
    assert f'down_revision = "{HEAD}"' in text
    revision_file.write_text(
        text.replace(
            "STATEMENTS: tuple[str, ...] = (\n)",
            "STATEMENTS: tuple[str, ...] = (\n"
            "    \"ALTER TABLE deliveries ADD COLUMN lease_owner TEXT NOT NULL DEFAULT ''\",\n"
            '    "CREATE TABLE leases (name TEXT PRIMARY KEY, until_at REAL NOT NULL)",\n)',
        ),
        encoding="utf-8",
    )
    init = code / "syndicate" / "store" / "migrations" / "__init__.py"
    init.write_text(
        init.read_text(encoding="utf-8").replace(
            _tuple_literal(REVISIONS), _tuple_literal((*REVISIONS, following))
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-c", LATER, str(db), url],
        env=env, capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["head"] == out["sqlite"] == out["pg"] == following
    assert out["rows"] == out["pg rows"] == [["a@example.com", ""]]
    assert out["alembic loaded"] is False
    assert out["behind"] == (
        f"state database schema is at revision 0001, this syndicate needs {following}: "
        "run `syndicate db upgrade`"
    )
    assert pg_columns(url)["leases"] == [("name", "text"), ("until_at", "double precision")]
    assert names(sqlite_columns(db)) == names(pg_columns(url))


def _tuple_literal(ids: tuple[str, ...]) -> str:
    """``REVISIONS`` as migrations/__init__.py spells it (double quotes, black's commas)."""
    inner = ", ".join(f'"{rev}"' for rev in ids)
    return f"({inner},)" if len(ids) == 1 else f"({inner})"
