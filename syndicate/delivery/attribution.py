"""Which edition a bounce, a complaint or an unsubscribe belongs to, from the ledger.

The report counts them per edition, and retention (``retention.py``) records the same
attribution for an edition's events before folding its rows away, so one set of rules serves
both:

* a notification that quotes a Message-ID or provider id the ledger knows belongs to that
  edition; an SMTP refusal during a send names its edition in its reference; an event recorded
  when its edition was pruned keeps the edition it had then;
* any other notification counts for the newest edition delivered to that address before it
  arrived (the oldest one if none was before);
* a reader now unsubscribed counts for the newest edition delivered to them before they left.

``editions`` is the set of ledger keys that are editions (correction notices also use the
ledger; the caller knows which keys are editions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..store.database import Connection
from .retention import bounce_editions


@dataclass(frozen=True, slots=True)
class Attributed:
    """One bounce event and the ledger key it counts for."""

    event_id: int
    edition: str
    kind: str
    email: str


def utc(stamp: str) -> datetime:
    """A stored ISO time as an aware datetime (naive ones are UTC; garbage sorts first)."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def copies_of(
    conn: Connection, emails: set[str], editions: set[str]
) -> dict[str, list[tuple[str, str]]]:
    """Per address (lower-cased) of ``emails``: (time, edition) of every edition delivered to
    it, oldest first. One pass over the ledger, keeping only the addresses asked about."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if not emails:
        return found
    rows = conn.execute(
        "SELECT lower(email), updated, edition FROM deliveries WHERE state = 'sent'"
    )
    for email, updated, edition in rows:
        if email in emails and edition in editions:
            found[email].append((str(updated), str(edition)))
    for copies in found.values():
        copies.sort(key=lambda copy: (utc(copy[0]), copy[1]))
    return found


def newest_before(copies: Sequence[tuple[str, str]], moment: str) -> str | None:
    """The edition of the newest copy delivered at or before ``moment`` (else the oldest)."""
    if not copies:
        return None
    before = [edition for when, edition in copies if utc(when) <= utc(moment)]
    return before[-1] if before else copies[0][1]


def attribute_bounces(conn: Connection, editions: set[str]) -> list[Attributed]:
    """Every hard bounce, soft bounce and complaint with the ledger key it counts for (events
    that belong to none are left out)."""
    events = conn.execute(
        "SELECT id, lower(email), kind, source, reference, occasion, happened"
        " FROM bounce_events WHERE kind IN ('hard', 'soft', 'complaint')"
    ).fetchall()
    pinned = bounce_editions(conn)
    quoted = {str(event[5]).strip() for event in events if event[5]}
    by_id: dict[str, str] = {}
    if quoted:  # one pass over the ledger for the Message-IDs the notifications quote
        for message_id, provider_id, edition in conn.execute(
            "SELECT message_id, provider_id, edition FROM deliveries"
        ):
            for known in (str(message_id), str(provider_id)):
                if known in quoted:
                    by_id[known] = str(edition)
    found: list[Attributed] = []
    unplaced = []
    for event_id, email, kind, source, reference, occasion, happened in events:
        edition = pinned.get(int(event_id))
        if edition is None and occasion:
            edition = by_id.get(str(occasion).strip())
        if edition is None and source == "smtp":
            # A refusal during the send: its reference is smtp:<edition>:<address>.
            edition = str(reference).split(":", 1)[-1].rsplit(":", 1)[0]
        if edition is None:
            unplaced.append((int(event_id), str(email), str(kind), str(happened)))
        else:
            found.append(Attributed(int(event_id), edition, str(kind), str(email)))
    copies = copies_of(conn, {email for _, email, _, _ in unplaced}, editions)
    for event_id, email, kind, happened in unplaced:
        edition = newest_before(copies.get(email, []), happened)
        if edition is not None:
            found.append(Attributed(event_id, edition, kind, email))
    return found


def bounces_by_edition(conn: Connection, editions: set[str]) -> dict[str, dict[str, set[str]]]:
    """edition -> kind -> the addresses that bounced or complained about it."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for event in attribute_bounces(conn, editions):
        found[event.edition][event.kind].add(event.email)
    return found


def unsubscribes_by_edition(conn: Connection, editions: set[str]) -> dict[str, set[str]]:
    """edition -> the readers who unsubscribed after it reached them (and before the next)."""
    leavers = {
        str(email): str(updated)
        for email, updated in conn.execute(
            "SELECT lower(email), updated FROM subscribers WHERE status = 'unsubscribed'"
        )
    }
    copies = copies_of(conn, set(leavers), editions)
    found: dict[str, set[str]] = defaultdict(set)
    for email, updated in leavers.items():
        before = [e for when, e in copies.get(email, []) if utc(when) <= utc(updated)]
        if before:
            found[before[-1]].add(email)
    return found
