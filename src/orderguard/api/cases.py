"""Cases API: the work queue and one case with its timeline, scoped to the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from orderguard.api.auth import AUTH, actor
from orderguard.api.orders import FindingOut, _finding
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
    type: ExceptionType | None = None
    status: CaseStatus | None = None
    all: bool = False
    limit: int = 50
    offset: int = 0


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


@router.get("", response=CasePageOut, summary="List cases (work queue)")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    """Open cases by default, soonest deadline first; `status` for one status, `all` for every."""
    status = filters.status.value if filters.status else ("all" if filters.all else "open")
    qs = cases_for_actor(
        actor=actor(request), case_type=filters.type.value if filters.type else None, status=status
    )
    limit = max(1, min(filters.limit, 200))
    return {"total": qs.count(), "items": [_summary(c) for c in qs[filters.offset : filters.offset + limit]]}


@router.get("/{case_id}", response=CaseOut, summary="Get a case with its timeline")
def get_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
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
