"""Case reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from orderguard.cases.choices import OPEN_STATUSES
from orderguard.cases.models import ExceptionCase
from orderguard.core import clock
from orderguard.core.choices import ExceptionType
from orderguard.orders.models import Order
from orderguard.tenancy.access import Actor, get_visible, visible


def cases_list(
    *, case_type: str | None = None, status: str | None = None, merchant_code: str | None = None
) -> QuerySet[ExceptionCase]:
    """Cases by due time (soonest first). `status` "open" means any open status, "all" any."""
    qs = ExceptionCase.objects.select_related("order", "merchant", "assignee").order_by("due_at", "pk")
    if merchant_code:
        qs = qs.filter(merchant__code=merchant_code)
    if case_type:
        qs = qs.filter(type=case_type)
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status and status != "all":
        qs = qs.filter(status=status)
    return qs


def case_counts(*, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """Open cases the actor may see, per type and deadline state: on time, due soon (past the
    warning time), overdue. One query."""
    moment = now or clock.now()
    rows = (
        visible(ExceptionCase.objects.filter(status__in=OPEN_STATUSES), actor)
        .values("type")
        .annotate(
            total=Count("pk"),
            overdue=Count("pk", filter=Q(due_at__lt=moment)),
            due_soon=Count("pk", filter=Q(due_at__gte=moment, warn_at__lte=moment)),
        )
    )
    by_type = {r["type"]: r for r in rows}
    out = []
    for value, label in ExceptionType.choices:
        r = by_type.get(value, {"total": 0, "overdue": 0, "due_soon": 0})
        out.append(
            {
                "type": value,
                "label": label,
                "total": r["total"],
                "overdue": r["overdue"],
                "due_soon": r["due_soon"],
                "on_time": r["total"] - r["overdue"] - r["due_soon"],
            }
        )
    return {"rows": out, "total": sum(r["total"] for r in out), "at": moment + timedelta(0)}


def cases_for_actor(
    *, actor: Actor, case_type: str | None = None, status: str | None = "open"
) -> QuerySet[ExceptionCase]:
    """Cases the actor may see, soonest deadline first (the work queue's order)."""
    return visible(cases_list(case_type=case_type, status=status), actor)


def case_get(*, actor: Actor, case_id: int) -> ExceptionCase:
    return get_visible(
        ExceptionCase.objects.select_related("order__channel", "merchant", "assignee"), actor, case_id
    )


def cases_by_ids(*, actor: Actor, case_ids: list[int]) -> list[ExceptionCase]:
    """The cases of `case_ids` the actor may see, in pk order."""
    return list(visible(cases_list(status="all"), actor).filter(pk__in=case_ids).order_by("pk"))


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """The work queue's filters; empty strings mean "any". `assignee` is "me", "none" or a
    username; `status` one case status, or "" for every open one."""

    case_type: str = ""
    status: str = ""
    merchant_code: str = ""
    channel_code: str = ""
    assignee: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class QueueCursor:
    """Where a page of the queue starts: after the case (`due_at`, `pk`) in queue order."""

    due_at: datetime | None
    pk: int


def cases_for_queue(
    *, actor: Actor, filters: QueueFilters, after: QueueCursor | None = None, limit: int = 50
) -> tuple[list[ExceptionCase], QueueCursor | None]:
    """One page of the work queue: the open cases the actor may see, soonest deadline first
    (no deadline last), then by id; returns the page and the cursor of the next page (None on
    the last one).

    Keyset pagination, no COUNT: a page costs the same at the millionth case as at the first,
    and reads the (status, due_at) index. A merchant user's `merchant_code` filter is ignored
    (it sees its own merchant only). One query, whatever the page size.
    """
    qs = visible(ExceptionCase.objects.all(), actor).select_related("merchant", "order__channel", "assignee")
    qs = qs.filter(status=filters.status) if filters.status else qs.filter(status__in=OPEN_STATUSES)
    if filters.case_type:
        qs = qs.filter(type=filters.case_type)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.merchant_code and actor.is_staff_role:
        qs = qs.filter(merchant__code=filters.merchant_code)
    if filters.channel_code:
        qs = qs.filter(order__channel__code=filters.channel_code)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=actor.user_id)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        qs = qs.filter(assignee__username=filters.assignee)
    if after is not None:
        if after.due_at is None:
            qs = qs.filter(due_at__isnull=True, pk__gt=after.pk)
        else:
            qs = qs.filter(
                Q(due_at__gt=after.due_at) | Q(due_at=after.due_at, pk__gt=after.pk) | Q(due_at__isnull=True)
            )
    rows = list(qs.order_by(F("due_at").asc(nulls_last=True), "pk")[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], QueueCursor(due_at=last.due_at, pk=last.pk)


# Steps of an open case in which the warehouse waits for the merchant (REQUIREMENTS.md H1.2, H2.3,
# H3.2): a stock-out is the merchant's to decide whatever its step; a recipient or product error
# once the case has been handed to the merchant.
MERCHANT_STEPS = frozenset({"ask_merchant", "merchant_check_product", "merchant_decision"})


def cases_of_order(*, order: Order) -> list[ExceptionCase]:
    """The order's cases, open and closed, newest first (the order is already the actor's)."""
    return list(order.cases.order_by("-opened_at", "-pk"))


def cases_awaiting_merchant(*, actor: Actor, limit: int = 50) -> list[ExceptionCase]:
    """Open cases of the actor's merchant that wait on the merchant, soonest due first: every
    stock-out (the merchant decides: transfer, substitute, refund), and recipient or product
    errors at a step in `MERCHANT_STEPS` (the buyer could not be reached; the product data is
    to be checked). Empty for staff, who work these cases rather than wait on them."""
    if actor.merchant_id is None:
        return []
    qs = (
        ExceptionCase.objects.filter(merchant_id=actor.merchant_id, status__in=OPEN_STATUSES)
        .filter(
            Q(type=ExceptionType.OUT_OF_STOCK)
            | Q(
                type__in=[ExceptionType.RECIPIENT_ERROR, ExceptionType.PRODUCT_ERROR], step__in=MERCHANT_STEPS
            )
        )
        .select_related("order")
        .order_by(F("due_at").asc(nulls_last=True), "pk")
    )
    return list(qs[:limit])
