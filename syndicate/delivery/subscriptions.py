"""Subscriptions: which newsletters each subscriber gets, how often, and since when.

A publication with ``[newsletters]`` keeps one row per (subscriber, newsletter): its status
(``active``, ``pending`` while double opt-in waits, ``unsubscribed``), the reader's cadence
(``immediate``, ``daily``, ``weekly``, or ``""`` for the newsletter's own schedule), when and
how it was given, and ``floor``: the position in the newsletter's article stream up to which
the subscriber has been served (``edition.stream``). Articles after the floor are still owed
to them; that one number is what makes "every article exactly once, whatever the cadence and
whenever it changes" cheap to plan for 100,000 readers. A NULL floor means "not placed yet":
the next plan for their cadence starts them where that cadence's last edition ended.

The subscriber's own status (``subscribers``) still rules: a bounced, complained or
globally unsubscribed address gets nothing whatever its subscriptions say.

Free attributes (extra CSV columns such as ``city``) live in ``subscriber_attributes`` and
select segments (``--where city=Berlin``).

The first use on a database made before newsletters existed copies it aside
(``<db>.before-newsletters.bak``) and subscribes every subscriber to the default newsletters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from enum import StrEnum

from ..errors import UsageError
from ..store.database import Connection, Row
from ..store.lock import run_lock
from ..store.sqlite import backup_copy, database_file
from .subscriber_table import Status, ensure_current, ensure_subscribers, utcnow

COMPONENT = "subscriptions"
BACKUP_SUFFIX = ".before-newsletters.bak"

MIGRATIONS = (
    """
    CREATE TABLE subscriptions (
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        newsletter TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active',
        cadence TEXT NOT NULL DEFAULT '',
        floor INTEGER,
        how TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        PRIMARY KEY (subscriber_id, newsletter)
    );
    CREATE INDEX subscriptions_newsletter ON subscriptions (newsletter, status, cadence);
    CREATE TABLE subscriber_attributes (
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (subscriber_id, name)
    );
    CREATE INDEX subscriber_attributes_value ON subscriber_attributes (name, value)
    """,
)

CADENCES = ("immediate", "daily", "weekly")


class SubStatus(StrEnum):
    """One subscription's standing; only ACTIVE (of an active subscriber) receives."""

    ACTIVE = "active"
    PENDING = "pending"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """One (subscriber, newsletter) row."""

    subscriber_id: int
    newsletter: str
    status: SubStatus
    cadence: str
    floor: int | None
    how: str
    created: str
    updated: str


# The claim-time check, for the ledger: the row's subscriber still has this newsletter.
# ``?`` takes the newsletter id; the outer query provides ``email``.
ACTIVE_SUBSCRIPTION_SQL = (
    "EXISTS (SELECT 1 FROM subscriptions x JOIN subscribers y ON y.id = x.subscriber_id"
    " WHERE y.email = ? AND x.newsletter = ? AND x.status = 'active')"
)


def ensure_subscriptions(conn: Connection, defaults: Sequence[str]) -> None:
    """Create or upgrade the tables; on a database that had subscribers before, first copy
    it aside. Then give every subscriber without any subscription the ``defaults``."""
    ensure_subscribers(conn)
    upgraded = installed(conn)
    if not upgraded:
        _upgrade(conn)
    adopt(conn, defaults, how="default" if upgraded else "upgrade")


def _upgrade(conn: Connection) -> None:
    """First use: copy a database that has subscribers aside, then add the tables.

    Under a lock file beside the database, so that a second process upgrading at the same
    moment waits, then finds the tables there (and never copies an upgraded database over
    the pre-upgrade copy).
    """
    path = database_file(conn)
    guard = (
        run_lock(path.with_name(path.name + ".upgrade.lock"), wait=True, timeout=120)
        if path is not None
        else nullcontext()
    )
    with guard:
        if installed(conn):
            return
        if conn.execute("SELECT 1 FROM subscribers LIMIT 1").fetchone():
            backup_copy(conn, BACKUP_SUFFIX)
        ensure_current(conn, COMPONENT, MIGRATIONS)


def installed(conn: Connection) -> bool:
    """Whether this database has subscriptions (a [newsletters] publication used it)."""
    row = conn.execute("SELECT 1 FROM schema_versions WHERE component = ?", (COMPONENT,)).fetchone()
    return row is not None


