"""Daily sample audits API (D4, B5), warehouse staff only: list and get the audits with their
estimate, draw a day now (managers, admins), confirm a drawn order's checklist. A merchant user
gets 403 on the list and "not found" for an audit or a line, and learns nothing of them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, ApiError, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_LIMIT, MAX_OFFSET, object_id
from orderguard.audits.errors import AuditRefused, audit_error_message
from orderguard.audits.models import AuditLine, DailyAudit
from orderguard.audits.selectors import AuditSummary, audit_get, audit_lines, audit_summaries, audits_visible
from orderguard.audits.services import DRAW_ROLES, audit_draw, audit_line_confirm, local_day
from orderguard.catalog.models import Warehouse
from orderguard.core import clock
from orderguard.core.errors import NotFound

router = Router(tags=["audits"], auth=AUTH)


class AuditEstimateOut(Schema):
    checked: int = Field(description="Lines confirmed so far")
    failed: int
    raw_share: float | None = Field(description="failed / checked: the sample's own share")
    share: float | None = Field(
        description="The day's estimate: the raw share for a simple random sample; for a sample "
        "weighted by risk the Hájek estimate (each line weighed by 1 / its inclusion probability)"
    )
    low: float | None = Field(description="95 % Wilson interval (at Kish's effective size when weighted)")
    high: float | None
    effective_n: float
    weighted: bool


class AuditOut(Schema):
    id: int
    warehouse: str
    day: date
    seed: int
    weighted: bool
    population: int = Field(
        description="The warehouse's orders paid that day that will ship (cancelled and platform-closed ones left out)"
    )
    planned: int
    drawn: int
    pending: int
    drawn_at: datetime
    drawn_by: str
    plan: dict[str, Any]
    estimate: AuditEstimateOut
    note: str = Field(description="no_orders when the day had no order")


class AuditPageOut(Schema):
    total: int
    items: list[AuditOut]


class AuditItemOut(Schema):
    result: str
    note: str
    proposed: str


class AuditLineOut(Schema):
    id: int
    rank: int
    order_id: int
    platform_order_id: str
    merchant: str
    weight: float
    inclusion: float
    reasons: dict[str, float]
    proposal: dict[str, Any] = Field(description="Per item: the checks' result (pass/fail) and finding codes")
    status: str = Field(description="pending, passed, failed")
    items: dict[str, AuditItemOut]
    note: str
    confirmed_at: datetime | None
    confirmed_by: str
    cases: list[int]


class AuditDetailOut(AuditOut):
    lines: list[AuditLineOut]


class AuditFilters(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class AuditDrawIn(Schema):
    warehouse: str = Field(min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    day: date | None = Field(None, description="The local day (default today)")


class AuditItemIn(Schema):
    result: Literal["pass", "fail"]
    note: str = Field("", max_length=2000)


class AuditConfirmIn(Schema):
    items: dict[str, AuditItemIn] = Field(
        description="address, recipient, items: each pass or fail (a note when it overrides the proposal)"
    )
    note: str = Field("", max_length=2000)


class AuditConfirmOut(Schema):
    line: AuditLineOut
    cases: list[dict[str, Any]] = Field(
        description="[{id, type, opened}]: the cases the failed items opened or joined"
    )


def _require_staff(request: HttpRequest) -> None:
    who = actor(request)
    if not who.is_staff_role:
        raise ApiError(403, "ROLE", _("抽检只对仓库员工开放"))


def _audit(s: AuditSummary) -> dict[str, Any]:
    a, e = s.audit, s.estimate
    return {
        "id": a.pk,
        "warehouse": a.warehouse.code,
        "day": a.day,
        "seed": a.seed,
        "weighted": a.weighted,
        "population": a.population,
        "planned": a.planned,
        "drawn": a.drawn,
        "pending": s.pending,
        "drawn_at": a.drawn_at,
        "drawn_by": a.drawn_by_label,
        "plan": a.plan,
        "estimate": {
            "checked": e.checked,
            "failed": e.failed,
            "raw_share": e.raw_share,
            "share": e.share,
            "low": e.low,
            "high": e.high,
            "effective_n": e.effective_n,
            "weighted": e.weighted,
        },
        "note": "no_orders" if a.population == 0 else "",
    }


def _line(line: AuditLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "rank": line.rank,
        "order_id": line.order_id,
        "platform_order_id": line.order.platform_order_id,
        "merchant": line.merchant.code,
        "weight": line.weight,
        "inclusion": line.inclusion,
        "reasons": line.reasons,
        "proposal": line.proposal,
        "status": line.status,
        "items": line.items,
        "note": line.note,
        "confirmed_at": line.confirmed_at,
        "confirmed_by": line.confirmed_by_label,
        "cases": sorted(c.pk for c in line.cases.all()),
    }


def _refused(exc: AuditRefused) -> ApiError:
    status = 403 if exc.code == "ROLE" else 409 if exc.code == "LINE_CONFIRMED" else 422
    return ApiError(status, exc.code, audit_error_message(exc), exc.field)


@router.get("", response=with_errors({200: AuditPageOut}, *AUTHENTICATED), summary="List the daily audits")
def list_audits(request: HttpRequest, filters: Query[AuditFilters]) -> dict[str, Any]:
    """Newest day first, each with its failed-share estimate over the lines confirmed so far."""
    reject_unknown_query(request, AuditFilters)
    _require_staff(request)
    qs = audits_visible(actor=actor(request))
    page = list(qs[filters.offset : filters.offset + filters.limit])
    return {"total": qs.count(), "items": [_audit(s) for s in audit_summaries(page)]}


def _detail(audit: DailyAudit) -> dict[str, Any]:
    [summary] = audit_summaries([audit])
    return {**_audit(summary), "lines": [_line(line) for line in audit_lines(audit=audit)]}


@router.post(
    "/draw",
    response=with_errors({200: AuditDetailOut, 201: AuditDetailOut}, *AUTHENTICATED, 400, 404),
    summary="Draw a warehouse's sample of a day now (managers, admins)",
)
def draw_audit(request: HttpRequest, body: AuditDrawIn) -> Status[dict[str, Any]]:
    """201 with the new audit; 200 with the existing one when the day was drawn already
    (never twice). A day without orders is recorded with 0 drawn (`note`: no_orders)."""
    reject_unknown_query(request, NoQuery)
    who = actor(request)
    if not who.is_staff_role:
        raise ApiError(403, "ROLE", _("抽检只对仓库员工开放"))
    if who.role not in DRAW_ROLES:
        raise ApiError(403, "ROLE", _("只有仓库主管和管理员可以抽取"))
    warehouse = Warehouse.objects.filter(code=body.warehouse).first()
    if warehouse is None:
        raise ApiError(404, "NOT_FOUND", _("找不到该对象"), "warehouse")
    now = clock.now()
    try:
        result = audit_draw(
            warehouse_id=warehouse.pk, day=body.day or local_day(now), now=now, actor_label=who.label
        )
    except AuditRefused as exc:
        raise _refused(exc) from None
    return Status(201 if result.created else 200, _detail(result.audit))


@router.get(
    "/{audit_id}",
    response=with_errors({200: AuditDetailOut}, *AUTHENTICATED, 404),
    summary="Get an audit and its lines",
)
def get_audit(request: HttpRequest, audit_id: int = object_id("The audit's id")) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    return _detail(audit_get(actor=actor(request), audit_id=audit_id))


@router.post(
    "/lines/{line_id}/confirm",
    response=with_errors({200: AuditConfirmOut}, *AUTHENTICATED, 400, 404, 409),
    summary="Confirm a drawn order's checklist",
)
def confirm_line(
    request: HttpRequest, body: AuditConfirmIn, line_id: int = object_id("The line's id")
) -> dict[str, Any]:
    """Each of address, recipient and items: pass or fail, with a note when the result is
    not the proposal. Failed items open a case of their type (source D4) or join the order's
    open one. Once only: a second confirmation is 409 ``LINE_CONFIRMED``."""
    reject_unknown_query(request, NoQuery)
    who = actor(request)
    try:
        result = audit_line_confirm(
            line_id=line_id,
            actor=who,
            items={k: {"result": v.result, "note": v.note} for k, v in body.items.items()},
            note=body.note,
            now=clock.now(),
        )
    except NotFound:
        raise
    except AuditRefused as exc:
        raise _refused(exc) from None
    line = (
        AuditLine.objects.select_related("order", "merchant").prefetch_related("cases").get(pk=result.line.pk)
    )
    return {
        "line": _line(line),
        "cases": [{"id": c.pk, "type": c.type, "opened": opened} for c, opened in result.cases],
    }
