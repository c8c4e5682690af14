"""Analysis API (S3): the report of a period, for the whole warehouse or one merchant, as the
page /reports/ shows it (definitions in `analysis.selectors`). A merchant user reads its own
merchant's report; naming another merchant is refused (403 ``REPORT_OTHER_MERCHANT``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from orderguard.analysis.actions import (
    EDITOR_ROLES,
    MAX_EFFECT,
    MAX_NOTE,
    ActionRefused,
    action_create,
    action_effect,
    action_update,
    action_visible,
    actions_visible,
    actions_with_effect,
)
from orderguard.analysis.advice import findings_build
from orderguard.analysis.choices import ActionStatus, FindingKind
from orderguard.analysis.models import ImprovementAction
from orderguard.analysis.periods import PeriodInvalid, period_message, period_parse
from orderguard.analysis.selectors import ReportRefused, period_sums, report_build, report_scope
from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, ApiError, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_LIMIT, MAX_OFFSET, object_id
from orderguard.core import clock
from orderguard.core.errors import NotFound
from orderguard.tenancy.access import Actor, user_id_for, usernames_as_seen_by

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
    type_label: str
    step: str
    step_label: str = Field(description="the step in the request's language")
    closed: int
    on_time: int
    late: int
    on_time_share: float | None
    overdue_alerts: int
    escalations: int
    timed: int = Field(description="closings whose time in this step is known (the step's events)")
    handling: TimesOut = Field(
        description="time spent in the step, clock time: from entering it to the next step or the closing"
    )
    working: TimesOut = Field(description="time spent in the step, working time of the warehouse's calendar")


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
        "with `outage_minutes`, area_address_errors, merchant_address_errors, and for staff audit_failures with "
        "`checked`, `failed`, `share`, `low`, `high` (percent, 95 % interval) and the failed checklist `items`), "
        "subject, merchant, affected"
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
    body["findings"] = findings_build(scope=scope, period=period, sums=sums, audits=act.is_staff_role)
    body["actions"] = actions_with_effect(actor=act, today=today)
    return body


# --- improvement actions (S4) ------------------------------------------------------------------


class ActionFilters(Schema):
    status: str = Field("", description="planned, in_progress, done or dropped")
    owner: str = Field("", description="the owner's username")
    merchant: str = Field("", description="a merchant's code (a merchant user: its own or nothing)")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class ImprovementActionOut(Schema):
    id: int
    kind: str = Field(description="the finding it comes from: " + ", ".join(FindingKind.values))
    subject: str = Field(description="the SKU code, channel code, province or merchant code")
    merchant: str | None = Field(description="the subject's merchant (none for a province)")
    expected_effect: str
    target_value: int | None
    owner: str = Field(description="the owner's username (to a merchant user: the owner's role)")
    due_on: date
    started_on: date
    status: str = Field(description="planned, in_progress, done or dropped")
    overdue: bool = Field(description="planned or in progress after its due date")
    note: str
    created_at: datetime
    updated_at: datetime


class ImprovementActionPageOut(Schema):
    total: int
    items: list[ImprovementActionOut]


class ActionEffectOut(Schema):
    days: int = Field(
        description="the days compared on each side of the start (up to 30; 0 on its first day)"
    )
    before: int | None = Field(description="the subject's cases in the `days` days before the start")
    after: int | None = Field(description="the subject's cases in the `days` days from the start")
    change: float | None = Field(description="percent change of after against before")


class ImprovementActionDetailOut(ImprovementActionOut):
    effect: ActionEffectOut


class ImprovementActionIn(Schema):
    model_config = {"extra": "forbid"}

    kind: FindingKind = Field(description="the finding's kind")
    subject: str = Field(description="the finding's subject", max_length=100)
    merchant: str = Field("", description="the SKU's merchant code (for sku_stockouts)", max_length=50)
    owner: str = Field(description="an active staff user's username", max_length=150)
    due_on: date = Field(description="today or later")
    expected_effect: str = Field(
        max_length=MAX_EFFECT, description='e.g. "raise the safety stock of SKU-R to 22"'
    )
    target_value: int | None = Field(None, ge=0, le=10**9, description="the number the effect aims at")


class ImprovementActionPatchIn(Schema):
    model_config = {"extra": "forbid"}

    status: ActionStatus | None = Field(None, description="planned, in_progress, done or dropped")
    owner: str | None = Field(None, max_length=150, description="an active staff user's username")
    due_on: date | None = Field(None, description="a new due date: today or later")
    note: str | None = Field(None, max_length=MAX_NOTE, description="replaces the note")


def _refusal(exc: ActionRefused) -> ApiError:
    if exc.reason == ActionRefused.ROLE:
        return ApiError(403, "ROLE", _("只有仓库主管和管理员可以管理改进措施"))
    if exc.reason == ActionRefused.NOT_FOUND:
        return ApiError(404, "NOT_FOUND", _("找不到该改进措施"))
    return ApiError(
        422, "ACTION_INVALID", _("改进措施的内容无效：%(field)s") % {"field": exc.field}, exc.field
    )


def _action_out(a: ImprovementAction, names: dict[str, str], today: date) -> dict[str, Any]:
    return {
        "id": a.pk,
        "kind": a.kind,
        "subject": a.subject,
        "merchant": a.merchant.code if a.merchant else None,
        "expected_effect": a.expected_effect,
        "target_value": a.target_value,
        "owner": names.get(a.owner_label, a.owner_label),
        "due_on": a.due_on,
        "started_on": a.started_on,
        "status": a.status,
        "overdue": a.status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS) and a.due_on < today,
        "note": a.note,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    }


def _detail(act: Actor, action_id: int) -> dict[str, Any]:
    try:
        a = action_visible(actor=act, action_id=action_id)
    except ActionRefused as exc:
        raise _refusal(exc) from None
    today = timezone.localdate(clock.now())
    names = usernames_as_seen_by(actor=act, usernames=[a.owner_label])
    return {**_action_out(a, names, today), "effect": action_effect(a, today=today)}


def _owner_id(username: str) -> int:
    """The id of the user named `username`; unknown: refused naming `owner` (the services
    then check the user is active staff)."""
    name = username.strip()
    # a NUL cannot name anyone (and PostgreSQL refuses it in a query)
    owner_id = user_id_for(name) if name and "\x00" not in name else None
    if owner_id is None:
        raise ApiError(
            422, "ACTION_INVALID", _("改进措施的内容无效：%(field)s") % {"field": "owner"}, "owner"
        )
    return owner_id


@router.get(
    "/actions",
    response=with_errors({200: ImprovementActionPageOut}, *AUTHENTICATED, 404),
    summary="List improvement actions",
)
def list_actions(request: HttpRequest, filters: Query[ActionFilters]) -> dict[str, Any]:
    """Open ones first, then by due date. Staff see every action; a merchant user its own
    merchant's (naming another merchant: 403 ``REPORT_OTHER_MERCHANT``). 422 naming `status`
    for an unknown status, 404 naming `merchant` for an unknown merchant; an owner nobody is
    gives an empty page."""
    reject_unknown_query(request, ActionFilters)
    act = actor(request)
    if filters.status and filters.status not in ActionStatus.values:
        raise ApiError(422, "INVALID_INPUT", _("请求参数无效"), "status")
    qs = actions_visible(act).select_related("merchant")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.owner:
        if "\x00" in filters.owner:
            raise ApiError(422, "INVALID_INPUT", _("请求参数无效"), "owner")
        qs = qs.filter(owner_label=filters.owner.strip())
    if filters.merchant:
        try:
            scope = report_scope(actor=act, merchant_code=filters.merchant)
        except ReportRefused as exc:
            raise ApiError(403, exc.code, _("你只能查看本商家的报表"), "merchant") from None
        except NotFound:
            raise ApiError(404, "NOT_FOUND", _("没有这个商家"), "merchant") from None
        qs = qs.filter(merchant=scope.merchant)
    page = list(qs[filters.offset : filters.offset + filters.limit])
    today = timezone.localdate(clock.now())
    names = usernames_as_seen_by(actor=act, usernames={a.owner_label for a in page})
    return {"total": qs.count(), "items": [_action_out(a, names, today) for a in page]}


@router.post(
    "/actions",
    response=with_errors({201: ImprovementActionDetailOut}, *AUTHENTICATED, 400, 404),
    summary="Create an improvement action from a finding",
)
def create_action(request: HttpRequest, body: ImprovementActionIn) -> Status:
    """Managers and admins (others: 403 ``ROLE``) turn a finding into an action starting
    today. 422 ``ACTION_INVALID`` naming the field: an owner who is not active staff, a due
    date in the past, a blank subject or effect, an unknown merchant or channel. Nothing is
    written when refused."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    if act.role not in EDITOR_ROLES:
        raise _refusal(ActionRefused(reason=ActionRefused.ROLE))
    try:
        created = action_create(
            actor=act,
            kind=body.kind,
            subject=body.subject,
            merchant_code=body.merchant,
            owner_id=_owner_id(body.owner),
            due_on=body.due_on,
            expected_effect=body.expected_effect,
            target_value=body.target_value,
            now=clock.now(),
        )
    except ActionRefused as exc:
        raise _refusal(exc) from None
    return Status(201, _detail(act, created.pk))