def adopt(conn: Connection, defaults: Sequence[str], *, how: str) -> int:
    """Subscribe every subscriber who has no subscription row at all to ``defaults``.

    Such subscribers came from before ``[newsletters]`` existed (or were added by a
    one-newsletter command since); "no choice" means the defaults. A pending subscriber
    (double opt-in) is left alone: confirming applies the set they chose. Their floor is 0: every
    article the stream owes anyone is owed to them. Idempotent.
    """
    if not defaults:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT s.id FROM subscribers s WHERE s.status != 'pending' AND NOT EXISTS"
                " (SELECT 1 FROM subscriptions x WHERE x.subscriber_id = s.id)"
            )
        ]
        now = utcnow()
        conn.executemany(
            "INSERT INTO subscriptions"
            " (subscriber_id, newsletter, status, cadence, floor, how, created, updated)"
            " VALUES (?, ?, 'active', '', 0, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(sid, name, how, now, now) for sid in ids for name in defaults],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(ids)


def _subscription(row: Row) -> Subscription:
    return Subscription(
        subscriber_id=row["subscriber_id"],
        newsletter=row["newsletter"],
        status=SubStatus(row["status"]),
        cadence=row["cadence"],
        floor=row["floor"],
        how=row["how"],
        created=row["created"],
        updated=row["updated"],
    )


def subscriptions_of(conn: Connection, subscriber_id: int) -> list[Subscription]:
    """A subscriber's rows, by newsletter id."""
    rows = conn.execute(
        "SELECT * FROM subscriptions WHERE subscriber_id = ? ORDER BY newsletter",
        (subscriber_id,),
    )
    return [_subscription(row) for row in rows]


def subscribe(
    conn: Connection,
    subscriber_id: int,
    newsletter: str,
    *,
    cadence: str = "",
    how: str,
    status: SubStatus = SubStatus.ACTIVE,
) -> None:
    """Subscribe (or re-subscribe, or change the cadence of) one newsletter.

    A re-subscription keeps its floor: the articles sent while away are not owed. A change
    of cadence keeps it too, so the next edition of the new cadence carries exactly what
    the old one had not yet sent. Not inside a transaction of its own: callers group.
    """
    if cadence and cadence not in CADENCES:
        raise UsageError(f"unknown cadence {cadence!r}; use one of {', '.join(CADENCES)}")
    now = utcnow()
    conn.execute(
        "INSERT INTO subscriptions"
        " (subscriber_id, newsletter, status, cadence, floor, how, created, updated)"
        " VALUES (?, ?, ?, ?, NULL, ?, ?, ?)"
        " ON CONFLICT (subscriber_id, newsletter) DO UPDATE SET status = excluded.status,"
        " cadence = excluded.cadence, how = excluded.how, updated = excluded.updated",
        (subscriber_id, newsletter, str(status), cadence, how, now, now),
    )


def unsubscribe_from(
    conn: Connection, subscriber_id: int, newsletter: str, *, how: str
) -> bool:
    """Leave one newsletter; True if a subscription was active (or pending) before."""
    cursor = conn.execute(
        "UPDATE subscriptions SET status = 'unsubscribed', how = ?, updated = ?"
        " WHERE subscriber_id = ? AND newsletter = ? AND status != 'unsubscribed'",
        (how, utcnow(), subscriber_id, newsletter),
    )
    return cursor.rowcount > 0


def unsubscribe_everything(conn: Connection, subscriber_id: int, *, how: str) -> None:
    """Every subscription of a subscriber to ``unsubscribed`` (their status is the caller's)."""
    conn.execute(
        "UPDATE subscriptions SET status = 'unsubscribed', how = ?, updated = ?"
        " WHERE subscriber_id = ? AND status != 'unsubscribed'",
        (how, utcnow(), subscriber_id),
    )


def activate_pending(conn: Connection, subscriber_id: int, *, how: str) -> int:
    """Double opt-in confirmed: the pending subscriptions (the chosen set) become active."""
    cursor = conn.execute(
        "UPDATE subscriptions SET status = 'active', how = ?, updated = ?"
        " WHERE subscriber_id = ? AND status = 'pending'",
        (how, utcnow(), subscriber_id),
    )
    return cursor.rowcount


# --- segments and attributes ---------------------------------------------------------------


def set_attributes(conn: Connection, subscriber_id: int, values: Mapping[str, str]) -> None:
    """Store free attributes (an empty value removes one)."""
    for name, value in values.items():
        if value:
            conn.execute(
                "INSERT INTO subscriber_attributes (subscriber_id, name, value) VALUES (?, ?, ?)"
                " ON CONFLICT (subscriber_id, name) DO UPDATE SET value = excluded.value",
                (subscriber_id, name, value),
            )
        else:
            conn.execute(
                "DELETE FROM subscriber_attributes WHERE subscriber_id = ? AND name = ?",
                (subscriber_id, name),
            )


def attributes_of(conn: Connection, subscriber_id: int) -> dict[str, str]:
    """A subscriber's free attributes, by name."""
    rows = conn.execute(
        "SELECT name, value FROM subscriber_attributes WHERE subscriber_id = ? ORDER BY name",
        (subscriber_id,),
    )
    return {row[0]: row[1] for row in rows}


def all_attributes(conn: Connection) -> dict[int, dict[str, str]]:
    """Every subscriber's attributes (for exports), by subscriber id."""
    found: dict[int, dict[str, str]] = {}
    for row in conn.execute("SELECT subscriber_id, name, value FROM subscriber_attributes"):
        found.setdefault(row[0], {})[row[1]] = row[2]
    return found


def attributes_by_email(conn: Connection) -> dict[str, dict[str, str]]:
    """Every subscriber's attributes by address: what templates using ``reader`` read.

    Empty for a state database that has no attributes table yet.
    """
    if not installed(conn):
        return {}
    found: dict[str, dict[str, str]] = {}
    rows = conn.execute(
        "SELECT s.email, a.name, a.value FROM subscriber_attributes a"
        " JOIN subscribers s ON s.id = a.subscriber_id"
    )
    for email, name, value in rows:
        found.setdefault(email, {})[name] = value
    return found


def attribute_names(conn: Connection) -> list[str]:
    """Every attribute name in use, sorted (the export's extra columns)."""
    return [
        r[0] for r in conn.execute("SELECT DISTINCT name FROM subscriber_attributes ORDER BY name")
    ]


def parse_where(items: Iterable[str]) -> dict[str, str]:
    """``["city=Berlin", "plan=pro"]`` -> a segment; UsageError naming a malformed item."""
    segment: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"--where {item!r}: expected KEY=VALUE, such as city=Berlin")
        segment[name.strip()] = value.strip()
    return segment


