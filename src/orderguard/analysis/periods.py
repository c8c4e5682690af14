"""The period a report covers (S3): a week, a month, or any range of local days, checked.

Refusals carry a code and the request field they concern (`PeriodInvalid`): a date that is not
YYYY-MM-DD (``BAD_DATE``), `from` after `to` (``RANGE_INVERTED``), a period that starts after
today (``IN_FUTURE``), a range longer than `MAX_DAYS` (``TOO_LONG``). A period that ends after
today is cut at today (the days to come have nothing to count).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from orderguard.core.errors import DomainError

# The longest range a report covers: a year (of 366 days), which the rollups read in well
# under a second; longer comparisons are a year at a time.
MAX_DAYS = 366
PRESETS = ("this_week", "last_week", "this_month", "last_month")


class PeriodInvalid(DomainError):
    code = "PERIOD_INVALID"

    BAD_DATE = "BAD_DATE"
    RANGE_INVERTED = "RANGE_INVERTED"
    IN_FUTURE = "IN_FUTURE"
    TOO_LONG = "TOO_LONG"

    def __init__(self, *, reason: str, field: str, **data: object) -> None:
        super().__init__(reason, reason=reason, field=field, **data)
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True)
class Period:
    """Local days `first`..`last`, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(first=self.first - timedelta(days=self.days), last=self.first - timedelta(days=1))

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def period_preset(name: str, *, today: date) -> Period:
    """this_week (Monday to today), last_week (Monday to Sunday), this_month (the 1st to
    today), last_month (the whole calendar month before)."""
    if name == "this_week":
        return Period(first=today - timedelta(days=today.weekday()), last=today)
    if name == "last_week":
        monday = today - timedelta(days=today.weekday() + 7)
        return Period(first=monday, last=monday + timedelta(days=6))
    if name == "this_month":
        return Period(first=_month_start(today), last=today)
    if name == "last_month":
        last = _month_start(today) - timedelta(days=1)
        return Period(first=_month_start(last), last=last)
    raise PeriodInvalid(reason=PeriodInvalid.BAD_DATE, field="period", value=name)


def _parse(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodInvalid(reason=PeriodInvalid.BAD_DATE, field=field, value=text[:40]) from None


def period_parse(*, date_from: str | None, date_to: str | None, today: date, preset: str = "") -> Period:
    """The period a request asks for: `from`/`to` (YYYY-MM-DD) when given, else the preset
    (default: this month). Raises `PeriodInvalid` (see the module's docstring)."""
    if not date_from and not date_to:
        return period_preset(preset or "this_month", today=today)
    first = _parse(date_from, "from") if date_from else None
    last = _parse(date_to, "to") if date_to else today
    if first is None:
        first = last
    if first > today:
        raise PeriodInvalid(reason=PeriodInvalid.IN_FUTURE, field="from", first=first, today=today)
    if first > last:
        raise PeriodInvalid(reason=PeriodInvalid.RANGE_INVERTED, field="from", first=first, last=last)
    last = min(last, today)
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodInvalid(reason=PeriodInvalid.TOO_LONG, field="to", max_days=MAX_DAYS)
    return Period(first=first, last=last)


def period_message(exc: PeriodInvalid) -> str:
    """What to tell a person about a refused period."""
    from django.utils.translation import gettext as _

    if exc.reason == PeriodInvalid.BAD_DATE:
        return _("日期无效，格式应为 YYYY-MM-DD（%(field)s）") % {"field": exc.field}
    if exc.reason == PeriodInvalid.RANGE_INVERTED:
        return _("开始日期晚于结束日期")
    if exc.reason == PeriodInvalid.IN_FUTURE:
        return _("所选时段尚未开始：开始日期晚于今天")
    return _("时段最长 %(max)d 天，请缩短范围") % {"max": MAX_DAYS}
