"""What happened to each edition, gathered from the state database (no network, no clock).

Sources, and how each number is attributed to an edition:

* which editions: those in the editions table that the ledger has rows for (correction notices
  also use the ledger; they are not editions and are left out);
* recipients and outcomes: the send ledger (one row per recipient; ``sending`` = uncertain);
* hard/soft bounces and complaints: ``bounce_events`` (``bounces process`` and refusals during
  the send), by the Message-ID or provider id the notification quotes; a notification that
  quotes none counts for the newest edition delivered to that address before it arrived;
* unsubscribes: readers now unsubscribed, counted for the newest edition delivered to them
  before they left (the edition they were reading when they went);
* clicks: the aggregate counters of tracked links (``[tracking] clicks``);
* duration and rate: the send-run log (each run's own clock).

Addresses are counted, not events: a reader whose mailbox bounced twice for one edition
counts once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..delivery import ledger as ledger_db
from ..delivery.clicks import edition_links
from ..delivery.ledger import RowState
from ..delivery.sendruns import edition_runs
from ..delivery.suppressions import ensure_bounces_schema
from ..edition.state import ensure_editions_schema, get_edition
from ..edition.stream import edition_ids_of
from ..errors import UsageError
from ..store.database import Connection


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkClicks:
    """One tracked link of an edition and how often it was followed (by anyone)."""

    url: str
    clicks: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EditionNumbers:
    """Everything the report says about one edition."""

    edition: str
    subject: str
    status: str  # draft | sending | sent, or "" when only the ledger knows it
    sent_at: str  # when it was marked sent (ISO), or ""
    first_queued: str  # when its first recipient was queued (ISO)
    recipients: int
    delivered: int
    deferred: int
    failed: int
    uncertain: int
    skipped: int
    queued: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    unsubscribes: int
    links: tuple[LinkClicks, ...] = ()
    runs: int = 0
    seconds: float = 0.0  # time the send runs took, added up
    handed_over: int = 0  # messages the runs handed to the transport (sent + failed)

    @property
    def clicks(self) -> int:
        """Clicks on all of the edition's tracked links."""
        return sum(link.clicks for link in self.links)

    @property
    def rate(self) -> float | None:
        """Messages handed over per second while sending, or None without a timed run."""
        return self.handed_over / self.seconds if self.seconds > 0 and self.handed_over else None

    @property
    def bounce_rate(self) -> float:
        """Bounced addresses (hard and soft) per recipient."""
        return _ratio(self.hard_bounces + self.soft_bounces, self.recipients)

    @property
    def unsubscribe_rate(self) -> float:
        """Unsubscribes per delivered copy."""
        return _ratio(self.unsubscribes, self.delivered)

    @property
    def complaint_rate(self) -> float:
        """Complaints per delivered copy (mailbox providers watch this one)."""
        return _ratio(self.complaints, self.delivered)


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The editions asked about (oldest first) and the trend over them."""

    editions: tuple[EditionNumbers, ...]
    detail: tuple[EditionNumbers, ...]  # the editions shown in full (one, or the newest)
    growth: tuple[int, ...] = field(default=())  # recipients minus the previous edition's

    def as_dict(self) -> dict[str, object]:
        """The report as plain data for ``--json``: every number, rates as fractions."""
        return {
            "editions": [_numbers_dict(numbers) for numbers in self.editions],
            "detail": [numbers.edition for numbers in self.detail],
            "trend": [
                {
                    "edition": numbers.edition,
                    "recipients": numbers.recipients,
                    "growth": growth,
                    "bounce_rate": round(numbers.bounce_rate, 6),
                    "unsubscribe_rate": round(numbers.unsubscribe_rate, 6),
                    "complaint_rate": round(numbers.complaint_rate, 6),
                }
                for numbers, growth in zip(self.editions, self.growth, strict=True)
            ],
        }


def _numbers_dict(numbers: EditionNumbers) -> dict[str, object]:
    rate = numbers.rate
    return {
        "edition": numbers.edition,
        "subject": numbers.subject,
        "status": numbers.status,
        "sent_at": numbers.sent_at or None,
        "first_queued": numbers.first_queued or None,
        "recipients": numbers.recipients,
        "delivered": numbers.delivered,
        "deferred": numbers.deferred,
        "failed": numbers.failed,
        "uncertain": numbers.uncertain,
        "skipped": numbers.skipped,
        "queued": numbers.queued,
        "bounces": {
            "hard": numbers.hard_bounces,
            "soft": numbers.soft_bounces,
            "complaints": numbers.complaints,
        },
        "unsubscribes": numbers.unsubscribes,
        "clicks": {
            "total": numbers.clicks,
            "links": [{"url": link.url, "clicks": link.clicks} for link in numbers.links],
        },
        "send": {
            "runs": numbers.runs,
            "seconds": round(numbers.seconds, 3),
            "handed_over": numbers.handed_over,
            "per_second": round(rate, 3) if rate is not None else None,
        },
    }


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def gather(
    conn: Connection,
    *,
    edition: str | None = None,
    since: datetime | None = None,
    last: int = 10,
    newsletter: str | None = None,
) -> Report:
    """The report for one edition (``latest`` works), or for the editions sent since
    ``since``, or the last ``last`` editions; the trend spans the editions listed."""
    ensure_editions_schema(conn)
    ensure_bounces_schema(conn)
    names = _edition_names(conn, newsletter)
    if edition is not None:
        if edition == "latest":
            if not names:
                raise UsageError("no edition has been sent yet: nothing to report")
            edition = names[-1]
        if edition not in names:
            recent = ", ".join(names[-5:]) or "none yet"
            raise UsageError(f"no sent edition {edition!r} (recent: {recent})")
        upto = names.index(edition) + 1
        chosen = names[max(0, upto - last) if last else 0 : upto]
    elif since is not None:
        chosen = [name for name in names if _utc(_first_queued(conn, name)) >= since]
    else:
        chosen = names[-last:] if last else names
    bounces = _bounces_by_edition(conn)
    leavers = _unsubscribes_by_edition(conn)
    numbers = [_numbers(conn, name, bounces, leavers) for name in chosen]
    growth = _growth(conn, names, numbers)
    detail = tuple(n for n in numbers if n.edition == edition) if edition else tuple(numbers[-1:])
    return Report(editions=tuple(numbers), detail=detail, growth=growth)


def _utc(stamp: str) -> datetime:
    """A stored ISO time as an aware datetime (naive ones are UTC; garbage sorts first)."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _edition_names(conn: Connection, newsletter: str | None) -> list[str]:
    """Editions the ledger knows, oldest first; only one newsletter's when asked. Other
    sends that use the ledger (correction notices) are not editions and are left out."""
    editions = _edition_ids(conn)
    names = [s.edition for s in ledger_db.editions(conn) if s.edition in editions]
    if newsletter is None:
        return names
    mine = edition_ids_of(conn, newsletter)  # [newsletters]: edition.stream places them
    if mine is None:
        raise UsageError(
            f"--newsletter {newsletter}: this publication has one newsletter; "
            "leave --newsletter out"
        )
    return [name for name in names if name in mine]


