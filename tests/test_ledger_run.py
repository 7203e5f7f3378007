"""The send run's ledger writes: an outcome is committed with the next ``sending`` mark, and on
PostgreSQL the two travel as one statement, except where they touch the same row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syndicate.delivery import ledger as ledger_db
from syndicate.delivery.ledger_run import Ledger, open_ledger
from syndicate.store.database import Connection
from tests.conftest import Publication
from tests.sending import add_many, config_of, smtp_pub

pytestmark = pytest.mark.both_backends

EDITION = "2026-11-20"


@pytest.fixture
def conn(make_pub: Publication) -> Iterator[Connection]:
    """The ledger connection of a publication with three queued readers."""
    root: Path = smtp_pub(make_pub, 2525)
    add_many(root, 3)
    shared = open_ledger(config_of(root).state_target)
    ledger_db.ensure_ledger(shared)
    assert ledger_db.enqueue(shared, EDITION, "example.com") == 3
    try:
        yield shared
    finally:
        shared.close()


def states(conn: Connection) -> dict[str, tuple[str, int]]:
    rows = conn.execute(
        "SELECT email, state, attempts FROM deliveries WHERE edition = ?", (EDITION,)
    )
    return {row[0]: (row[1], row[2]) for row in rows}


A, B, C = (f"reader{n:05d}@example.com" for n in range(3))


def test_an_outcome_is_committed_with_the_next_mark(conn: Connection) -> None:
    ledger = Ledger(conn, EDITION)
    assert ledger.claim(A) is True
    ledger.sent(A, "250 ok")
    assert states(conn)[A] == ("sending", 1)  # queued in memory until the next write
    assert ledger.claim(B) is True
    assert states(conn) == {A: ("sent", 1), B: ("sending", 1), C: ("queued", 0)}


def test_a_retry_of_an_address_whose_deferral_is_queued_is_marked_once(
    conn: Connection,
) -> None:
    """Both statements touch one row: they go in order, not as one statement."""
    ledger = Ledger(conn, EDITION)
    assert ledger.claim(A) is True
    ledger.deferred(A, "451 try later", 0)
    assert ledger.claim(A) is True
    assert states(conn)[A] == ("sending", 2)
    ledger.sent(A, "250 ok")
    ledger.flush()
    assert states(conn)[A] == ("sent", 2)


def test_a_row_another_worker_marked_is_not_marked_again_and_outcomes_still_land(
    conn: Connection,
) -> None:
    first, second = Ledger(conn, EDITION), Ledger(conn, EDITION)
    assert second.claim(B) is True
    second.sent(B, "250 ok")
    assert first.claim(A) is True
    assert second.claim(A) is False  # A is the first worker's: no second copy
    assert states(conn)[B] == ("sent", 1)  # the outcome queued before it was committed
    assert states(conn)[A] == ("sending", 1)


def test_several_queued_outcomes_flush_in_one_write(conn: Connection) -> None:
    ledger = Ledger(conn, EDITION)
    for email in (A, B, C):
        assert ledger.claim(email) is True
    ledger.sent(A, "250 ok")
    ledger.failed(B, "550 no such user here")
    ledger.uncertain(C, "connection lost after DATA")
    ledger.flush()
    found = states(conn)
    assert found == {A: ("sent", 1), B: ("failed", 1), C: ("sending", 1)}
    reason = conn.execute(
        "SELECT reason FROM deliveries WHERE edition = ? AND email = ?", (EDITION, C)
    ).fetchone()[0]
    assert reason.startswith("outcome unknown")


def test_the_ledger_connection_keeps_its_statements_prepared_only_while_open(
    conn: Connection,
) -> None:
    raw = getattr(conn, "raw", None)
    if raw is None:
        pytest.skip("PostgreSQL only: sqlite3 caches statements itself")
    assert raw.prepare_threshold == 1
    conn.close()
    assert raw.prepare_threshold is None  # back in the pool as the others are


def test_subscribers_are_queued_in_batches_all_of_them_once(
    make_pub: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    root: Path = smtp_pub(make_pub, 2525)
    emails = add_many(root, 23)
    monkeypatch.setattr(ledger_db, "ENQUEUE_BATCH", 5)
    shared = open_ledger(config_of(root).state_target)
    try:
        assert ledger_db.enqueue(shared, EDITION, "example.com") == 23
        assert ledger_db.enqueue(shared, EDITION, "example.com") == 0
        assert sorted(states(shared)) == sorted(emails)
    finally:
        shared.close()
