"""Working time arithmetic (B1): weekends, China's public holidays and adjusted working days,
single-day overrides, and clock time. Pure: no database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderguard.sla.calendar import CLOCK, NoWorkingTime, WorkingTime, covered

SH = ZoneInfo("Asia/Shanghai")
OFFICE = WorkingTime(start=9 * 60, end=18 * 60, statutory=True)
HOUR = 3600


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def test_two_working_hours_from_friday_evening_end_on_monday_morning():
    # 2026-11-20 is a Friday: half an hour left that day, the weekend is off
    assert OFFICE.add(at(2026, 11, 20, 17, 30), 2 * HOUR) == at(2026, 11, 23, 10, 30)


def test_the_national_day_holiday_is_skipped():
    # 2026-10-01..07 are public holidays: from 17:00 on 30 September, one hour that day and
    # one on Thursday 8 October
    assert OFFICE.add(at(2026, 9, 30, 17), 2 * HOUR) == at(2026, 10, 8, 10)


def test_an_adjusted_working_saturday_counts():
    # Saturday 2026-10-10 is a working day (it pays for a day of the holiday)
    assert OFFICE.is_working_day(date(2026, 10, 10)) is True
    assert OFFICE.add(at(2026, 10, 9, 17), 2 * HOUR) == at(2026, 10, 10, 10)


def test_a_start_before_opening_counts_from_opening():
    assert OFFICE.add(at(2026, 11, 23, 6), 30 * 60) == at(2026, 11, 23, 9, 30)


def test_a_warehouse_that_works_every_day_and_an_override_day_off():
    every_day = WorkingTime(start=8 * 60, end=20 * 60, weekdays=frozenset(range(7)))
    assert every_day.add(at(2026, 11, 21, 19), 2 * HOUR) == at(2026, 11, 22, 9)  # Saturday to Sunday

    stock_take = WorkingTime(
        start=8 * 60, end=20 * 60, weekdays=frozenset(range(7)), overrides={date(2026, 11, 22): False}
    )
    assert stock_take.add(at(2026, 11, 21, 19), 2 * HOUR) == at(2026, 11, 23, 9)


def test_a_year_the_statutory_data_does_not_cover_falls_back_to_monday_to_friday():
    assert covered(2026) is True
    assert covered(2099) is False
    # 2099-01-02 is a Friday, 2099-01-03 a Saturday
    assert (OFFICE.is_working_day(date(2099, 1, 2)), OFFICE.is_working_day(date(2099, 1, 3))) == (True, False)
    assert WorkingTime(statutory=True, overrides={date(2099, 1, 3): True}).is_working_day(date(2099, 1, 3))


def test_clock_time_is_plain_arithmetic_and_seconds_between_undoes_add():
    start = at(2026, 10, 1, 3)
    assert CLOCK.add(start, 90 * 60) == start + timedelta(minutes=90)
    assert OFFICE.seconds_between(at(2026, 9, 30, 17), at(2026, 10, 8, 10)) == 2 * HOUR
    assert OFFICE.seconds_between(at(2026, 10, 8, 10), at(2026, 9, 30, 17)) == 0


def test_a_calendar_without_working_time_is_refused():
    with pytest.raises(NoWorkingTime):
        WorkingTime(start=18 * 60, end=9 * 60)
    never = WorkingTime(weekdays=frozenset())
    with pytest.raises(NoWorkingTime):
        never.add(at(2026, 11, 20, 10), 60)


@given(
    start=st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2026, 12, 31)),
    seconds=st.integers(min_value=0, max_value=30 * 24 * HOUR),
    calendar=st.sampled_from(
        [OFFICE, CLOCK, WorkingTime(start=0, end=12 * 60, weekdays=frozenset({0, 2, 4}))]
    ),
)
def test_working_time_added_is_working_time_between(start, seconds, calendar):  # type: ignore[no-untyped-def]
    """No negative remaining time, and the deadline is exactly the working time asked for."""
    begin = start.replace(tzinfo=SH)
    due = calendar.add(begin, seconds)
    assert due >= begin
    assert calendar.seconds_between(begin, due) == seconds
