"""Disputed SKUs API (T3, H3.2): the SKUs whose product data a merchant is asked to check, and
the merchant's answer. A merchant user sees and answers its own; another merchant's dispute is
"not found" like a missing one."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_LIMIT, MAX_OFFSET, object_id
from orderguard.cases.disputes import dispute_get, disputes_for_actor, sku_dispute_answer
from orderguard.cases.selectors import actor_labels_as_seen_by
from orderguard.cases.services import NOTE_MAX_LENGTH
from orderguard.catalog.models import SkuDispute
from orderguard.core import clock
from orderguard.tenancy.access import Actor

router = Router(tags=["catalog"], auth=AUTH)


class DisputeOut(Schema):
    id: int
    merchant: str = Field(description="The merchant's code")
    sku_code: str = Field(description="The code as the orders have it")
    sku_id: int | None = Field(description="The catalogue's SKU when the code names one")
    cases: list[int] = Field(description="The product cases (T3) that asked")
    buyer_says: str
    opened_by: str
    opened_at: datetime
    open: bool
    answered_at: datetime | None
    answer: str = Field(
        description='"data_fixed", "sku_right", "other"; "withdrawn" when every case closed before the'
        ' answer; "" while open'
    )
    answer_text: str
    answered_by: str


class DisputePageOut(Schema):
    total: int
    items: list[DisputeOut]


class DisputeFilters(Schema):
    open: bool = Field(False, description="Only the disputes still waiting for the merchant's answer")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class AnswerIn(Schema):
    model_config = {"extra": "forbid"}

    answer: Literal["data_fixed", "sku_right", "other"] = Field(description="data_fixed, sku_right or other")
    text: str = Field(
        "",
        max_length=NOTE_MAX_LENGTH,
        pattern=r"^[^\x00]*$",
        description='What was done; required for "other"',
    )


def _labels(disputes: list[SkuDispute], act: Actor) -> dict[str, str]:
    """How the people the disputes name are shown to `act`, for a whole page at once (one query
    for a merchant user, none for staff)."""
    return actor_labels_as_seen_by(
        actor=act,
        labels={lb for d in disputes for lb in (d.opened_by_label, d.answered_by_label) if lb},
    )


def _out(d: SkuDispute, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "id": d.pk,
        "merchant": d.merchant.code,
        "sku_code": d.sku_code,
        "sku_id": d.sku_id,
        "cases": sorted(c.pk for c in d.cases.all()),
        "buyer_says": d.buyer_says,
        "opened_by": labels[d.opened_by_label],
        "opened_at": d.opened_at,
        "open": d.answered_at is None,
        "answered_at": d.answered_at,
        "answer": d.answer,
        "answer_text": d.answer_text,
        "answered_by": labels[d.answered_by_label] if d.answered_by_label else "",
    }


@router.get(
    "/disputes",
    response=with_errors({200: DisputePageOut}, *AUTHENTICATED),
    summary="List disputed SKUs",
)
def list_disputes(request: HttpRequest, filters: Query[DisputeFilters]) -> dict[str, Any]:
    """Newest first; a merchant user its own, staff every merchant's."""
    reject_unknown_query(request, DisputeFilters)
    act = actor(request)
    qs = disputes_for_actor(actor=act, open_only=filters.open).prefetch_related("cases")
    page = list(qs[filters.offset : filters.offset + filters.limit])
    labels = _labels(page, act)
    return {"total": qs.count(), "items": [_out(d, labels) for d in page]}


@router.post(
    "/disputes/{dispute_id}/answer",
    response=with_errors({200: DisputeOut}, *AUTHENTICATED, 404, 409, 400),
    summary="Answer a disputed SKU (the merchant's answer)",
)
def answer_dispute(
    request: HttpRequest, body: AnswerIn, dispute_id: int = object_id("The dispute's id")
) -> dict[str, Any]:
    """Once: the answer is logged on every linked case, the cases waiting on the merchant
    resume and the orders' marking clears. A merchant user answers its own (another merchant's:
    404); customer service, managers and admins record an answer for the merchant; operators
    and technical on-call may not (403 ``ROLE``). Answered already: 409 ``ALREADY_ANSWERED``;
    withdrawn (every case closed before the answer): 409 ``WITHDRAWN``;
    "other" without text: 422 ``TEXT_REQUIRED``. Nothing is written when refused."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    sku_dispute_answer(dispute_id=dispute_id, actor=act, answer=body.answer, text=body.text, now=clock.now())
    dispute = dispute_get(actor=act, dispute_id=dispute_id)
    return _out(dispute, _labels([dispute], act))
