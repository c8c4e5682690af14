"""Case reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet

from orderguard.cases.choices import OPEN_STATUSES
from orderguard.cases.models import ExceptionCase
from orderguard.core import clock
from orderguard.core.choices import ExceptionType
from orderguard.tenancy.access import Actor, get_visible, visible


def cases_list(
    *, case_type: str | None = None, status: str | None = None, merchant_code: str | None = None
) -> QuerySet[ExceptionCase]:
    """Cases by due time (soonest first). `status` "open" means any open status, "all" any."""
    qs = ExceptionCase.objects.select_related("order", "merchant").order_by("due_at", "pk")
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
    return get_visible(ExceptionCase.objects.select_related("order__channel", "merchant"), actor, case_id)
