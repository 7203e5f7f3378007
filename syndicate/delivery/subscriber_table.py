"""The subscribers table itself: its schema, its row type and the address rules.

The part of the subscriber store that the suppression store builds on (suppressions need to
look a subscriber up; adding a subscriber needs to ask whether the address is suppressed), so
``subscribers`` -> ``suppressions`` -> ``subscriber_table`` and no import runs in a circle.
``subscribers`` re-exports every name here: callers import from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ..errors import UsageError
from ..store.database import Connection, Row, ensure_schema


class Status(StrEnum):
    """A subscriber's standing. Only ACTIVE receives editions; the column is free text so
    new statuses need no migration."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    PENDING = "pending"  # double opt-in: waiting for the confirmation click
    COMPLAINED = "complained"  # marked the newsletter as spam at their provider


# Plain strings: ``str in Status`` warns (and changes meaning) before Python 3.12.
_STATUSES = frozenset(str(status) for status in Status)

MIGRATIONS = (
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'active',
        reason TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL,
        updated TEXT NOT NULL
    );
    CREATE INDEX subscribers_status ON subscribers (status, id)
    """,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriber:
    """One row of the store; ``email`` is the normalised address."""

    id: int
    email: str
    name: str
    status: Status
    reason: str
    source: str
    created: str
    updated: str


class InvalidAddress(UsageError):
    """An address email-validator refuses; the message says why."""


def ensure_subscribers(conn: Connection) -> None:
    """Create or upgrade the subscribers table (a cheap check once it is current)."""
    ensure_current(conn, "subscribers", MIGRATIONS)


def ensure_current(conn: Connection, component: str, migrations: tuple[str, ...]) -> None:
    """``ensure_schema`` only when needed: safe to call inside a transaction once migrated."""
    row = conn.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (component,)
    ).fetchone()
    if row is None or row[0] != len(migrations):
        ensure_schema(conn, component, migrations)


def normalize_email(address: str) -> str:
    """The canonical form of an address (lower-case domain, IDNA, no display name).

    Raises InvalidAddress with email-validator's own explanation.
    """
    from email_validator import (  # IDNA tables load slowly: only when checking
        EmailNotValidError,
        validate_email,
    )

    text = address.strip()
    if not text:
        raise InvalidAddress("empty email address")
    try:
        normalized = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{text!r}: {exc}") from None
    return plain_address(normalized)


def plain_address(address: str) -> str:
    """``address`` unchanged if it may stand in a To: header as it is, else InvalidAddress.

    email-validator accepts ``=?utf-8?q?...?=@example.com`` (``=`` and ``?`` are legal in a
    local part), but mail programs decode such an encoded word in a header, so it would
    show as another name and address, or a line break, in the reader's To line.
    """
    if "=?" in address or "\r" in address or "\n" in address:
        raise InvalidAddress(f"{address!r}: encoded words (=?...?=) are not allowed in an address")
    return address


def utcnow() -> str:
    """The timestamp format of the store: ISO 8601 UTC, second precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def subscriber_from_row(row: Row) -> Subscriber:
    return Subscriber(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        status=Status(row["status"]) if row["status"] in _STATUSES else Status.UNSUBSCRIBED,
        reason=row["reason"],
        source=row["source"],
        created=row["created"],
        updated=row["updated"],
    )


def get_subscriber(conn: Connection, email: str) -> Subscriber | None:
    """The subscriber with this address (any case), or None."""
    ensure_subscribers(conn)
    row = conn.execute(
        "SELECT * FROM subscribers WHERE email = ?", (normalize_email(email),)
    ).fetchone()
    return subscriber_from_row(row) if row else None


def stored_exactly(conn: Connection, email: str) -> bool:
    """True if ``email`` is stored byte for byte (case included): old tokens are checked so."""
    ensure_subscribers(conn)
    row = conn.execute(
        "SELECT 1 FROM subscribers WHERE email = ? COLLATE BINARY", (email,)
    ).fetchone()
    return row is not None
