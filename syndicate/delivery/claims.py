"""Many senders, one edition: recipients claimed in batches under a lease, per-worker progress.

A send run is one *worker* (``host:pid:random``). It claims a batch of due rows in one
commit, writing its id and ``lease_until`` into each, and renews the lease of the rows it
holds while it works (``renew``). A claimed row is still ``queued``: claiming is a promise
to try, not a hand-off. A row whose lease has expired (its worker was SIGKILLed, or its host
lost) is claimable again; one already marked ``sending`` never is, so a takeover cannot send
a second copy (``ledger`` has the whole argument).

Deferred rows carry no lease: while their worker lives it retries them itself or gives up on
them for this run; rows deferred by a worker that has finished or died are claimable by the
others (that is the "next run" for them).

The one statement that differs between back-ends is the claim (``_CLAIM``): SQLite runs
``WITH picked AS (SELECT ... LIMIT n) UPDATE ... WHERE email IN picked RETURNING`` inside
``BEGIN IMMEDIATE`` (writers take turns, so no two claims see the same free row);
PostgreSQL's choice says ``FOR UPDATE SKIP LOCKED`` too, inside a plain ``BEGIN``, so
concurrent claims pass each other without waiting.
Everything else here is portable SQL with ``?`` placeholders.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..files import pid_alive
from ..store.database import Connection, is_postgres

LIVE_WORKERS_SQL = (
    "SELECT worker FROM send_workers WHERE edition = ? AND finished IS NULL AND lease_until >= ?"
)

_CLAIMABLE = (
    "SELECT email FROM deliveries WHERE edition = ? AND ("
    " (state = 'queued' AND (lease_until IS NULL OR lease_until < ?))"
    " OR (state = 'deferred' AND worker <> ? AND worker NOT IN (" + LIVE_WORKERS_SQL + ")))"
    " LIMIT ?"
)
_CLAIM_UPDATE = (
    "WITH picked AS MATERIALIZED ({claimable})"
    " UPDATE deliveries SET worker = ?, lease_until = ?, updated = ?"
    " WHERE edition = ? AND email IN (SELECT email FROM picked)"
    " RETURNING email, message_id, attempts, subscriber_id"
)
# The seam: the one dialect-specific statement. PostgreSQL locks the chosen rows and skips
# rows another claim has locked, instead of waiting for its transaction to end. The choice is
# a MATERIALIZED CTE, made once: as a plain ``IN (SELECT ... LIMIT n)`` PostgreSQL may run the
# subquery again per outer row, and with SKIP LOCKED each run picks other rows (a claim of 10
# took 40 in the tests).
_CLAIM = {
    "sqlite": _CLAIM_UPDATE.format(claimable=_CLAIMABLE),
    "postgresql": _CLAIM_UPDATE.format(
        claimable=_CLAIMABLE.replace(" LIMIT ?", " LIMIT ? FOR UPDATE SKIP LOCKED")
    ),
}
_BEGIN = {"sqlite": "BEGIN IMMEDIATE", "postgresql": "BEGIN"}


def stamp(moment: datetime | None = None) -> str:
    """A lease time: ISO 8601 UTC to the microsecond, so text order is time order."""
    return (moment or datetime.now(UTC)).isoformat(timespec="microseconds")


def new_worker_id() -> str:
    """``host:pid:random``: unique per send run, readable in ``--status``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    """A row claimed for this worker: what its message needs."""

    email: str
    message_id: str
    attempts: int
    subscriber_id: int | None


def dialect(conn: Connection) -> str:
    """``postgresql`` or ``sqlite``: which claim statement this connection runs."""
    return "postgresql" if is_postgres(conn) else "sqlite"


def register(conn: Connection, edition: str, worker: str, lease: float) -> None:
    """Announce this worker for ``edition`` (shown by ``--status``; its liveness is its lease)."""
    now = datetime.now(UTC)
    conn.execute(
        "INSERT INTO send_workers (edition, worker, host, pid, started, last_seen, lease_until)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (edition, worker) DO UPDATE SET"
        " last_seen = excluded.last_seen, lease_until = excluded.lease_until, finished = NULL",
        (
            edition,
            worker,
            worker.split(":", 1)[0],
            os.getpid(),
            stamp(now),
            stamp(now),
            stamp(now + timedelta(seconds=lease)),
        ),
    )


def claim_batch(
    conn: Connection, edition: str, worker: str, *, size: int, lease: float
) -> list[Claimed]:
    """Claim up to ``size`` free rows for ``worker`` in the caller's transaction.

    Free: queued and unleased (or its lease expired), or deferred by a worker that is no
    longer alive. The caller opens the transaction with ``begin(conn)`` and commits.
    """
    now = datetime.now(UTC)
    until = stamp(now + timedelta(seconds=lease))
    rows = conn.execute(
        _CLAIM[dialect(conn)],
        (
            *(edition, stamp(now), worker, edition, stamp(now), size),  # the CTE's choice
            *(worker, until, now.isoformat(timespec="seconds"), edition),
        ),
    ).fetchall()
    if rows:
        conn.execute(
            "UPDATE send_workers SET claimed = claimed + ?, last_seen = ?, lease_until = ?"
            " WHERE edition = ? AND worker = ?",
            (len(rows), stamp(now), until, edition, worker),
        )
    claimed = [
        Claimed(email=r[0], message_id=r[1], attempts=r[2], subscriber_id=r[3]) for r in rows
    ]
    claimed.sort(key=lambda c: (c.subscriber_id or 0, c.email))
    return claimed


