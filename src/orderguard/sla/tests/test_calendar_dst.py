"""Working time in a warehouse time zone with daylight saving time (B1: a calendar's time zone
is the warehouse's choice in admin): the hours of a day that is 23 or 25 hours long are the
hours that really pass, so a deadline is as far in real time as the policy says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderguard.sla.calendar import WorkingTime

BERLIN = ZoneInfo("Europe/Berlin")
# Every day round the clock, but not the plain-arithmetic shortcut (a working-day rule is set)
ROUND_THE_CLOCK = WorkingTime(tz=BERLIN, weekdays=frozenset(range(7)), overrides={date(2000, 1, 1): False})
# 01:00-04:00 local: on 29 March 2026 the clocks jump from 02:00 to 03:00, on 25 October from
# 03:00 back to 02:00
NIGHT_SHIFT = WorkingTime(tz=BERLIN, start=60, end=240, weekdays=frozenset(range(7)))


def test_the_short_day_of_spring_has_23_working_hours_round_the_clock():
    a = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    b = datetime(2026, 3, 30, 0, 0, tzinfo=BERLIN)

    assert ROUND_THE_CLOCK.seconds_between(a, b) == 23 * 3600
    assert ROUND_THE_CLOCK.add(a, 23 * 3600) == b


def test_the_long_day_of_autumn_has_25_working_hours_round_the_clock():
    a = datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN)
    b = datetime(2026, 10, 26, 0, 0, tzinfo=BERLIN)

    assert ROUND_THE_CLOCK.seconds_between(a, b) == 25 * 3600
    assert ROUND_THE_CLOCK.add(a, 25 * 3600) == b


def test_a_night_shift_across_the_change_counts_the_hours_that_pass():
    spring = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    autumn = datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN)

    assert NIGHT_SHIFT.seconds_between(spring, spring + timedelta(hours=6)) == 2 * 3600
    assert NIGHT_SHIFT.seconds_between(autumn, autumn.replace(hour=6)) == 4 * 3600
    # two working hours from midnight end at 04:00 in spring (01:00-02:00, then 03:00-04:00)
    assert NIGHT_SHIFT.add(spring, 2 * 3600) == datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN)


@settings(max_examples=200, deadline=None)
@given(
    change=st.sampled_from(
        [datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)]
    ),
    offset=st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60),
    seconds=st.integers(min_value=0, max_value=6 * 24 * 3600),
)
def test_round_the_clock_working_time_is_real_elapsed_time(change, offset, seconds):
    """A calendar working every hour of every day counts exactly the seconds that pass, on
    either side of a change of the clocks."""
    start = change + timedelta(minutes=offset)
    end = ROUND_THE_CLOCK.add(start, seconds)
    assert end - start == timedelta(seconds=seconds)
    assert ROUND_THE_CLOCK.seconds_between(start, start + timedelta(seconds=seconds)) == seconds


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/Berlin", "America/New_York"])
def test_add_and_seconds_between_undo_each_other_across_the_changes(tz):
    clock = WorkingTime(tz=ZoneInfo(tz), start=60, end=23 * 60, weekdays=frozenset(range(5)))
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    for hours in range(0, 24 * 60, 7):
        end = clock.add(start, hours * 3600)
        assert clock.seconds_between(start, end) == hours * 3600
