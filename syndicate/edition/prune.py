"""``syndicate db prune`` and publish's daily prune: which sends are old enough to fold.

A ledger key (an edition, or a correction notice's send) is folded into per-edition totals
(``delivery.retention``) once every row is finished (sent, failed or skipped), its last row
changed more than ``keep_days`` ago, and its own record says it was sent: an edition or
notice still marked ``sending`` (its run stopped before it was closed) keeps its rows until
publish or ``email --send`` closes it.

Before folding, the bounces, complaints and unsubscribes the report attributes to each folded
edition are pinned to it (``delivery.attribution``), so the report says the same after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..delivery import ledger as ledger_db
from ..delivery import retention
from ..delivery.attribution import attribute_bounces, unsubscribes_by_edition, utc
from ..delivery.retention import Folded
from ..store.database import Connection
from ..text.words import plural
from .notice_state import ensure_notices_table
from .state import ensure_editions_schema

log = logging.getLogger("syndicate.prune")

JOB = "prune-ledger"  # retention_runs: when publish last pruned
EVERY = timedelta(days=1)


@dataclass(slots=True, kw_only=True)
class PruneResult:
    """What a prune folded (or, in a dry run, would fold)."""

    keep_days: int
    cutoff: str
    dry_run: bool = False
    folded: list[Folded] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # old and finished, but not marked sent

    @property
    def rows(self) -> int:
        """Ledger rows folded into totals."""
        return sum(item.rows for item in self.folded)

    def summary(self) -> str:
        """One line for publish's log and the end of ``db prune``."""
        verb = "would fold" if self.dry_run else "folded"
        if not self.folded:
            return f"ledger: nothing to fold (no finished send before {self.cutoff[:10]})"
        return (
            f"ledger: {verb} {plural(self.rows, 'row')} of "
            f"{plural(len(self.folded), 'send')} finished before {self.cutoff[:10]} "
            f"(keep_ledger_days = {self.keep_days}) into per-edition totals"
        )

    def lines(self) -> list[str]:
        """One line per folded send, the held ones, then the summary."""
        out = [("would fold " if self.dry_run else "folded ") + f.describe() for f in self.folded]
        out.extend(
            f"kept {key}: its rows are finished but it is still marked sending; "
            "publish or `email --send` closes it first"
            for key in self.held
        )
        out.append(self.summary())
        return out


def prune_ledger(
    conn: Connection, *, keep_days: int, now: datetime, dry_run: bool = False
) -> PruneResult:
    """Fold every finished send older than ``keep_days`` into totals, one transaction each.

    Safe to run at any time and to kill: an edition is folded whole or not at all, and a
    rerun folds what is left. ``dry_run`` lists them and changes nothing.
    """
    ensure_editions_schema(conn)
    ensure_notices_table(conn)
    ledger_db.ensure_ledger(conn)
    result = PruneResult(
        keep_days=keep_days, cutoff=retention.cutoff_of(now, keep_days), dry_run=dry_run
    )
    records = _records(conn)
    chosen = []
    for key in retention.foldable(conn, result.cutoff):
        if records.get(key, "sent") == "sent":
            chosen.append(key)
        else:
            result.held.append(key)
    if dry_run or not chosen:
        result.folded = [f for f in (retention.preview(conn, key) for key in chosen) if f]
        return result
    editions = _edition_ids(conn)
    events: dict[str, list[int]] = {}
    for event in attribute_bounces(conn, editions):
        events.setdefault(event.edition, []).append(event.event_id)
    leavers = unsubscribes_by_edition(conn, editions)
    stamp = now.astimezone(UTC).isoformat(timespec="seconds")
    for ordinal, key in enumerate(chosen, start=1):
        folded = retention.fold(
            conn,
            key,
            cutoff=result.cutoff,
            now=stamp,
            bounce_events=events.get(key, ()),
            unsubscribes=len(leavers.get(key, ())),
            ordinal=ordinal,
        )
        if folded is not None:
            log.debug("folded %s", folded.describe())
            result.folded.append(folded)
    return result


def prune_if_due(conn: Connection, *, keep_days: int, now: datetime) -> PruneResult | None:
    """Publish's prune: at most once a day, and never with ``keep_ledger_days = 0``."""
    if keep_days == 0:
        return None
    ledger_db.ensure_ledger(conn)
    last = retention.last_run(conn, JOB)
    if last is not None and now.astimezone(UTC) - utc(last) < EVERY:
        return None
    result = prune_ledger(conn, keep_days=keep_days, now=now)
    mark_pruned(conn, now)
    return result


def mark_pruned(conn: Connection, now: datetime) -> None:
    """Remember the prune, so publish's daily one waits a day from it."""
    retention.mark_run(conn, JOB, now.astimezone(UTC).isoformat(timespec="seconds"))


def _records(conn: Connection) -> dict[str, str]:
    """Every ledger key's own record: an edition's status, or a correction notice's."""
    found = {str(row[0]): str(row[1]) for row in conn.execute("SELECT id, status FROM editions")}
    found.update(
        (str(row[0]), str(row[1]))
        for row in conn.execute("SELECT send_key, status FROM correction_notices")
    )
    return found


def _edition_ids(conn: Connection) -> set[str]:
    return {str(row[0]) for row in conn.execute("SELECT id FROM editions")}
