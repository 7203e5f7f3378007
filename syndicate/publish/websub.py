"""WebSub publisher pings: tell the hub which feed URLs changed, so subscribers fetch at once.

A ping is a form-encoded POST of ``hub.mode=publish`` and ``hub.url=<feed URL>`` (WebSub 1.0,
section 7: one topic per request, since hubs differ on accepting several). Pings for changed feeds
are queued in the state database *before* they are sent and dropped only once the hub answers
2xx, so a run killed between build and ping, or a hub that is down, is made good by the next
run: every change is announced, none twice after success, and a no-op run pings nothing.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from ..store.database import Connection, ensure_schema

log = logging.getLogger("syndicate.websub")

FEED_MEDIA_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)
TIMEOUT_SECONDS = 10.0
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
USER_AGENT = "syndicate-websub/1"

MIGRATIONS = (
    """
    CREATE TABLE websub_pending (
        hub TEXT NOT NULL,
        url TEXT NOT NULL,
        queued_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (hub, url)
    )
    """,
)

Sleep = Callable[[float], None]


@dataclass(slots=True)
class PingReport:
    """What a ping pass did: URLs the hub accepted, and URLs left queued with the reason."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class PingError(Exception):
    """One ping failed; ``retry`` says whether trying again soon could help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        self.retry = retry
        super().__init__(message)


def queue(conn: Connection, hub: str, urls: Iterable[str], now: datetime) -> int:
    """Remember that ``urls`` must be announced to ``hub``; already-queued URLs stay once."""
    ensure_schema(conn, "websub", MIGRATIONS)
    rows = [(hub, url, now.isoformat()) for url in urls]
    with conn:
        conn.executemany(
            "INSERT INTO websub_pending (hub, url, queued_at) VALUES (?, ?, ?)"
            " ON CONFLICT(hub, url) DO NOTHING",
            rows,
        )
    return len(rows)


def pending(conn: Connection, hub: str) -> list[str]:
    """URLs still to announce to ``hub``, oldest first."""
    ensure_schema(conn, "websub", MIGRATIONS)
    cursor = conn.execute(
        "SELECT url FROM websub_pending WHERE hub = ? ORDER BY queued_at, url", (hub,)
    )
    return [row[0] for row in cursor]


def flush(
    conn: Connection,
    hub: str,
    *,
    timeout: float = TIMEOUT_SECONDS,
    attempts: int = ATTEMPTS,
    sleep: Sleep = time.sleep,
) -> PingReport:
    """Ping ``hub`` for every queued URL; successes and refusals (4xx) leave the queue.

    Network errors, 429 and 5xx keep the URL queued for the next run.
    """
    report = PingReport()
    for url in pending(conn, hub):
        try:
            ping(hub, url, timeout=timeout, attempts=attempts, sleep=sleep)
        except PingError as exc:
            if exc.retry:
                report.failed[url] = f"{exc}; the next run retries"
                sql = (
                    "UPDATE websub_pending SET attempts = attempts + 1, last_error = ?"
                    " WHERE hub = ? AND url = ?"
                )
                params: tuple[str, ...] = (str(exc), hub, url)
            else:
                # The hub refused the request itself (4xx): repeating it cannot help.
                report.failed[url] = f"{exc}; not retried"
                sql = "DELETE FROM websub_pending WHERE hub = ? AND url = ?"
                params = (hub, url)
            with conn:
                conn.execute(sql, params)
            continue
        with conn:
            conn.execute("DELETE FROM websub_pending WHERE hub = ? AND url = ?", (hub, url))
        report.sent.append(url)
    return report


def ping(
    hub: str,
    url: str,
    *,
    timeout: float = TIMEOUT_SECONDS,
    attempts: int = ATTEMPTS,
    sleep: Sleep = time.sleep,
) -> None:
    """POST one publish notification; retry network errors, 429 and 5xx with backoff."""
    if not hub.lower().startswith(("http://", "https://")):
        raise PingError(f"hub URL must be http(s): {hub!r}", retry=False)
    body = urlencode({"hub.mode": "publish", "hub.url": url}).encode("ascii")
    attempt = 1
    while True:
        try:
            _post(hub, body, timeout)
        except PingError as exc:
            if not exc.retry or attempt >= attempts:
                raise
            log.debug("websub: attempt %d for %s failed: %s; retrying", attempt, url, exc)
            sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            attempt += 1
            continue
        log.debug("websub: %s accepted %s", hub, url)
        return


def _post(hub: str, body: bytes, timeout: float) -> None:
    request = urllib.request.Request(
        hub,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(4096)
    except urllib.error.HTTPError as exc:
        exc.close()
        retry = exc.code == 429 or exc.code >= 500
        raise PingError(f"hub answered HTTP {exc.code} {exc.reason}", retry=retry) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PingError(f"hub unreachable: {reason}", retry=True) from None
