"""``[schedule]``: when the one newsletter is sent, and the cron check other tables share."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from .sections import Section

KEYWORDS = ("weekly", "daily", "on-new", "")  # [schedule] email values besides cron


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a usable cron expression, or None when it is (for config)."""
    from croniter import croniter  # only a cron schedule needs it (and its dateutil import)

    if not croniter.is_valid(expression):
        return (
            f'not a schedule: {expression!r}; use weekly, daily, on-new, "" (off) '
            "or a cron expression such as '0 8 * * mon-fri'"
        )
    probe = datetime(2001, 1, 1)  # noqa: DTZ001 - cron works on naive wall-clock time
    try:
        croniter(expression, probe).get_next(datetime)
    except (ValueError, KeyError, OverflowError) as exc:
        return f"cron expression {expression!r} never matches: {exc}"
    return None


class ScheduleConfig(Section):
    email: str = ""
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = (
        "monday"
    )
    time: str = "08:00"
    min_articles: int = Field(default=1, ge=1)

    @field_validator("email")
    @classmethod
    def _schedule_kind(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in KEYWORDS:
            return value.lower()
        problem = cron_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"not a time of day: {value!r}; use HH:MM such as '08:00'")
        return value