def _first_queued(conn: Connection, edition: str) -> str:
    """When the edition's first recipient was queued (the send began), ISO; "" if never."""
    row = conn.execute(
        "SELECT MIN(queued_at) FROM deliveries WHERE edition = ?", (edition,)
    ).fetchone()
    return str(row[0] or "")


def _numbers(
    conn: Connection,
    edition: str,
    bounces: dict[str, dict[str, set[str]]],
    leavers: dict[str, set[str]],
) -> EditionNumbers:
    counts = ledger_db.summary(conn, edition)
    record = get_edition(conn, edition)
    runs = edition_runs(conn, edition)
    kinds = bounces.get(edition, {})
    return EditionNumbers(
        edition=edition,
        subject=record.subject if record else "",
        status=record.status if record else "",
        sent_at=record.sent_at.isoformat(timespec="seconds") if record and record.sent_at else "",
        first_queued=_first_queued(conn, edition),
        recipients=counts.total,
        delivered=counts[RowState.SENT],
        deferred=counts[RowState.DEFERRED],
        failed=counts[RowState.FAILED],
        uncertain=counts[RowState.SENDING],
        skipped=counts[RowState.SKIPPED],
        queued=counts[RowState.QUEUED],
        hard_bounces=len(kinds.get("hard", set())),
        soft_bounces=len(kinds.get("soft", set())),
        complaints=len(kinds.get("complaint", set())),
        unsubscribes=len(leavers.get(edition, set())),
        links=tuple(
            LinkClicks(url=link.url, clicks=link.clicks) for link in edition_links(conn, edition)
        ),
        runs=len(runs),
        seconds=sum(run.seconds for run in runs),
        handed_over=sum(run.sent + run.failed for run in runs),
    )


