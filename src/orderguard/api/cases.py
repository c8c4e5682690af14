"""Cases API: the work queue and one case with its timeline, scoped to the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_ID, MAX_LIMIT, MAX_OFFSET, FindingOut, _finding, enum_param, object_id
from orderguard.cases.choices import CaseStatus
from orderguard.cases.models import ExceptionCase
from orderguard.cases.selectors import case_get, cases_by_ids, cases_for_actor
from orderguard.cases.services import case_assign, cases_assign_bulk
from orderguard.core import clock
from orderguard.core.choices import ExceptionType
from orderguard.tenancy.access import user_id_for

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
    assignee: str | None = Field(description="Username of the person the case is assigned to")


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


# A Django username (letters, digits and @.+-_), so nothing else reaches a query.
Username = Annotated[str, Field(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")]
MAX_BULK = 500


class AssignIn(Schema):
    assignee: Username = Field(description="Username of an active warehouse staff user")


class BulkAssignIn(Schema):
    case_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=MAX_BULK)
    assignee: Username = Field(description="Username of an active warehouse staff user")


class CaseListOut(Schema):
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
        "assignee": c.assignee.get_username() if c.assignee is not None else None,
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


# Before "/{case_id}": Django tries the paths in the order they were added, and "assign"
# would otherwise be taken for a case id (405 for a POST).
# Refusals of an action on a case: not visible (404), not staff (403), closed (409), an
# unknown or ineligible assignee (422, field "assignee").
ACTION_ERRORS = (*AUTHENTICATED, 404, 409)
# ... and for those with a body, one that is not JSON (400)
BODY_ACTION_ERRORS = (*ACTION_ERRORS, 400)


@router.post(
    "/assign",
    response=with_errors({200: CaseListOut}, *BODY_ACTION_ERRORS),
    summary="Assign several cases (all or none)",
)
def assign_cases(request: HttpRequest, body: BulkAssignIn) -> dict[str, Any]:
    """Up to 500 cases in one transaction; if any is not assignable, none is assigned."""
    act = actor(request)
    assignee_id = user_id_for(body.assignee)
    cases_assign_bulk(case_ids=body.case_ids, assignee_id=assignee_id, actor=act, now=clock.now())
    return {"items": [_summary(c) for c in cases_by_ids(actor=act, case_ids=body.case_ids)]}


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


@router.post(
    "/{case_id}/assign",
    response=with_errors({200: CaseSummaryOut}, *BODY_ACTION_ERRORS),
    summary="Assign a case to a warehouse staff user",
)
def assign_case(
    request: HttpRequest, body: AssignIn, case_id: int = object_id("The case's id")
) -> dict[str, Any]:
    act = actor(request)
    assignee_id = user_id_for(body.assignee)
    case_assign(case_id=case_id, assignee_id=assignee_id, actor=act, now=clock.now())
    return _summary(case_get(actor=act, case_id=case_id))


@router.post(
    "/{case_id}/take",
    response=with_errors({200: CaseSummaryOut}, *ACTION_ERRORS),
    summary="Take a case (assign it to oneself)",
)
def take_case(request: HttpRequest, case_id: int = object_id("The case's id")) -> dict[str, Any]:
    act = actor(request)
    case_assign(case_id=case_id, assignee_id=act.user_id, actor=act, now=clock.now())
    return _summary(case_get(actor=act, case_id=case_id))
