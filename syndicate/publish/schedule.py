"""When a newsletter edition is due: ``[schedule]`` turned into moments on the publication's clock.

Every clock schedule (weekly, daily, a cron expression) is evaluated on *wall-clock* time in the
publication's timezone and only then mapped to an instant, so a schedule fires once per wall-clock
moment: a time skipped by a spring-forward gap fires at the first instant after the gap, a time
repeated by a fall-back overlap fires at its first occurrence only. ``publish`` asks for the
latest due moment at or before "now" and sends when no edition covers that moment yet, which
makes a missed period (machine off for three weeks) send one edition, not three.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ..config import Config, ScheduleConfig
from ..text.words import plural

Kind = Literal["off", "weekly", "daily", "cron", "on-new"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# cron counts Sunday as 0; Python's weekday() counts Monday as 0.
_CRON_DAY = {name: (index + 1) % 7 for index, name in enumerate(WEEKDAYS)}
# Bounds the walk near a DST change (a per-minute cron needs ~4 steps per minute of window).
_MAX_STEPS = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """A publication's email schedule, ready to answer "when was the last due moment?"."""

    kind: Kind
    zone: ZoneInfo
    cron: str = ""
    min_articles: int = 1

    @property
    def clocked(self) -> bool:
        """True for schedules with due moments (weekly, daily, cron); on-new and off have none."""
        return self.kind in ("weekly", "daily", "cron")

    def describe(self) -> str:
        """A short human description for log lines and --dry-run."""
        if self.kind == "off":
            return "off"
        if self.kind == "on-new":
            return f"on-new (at least {plural(self.min_articles, 'new article')})"
        return f"{self.kind} ({self.cron}, {self.zone.key})"

    def last_due(self, now: datetime) -> datetime | None:
        """The latest due moment at or before ``now`` (UTC), or None for on-new/off schedules."""
        if not self.clocked:
            return None
        return _step(self.cron, self.zone, now, backwards=True)

    def next_due(self, now: datetime) -> datetime | None:
        """The first due moment strictly after ``now`` (UTC), for "next edition at ..." messages."""
        if not self.clocked:
            return None
        return _step(self.cron, self.zone, now, backwards=False)


def schedule_from_config(config: Config) -> Schedule:
    """The validated ``[schedule]`` table as a Schedule in the publication's timezone."""
    return make_schedule(config.model.schedule, config.publication.timezone)


def make_schedule(table: ScheduleConfig, zone: ZoneInfo) -> Schedule:
    """``email = weekly|daily|on-new|<cron>|""`` plus day/time -> a Schedule."""
    value = table.email.strip()
    hour, minute = (int(part) for part in table.time.split(":"))
    if value == "":
        return Schedule(kind="off", zone=zone, min_articles=table.min_articles)
    if value == "on-new":
        return Schedule(kind="on-new", zone=zone, min_articles=table.min_articles)
    if value == "daily":
        cron = f"{minute} {hour} * * *"
        return Schedule(kind="daily", zone=zone, cron=cron, min_articles=table.min_articles)
    if value == "weekly":
        cron = f"{minute} {hour} * * {_CRON_DAY[table.day]}"
        return Schedule(kind="weekly", zone=zone, cron=cron, min_articles=table.min_articles)
    return Schedule(kind="cron", zone=zone, cron=value, min_articles=table.min_articles)


def wall_to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in ``zone`` -> the UTC instant it first names.

    Ambiguous times (fall-back overlap) take the first occurrence (fold=0); nonexistent times
    (spring-forward gap) take PEP 495's fold=0 reading, which lands just after the gap.
    """
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _step(expression: str, zone: ZoneInfo, now: datetime, *, backwards: bool) -> datetime | None:
    """The due moment nearest to ``now`` in one direction, found by walking wall-clock times.

    Mapping wall time to instants is monotonic except next to a DST change, where a wall time
    in the gap reads as just after it and the overlap's second pass repeats wall times that
    already happened. So the walk starts ``window`` (the size of any nearby change) beyond
    ``now`` on the wall clock and keeps the best instant on the right side of ``now`` until the
    walk is ``window`` past it; far from a change the window is zero and one step suffices.
    """
    from croniter import croniter  # only cron schedules need croniter

    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    instant = now.astimezone(UTC)
    local = instant.astimezone(zone).replace(tzinfo=None, fold=0)
    window = _dst_window(instant, zone)
    # croniter steps strictly past its start; the microsecond lets a match equal to now count.
    start = local + window + timedelta(microseconds=1) if backwards else local - window
    cursor = croniter(expression, start)
    best: datetime | None = None
    for _ in range(_MAX_STEPS):
        try:
            wall = cursor.get_prev(datetime) if backwards else cursor.get_next(datetime)
        except (StopIteration, ValueError, OverflowError, KeyError):
            break
        if best is not None and (wall < local - window if backwards else wall > local + window):
            break
        due = wall_to_instant(wall, zone)
        if backwards and due <= instant and (best is None or due > best):
            best = due
        elif not backwards and due > instant and (best is None or due < best):
            best = due
    return best


def _dst_window(instant: datetime, zone: ZoneInfo) -> timedelta:
    """How far the zone's UTC offset moves within a day of ``instant`` (zero almost always)."""
    here = instant.astimezone(zone).utcoffset() or timedelta()
    shifts = (
        abs(((instant + delta).astimezone(zone).utcoffset() or timedelta()) - here)
        for delta in (timedelta(days=-1), timedelta(days=1))
    )
    return max(shifts)


def local_label(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-11-02 08:00 CET``: how log lines show a due moment to the publication's staff."""
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