def _segment_sql(segment: Mapping[str, str]) -> tuple[str, list[str]]:
    clauses = []
    params: list[str] = []
    for name, value in segment.items():
        clauses.append(
            " AND EXISTS (SELECT 1 FROM subscriber_attributes a WHERE a.subscriber_id = s.id"
            " AND a.name = ? AND a.value = ?)"
        )
        params += [name, value]
    return "".join(clauses), params


# --- planning ------------------------------------------------------------------------------


def _receiving(cadences: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in cadences)
    return (
        " FROM subscriptions x JOIN subscribers s ON s.id = x.subscriber_id"
        f" WHERE x.newsletter = ? AND x.status = 'active' AND x.cadence IN ({marks})"
        " AND s.status = 'active'"
    )


def place(conn: Connection, newsletter: str, cadences: Sequence[str], floor: int) -> int:
    """Give unplaced subscriptions of these cadences their starting floor."""
    marks = ", ".join("?" for _ in cadences)
    cursor = conn.execute(
        f"UPDATE subscriptions SET floor = ? WHERE newsletter = ? AND cadence IN ({marks})"
        " AND floor IS NULL",
        (floor, newsletter, *cadences),
    )
    return cursor.rowcount


def floors(
    conn: Connection,
    newsletter: str,
    cadences: Sequence[str],
    segment: Mapping[str, str] | None = None,
) -> dict[int, int]:
    """Receiving subscribers of these cadences, counted by floor (one edition per floor)."""
    where, params = _segment_sql(segment or {})
    rows = conn.execute(
        "SELECT COALESCE(x.floor, 0), COUNT(*)"
        + _receiving(cadences)
        + where
        + " GROUP BY COALESCE(x.floor, 0) ORDER BY 1",
        (newsletter, *cadences, *params),
    )
    return {row[0]: row[1] for row in rows}


def recipients(
    conn: Connection,
    newsletter: str,
    cadences: Sequence[str],
    floor: int,
    segment: Mapping[str, str] | None = None,
) -> list[tuple[int, str]]:
    """(subscriber id, email) of the receiving subscribers at ``floor``, in id order."""
    where, params = _segment_sql(segment or {})
    rows = conn.execute(
        "SELECT s.id, s.email"
        + _receiving(cadences)
        + " AND COALESCE(x.floor, 0) = ?"
        + where
        + " ORDER BY s.id",
        (newsletter, *cadences, floor, *params),
    )
    return [(row[0], row[1]) for row in rows]


