"""Ledger retention: fold an old, finished send's per-recipient rows into per-edition totals.

The send ledger (``ledger.py``) keeps one row per (edition, address): ~260 bytes each, so a
100,000-recipient edition costs ~26 MB for as long as the database lives. Past
``[state] keep_ledger_days`` those rows are folded, one edition (ledger key) per transaction,
into what the readers of the ledger still need:

* ``delivery_totals``: rows per state (sent, failed, skipped); ``ledger.summary`` adds them
  to the live rows, so reports, ``email --status``, publish and a rerun see the same counts;
* ``delivery_reasons``: how many failed and skipped rows gave each reason (addresses in the
  reason replaced by ``<address>``, the 20 commonest kept per state, the rest counted together);
* ``pruned_editions``: when the send began and ended, how many readers unsubscribed after it
  (the report's attribution, frozen at pruning), and when it was pruned;
* ``pruned_bounce_events``: the edition each bounce or complaint already recorded was
  attributed to, so the report keeps counting it for that edition without the Message-IDs;
* ``pruned_recipients``: who had a delivered copy, as sorted 8-byte SHA-256 digests of the
  lower-cased addresses (not the addresses): enough for a correction notice to find the
  readers who are still subscribed, 8 bytes a reader instead of a row.

Dropped: each address's row, its Message-ID and provider id, attempts, retry times and the
exact per-address reason. A bounce that arrives after its edition was pruned is matched by its
address only, like one that quotes no Message-ID (bounces come within days; the minimum
retention is 30).

The fold of one edition is one transaction that inserts the totals and deletes the rows, so a
prune killed at any point leaves each edition either folded or untouched, never both or
neither; a second prune finds nothing left to fold. Only this module writes these tables.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..crashpoints import crash_point
from ..store.database import Connection

PENDING_STATES = ("queued", "sending", "deferred")
DIGEST_BYTES = 8  # a collision among a million readers: ~1 in 30 million
TOP_REASONS = 20
OTHER_REASONS = "(other reasons)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Folded:
    """One edition (ledger key) folded into totals, or that a dry run would fold."""

    edition: str
    rows: int
    counts: dict[str, int]
    first_queued: str
    last_updated: str

    def describe(self) -> str:
        """``2025-W40: 98,311 rows (98,002 sent, 309 failed), sent 2025-10-06``."""
        parts = ", ".join(f"{self.counts[state]:,} {state}" for state in sorted(self.counts))
        return f"{self.edition}: {self.rows:,} rows ({parts}), last sent {self.last_updated[:10]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PrunedEdition:
    """What is kept of a pruned edition besides its counts."""

    edition: str
    recipients: int
    first_queued: str
    last_updated: str
    unsubscribes: int
    pruned_at: str
    reasons: tuple[tuple[str, str, int], ...] = field(default=())  # (state, reason, count)


def cutoff_of(now: datetime, keep_days: int) -> str:
    """The store's timestamp before which a finished send is folded."""
    return (now.astimezone(UTC) - timedelta(days=keep_days)).isoformat(timespec="seconds")


def foldable(conn: Connection, cutoff: str) -> list[str]:
    """Ledger keys whose every row is finished (no queued, sending or deferred row) and whose
    last row changed before ``cutoff``, oldest first."""
    rows = conn.execute(
        "SELECT edition, MAX(updated) AS last FROM deliveries GROUP BY edition"
        " HAVING MAX(updated) < ?"
        " AND SUM(CASE WHEN state IN ('queued', 'sending', 'deferred') THEN 1 ELSE 0 END) = 0"
        " ORDER BY MAX(updated), edition",
        (cutoff,),
    )
    return [str(row[0]) for row in rows]


def preview(conn: Connection, edition: str) -> Folded | None:
    """What folding ``edition`` would fold now, or None when it has no rows left."""
    counts = {
        str(row[0]): int(row[1])
        for row in conn.execute(
            "SELECT state, COUNT(*) FROM deliveries WHERE edition = ? GROUP BY state",
            (edition,),
        )
    }
    if not counts:
        return None
    first, last = conn.execute(
        "SELECT MIN(queued_at), MAX(updated) FROM deliveries WHERE edition = ?", (edition,)
    ).fetchone()
    return Folded(
        edition=edition,
        rows=sum(counts.values()),
        counts=counts,
        first_queued=str(first),
        last_updated=str(last),
    )


