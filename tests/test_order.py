"""Articles in newest-first order: by the instant they carry, whatever zone wrote it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from syndicate.model import Article, newest_first

BERLIN = ZoneInfo("Europe/Berlin")


def _article(id_: str, date: datetime) -> Article:
    return Article(
        id=id_, slug=id_, url=f"https://news.test/{id_}/", title=id_, date=date, updated=date
    )


def test_offsets_are_compared_as_instants_and_ties_fall_back_to_id() -> None:
    noon_utc = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    same_instant = noon_utc.astimezone(timezone(timedelta(hours=-5)))  # 07:00-05:00
    later_in_berlin = datetime(2026, 11, 1, 13, 30, tzinfo=BERLIN)  # 12:30 UTC
    ordered = newest_first(
        [_article("a", noon_utc), _article("b", later_in_berlin), _article("c", same_instant)]
    )
    assert [a.id for a in ordered] == ["b", "c", "a"]


def test_a_skipped_local_time_sorts_at_its_instant() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29 (clocks go 02:00 -> 03:00); with fold=0 it
    # means 01:30 UTC, after 03:10 CEST (01:10 UTC), though its wall clock is earlier.
    skipped = datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN)
    after_change = datetime(2026, 3, 29, 3, 10, tzinfo=BERLIN)
    ordered = newest_first([_article("after", after_change), _article("skipped", skipped)])
    assert [a.id for a in ordered] == ["skipped", "after"]


# Hypothesis takes naive bounds and attaches a zone from ``timezones`` to what it draws.
FIRST, LAST = datetime(2020, 1, 1), datetime(2030, 1, 1)  # noqa: DTZ001
ZONES = st.sampled_from(
    [UTC, BERLIN, ZoneInfo("America/New_York"), timezone(timedelta(hours=5, minutes=30))]
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from("abcd"),
            st.datetimes(FIRST, LAST, timezones=ZONES),
        ),
        max_size=30,
    )
)
def test_newest_first_is_instant_then_id_descending(items: list[tuple[str, datetime]]) -> None:
    articles = [_article(f"{name}{i}", date) for i, (name, date) in enumerate(items)]
    expected = sorted(articles, key=lambda a: (a.date.astimezone(UTC), a.id), reverse=True)
    assert newest_first(articles) == expected
