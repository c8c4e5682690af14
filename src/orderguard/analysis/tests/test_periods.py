"""Report periods (S3): presets, custom ranges, and each refusal with its field."""

from __future__ import annotations

from datetime import date

import pytest

from orderguard.analysis.periods import MAX_DAYS, Period, PeriodInvalid, period_parse, period_preset

TODAY = date(2026, 11, 26)  # a Thursday


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("this_week", date(2026, 11, 23), TODAY),
        ("last_week", date(2026, 11, 16), date(2026, 11, 22)),
        ("this_month", date(2026, 11, 1), TODAY),
        ("last_month", date(2026, 10, 1), date(2026, 10, 31)),
    ],
)
def test_presets(name, first, last):
    assert period_preset(name, today=TODAY) == Period(first=first, last=last)


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    assert Period(first=date(2026, 10, 1), last=date(2026, 10, 31)).previous() == Period(
        first=date(2026, 8, 31), last=date(2026, 9, 30)
    )


def test_a_custom_range_and_one_that_runs_past_today_is_cut_at_today():
    assert period_parse(date_from="2026-11-02", date_to="2026-11-08", today=TODAY) == Period(
        first=date(2026, 11, 2), last=date(2026, 11, 8)
    )
    assert period_parse(date_from="2026-11-20", date_to="2026-12-31", today=TODAY) == Period(
        first=date(2026, 11, 20), last=TODAY
    )
    assert period_parse(date_from=None, date_to=None, today=TODAY, preset="last_week").days == 7


@pytest.mark.parametrize(
    ("date_from", "date_to", "reason", "field"),
    [
        ("2026-13-01", "2026-11-02", "BAD_DATE", "from"),
        ("2026-11-01", "yesterday", "BAD_DATE", "to"),
        ("2026-11-10", "2026-11-02", "RANGE_INVERTED", "from"),
        ("2026-11-27", "2026-12-02", "IN_FUTURE", "from"),
        ("2025-11-25", "2026-11-26", "TOO_LONG", "to"),
    ],
)
def test_bad_periods_are_refused_naming_the_field(date_from, date_to, reason, field):
    with pytest.raises(PeriodInvalid) as refused:
        period_parse(date_from=date_from, date_to=date_to, today=TODAY)
    assert (refused.value.reason, refused.value.field) == (reason, field)


def test_the_longest_range_is_allowed():
    assert period_parse(date_from="2025-11-26", date_to="2026-11-26", today=TODAY).days == MAX_DAYS
