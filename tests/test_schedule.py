"""The schedule: due moments on the publication's wall clock, DST-correct, once per period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from syndicate.config import ScheduleConfig, cron_problem
from syndicate.publish.schedule import Schedule, make_schedule

BERLIN = ZoneInfo("Europe/Berlin")


def sched(email: str, day: str = "monday", time: str = "08:00", **kw: int) -> Schedule:
    table = ScheduleConfig.model_validate({"email": email, "day": day, "time": time, **kw})
    return make_schedule(table, BERLIN)


def local(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=BERLIN, fold=fold)  # type: ignore[misc]


def test_weekly_last_due_is_the_latest_monday_at_eight_local() -> None:
    weekly = sched("weekly")
    assert weekly.last_due(local(2026, 11, 4, 12, 0)) == local(2026, 11, 2, 8, 0)
    # exactly at the moment counts; a minute before does not
    assert weekly.last_due(local(2026, 11, 9, 8, 0)) == local(2026, 11, 9, 8, 0)
    assert weekly.last_due(local(2026, 11, 9, 7, 59)) == local(2026, 11, 2, 8, 0)
    assert weekly.next_due(local(2026, 11, 9, 8, 0)) == local(2026, 11, 16, 8, 0)
    assert weekly.last_due(local(2026, 11, 9, 8, 0)).tzinfo is UTC  # type: ignore[union-attr]


def test_weekly_other_day_and_daily() -> None:
    friday = sched("weekly", day="friday", time="17:30")
    assert friday.last_due(local(2026, 11, 4, 12, 0)) == local(2026, 10, 30, 17, 30)
    daily = sched("daily", time="06:15")
    assert daily.last_due(local(2026, 11, 4, 6, 14)) == local(2026, 11, 3, 6, 15)
    assert daily.last_due(local(2026, 11, 4, 6, 15)) == local(2026, 11, 4, 6, 15)


def test_weekly_keeps_local_time_across_dst() -> None:
    weekly = sched("weekly", day="sunday", time="09:00")
    # 2026-03-29 is the spring-forward Sunday in Berlin: 09:00 is CEST (UTC+2), a week earlier CET
    assert weekly.last_due(local(2026, 3, 29, 12, 0)) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert weekly.last_due(local(2026, 3, 28, 12, 0)) == datetime(2026, 3, 22, 8, 0, tzinfo=UTC)


def test_time_in_spring_gap_fires_once_just_after_the_gap() -> None:
    daily = sched("daily", time="02:30")
    # 02:30 does not exist on 2026-03-29 in Berlin (02:00 CET -> 03:00 CEST)
    before = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)  # 01:59 CET
    after = datetime(2026, 3, 29, 1, 45, tzinfo=UTC)  # 03:45 CEST
    assert daily.last_due(before) == datetime(2026, 3, 28, 1, 30, tzinfo=UTC)
    due = daily.last_due(after)
    assert due is not None and due > before
    assert daily.next_due(before) == due
    assert daily.next_due(due) == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)


def test_time_in_autumn_overlap_fires_once() -> None:
    daily = sched("daily", time="02:30")
    # 02:00-03:00 happens twice on 2026-10-25 in Berlin; the first 02:30 is 00:30 UTC
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    dues = {daily.last_due(first + timedelta(minutes=m)) for m in range(0, 180, 5)}
    assert dues == {first}
    assert daily.next_due(first) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_cron_expression_and_missed_periods_collapse() -> None:
    weekdays = sched("0 7 * * mon-fri")
    assert weekdays.kind == "cron"
    # a machine off from Friday to Wednesday sees one due moment: Wednesday's
    now = local(2026, 11, 4, 9, 0)
    assert weekdays.last_due(now) == local(2026, 11, 4, 7, 0)
    assert weekdays.last_due(local(2026, 11, 8, 23, 0)) == local(2026, 11, 6, 7, 0)


def test_on_new_and_off_have_no_clock() -> None:
    on_new = sched("on-new", min_articles=3)
    assert on_new.kind == "on-new" and on_new.min_articles == 3
    assert on_new.last_due(local(2026, 11, 4, 9, 0)) is None
    off = sched("")
    assert off.kind == "off" and off.next_due(local(2026, 11, 4, 9, 0)) is None


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        sched("daily").last_due(datetime(2026, 11, 4, 9, 0))  # noqa: DTZ001


def test_cron_problems_are_explained() -> None:
    assert cron_problem("0 8 * * mon") is None
    assert "not a schedule" in (cron_problem("fortnightly") or "")
    assert "never matches" in (cron_problem("0 0 30 2 *") or "")


def test_bad_schedule_in_config_names_key_and_line(make_pub, run) -> None:  # type: ignore[no-untyped-def]
    root = make_pub(extra='[schedule]\nemail = "every tuesday"\n')
    result = run(root, "validate")
    assert result.exit_code == 1
    assert "schedule.email" in result.stderr and "not a schedule" in result.stderr
    assert "config.toml:" in result.stderr


@pytest.mark.parametrize("clock", ["02:30", "03:00", "08:00", "00:00"])
@pytest.mark.parametrize(
    "start", [datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC)]
)
def test_daily_fires_exactly_once_per_local_day_around_dst(clock: str, start: datetime) -> None:
    daily = sched("daily", time=clock)
    dues: list[datetime] = []
    now = start
    while now < start + timedelta(days=5):
        due = daily.last_due(now)
        assert due is not None and due <= now
        assert not dues or due >= dues[-1], "due moments never go back in time"
        if not dues or due != dues[-1]:
            dues.append(due)
        now += timedelta(minutes=7)
    days = [due.astimezone(BERLIN).date() for due in dues]
    assert len(days) == len(set(days)), f"a day fired twice: {dues}"
    assert len(dues) in (5, 6)
    for due in dues[1:]:
        assert daily.next_due(due - timedelta(seconds=1)) == due