def begin(conn: Connection) -> None:
    """Open a write transaction the claim may run in (see the module docstring)."""
    conn.execute(_BEGIN[dialect(conn)])


def renew(conn: Connection, edition: str, worker: str, lease: float) -> None:
    """Extend the lease of this worker and of every row it holds unsent (one statement each)."""
    now = datetime.now(UTC)
    until = stamp(now + timedelta(seconds=lease))
    conn.execute(
        "UPDATE deliveries SET lease_until = ? WHERE edition = ? AND worker = ?"
        " AND state = 'queued' AND lease_until IS NOT NULL",
        (until, edition, worker),
    )
    conn.execute(
        "UPDATE send_workers SET last_seen = ?, lease_until = ? WHERE edition = ? AND worker = ?",
        (stamp(now), until, edition, worker),
    )


def release(conn: Connection, edition: str, worker: str) -> None:
    """The run is over: unsent rows it holds are free for others at once; it is finished."""
    now = stamp()
    conn.execute(
        "UPDATE deliveries SET lease_until = NULL WHERE edition = ? AND worker = ?"
        " AND state = 'queued'",
        (edition, worker),
    )
    conn.execute(
        "UPDATE send_workers SET last_seen = ?, finished = ? WHERE edition = ? AND worker = ?",
        (now, now, edition, worker),
    )


def reap(conn: Connection, edition: str) -> int:
    """End the leases of this host's workers whose process is gone (SIGKILL, OOM killer) at
    once instead of when they expire: a dead process sends nothing more, so its claimed rows
    are free and its ``sending`` rows uncertain now. Workers on other hosts are judged by
    their lease alone. Returns how many were reaped."""
    host = socket.gethostname()
    dead = [
        row[0]
        for row in conn.execute(
            "SELECT worker, pid FROM send_workers WHERE edition = ? AND host = ?"
            " AND finished IS NULL AND lease_until >= ?",
            (edition, host, stamp()),
        )
        if row[1] != os.getpid() and not pid_alive(row[1])
    ]
    for worker in dead:
        conn.execute(
            "UPDATE send_workers SET lease_until = ? WHERE edition = ? AND worker = ?",
            (stamp(datetime(1970, 1, 1, tzinfo=UTC)), edition, worker),
        )
        conn.execute(
            "UPDATE deliveries SET lease_until = NULL WHERE edition = ? AND worker = ?"
            " AND state = 'queued'",
            (edition, worker),
        )
    return len(dead)


def busy_elsewhere(conn: Connection, edition: str, worker: str) -> int:
    """Rows other live workers still hold (claimed, or in flight): wait for them, or for
    their lease to expire, before calling the edition done."""
    now = stamp()
    row = conn.execute(
        "SELECT COUNT(*) FROM deliveries WHERE edition = ? AND worker <> ? AND ("
        " (state = 'queued' AND lease_until >= ?)"
        " OR (state = 'sending' AND worker IN (" + LIVE_WORKERS_SQL + ")))",
        (edition, worker, now, edition, now),
    ).fetchone()
    return int(row[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerStatus:
    """One sender's line in ``email --status``."""

    worker: str
    host: str
    claimed: int
    sent: int
    failed: int
    holding: int
    in_flight: int
    last_seen: str
    lease: str  # live | expired | finished

    def describe(self) -> str:
        """``host:pid:abc  claimed 120, sent 118, failed 1 ...  last seen ...  (live)``."""
        extra = f", holding {self.holding}" if self.holding else ""
        extra += f", sending {self.in_flight}" if self.in_flight else ""
        return (
            f"  worker {self.worker} on {self.host}: claimed {self.claimed}, sent {self.sent}, "
            f"failed {self.failed}{extra}; last seen {self.last_seen[:19]}Z; lease {self.lease}"
        )


def workers(conn: Connection, edition: str) -> list[WorkerStatus]:
    """Every worker that took part in ``edition``, in the order they started."""
    now = stamp()
    counts: dict[str, dict[str, int]] = {}
    for row in conn.execute(
        "SELECT worker, state, COUNT(*) FROM deliveries WHERE edition = ? AND worker <> ''"
        " GROUP BY worker, state",
        (edition,),
    ):
        counts.setdefault(row[0], {})[row[1]] = row[2]
    found = []
    for row in conn.execute(
        "SELECT worker, host, claimed, last_seen, lease_until, finished FROM send_workers"
        " WHERE edition = ? ORDER BY started, worker",
        (edition,),
    ):
        states = counts.get(row[0], {})
        if row[5]:
            lease = "finished"
        elif row[4] >= now:
            lease = "live"
        else:
            lease = "expired"
        found.append(
            WorkerStatus(
                worker=row[0],
                host=row[1],
                claimed=row[2],
                sent=states.get("sent", 0),
                failed=states.get("failed", 0),
                holding=states.get("queued", 0) if lease == "live" else 0,
                in_flight=states.get("sending", 0),
                last_seen=row[3],
                lease=lease,
            )
        )
    return found


def live_senders_of(conn: Connection, edition: str) -> set[str]:
    """Workers whose lease runs: their ``sending`` rows are in flight, not uncertain."""
    return {row[0] for row in conn.execute(LIVE_WORKERS_SQL, (edition, stamp()))}
