"""Dates as sources write them ("3 November 2026", "Nov. 3, 2026, 9:15 am", ISO ...).

A date found in the source beats the file's modification time, so the lines that carry one
(a byline's tail, a "Published ..." line, an HTML page's metadata) are read here.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_TIME = r"(?:,?\s+(?:at\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})\s*(?P<ampm>[ap]\.?m\.?)?)?"
_PREFIX = (
    r"^(?:(?:published|posted|updated|last\s+updated|first\s+published|date)"
    r"(?:\s+on)?\s*:?\s*)?(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)"
    r"[a-z]*\.?,?\s+)?"
)
_PATTERNS = (
    re.compile(
        _PREFIX
        + _MONTH
        + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
        + _TIME
        + r"$",
        re.IGNORECASE,
    ),
    re.compile(
        _PREFIX
        + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\.?\s+"
        + _MONTH
        + r",?\s+(?P<year>\d{4})"
        + _TIME
        + r"$",
        re.IGNORECASE,
    ),
)
_ISO = re.compile(
    _PREFIX + r"(?P<iso>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?)$",
    re.IGNORECASE,
)


def parse_loose_date(text: str, zone: tzinfo) -> datetime | None:
    """A whole line (or byline part) that is a date -> an aware datetime, else None."""
    text = re.sub(r"\s+", " ", text.strip().rstrip("."))
    iso = _ISO.match(text)
    if iso:
        return _from_iso(iso.group("iso"), zone)
    for pattern in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        month = _MONTHS.get(match.group("month").lower())
        if month is None:
            return None
        try:
            day = date(int(match.group("year")), month, int(match.group("day")))
            clock = _clock(match.group("hour"), match.group("minute"), match.group("ampm"))
        except ValueError:
            return None
        return datetime.combine(day, clock, tzinfo=zone)
    return None


def parse_meta_datetime(text: str, zone: tzinfo) -> datetime | None:
    """An HTML metadata value (ISO 8601, maybe with ``Z``) -> aware datetime, else None."""
    return _from_iso(text.strip(), zone)


def _from_iso(text: str, zone: tzinfo) -> datetime | None:
    text = text.replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.replace(microsecond=0)


def _clock(hour: str | None, minute: str | None, ampm: str | None) -> time:
    if hour is None or minute is None:
        return time()
    value = int(hour)
    if ampm:
        if not 1 <= value <= 12:
            raise ValueError("12-hour clock out of range")
        value = value % 12 + (12 if ampm.lower().startswith("p") else 0)
    return time(value, int(minute))
