"""Cases API: the work queue and one case with its timeline, scoped to the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_LIMIT, MAX_OFFSET, FindingOut, _finding, enum_param, object_id
from orderguard.cases.choices import CaseStatus
from orderguard.cases.models import ExceptionCase
from orderguard.cases.selectors import case_get, cases_for_actor
from orderguard.core.choices import ExceptionType

router = Router(tags=["cases"], auth=AUTH)


class CaseSummaryOut(Schema):
    id: int
    type: str
    status: str
    source: str
    merchant: str
    order_id: int
    platform_order_id: str
    step: str
    due_at: datetime | None
    opened_at: datetime


class CaseEventOut(Schema):
    occurred_at: datetime
    type: str
    actor: str
    data: dict[str, Any]


class CaseOut(CaseSummaryOut):
    findings: list[FindingOut]
    outcome: str
    resolution: str
    closed_at: datetime | None
    events: list[CaseEventOut]


class CasePageOut(Schema):
    total: int
    items: list[CaseSummaryOut]


class CaseFilters(Schema):
    # absent: every type / the open statuses
    type: Annotated[ExceptionType | None, enum_param(ExceptionType)] = None
    status: Annotated[CaseStatus | None, enum_param(CaseStatus)] = None
    all: bool = False
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _summary(c: ExceptionCase) -> dict[str, Any]:
    return {
        "id": c.pk,
        "type": c.type,
        "status": c.status,
        "source": c.source,
        "merchant": c.merchant.code,
        "order_id": c.order_id,
        "platform_order_id": c.order.platform_order_id,
        "step": c.step,
        "due_at": c.due_at,
        "opened_at": c.opened_at,
    }


@router.get("", response=with_errors({200: CasePageOut}, *AUTHENTICATED), summary="List cases (work queue)")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    """Open cases by default, soonest deadline first; `status` for one status, `all` for every."""
    reject_unknown_query(request, CaseFilters)
    status = filters.status.value if filters.status else ("all" if filters.all else "open")
    qs = cases_for_actor(
        actor=actor(request), case_type=filters.type.value if filters.type else None, status=status
    )
    page = qs[filters.offset : filters.offset + filters.limit]
    return {"total": qs.count(), "items": [_summary(c) for c in page]}


@router.get(
    "/{case_id}",
    response=with_errors({200: CaseOut}, *AUTHENTICATED, 404),
    summary="Get a case with its timeline",
)
def get_case(request: HttpRequest, case_id: int = object_id("The case's id")) -> dict[str, Any]:
    c = case_get(actor=actor(request), case_id=case_id)
    return {
        **_summary(c),
        "findings": [_finding(f) for f in c.findings],
        "outcome": c.outcome,
        "resolution": c.resolution,
        "closed_at": c.closed_at,
        "events": [
            {"occurred_at": e.occurred_at, "type": e.type, "actor": e.actor_label, "data": e.data}
            for e in c.events.order_by("occurred_at", "pk")
        ],
    }