def fold(
    conn: Connection,
    edition: str,
    *,
    cutoff: str,
    now: str,
    bounce_events: Iterable[int] = (),
    unsubscribes: int = 0,
    ordinal: int = 1,
) -> Folded | None:
    """Fold ``edition``'s rows into the totals in one transaction, or None when there is
    nothing (left) to fold or the send is no longer finished and old (checked inside the
    transaction, so a send that started meanwhile is never cut short).

    ``bounce_events``: the ids of the bounce events the report attributes to this edition;
    ``unsubscribes``: the readers it counts as having left after this edition.
    ``ordinal``: this fold's place in the prune run (the crash point ``prune:N``).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        folded = _fold(conn, edition, cutoff, now, sorted(set(bounce_events)), unsubscribes)
        crash_point("prune", ordinal)  # the crash tests: totals written, rows not yet gone
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return folded


def _fold(
    conn: Connection,
    edition: str,
    cutoff: str,
    now: str,
    events: Sequence[int],
    unsubscribes: int,
) -> Folded | None:
    folded = preview(conn, edition)
    if folded is None or folded.last_updated >= cutoff:
        return None
    if any(state in folded.counts for state in PENDING_STATES):
        return None
    # Additive, so rows that somehow reached the ledger after a fold are folded on top.
    conn.executemany(
        "INSERT INTO delivery_totals (edition, state, total) VALUES (?, ?, ?)"
        " ON CONFLICT (edition, state) DO UPDATE"
        " SET total = delivery_totals.total + excluded.total",
        [(edition, state, count) for state, count in folded.counts.items()],
    )
    conn.executemany(
        "INSERT INTO delivery_reasons (edition, state, reason, total) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (edition, state, reason) DO UPDATE"
        " SET total = delivery_reasons.total + excluded.total",
        [(edition, state, reason, count) for state, reason, count in _reasons(conn, edition)],
    )
    conn.execute(
        "INSERT INTO pruned_editions"
        " (edition, recipients, first_queued, last_updated, unsubscribes, pruned_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (edition) DO UPDATE SET"
        " recipients = pruned_editions.recipients + excluded.recipients,"
        " first_queued = CASE WHEN excluded.first_queued < pruned_editions.first_queued"
        "  THEN excluded.first_queued ELSE pruned_editions.first_queued END,"
        " last_updated = CASE WHEN excluded.last_updated > pruned_editions.last_updated"
        "  THEN excluded.last_updated ELSE pruned_editions.last_updated END,"
        " unsubscribes = pruned_editions.unsubscribes + excluded.unsubscribes,"
        " pruned_at = excluded.pruned_at",
        (
            edition,
            folded.rows,
            folded.first_queued,
            folded.last_updated,
            unsubscribes,
            now,
        ),
    )
    conn.executemany(
        "INSERT INTO pruned_bounce_events (event_id, edition) VALUES (?, ?)"
        " ON CONFLICT (event_id) DO NOTHING",
        [(event, edition) for event in events],
    )
    _keep_recipients(conn, edition)
    conn.execute("DELETE FROM deliveries WHERE edition = ?", (edition,))
    return folded


def _reasons(conn: Connection, edition: str) -> list[tuple[str, str, int]]:
    """(state, reason, count) of the rows that were not simply sent, addresses blanked."""
    tally: Counter[tuple[str, str]] = Counter(
        (str(state), normal_reason(str(reason)))
        for state, reason in conn.execute(
            "SELECT state, reason FROM deliveries WHERE edition = ? AND state != 'sent'"
            " AND reason != ''",
            (edition,),
        )
    )
    kept: list[tuple[str, str, int]] = []
    for state in sorted({state for state, _ in tally}):
        ranked = sorted(
            ((count, reason) for (s, reason), count in tally.items() if s == state),
            key=lambda item: (-item[0], item[1]),
        )
        kept.extend((state, reason, count) for count, reason in ranked[:TOP_REASONS])
        rest = sum(count for count, _ in ranked[TOP_REASONS:])
        if rest:
            kept.append((state, OTHER_REASONS, rest))
    return kept


def normal_reason(reason: str) -> str:
    """A reason as counted for a pruned edition: addresses blanked, one line, 200 chars."""
    return " ".join(_blank(word) for word in reason.split())[:200]


def _blank(word: str) -> str:
    """``<a@b>:`` -> ``<address>:``; a word without ``@`` as it is (no regex: a fold reads
    thousands of reasons)."""
    if "@" not in word:
        return word
    return "<address>" + word[len(word.rstrip(":;,.")) :]


def digest(email: str) -> bytes:
    """The 8-byte digest a pruned edition keeps of a reader's address."""
    hasher = _SALTED.copy()
    hasher.update(email.lower().encode())
    return hasher.digest()[:DIGEST_BYTES]


