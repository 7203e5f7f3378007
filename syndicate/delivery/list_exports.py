"""Other newsletter tools' subscriber exports: which tool wrote a CSV, and each row's status.

``subscribers import`` reads Mailchimp, Substack, Buttondown and listmonk exports as they come.
Each tool says in its own way that a reader left or an address is dead, and an import that
missed it would mail people who unsubscribed: so every row gets one of our statuses here, and
any row the tool marks as unsubscribed, cleaned, bounced, blocked or complained is imported as
that (suppressed), never as active. What counts as "left" per tool:

- Mailchimp: an audience export is a zip of three CSVs; the ``unsubscribed_members_export``
  file has ``UNSUB_TIME`` (and ``UNSUB_REASON``) columns, the ``cleaned_members_export`` file
  ``CLEAN_TIME`` — hard bounces, imported as ``bounced``. A ``Status``/``Member Status`` column
  (contact exports) is read as well.
- Substack: ``email_disabled`` true means the reader turned email off (``active_subscription``
  is about a *paid* plan and says nothing about mail); ``@deletion-request.substack.com``
  addresses are readers who asked to be deleted, and are skipped.
- Buttondown: ``subscriber_type`` (``type`` in newer exports): ``unsubscribed``/``removed``,
  ``undeliverable``, ``complained``, ``blocked``/``spammy`` are suppressed, ``unactivated``
  (never confirmed) is ``pending``, every paid and free kind of reader is active.
- listmonk: ``status`` ``enabled`` is active; ``disabled`` and ``blocklisted`` are suppressed.
- syndicate's own export: its ``status`` column, so an export imports back with its statuses.

This module only reads headers and cells; it knows nothing of the store (statuses are the
plain strings of ``subscribers.Status``), so the store imports it, not the other way round.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError

FORMATS = ("auto", "syndicate", "mailchimp", "substack", "buttondown", "listmonk", "plain")

ACTIVE = "active"
UNSUBSCRIBED = "unsubscribed"
BOUNCED = "bounced"
COMPLAINED = "complained"
PENDING = "pending"
SKIP = "skip"  # not imported at all (a deletion request)
# What an export may say that stops mail to an address already in the store as well.
SUPPRESSING = frozenset({UNSUBSCRIBED, BOUNCED, COMPLAINED})

_TRUE = {"true", "t", "yes", "y", "1"}

_MAILCHIMP_MARKERS = {"memberrating", "leid", "euid", "optintime", "lastchanged", "confirmtime"}
_MAILCHIMP_STATUS = {
    "subscribed": ACTIVE,
    "unsubscribed": UNSUBSCRIBED,
    "cleaned": BOUNCED,
    "pending": PENDING,
    "archived": UNSUBSCRIBED,
    "nonsubscribed": UNSUBSCRIBED,
    "transactional": UNSUBSCRIBED,
}
_BUTTONDOWN_STATUS = {
    "regular": ACTIVE,
    "premium": ACTIVE,
    "trialed": ACTIVE,
    "unpaid": ACTIVE,
    "gifted": ACTIVE,
    "churning": ACTIVE,
    "paused": ACTIVE,
    "past_due": ACTIVE,
    "pastdue": ACTIVE,
    "unactivated": PENDING,
    "unsubscribed": UNSUBSCRIBED,
    "removed": UNSUBSCRIBED,
    "blocked": UNSUBSCRIBED,
    "spammy": UNSUBSCRIBED,
    "undeliverable": BOUNCED,
    "complained": COMPLAINED,
}
_LISTMONK_STATUS = {"enabled": ACTIVE, "disabled": UNSUBSCRIBED, "blocklisted": UNSUBSCRIBED}
_OWN_STATUS = {s: s for s in (ACTIVE, UNSUBSCRIBED, BOUNCED, COMPLAINED, PENDING)}


@dataclass(frozen=True, slots=True)
class RowStatus:
    """What one row means for the store: a status and the reason recorded with it."""

    status: str
    reason: str = ""


StatusOf = Callable[[list[str]], RowStatus]


@dataclass(frozen=True, slots=True)
class ListExport:
    """A recognised export: which tool wrote it, and how to read each row's status."""

    format: str
    status_of: StatusOf


def header_key(cell: str) -> str:
    """A header cell compared without case, spaces, ``-`` and ``_`` (``Email Address`` ->
    ``emailaddress``)."""
    return re.sub(r"[\s_\-]+", "", cell.strip().lower())