def advance(
    conn: Connection,
    newsletter: str,
    cadences: Sequence[str],
    floor: int,
    upto: int,
    segment: Mapping[str, str] | None = None,
) -> int:
    """The receiving subscribers at ``floor`` (exactly those ``recipients`` returns) have been
    given everything up to ``upto``: one set-based UPDATE, inside the caller's transaction
    (with the edition and its ledger rows, so both see the same readers)."""
    where, params = _segment_sql(segment or {})
    marks = ", ".join("?" for _ in cadences)
    cursor = conn.execute(
        "UPDATE subscriptions SET floor = ? WHERE newsletter = ? AND status = 'active'"
        f" AND cadence IN ({marks}) AND COALESCE(floor, 0) = ? AND subscriber_id IN"
        " (SELECT s.id FROM subscribers s WHERE s.status = 'active'" + where + ")",
        (upto, newsletter, *cadences, floor, *params),
    )
    return cursor.rowcount


# --- reports -------------------------------------------------------------------------------


def active_counts(conn: Connection) -> dict[str, int]:
    """Receiving subscribers per newsletter id."""
    rows = conn.execute(
        "SELECT x.newsletter, COUNT(*) FROM subscriptions x JOIN subscribers s"
        " ON s.id = x.subscriber_id WHERE x.status = 'active' AND s.status = ?"
        " GROUP BY x.newsletter",
        (str(Status.ACTIVE),),
    )
    return {row[0]: row[1] for row in rows}


def cadence_counts(conn: Connection, newsletter: str) -> dict[str, int]:
    """Receiving subscribers of one newsletter by cadence (``""``: the schedule's)."""
    rows = conn.execute(
        "SELECT x.cadence, COUNT(*) FROM subscriptions x JOIN subscribers s"
        " ON s.id = x.subscriber_id WHERE x.newsletter = ? AND x.status = 'active'"
        " AND s.status = 'active' GROUP BY x.cadence",
        (newsletter,),
    )
    return {row[0]: row[1] for row in rows}


def newsletter_ids_in_use(conn: Connection) -> dict[str, int]:
    """Every newsletter id with subscriptions (active or not), and how many are active."""
    rows = conn.execute(
        "SELECT newsletter, SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END)"
        " FROM subscriptions GROUP BY newsletter"
    )
    return {row[0]: int(row[1]) for row in rows}


def subscriber_ids_for(conn: Connection, newsletter: str) -> set[int]:
    """Subscribers with an active or pending subscription to ``newsletter`` (for listing)."""
    rows = conn.execute(
        "SELECT subscriber_id FROM subscriptions WHERE newsletter = ? AND status != 'unsubscribed'",
        (newsletter,),
    )
    return {row[0] for row in rows}


def active_newsletters(conn: Connection) -> dict[int, list[str]]:
    """Each subscriber's active newsletter ids (for exports)."""
    found: dict[int, list[str]] = {}
    for row in conn.execute(
        "SELECT subscriber_id, newsletter FROM subscriptions WHERE status = 'active'"
        " ORDER BY subscriber_id, newsletter"
    ):
        found.setdefault(row[0], []).append(row[1])
    return found


def subscription_labels(conn: Connection) -> dict[int, str]:
    """Each subscriber's active newsletters as ``daily climate:weekly`` (for listings)."""
    found: dict[int, list[str]] = {}
    for row in conn.execute(
        "SELECT subscriber_id, newsletter, cadence FROM subscriptions WHERE status = 'active'"
        " ORDER BY subscriber_id, newsletter"
    ):
        label = f"{row[1]}:{row[2]}" if row[2] else row[1]
        found.setdefault(row[0], []).append(label)
    return {sid: " ".join(labels) for sid, labels in found.items()}


def export_columns(conn: Connection) -> dict[int, dict[str, str]]:
    """The export's extra columns per subscriber id: ``newsletters`` (active ids, separated
    by spaces, as the import reads them) and every free attribute."""
    columns: dict[int, dict[str, str]] = {}
    for sid, names in active_newsletters(conn).items():
        columns.setdefault(sid, {})["newsletters"] = " ".join(names)
    for sid, values in all_attributes(conn).items():
        columns.setdefault(sid, {}).update(values)
    if columns:
        columns.setdefault(0, {})["newsletters"] = ""  # the column exists even if none active
    return columns
