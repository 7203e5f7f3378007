"""Points in time: ISO dates/times or spans such as ``7d`` and ``24h`` from the command line,
and the long dates (``6 December 2026``) that editions and notes show."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ..errors import UsageError

_SPAN = re.compile(r"^(\d+)\s*(w|d|h|m|min)$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "min": "minutes"}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(moment: datetime | date) -> str:
    """``6 December 2026``, with month names from a fixed table, not the process locale:
    output must be reproducible."""
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def parse_datetime(value: str | date | datetime, zone: tzinfo) -> datetime:
    """An ISO date or date-time, naive values taken in ``zone``; a date means its midnight."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, time())
    else:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        result = datetime.fromisoformat(text)
    if result.tzinfo is None or result.utcoffset() is None:
        result = result.replace(tzinfo=zone)
    return result


def parse_when(value: str, now: datetime, zone: tzinfo) -> datetime:
    """WHEN on the CLI: ``7d``/``24h``/``2w``/``30m`` before ``now``, or an ISO date/time."""
    span = _SPAN.match(value.strip().lower())
    if span:
        return now - timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    try:
        return parse_datetime(value, zone)
    except ValueError:
        raise UsageError(
            f"not a time: {value!r}; use an ISO date such as 2026-11-01, "
            "a date-time such as 2026-11-01T08:00+01:00, or a span such as 7d or 24h"
        ) from None


def now_utc() -> datetime:
    """The current instant; the CLI's --now replaces it in tests and back-fills."""
    return datetime.now(UTC)
