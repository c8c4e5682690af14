"""Analysis API (S3): the report of a period, for the whole warehouse or one merchant, as the
page /reports/ shows it (definitions in `analysis.selectors`). A merchant user reads its own
merchant's report; naming another merchant is refused (403 ``REPORT_OTHER_MERCHANT``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from orderguard.analysis.actions import actions_with_effect
from orderguard.analysis.advice import findings_build
from orderguard.analysis.periods import PeriodInvalid, period_message, period_parse
from orderguard.analysis.selectors import ReportRefused, period_sums, report_build, report_scope
from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, ApiError, with_errors
from orderguard.core import clock

router = Router(tags=["reports"], auth=AUTH)


class ReportQuery(Schema):
    from_: str = Field("", alias="from", description="first day, YYYY-MM-DD (with `to`: a custom period)")
    to: str = Field("", description="last day, YYYY-MM-DD (default today; a later day is cut at today)")
    period: str = Field("", description="this_week, last_week, this_month (default) or last_month")
    merchant: str = Field("", description="a merchant's code (staff; a merchant user: its own or nothing)")


# the query's names as sent (`from` is a Python keyword, so the field is `from_`)
QUERY_NAMES = frozenset({"from", "to", "period", "merchant"})


class PeriodOut(Schema):
    from_: str = Field(..., alias="from")
    to: str
    days: int


class MerchantOut(Schema):
    code: str
    name: str


class TimesOut(Schema):
    mean: int | None = Field(description="seconds, exact")
    median: int | None = Field(description="seconds, estimated from log-scale buckets")
    p90: int | None = Field(description="seconds, estimated from log-scale buckets")


class TotalsOut(Schema):
    opened: int
    closed: int
    succeeded: int
    failed: int
    cancelled: int
    success_rate: float | None = Field(description="percent of closings that succeeded")
    handling_mean: int | None
    reopened: int
    previous_opened: int
    change: float | None = Field(description="percent change of the opened cases against the previous period")


class TypeOut(Schema):
    type: str
    label: str
    opened: int
    share: float | None
    previous_opened: int
    previous_share: float | None
    change: float | None
    closed: int
    succeeded: int
    failed: int
    cancelled: int
    success_rate: float | None
    reopened: int
    handling: TimesOut = Field(description="clock time")
    working: TimesOut = Field(description="working time of the warehouse's calendar")


class ReportSourceOut(Schema):
    source: str
    label: str
    opened: int
    share: float | None
    previous_opened: int
    change: float | None


class StepOut(Schema):
    type: str
    step: str
    closed: int
    on_time: int
    late: int
    on_time_share: float | None
    overdue_alerts: int
    escalations: int


class BreakdownRowOut(Schema):
    key: str = Field(description="merchant, channel or platform code, SKU, province or username")
    name: str
    opened: int
    closed: int
    succeeded: int
    failed: int
    cancelled: int
    success_rate: float | None
    handling_mean: int | None
    platform: str | None = None


class BreakdownsOut(Schema):
    merchant: list[BreakdownRowOut]
    platform: list[BreakdownRowOut]
    channel: list[BreakdownRowOut]
    sku: list[BreakdownRowOut]
    province: list[BreakdownRowOut]
    person: list[BreakdownRowOut] = Field(description="staff only (empty for a merchant user)")


class TrendOut(Schema):
    days: list[str]
    series: dict[str, list[int]] = Field(description="cases opened per day, per type")
    previous_total: list[int] = Field(description="cases opened per day of the previous period")


class ReportOut(Schema):
    period: PeriodOut
    previous: PeriodOut
    merchant: MerchantOut | None
    rollup_ran_at: str | None
    totals: TotalsOut
    types: list[TypeOut]
    sources: list[ReportSourceOut]
    steps: list[StepOut]
    trend: TrendOut
    breakdowns: BreakdownsOut
    findings: list[dict[str, Any]] = Field(
        description="patterns and advice (S3), the most orders affected first: kind (sku_stockouts with "
        "`advice` {suggested, z, service_level, demand_mean, demand_std, lead_days, days}, channel_faults "
        "with `outage_minutes`, area_address_errors, merchant_address_errors), subject, merchant, affected"
    )
    actions: list[dict[str, Any]] = Field(
        description="improvement actions (S4) with `effect` {days, before, after, change}: the subject's "
        "cases in as many days before the start as after it"
    )


@router.get(
    "",
    response=with_errors({200: ReportOut}, *AUTHENTICATED, 400, 404),
    summary="Weekly and monthly analysis",
    by_alias=True,
)
def report(request: HttpRequest, query: Query[ReportQuery]) -> dict[str, Any]:
    """The report of a period (`from`/`to`, or a `period` preset; default this month) for the
    whole warehouse or one `merchant`. 400 ``PERIOD_INVALID`` names the field: a date that is
    not YYYY-MM-DD, `from` after `to`, a period starting after today, or one longer than
    `MAX_DAYS` (366) days. 404 for an unknown merchant; 403 ``REPORT_OTHER_MERCHANT`` when a merchant user
    names another merchant."""
    for name in request.GET:
        if name not in QUERY_NAMES:
            raise ApiError(422, "INVALID_INPUT", _("请求参数无效"), name)
    act = actor(request)
    today = timezone.localdate(clock.now())
    try:
        period = period_parse(date_from=query.from_, date_to=query.to, today=today, preset=query.period)
        scope = report_scope(actor=act, merchant_code=query.merchant)
    except PeriodInvalid as exc:
        raise ApiError(400, exc.code, period_message(exc), exc.field) from None
    except ReportRefused as exc:
        raise ApiError(403, exc.code, _("你只能查看本商家的报表"), "merchant") from None
    sums = period_sums(scope, period)
    body = report_build(scope=scope, period=period, actor=act, sums=sums)
    body["findings"] = findings_build(scope=scope, period=period, sums=sums)
    body["actions"] = actions_with_effect(actor=act, today=today)
    return body