def _edition_ids(conn: Connection) -> set[str]:
    """The ids of every edition (the ledger also holds other sends' rows)."""
    return {str(row[0]) for row in conn.execute("SELECT id FROM editions")}


def _copies_of(conn: Connection, emails: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Per address (lower-cased) of ``emails``: (time, edition) of every edition delivered to
    it, oldest first. One pass over the ledger, keeping only the addresses asked about."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if not emails:
        return found
    editions = _edition_ids(conn)
    rows = conn.execute(
        "SELECT lower(email), updated, edition FROM deliveries WHERE state = 'sent'"
    )
    for email, updated, edition in rows:
        if email in emails and edition in editions:
            found[email].append((str(updated), str(edition)))
    for copies in found.values():
        copies.sort(key=lambda copy: (_utc(copy[0]), copy[1]))
    return found


def _newest_before(copies: Sequence[tuple[str, str]], moment: str) -> str | None:
    """The edition of the newest copy delivered at or before ``moment`` (else the oldest)."""
    if not copies:
        return None
    before = [edition for when, edition in copies if _utc(when) <= _utc(moment)]
    return before[-1] if before else copies[0][1]


def _bounces_by_edition(conn: Connection) -> dict[str, dict[str, set[str]]]:
    """edition -> kind -> the addresses that bounced or complained about it."""
    events = conn.execute(
        "SELECT lower(email), kind, source, reference, occasion, happened FROM bounce_events"
        " WHERE kind IN ('hard', 'soft', 'complaint')"
    ).fetchall()
    quoted = {str(event[4]).strip() for event in events if event[4]}
    by_id: dict[str, str] = {}
    if quoted:  # one pass over the ledger for the Message-IDs the notifications quote
        for message_id, provider_id, edition in conn.execute(
            "SELECT message_id, provider_id, edition FROM deliveries"
        ):
            for known in (str(message_id), str(provider_id)):
                if known in quoted:
                    by_id[known] = str(edition)
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    unplaced = []
    for email, kind, source, reference, occasion, happened in events:
        edition = by_id.get(str(occasion).strip()) if occasion else None
        if edition is None and source == "smtp":
            # A refusal during the send: its reference is smtp:<edition>:<address>.
            edition = str(reference).split(":", 1)[-1].rsplit(":", 1)[0]
        if edition is None:
            unplaced.append((email, str(kind), str(happened)))
        else:
            found[edition][str(kind)].add(email)
    copies = _copies_of(conn, {email for email, _, _ in unplaced})
    for email, kind, happened in unplaced:
        edition = _newest_before(copies.get(email, []), happened)
        if edition is not None:
            found[edition][kind].add(email)
    return found


def _unsubscribes_by_edition(conn: Connection) -> dict[str, set[str]]:
    """edition -> the readers who unsubscribed after it reached them (and before the next)."""
    leavers = {
        str(email): str(updated)
        for email, updated in conn.execute(
            "SELECT lower(email), updated FROM subscribers WHERE status = 'unsubscribed'"
        )
    }
    copies = _copies_of(conn, set(leavers))
    found: dict[str, set[str]] = defaultdict(set)
    for email, updated in leavers.items():
        before = [e for when, e in copies.get(email, []) if _utc(when) <= _utc(updated)]
        if before:
            found[before[-1]].add(email)
    return found


def _growth(
    conn: Connection, names: list[str], numbers: list[EditionNumbers]
) -> tuple[int, ...]:
    """Recipients of each edition minus those of the edition before it (0 for the first)."""
    growth = []
    for item in numbers:
        index = names.index(item.edition)
        previous = ledger_db.summary(conn, names[index - 1]).total if index else item.recipients
        growth.append(item.recipients - previous)
    return tuple(growth)