_SALTED = hashlib.sha256(b"syndicate-recipient\0")


def _keep_recipients(conn: Connection, edition: str) -> None:
    """Who had a delivered copy, as digests (merged with any kept before)."""
    kept = set(recipients_of(conn, edition) or ())
    kept.update(
        digest(str(row[0]))
        for row in conn.execute(
            "SELECT email FROM deliveries WHERE edition = ? AND state = 'sent'", (edition,)
        )
    )
    conn.execute(
        "INSERT INTO pruned_recipients (edition, digests) VALUES (?, ?)"
        " ON CONFLICT (edition) DO UPDATE SET digests = excluded.digests",
        (edition, b"".join(sorted(kept))),
    )


def recipients_of(conn: Connection, edition: str) -> frozenset[bytes] | None:
    """The digests of the readers who had a delivered copy of a pruned edition, or None
    when it was not pruned."""
    row = conn.execute(
        "SELECT digests FROM pruned_recipients WHERE edition = ?", (edition,)
    ).fetchone()
    if row is None:
        return None
    blob = bytes(row[0])
    return frozenset(blob[i : i + DIGEST_BYTES] for i in range(0, len(blob), DIGEST_BYTES))


def totals(conn: Connection, edition: str) -> dict[str, int]:
    """A pruned edition's folded counts by state (empty for one never pruned)."""
    return {
        str(row[0]): int(row[1])
        for row in conn.execute(
            "SELECT state, total FROM delivery_totals WHERE edition = ?", (edition,)
        )
    }


def pruned(conn: Connection, edition: str) -> PrunedEdition | None:
    """What is kept of ``edition`` besides its counts, or None when it was never pruned."""
    row = conn.execute(
        "SELECT recipients, first_queued, last_updated, unsubscribes, pruned_at"
        " FROM pruned_editions WHERE edition = ?",
        (edition,),
    ).fetchone()
    if row is None:
        return None
    reasons = tuple(
        (str(r[0]), str(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT state, reason, total FROM delivery_reasons WHERE edition = ?"
            " ORDER BY state, total DESC, reason",
            (edition,),
        )
    )
    return PrunedEdition(
        edition=edition,
        recipients=int(row[0]),
        first_queued=str(row[1]),
        last_updated=str(row[2]),
        unsubscribes=int(row[3]),
        pruned_at=str(row[4]),
        reasons=reasons,
    )


def first_queued(conn: Connection) -> dict[str, str]:
    """Every pruned edition with the time its send began."""
    return {
        str(row[0]): str(row[1])
        for row in conn.execute("SELECT edition, first_queued FROM pruned_editions")
    }


def unsubscribes(conn: Connection) -> dict[str, int]:
    """Readers counted as leaving after each pruned edition, frozen when it was pruned."""
    return {
        str(row[0]): int(row[1])
        for row in conn.execute("SELECT edition, unsubscribes FROM pruned_editions")
    }


def bounce_editions(conn: Connection) -> dict[int, str]:
    """Bounce event id -> the pruned edition it was attributed to when it was pruned."""
    return {
        int(row[0]): str(row[1])
        for row in conn.execute("SELECT event_id, edition FROM pruned_bounce_events")
    }


def last_run(conn: Connection, name: str) -> str | None:
    """When the job ``name`` (``publish``'s daily prune) last ran, ISO UTC, or None."""
    row = conn.execute(
        "SELECT last_run FROM retention_runs WHERE name = ?", (name,)
    ).fetchone()
    return None if row is None else str(row[0])


def mark_run(conn: Connection, name: str, when: str) -> None:
    """Remember that the job ``name`` ran at ``when``."""
    conn.execute(
        "INSERT INTO retention_runs (name, last_run) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run",
        (name, when),
    )
