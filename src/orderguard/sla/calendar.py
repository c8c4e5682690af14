"""Working time (B1, S1): when the clock of a case step runs.

A `WorkingTime` is one warehouse's week: working hours in its time zone, and which days are
working days. Days follow either China's statutory calendar (public holidays off, and the
weekend days the State Council moves to working days on) or a fixed set of weekdays (a
warehouse that works every day); single days can be overridden (a stock-take day, the next
year's schedule before the package has it).

The statutory calendar comes from `chinese-calendar` (the State Council's published
schedules, 2004 to the package's last year). For a year it does not cover yet, Monday to
Friday are working days until the overrides or a newer package say otherwise (`covered`).

Pure: no database. `sla.services.PolicyBook` builds them from `WorkingCalendar` rows.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = frozenset(range(5))  # Monday..Friday
EVERY_DAY = frozenset(range(7))
# A clock that never finds a working minute within this many days is a configuration error.
SEARCH_DAYS = 3 * 366


@functools.lru_cache(maxsize=4096)
def statutory_workday(day: date) -> bool | None:
    """Whether China's statutory calendar has `day` as a working day; None for a year the
    package does not cover."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def covered(year: int) -> bool:
    """Whether the statutory calendar of `year` is known."""
    return statutory_workday(date(year, 6, 1)) is not None


class NoWorkingTime(ValueError):
    """The calendar has no working minute for years: no weekday, no hours, or every day off."""


@dataclass(frozen=True)
class WorkingTime:
    """Working hours `start`..`end` (minutes after local midnight; `end` 1440 is midnight) on
    the working days, in `tz`."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    start: int = 0
    end: int = MINUTES_PER_DAY
    statutory: bool = False
    weekdays: frozenset[int] = EVERY_DAY
    overrides: Mapping[date, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end <= MINUTES_PER_DAY):
            raise NoWorkingTime(f"working hours {self.start}..{self.end} are not a window of a day")

    def __hash__(self) -> int:  # the overrides mapping is not hashable; identity is enough
        return id(self)

    @property
    def always(self) -> bool:
        """Round the clock, every day: clock time."""
        return (
            not self.statutory
            and self.weekdays == EVERY_DAY
            and self.start == 0
            and self.end == MINUTES_PER_DAY
            and not any(working is False for working in self.overrides.values())
        )

    def is_working_day(self, day: date) -> bool:
        override = self.overrides.get(day)
        if override is not None:
            return override
        if self.statutory:
            known = statutory_workday(day)
            if known is not None:
                return known
            return day.weekday() in WEEKDAYS
        return day.weekday() in self.weekdays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The working hours of `day`, in UTC: arithmetic on aware datetimes of one zone is wall
        clock time, which a day of 23 or 25 hours (daylight saving time) would get wrong."""
        midnight = datetime.combine(day, time(0))
        return (
            (midnight + timedelta(minutes=self.start)).replace(tzinfo=self.tz).astimezone(UTC),
            (midnight + timedelta(minutes=self.end)).replace(tzinfo=self.tz).astimezone(UTC),
        )

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of working time after `start` (`start` itself when 0; a start
        outside working hours counts from the next working minute)."""
        if seconds <= 0:
            return start
        if self.always:
            return start + timedelta(seconds=seconds)
        remaining = timedelta(seconds=seconds)
        cursor = start.astimezone(UTC)
        day = start.astimezone(self.tz).date()
        for _ in range(SEARCH_DAYS):
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin = max(cursor, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(start.tzinfo)
                    remaining -= available
            day += timedelta(days=1)
        raise NoWorkingTime("no working time found in three years")

    def seconds_between(self, a: datetime, b: datetime) -> int:
        """Working seconds from `a` to `b` (0 when `b` is not after `a`)."""
        if b <= a:
            return 0
        if self.always:
            return int((b - a).total_seconds())
        a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta()
        day = a.astimezone(self.tz).date()
        while day <= b.astimezone(self.tz).date():
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin, finish = max(a_utc, opens), min(b_utc, closes)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return int(total.total_seconds())


CLOCK = WorkingTime()
