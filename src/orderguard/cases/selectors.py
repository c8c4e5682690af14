"""Case reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _

from orderguard.cases.choices import OPEN_STATUSES
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.core import clock
from orderguard.core.choices import ExceptionType
from orderguard.tenancy.access import Actor, get_visible, visible
from orderguard.tenancy.models import Membership, Role


def cases_list(
    *, case_type: str | None = None, status: str | None = None, merchant_code: str | None = None
) -> QuerySet[ExceptionCase]:
    """Cases by due time (soonest first). `status` "open" means any open status, "all" any."""
    qs = ExceptionCase.objects.select_related("order", "merchant", "assignee__membership").order_by(
        "due_at", "pk"
    )
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
        ExceptionCase.objects.select_related("order__channel", "merchant", "assignee__membership"),
        actor,
        case_id,
    )


def assignee_label(*, case: ExceptionCase, actor: Actor) -> str | None:
    """Who the case is assigned to, as `actor` may know it: the username for warehouse staff,
    the assignee's role for a merchant user (None: unassigned)."""
    user = case.assignee
    if user is None:
        return None
    if actor.is_staff_role:
        return user.get_username()
    membership = getattr(user, "membership", None)
    return str(Role(membership.role).label) if membership is not None else _("仓库员工")


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


# Event data naming staff users by username.
_USER_KEYS = ("assignee", "previous")
USER_PREFIX = "user:"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event as a viewer may see it. `actor` is the event's actor label for warehouse
    staff (``user:ann``, ``system:intake``) and a role label ("客服", "系统") for a merchant
    user, who never learns staff usernames; `who` is the short form a page shows (``ann``,
    "系统"); in `data`, usernames (`assignee`, `previous`) are role labels for a merchant."""

    id: int
    occurred_at: datetime
    type: str
    actor: str
    who: str
    data: dict[str, Any]


def _username(label: str) -> str | None:
    return label[len(USER_PREFIX) :] if label.startswith(USER_PREFIX) else None


def case_timeline(*, actor: Actor, case: ExceptionCase) -> list[TimelineEntry]:
    """The case's events, oldest first, as `actor` may see them (see `TimelineEntry`). Two
    queries: the events, and the roles of the users they name (for a merchant viewer)."""
    rows = list(CaseEvent.objects.filter(case=case).order_by("occurred_at", "pk"))
    if actor.is_staff_role:
        return [
            TimelineEntry(
                id=e.pk,
                occurred_at=e.occurred_at,
                type=e.type,
                actor=e.actor_label,
                who=_username(e.actor_label) or _("系统"),
                data=e.data,
            )
            for e in rows
        ]
    names = {n for e in rows for n in [_username(e.actor_label)] if n}
    names |= {str(e.data[k]) for e in rows for k in _USER_KEYS if e.data.get(k)}
    roles_by_name = dict(
        Membership.objects.filter(user__username__in=names).values_list("user__username", "role")
    )

    def role_of(name: str) -> str:
        role = roles_by_name.get(name)
        # a user since deleted: staff, since merchants' users are never assignees
        return str(Role(role).label) if role else _("仓库员工")

    out = []
    for e in rows:
        name = _username(e.actor_label)
        label = role_of(name) if name else _("系统")
        data = dict(e.data)
        for key in _USER_KEYS:
            if data.get(key):
                data[key] = role_of(str(data[key]))
        out.append(
            TimelineEntry(id=e.pk, occurred_at=e.occurred_at, type=e.type, actor=label, who=label, data=data)
        )
    return out
