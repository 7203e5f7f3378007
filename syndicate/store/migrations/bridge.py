"""What revision files use to run the state code's portable SQL under Alembic.

The state code writes SQL once for both back-ends (``?`` placeholders, SQLite's type names;
``store.postgres.translate`` turns it into PostgreSQL's). A revision lists such statements and
calls ``run``: online they go through Alembic's connection, translated for PostgreSQL; offline
(``syndicate db upgrade --sql``) they are printed the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..postgres import translate


def is_postgres() -> bool:
    """Whether Alembic is migrating a PostgreSQL database (else SQLite)."""
    from alembic import op  # lazy: only loaded while Alembic runs a migration

    return bool(op.get_context().dialect.name == "postgresql")


def for_dialect(sql: str, postgres: bool) -> str:
    """``sql`` as the target database runs it."""
    return translate(sql) if postgres else sql


def run(statements: Iterable[str]) -> None:
    """Execute each statement (DDL/DML without parameters, in the state code's dialect);
    offline, print it instead."""
    from alembic import context, op  # lazy: only loaded while Alembic runs a migration

    if context.is_offline_mode():
        postgres = is_postgres()
        for statement in statements:
            # (op.execute compiles the text itself: no driver-level %% escaping)
            op.execute(for_dialect(statement, postgres).replace("%%", "%"))
        return
    target = bound()
    for statement in statements:
        target.execute(statement)


class Statements:
    """A revision's ``upgrade`` that only runs its statements (``upgrade = Statements(...)``,
    as the template writes it). Marked so, a revision may also be applied without Alembic
    where that is cheaper (``revisions.quick_steps``: SQLite start-up, the tests' schemas);
    a revision that needs more writes its own ``def upgrade()`` and always goes through
    Alembic."""

    def __init__(self, statements: tuple[str, ...]) -> None:
        self.statements = statements
        self.__name__ = "upgrade"  # Alembic names the step it runs by its function's name

    def __call__(self) -> None:
        run(self.statements)


class Bound:
    """Alembic's connection with the ``Connection.execute`` shape (what ``legacy.apply``
    needs): statements translated for PostgreSQL, parameters passed to the driver."""

    def __init__(self, connection: Any, *, postgres: bool) -> None:
        self._connection = connection
        self._postgres = postgres

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        return self._connection.exec_driver_sql(for_dialect(sql, self._postgres), tuple(parameters))


def bound() -> Bound:
    """The running migration's connection as a ``Bound`` (online mode only)."""
    from alembic import op  # lazy: only loaded while Alembic runs a migration

    return Bound(op.get_bind(), postgres=is_postgres())
