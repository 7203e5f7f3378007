"""A reader's choices among the configured newsletters, checked against config.

The one place that turns "these newsletter ids, this cadence" from the CLI, a CSV row, the
subscribe form or the preferences page into subscription rows: unknown ids and cadences a
newsletter does not offer are refused with a message naming them; no choice means the
default newsletters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..config import Config, Newsletter, configured_newsletters, default_newsletter_ids
from ..errors import UsageError
from ..store.database import Connection
from . import subscriptions as subs
from .subscriber_table import Subscriber

# Columns of our own export that are not free attributes.
RESERVED_COLUMNS = frozenset(
    {"email", "name", "status", "reason", "source", "created", "updated", "newsletters"}
)


def multi(config: Config) -> bool:
    """Whether the publication has ``[newsletters]`` (else: one list, as before)."""
    return bool(config.model.newsletters)


def ensure(config: Config, conn: Connection) -> None:
    """The subscriptions tables, upgraded in place (backup first) for this config."""
    subs.ensure_subscriptions(conn, default_newsletter_ids(config))


def _known(config: Config) -> dict[str, Newsletter]:
    return {item.id: item for item in configured_newsletters(config)}


def check_ids(config: Config, ids: Sequence[str], *, where: str = "") -> tuple[str, ...]:
    """The ids, checked; none given: the defaults. UsageError naming unknown ones."""
    known = _known(config)
    if not known:
        raise UsageError(
            f"{where}this publication has no [newsletters] in its config; "
            "add [newsletters.<id>] tables to offer several"
        )
    unknown = [name for name in ids if name not in known]
    if unknown:
        raise UsageError(
            f"{where}unknown newsletter {', '.join(repr(n) for n in unknown)}; "
            f"the config defines: {', '.join(known)}"
        )
    return tuple(dict.fromkeys(ids)) or default_newsletter_ids(config)


def check_cadence(config: Config, newsletter: str, cadence: str, *, where: str = "") -> str:
    """``cadence`` if ``newsletter`` offers it ("" always: the newsletter's own default)."""
    item = _known(config)[newsletter]
    if cadence and cadence not in item.cadences:
        offered = ", ".join(item.cadences) or "none (it has one schedule)"
        raise UsageError(
            f"{where}newsletter {newsletter!r} offers no cadence {cadence!r}; offered: {offered}"
        )
    return cadence


def choose(
    config: Config,
    conn: Connection,
    subscriber: Subscriber,
    ids: Sequence[str],
    *,
    cadence: str = "",
    how: str,
    pending: bool = False,
) -> tuple[str, ...]:
    """Subscribe to ``ids`` (the defaults if empty), keeping other subscriptions as they are.

    A cadence applies where the newsletter offers it. ``pending`` (double opt-in): the rows
    wait for the confirmation click. Returns the ids subscribed.
    """
    chosen = check_ids(config, ids)
    known = _known(config)
    status = subs.SubStatus.PENDING if pending else subs.SubStatus.ACTIVE
    active = {
        row.newsletter
        for row in subs.subscriptions_of(conn, subscriber.id)
        if row.status is subs.SubStatus.ACTIVE
    }
    for name in chosen:
        if pending and name in active:
            continue  # asking again on the form never suspends what they have
        wanted = cadence if cadence in known[name].cadences else ""
        subs.subscribe(conn, subscriber.id, name, cadence=wanted, how=how, status=status)
    return chosen


def set_preferences(
    config: Config,
    conn: Connection,
    subscriber: Subscriber,
    chosen: Mapping[str, str],
    *,
    how: str,
) -> None:
    """The preferences page's save: exactly ``chosen`` (id -> cadence) active, every other
    configured newsletter left. One transaction; honoured by the next claim of any send."""
    check_ids(config, list(chosen))
    for name, cadence in chosen.items():
        check_cadence(config, name, cadence)
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = {row.newsletter: row for row in subs.subscriptions_of(conn, subscriber.id)}
        for item in configured_newsletters(config):
            row = current.get(item.id)
            if item.id in chosen:
                unchanged = (
                    row is not None
                    and row.status is subs.SubStatus.ACTIVE
                    and row.cadence == chosen[item.id]
                )
                if not unchanged:
                    subs.subscribe(conn, subscriber.id, item.id, cadence=chosen[item.id], how=how)
            elif row is not None and row.status is not subs.SubStatus.UNSUBSCRIBED:
                subs.unsubscribe_from(conn, subscriber.id, item.id, how=how)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


@dataclass(frozen=True, slots=True)
class NewsletterColumns:
    """CSV import in a newsletter publication: the ``newsletters`` column (ids separated by
    spaces, empty = the defaults) and every other extra column kept as a free attribute."""

    config: Config
    how: str

    def check(self, cells: Mapping[str, str]) -> str | None:
        """Why this row cannot be imported, or None."""
        try:
            check_ids(self.config, cells.get("newsletters", "").split())
        except UsageError as exc:
            return str(exc)
        return None

    def apply(
        self, conn: Connection, subscriber: Subscriber, cells: Mapping[str, str]
    ) -> None:
        """Subscribe as the row says; store its extra columns as attributes."""
        choose(self.config, conn, subscriber, cells.get("newsletters", "").split(), how=self.how)
        extra = {
            key: value
            for key, value in cells.items()
            if key and key.lower() not in RESERVED_COLUMNS and value
        }
        if extra:
            subs.set_attributes(conn, subscriber.id, extra)
