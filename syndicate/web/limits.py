"""Rate limits kept in the state database, shared by every process and host that serves the app.

A limit held in memory is per process: behind gunicorn's workers, or several hosts behind a
load balancer, each would keep its own count and a client would get ``limit`` times as many
tries as there are processes. Here every counted event is one row of ``web_limits``
(scope, hashed key, time), so all of them count against one limit.

The rule is the one the in-memory limiter kept: at most ``limit`` events per key in any
``window`` seconds (a sliding window, not fixed buckets that allow twice the limit across a
boundary), and a refused event is not counted. ``allow`` counts the key's recent rows; under
the limit it inserts its row and counts again, and gives the row back when the second count
is over the limit (another process got there at the same moment). Every allowed event's row
was visible to the count that allowed it, so no two processes can both take the last place;
in such a race both may be refused (one place stays free a little longer): strict, never
lenient. A key that is over its limit costs one indexed read per request and writes nothing,
so a flood does not turn into a stream of writes.

Keys (client IPs, mailboxes) are stored as a keyed BLAKE2b hash (key: $SYNDICATE_SECRET), so
the table holds no address; rows older than the window are deleted, at most once a minute per
process. Plain SQL with ``?`` placeholders and integer milliseconds: it runs on SQLite and on
PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable

from ..delivery.tokens import load_secret
from ..store.database import Connection
from ..store.schema import ensure_current

PRUNE_EVERY = 60.0  # seconds between deletions of expired rows, per process and scope


def ensure_limits(conn: Connection) -> None:
    """The ``web_limits`` table is there (Alembic revision 0003; cheap once current)."""
    ensure_current(conn)


def hashed_key(scope: str, key: str) -> str:
    """``key`` as stored: a BLAKE2b hash keyed with the signing secret (no raw IPs or
    addresses in the table; the same in every process that shares the secret)."""
    secret = hashlib.blake2b(load_secret(), digest_size=32).digest()
    return hashlib.blake2b(f"{scope}\0{key}".encode(), key=secret, digest_size=16).hexdigest()


class SharedLimit:
    """At most ``limit`` events per key in any ``window`` seconds, counted in the database."""

    def __init__(
        self,
        scope: str,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.scope = scope
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._ready = False
        self._last_prune = float("-inf")

    def allow(self, conn: Connection, key: str) -> bool:
        """Count one event for ``key``; False when it is over the limit (not counted then)."""
        if not self._ready:
            ensure_limits(conn)
            self._ready = True
        now = self._clock()
        stored = hashed_key(self.scope, key)
        at = int(now * 1000)
        since = at - int(self.window * 1000)
        self._prune(conn, now, since)
        if self._count(conn, stored, since) >= self.limit:
            return False
        nonce = secrets.token_hex(8)
        conn.execute(
            "INSERT INTO web_limits (scope, key, at, nonce) VALUES (?, ?, ?, ?)",
            (self.scope, stored, at, nonce),
        )
        if self._count(conn, stored, since) > self.limit:
            conn.execute(
                "DELETE FROM web_limits WHERE scope = ? AND key = ? AND nonce = ?",
                (self.scope, stored, nonce),
            )
            return False
        return True

    def _count(self, conn: Connection, stored: str, since: int) -> int:
        """The key's events in the window, counted up to ``limit + 1`` (all ``allow`` needs:
        a key with a high limit costs no more to check than one with a low one)."""
        row = conn.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM web_limits WHERE scope = ? AND key = ?"
            " AND at > ? LIMIT ?) AS recent",
            (self.scope, stored, since, self.limit + 1),
        ).fetchone()
        return int(row[0])

    def _prune(self, conn: Connection, now: float, since: int) -> None:
        """Delete this scope's rows that no window can count any more (now and then)."""
        with self._lock:
            if now - self._last_prune < min(PRUNE_EVERY, self.window):
                return
            self._last_prune = now
        conn.execute("DELETE FROM web_limits WHERE scope = ? AND at <= ?", (self.scope, since))
