"""Alembic, driven from syndicate: upgrade a state database, print the SQL, start a revision.

Loaded only by ``syndicate db`` and when an embedded SQLite database needs a revision after the
baseline: Alembic and SQLAlchemy are imported inside the functions, never at start-up. The
configuration is built here (``script_location`` is this package), so no alembic.ini exists.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import REVISIONS

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent
FILE_TEMPLATE = "r%%(rev)s_%%(slug)s"


def make_config(*, output: TextIO | None = None) -> Config:
    """An Alembic configuration for this package's environment (no file behind it)."""
    from alembic.config import Config  # lazy: Alembic only for `syndicate db` and upgrades

    config = Config(stdout=output) if output is not None else Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", FILE_TEMPLATE)
    return config


def script_revisions() -> list[str]:
    """Alembic's own view of the history, oldest first (tests check ``REVISIONS`` with it)."""
    from alembic.script import ScriptDirectory  # lazy: see the module docstring

    script = ScriptDirectory.from_config(make_config())
    return [s.revision for s in reversed(list(script.walk_revisions()))]


def engine_for(target: Path | str) -> Engine:
    """A SQLAlchemy engine on the state target (no pool: one connection, then closed).

    SQLite runs each migration in one ``BEGIN IMMEDIATE`` transaction, as the state code's own
    writes do (pysqlite would otherwise run DDL outside any transaction)."""
    from sqlalchemy import create_engine, event  # lazy: see the module docstring
    from sqlalchemy.pool import NullPool

    if isinstance(target, str):
        import psycopg  # lazy: PostgreSQL only

        url = target
        return create_engine(
            "postgresql+psycopg://", creator=lambda: psycopg.connect(url), poolclass=NullPool
        )
    path = target
    engine = create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(path, timeout=30.0, isolation_level=None),
        poolclass=NullPool,
    )

    def begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "begin", begin)
    return engine


def upgrade(target: Path | str, revision: str = "head") -> None:
    """Apply every revision up to ``revision`` to the state database at ``target``."""
    from alembic import command  # lazy: see the module docstring

    config = make_config()
    engine = engine_for(target)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def print_sql(dialect: str, start: str | None, output: TextIO) -> None:
    """Write the SQL that brings a ``dialect`` database from revision ``start`` (None: empty)
    to the head, without connecting to anything (Alembic's offline mode)."""
    from alembic import command  # lazy: see the module docstring

    config = make_config(output=output)
    config.attributes["dialect"] = dialect
    config.attributes["output"] = output
    command.upgrade(config, f"{start}:head" if start else "head", sql=True)


def new_revision(message: str) -> Path:
    """Start the next revision file (``rNNNN_<slug>.py``, from script.py.mako); its id still
    has to be added to ``REVISIONS`` in ``store/migrations/__init__.py``."""
    from alembic import command  # lazy: see the module docstring

    rev_id = f"{int(REVISIONS[-1]) + 1:04d}"
    script = command.revision(make_config(), message, rev_id=rev_id)
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic made no single revision")
    return Path(script.path)


if __name__ == "__main__":  # python -m syndicate.store.migrations.runner "add the thing"
    import sys

    made = new_revision(" ".join(sys.argv[1:]) or "change")
    sys.stdout.write(f"{made}\nnow add its id to REVISIONS in {HERE / '__init__.py'}\n")