def list_export(header: list[str], file_name: str, fmt: str = "auto") -> ListExport:
    """The export format of a CSV with this header (``fmt`` forces one) and its row reader.

    A file whose header matches no tool is ``plain``: every row is an active subscriber, as
    a hand-made list means. A forced format whose status column is missing is a UsageError.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown subscriber list format {fmt!r}; use one of {', '.join(FORMATS)}")
    keys = [header_key(cell) for cell in header]
    name = fmt if fmt != "auto" else detect(keys)
    build = _READERS[name]
    return ListExport(name, build(keys, file_name.lower()))


def detect(keys: list[str]) -> str:
    """Which tool wrote a header (cells as ``header_key`` gives them)."""
    present = set(keys)
    if {"email", "status", "reason", "source", "created", "updated"} <= present:
        return "syndicate"
    if {"uuid", "email", "attributes", "status"} <= present:
        return "listmonk"
    if "emailaddress" in present and present & (_MAILCHIMP_MARKERS | {"unsubtime", "cleantime"}):
        return "mailchimp"
    if "email" in present and present & {"emaildisabled", "activesubscription"}:
        return "substack"
    if present & {"email", "emailaddress"} and present & {"subscribertype", "type"}:
        return "buttondown"
    return "plain"


def _column(keys: list[str], *names: str) -> int | None:
    return next((keys.index(name) for name in names if name in keys), None)


def _cell(record: list[str], at: int | None) -> str:
    return record[at].strip() if at is not None and at < len(record) else ""


def _required(keys: list[str], fmt: str, *names: str) -> int:
    at = _column(keys, *names)
    if at is None:
        raise UsageError(f"--format {fmt}: the header has no {names[0]!r} column")
    return at


def _plain(keys: list[str], file_name: str) -> StatusOf:
    return lambda record: RowStatus(ACTIVE)


def _syndicate(keys: list[str], file_name: str) -> StatusOf:
    status_at = _required(keys, "syndicate", "status")
    reason_at = _column(keys, "reason")

    def status_of(record: list[str]) -> RowStatus:
        value = _cell(record, status_at).lower()
        reason = _cell(record, reason_at)
        # An unknown status is not a licence to mail: it is held as unsubscribed.
        return RowStatus(_OWN_STATUS.get(value, UNSUBSCRIBED), reason)

    return status_of


def _mailchimp(keys: list[str], file_name: str) -> StatusOf:
    status_at = _column(keys, "memberstatus", "status", "emailmarketingstatus")
    unsub_at = _column(keys, "unsubtime")
    reason_at = _column(keys, "unsubreason")
    if _column(keys, "cleantime") is not None or "cleaned" in file_name:
        whole = RowStatus(BOUNCED, "mailchimp: cleaned")
    elif unsub_at is not None or "unsubscribed" in file_name:
        whole = RowStatus(UNSUBSCRIBED, "mailchimp: unsubscribed")
    else:
        whole = RowStatus(ACTIVE)

    def status_of(record: list[str]) -> RowStatus:
        value = header_key(_cell(record, status_at))
        if value:
            status = _MAILCHIMP_STATUS.get(value, UNSUBSCRIBED)
            if status != ACTIVE:
                return RowStatus(status, f"mailchimp: {value}")
        if whole.status == UNSUBSCRIBED and _cell(record, reason_at):
            return RowStatus(UNSUBSCRIBED, f"mailchimp: unsubscribed ({_cell(record, reason_at)})")
        return whole

    return status_of


def _substack(keys: list[str], file_name: str) -> StatusOf:
    email_at = _required(keys, "substack", "email")
    disabled_at = _column(keys, "emaildisabled")

    def status_of(record: list[str]) -> RowStatus:
        if _cell(record, email_at).lower().endswith("@deletion-request.substack.com"):
            return RowStatus(SKIP, "a Substack deletion request")
        if _cell(record, disabled_at).lower() in _TRUE:
            return RowStatus(UNSUBSCRIBED, "substack: email disabled")
        return RowStatus(ACTIVE)

    return status_of


def _buttondown(keys: list[str], file_name: str) -> StatusOf:
    type_at = _required(keys, "buttondown", "subscribertype", "type")

    def status_of(record: list[str]) -> RowStatus:
        value = _cell(record, type_at).lower()
        status = _BUTTONDOWN_STATUS.get(value, UNSUBSCRIBED if value else ACTIVE)
        return RowStatus(status, f"buttondown: {value}" if status != ACTIVE else "")

    return status_of


def _listmonk(keys: list[str], file_name: str) -> StatusOf:
    status_at = _required(keys, "listmonk", "status")

    def status_of(record: list[str]) -> RowStatus:
        value = _cell(record, status_at).lower()
        status = _LISTMONK_STATUS.get(value, UNSUBSCRIBED if value else ACTIVE)
        return RowStatus(status, f"listmonk: {value}" if status != ACTIVE else "")

    return status_of


_READERS: dict[str, Callable[[list[str], str], StatusOf]] = {
    "plain": _plain,
    "syndicate": _syndicate,
    "mailchimp": _mailchimp,
    "substack": _substack,
    "buttondown": _buttondown,
    "listmonk": _listmonk,
}