@router.get(
    "/actions/{action_id}",
    response=with_errors({200: ImprovementActionDetailOut}, *AUTHENTICATED, 404),
    summary="An improvement action with its effect",
)
def get_action(request: HttpRequest, action_id: int = object_id("The action's id")) -> dict[str, Any]:
    """The action and its effect: the subject's cases in as many days before its start as
    after it (up to 30). Another merchant's action is 404 like a missing one."""
    reject_unknown_query(request, NoQuery)
    return _detail(actor(request), action_id)


@router.patch(
    "/actions/{action_id}",
    response=with_errors({200: ImprovementActionDetailOut}, *AUTHENTICATED, 400, 404),
    summary="Change an improvement action",
)
def update_action(
    request: HttpRequest, body: ImprovementActionPatchIn, action_id: int = object_id("The action's id")
) -> dict[str, Any]:
    """Status, owner, due date and note; what is absent stays. Managers and admins (others:
    403 ``ROLE``); 404 for an unknown id; 422 ``ACTION_INVALID`` naming the field for an
    owner who is not active staff or a new due date in the past. Nothing is written when
    refused."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    if act.role not in EDITOR_ROLES:
        raise _refusal(ActionRefused(reason=ActionRefused.ROLE))
    try:
        action_update(
            actor=act,
            action_id=action_id,
            now=clock.now(),
            status=body.status,
            owner_id=_owner_id(body.owner) if body.owner is not None else None,
            due_on=body.due_on,
            note=body.note,
        )
    except ActionRefused as exc:
        raise _refusal(exc) from None
    return _detail(act, action_id)
