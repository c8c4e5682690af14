"""Case reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from orderguard.cases.choices import CaseEventType, CaseStatus, WaitingOn
from orderguard.cases.models import OPEN_STATUS_VALUES, CaseEvent, ExceptionCase
from orderguard.catalog.models import BundleItem
from orderguard.core import clock
from orderguard.core.choices import ExceptionType
from orderguard.core.sql import JsonKeyText
from orderguard.inventory.models import StockMovement
from orderguard.orders.models import Order, OrderLine
from orderguard.tenancy.access import Actor, get_visible, usernames_as_seen_by, visible
from orderguard.tenancy.models import Merchant, Role


def cases_list(
    *,
    case_type: str | None = None,
    status: str | None = None,
    merchant_code: str | None = None,
    platform: str = "",
    province: str = "",
    sku_code: str = "",
    step: str = "",
) -> QuerySet[ExceptionCase]:
    """Cases by due time (soonest first). `status` "open" means any open status, "all" any;
    `platform`, `province` (exact), `sku_code` (among the order's lines, or in a bundle among
    them) and `step` (a step the case went through) filter as the work queue does
    (`QueueFilters`)."""
    qs = ExceptionCase.objects.select_related("order", "merchant", "assignee__membership").order_by(
        "due_at", "pk"
    )
    if merchant_code:
        qs = qs.filter(merchant__code=merchant_code)
    if case_type:
        qs = qs.filter(type=case_type)
    qs = _order_filtered(qs, platform=platform, province=province, sku_code=sku_code)
    if step:
        qs = qs.filter(_went_through(step))
    if status == "open":
        qs = _open(qs)
    elif status and status != "all":
        qs = qs.filter(status=status)
    return qs


def _open(qs: QuerySet[ExceptionCase]) -> QuerySet[ExceptionCase]:
    """The open cases of `qs`, written so that both engines match the partial indexes over them
    (`ExceptionCase.Meta.indexes`)."""
    return qs.filter(status__in_literals=OPEN_STATUS_VALUES)


def case_counts(*, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """Open cases the actor may see, per type and deadline state: on time, due soon (past the
    warning time), overdue. One query; exact (counted when asked, nothing cached).

    The deadline states move with the clock, so a rollup kept on writes could keep only the
    totals; the query instead reads one covering partial index (merchant, type, due_at,
    warn_at over the open cases) and never the table: grouped in that index's order (merchant,
    then type), the merchants added up here. At a million cases of which 300,000 open this is
    well inside the page's budget on both engines (README, Benchmark).
    """
    moment = now or clock.now()
    rows = (
        visible(_open(ExceptionCase.objects.all()), actor)
        .values("merchant_id", "type")
        .annotate(
            total=Count("*"),
            # counted on due_at (in the index; never null where the filters hold), not on the
            # primary key, which PostgreSQL would fetch from the table
            overdue=Count("due_at", filter=Q(due_at__lt=moment)),
            due_soon=Count("due_at", filter=Q(due_at__gte=moment, warn_at__lte=moment)),
        )
        .order_by()
    )
    by_type: dict[str, dict[str, int]] = {}
    for r in rows:
        acc = by_type.setdefault(r["type"], {"total": 0, "overdue": 0, "due_soon": 0})
        for key in acc:
            acc[key] += r[key]
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


# Who sees the load per person (S2): the people who share the work out.
SUPERVISOR_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


def case_load_by_person(*, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """S2, the manager's view of who holds what: open cases per assignee (and unassigned), with
    how many are due soon, overdue, or waiting with their clock paused. Managers and admins only
    (others get no rows: agents follow their own from the queue). One query over a covering
    partial index (assignee, due_at, warn_at)."""
    moment = now or clock.now()
    if actor.role not in SUPERVISOR_ROLES:
        return {"rows": [], "at": moment}
    rows = list(
        _open(ExceptionCase.objects.all())
        .values("assignee_id")
        .annotate(
            total=Count("*"),
            dated=Count("due_at"),
            overdue=Count("due_at", filter=Q(due_at__lt=moment)),
            due_soon=Count("due_at", filter=Q(due_at__gte=moment, warn_at__lte=moment)),
        )
        .order_by()
    )
    names = dict(
        User.objects.filter(pk__in=[r["assignee_id"] for r in rows if r["assignee_id"]]).values_list(
            "pk", "username"
        )
    )
    out = [
        {
            "username": names.get(r["assignee_id"], "") if r["assignee_id"] else "",
            "total": r["total"],
            "overdue": r["overdue"],
            "due_soon": r["due_soon"],
            "paused": r["total"] - r["dated"],
        }
        for r in rows
    ]
    # the most urgent first; the unassigned cases last
    out.sort(key=lambda r: (not r["username"], -r["overdue"], -r["due_soon"], -r["total"], r["username"]))
    return {"rows": out, "at": moment}


def cases_for_actor(
    *,
    actor: Actor,
    case_type: str | None = None,
    status: str | None = "open",
    platform: str = "",
    province: str = "",
    sku_code: str = "",
    step: str = "",
) -> QuerySet[ExceptionCase]:
    """Cases the actor may see, soonest deadline first (the work queue's order)."""
    return visible(
        cases_list(
            case_type=case_type,
            status=status,
            platform=platform,
            province=province,
            sku_code=sku_code,
            step=step,
        ),
        actor,
    )


def _order_filtered(
    qs: QuerySet[ExceptionCase], *, platform: str, province: str, sku_code: str
) -> QuerySet[ExceptionCase]:
    """`qs` narrowed to the cases whose order is on `platform` and delivers to `province`
    (exact), and whose order needs `sku_code` (empty: any): a line of that SKU, or a line of a
    bundle holding it (a stock-out of a bundle's order names the component, S3). Each a
    per-row EXISTS (a case is listed once however many lines match)."""
    if platform:
        qs = qs.filter(Exists(Order.objects.filter(pk=OuterRef("order_id"), channel__platform=platform)))
    if province:
        qs = qs.filter(Exists(Order.objects.filter(pk=OuterRef("order_id"), province=province)))
    if sku_code:
        # the bundles holding a component of that code (an uncorrelated subquery, read once):
        # a line's bundle is of the order's merchant, and so are its components
        bundles = BundleItem.objects.filter(component__code=sku_code).values("bundle_id")
        qs = qs.filter(
            Exists(
                OrderLine.objects.filter(order_id=OuterRef("order_id")).filter(
                    Q(sku_code=sku_code) | Q(sku_id__in=bundles)
                )
            )
        )
    return qs


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


# The work queue's status filter beyond one case status: "" every open status (the default),
# "closed" resolved or cancelled, "all" any status.
QUEUE_CLOSED = "closed"
QUEUE_ALL = "all"
CLOSED_STATUS_VALUES = (str(CaseStatus.CANCELLED.value), str(CaseStatus.RESOLVED.value))


class QueueOrder(StrEnum):
    """The order a queue list is in: open cases by deadline (soonest first, none last); closed
    ones by closing time, and lists with both kinds by opening time (latest first, then the
    highest id)."""

    DUE = "due"
    CLOSED = "closed"
    OPENED = "opened"


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """The work queue's filters; empty strings mean "any". `assignee` is "me", "none" or a
    username; `status` one case status, "" for every open one, "closed" (resolved or
    cancelled) or "all". A closing date or an `outcome` implies a closed case."""

    case_type: str = ""
    status: str = ""
    merchant_code: str = ""
    channel_code: str = ""
    assignee: str = ""
    source: str = ""
    # opened on these local days (TIME_ZONE), both included: the analysis links here (S3)
    opened_from: date | None = None
    opened_to: date | None = None
    # the order's channel platform, the order's province (exact), a SKU code among its lines
    # (or in a bundle among them)
    platform: str = ""
    province: str = ""
    sku_code: str = ""
    # closed on these local days, both included; the closed case's outcome (`CaseOutcome`)
    closed_from: date | None = None
    closed_to: date | None = None
    outcome: str = ""
    # a step the case went through (`sla.steps.STEP_LABELS`): its opening, a reopening or a
    # later step started it
    step: str = ""

    @property
    def wants_closed(self) -> bool:
        return self.closed_from is not None or self.closed_to is not None or bool(self.outcome)

    @property
    def order(self) -> QueueOrder:
        """The order of the list these filters select (see `QueueOrder`)."""
        if self.status in CLOSED_STATUS_VALUES or self.status == QUEUE_CLOSED:
            return QueueOrder.CLOSED
        if self.status == QUEUE_ALL:
            return QueueOrder.CLOSED if self.wants_closed else QueueOrder.OPENED
        if self.status == "" and self.wants_closed:
            return QueueOrder.CLOSED
        return QueueOrder.DUE


@dataclass(frozen=True, slots=True)
class QueueCursor:
    """Where a page of the queue starts: after the case (`at`, `pk`) in the list's `order`;
    `at` is the case's deadline (None: none), closing or opening time."""

    at: datetime | None
    pk: int
    order: QueueOrder = QueueOrder.DUE


def _queue_filtered(actor: Actor, filters: QueueFilters) -> QuerySet[ExceptionCase]:
    """The queue's filters on the cases table alone (no join), each in a shape that lets the
    planner walk an index in the list's order: names are turned into ids by scalar subqueries
    (evaluated once); the channel, platform and province are a per-row check of the case's
    order, the SKU one of its order's lines (EXISTS: a case is listed once however many lines
    match)."""
    qs = visible(ExceptionCase.objects.all(), actor)
    order = filters.order
    if order is QueueOrder.DUE:
        if filters.wants_closed:
            # an open status and a closing date or outcome: no case is both
            return qs.none()
        qs = qs.filter(status=filters.status) if filters.status else _open(qs)
    elif order is QueueOrder.CLOSED:
        # `closed_at IS NOT NULL` as written matches the partial indexes over the closed cases
        qs = qs.filter(closed_at__isnull=False)
        if filters.status in CLOSED_STATUS_VALUES:
            qs = qs.filter(status=filters.status)
        else:
            qs = qs.filter(status__in=CLOSED_STATUS_VALUES)
    if filters.case_type:
        qs = qs.filter(type=filters.case_type)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.merchant_code and actor.is_staff_role:
        qs = qs.filter(
            merchant_id=Subquery(Merchant.objects.filter(code=filters.merchant_code).values("pk")[:1])
        )
    if filters.channel_code:
        qs = qs.filter(
            Exists(Order.objects.filter(pk=OuterRef("order_id"), channel__code=filters.channel_code))
        )
    qs = _order_filtered(qs, platform=filters.platform, province=filters.province, sku_code=filters.sku_code)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=actor.user_id)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        qs = qs.filter(assignee_id=Subquery(User.objects.filter(username=filters.assignee).values("pk")[:1]))
    if filters.opened_from is not None:
        qs = qs.filter(opened_at__gte=_local_midnight(filters.opened_from))
    if filters.opened_to is not None:
        qs = qs.filter(opened_at__lt=_local_midnight(filters.opened_to + timedelta(days=1)))
    if filters.closed_from is not None:
        qs = qs.filter(closed_at__gte=_local_midnight(filters.closed_from))
    if filters.closed_to is not None:
        qs = qs.filter(closed_at__lt=_local_midnight(filters.closed_to + timedelta(days=1)))
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    if filters.step:
        qs = qs.filter(_went_through(filters.step))
    return qs


# The events that start a step, each naming it in `data.step` (`events.opened`, `reopened`,
# `step_started`); the analysis counts a closing's steps from the same events.
STEP_STARTS = (CaseEventType.OPENED, CaseEventType.REOPENED, CaseEventType.STEP_STARTED)


def _went_through(step: str) -> Exists:
    """The cases that went through `step`: an EXISTS over the case's events naming it, by the
    `caseevent_step_idx` index (step, case); the planner starts from that index for a step few
    cases went through, and probes it per case of the list's index for a common one."""
    return Exists(
        CaseEvent.objects.alias(step_name=JsonKeyText("data", "step")).filter(
            case_id=OuterRef("pk"), step_name=step, type__in=STEP_STARTS
        )
    )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(settings.TIME_ZONE))


QUEUE_ORDER = (F("due_at").asc(nulls_last=True), "pk")
_ORDERINGS: dict[QueueOrder, tuple[Any, ...]] = {
    QueueOrder.DUE: QUEUE_ORDER,
    QueueOrder.CLOSED: ("-closed_at", "-pk"),
    QueueOrder.OPENED: ("-opened_at", "-pk"),
}
_SORT_FIELD = {QueueOrder.DUE: "due_at", QueueOrder.CLOSED: "closed_at", QueueOrder.OPENED: "opened_at"}


def _queue_page(ids: QuerySet[ExceptionCase, Any], order: QueueOrder) -> list[ExceptionCase]:
    """The cases whose ids `ids` (a sliced subquery) selects, with what the page shows."""
    return list(
        ExceptionCase.objects.filter(pk__in=ids)
        .select_related("merchant", "order__channel", "assignee__membership")
        .order_by(*_ORDERINGS[order])
    )


def cases_for_queue(
    *, actor: Actor, filters: QueueFilters, after: QueueCursor | None = None, limit: int = 50
) -> tuple[list[ExceptionCase], QueueCursor | None]:
    """One page of the work queue: the cases the actor may see that `filters` select, in the
    list's order (`QueueFilters.order`: open cases soonest deadline first, no deadline last;
    closed ones latest closing first; open and closed together latest opening first; then by
    id); returns the page and the cursor of the next page (None on the last one).

    Keyset pagination, no COUNT: a page costs the same at the millionth case as at the first.
    The open lists walk a partial index over the open cases in deadline order
    (`case_open_*_idx`), the closed ones one over the closed cases by closing time
    (`case_closed_*_idx`), the others the opening-time index (`case_opened_idx`). A
    merchant user's `merchant_code` filter is ignored (it sees its own merchant only). Raises
    ValueError for a cursor of another order than the list's. One query, whatever the page
    size; two on the one page where the dated open cases end.
    """
    order = filters.order
    if after is not None and after.order is not order:
        raise ValueError("cursor of another order")
    qs = _queue_filtered(actor, filters)
    # The page's ids are picked on the cases table alone and only then joined to what the
    # page shows: with the joins in the same query, planners start from the small tables
    # (merchants, a channel's orders) and sort every open case.
    if order is not QueueOrder.DUE:
        field = _SORT_FIELD[order]
        if after is not None:
            # as an index range (at <= ...), the ties on `at` by id
            qs = qs.filter(
                Q(**{f"{field}__lt": after.at}) | Q(pk__lt=after.pk), **{f"{field}__lte": after.at}
            )
        rows = _queue_page(qs.order_by(*_ORDERINGS[order]).values("pk")[: limit + 1], order)
    elif after is None:
        rows = _queue_page(qs.order_by(*QUEUE_ORDER).values("pk")[: limit + 1], order)
    elif after.at is None:
        rows = _queue_page(
            qs.filter(due_at__isnull=True, pk__gt=after.pk).order_by("pk").values("pk")[: limit + 1], order
        )
    else:
        # the dated cases after the cursor as an index range (due_at >= ...); the undated ones,
        # which come last, in a second query only on the page where the dated ones run out
        dated = qs.filter(Q(due_at__gt=after.at) | Q(pk__gt=after.pk), due_at__gte=after.at)
        rows = _queue_page(dated.order_by("due_at", "pk").values("pk")[: limit + 1], order)
        if len(rows) <= limit:
            undated = qs.filter(due_at__isnull=True).order_by("pk").values("pk")[: limit + 1 - len(rows)]
            rows += _queue_page(undated, order)
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], QueueCursor(at=getattr(last, _SORT_FIELD[order]), pk=last.pk, order=order)


def cases_of_order(*, order: Order) -> list[ExceptionCase]:
    """The order's cases, open and closed, newest first (the order is already the actor's)."""
    return list(order.cases.order_by("-opened_at", "-pk"))


def cases_awaiting_merchant(*, actor: Actor, limit: int = 50) -> list[ExceptionCase]:
    """Open cases of the actor's merchant that wait on the merchant, soonest due first: every
    stock-out (the merchant decides: transfer, substitute, refund; H1.2), and any case staff
    set waiting on the merchant (the buyer could not be reached, H2.3; the product data is to
    be checked, H3.2). Empty for staff, who work these cases rather than wait on them."""
    if actor.merchant_id is None:
        return []
    qs = (
        visible(ExceptionCase.objects.filter(status__in_literals=OPEN_STATUS_VALUES), actor)
        .filter(
            Q(type=ExceptionType.OUT_OF_STOCK) | Q(status=CaseStatus.WAITING, waiting_on=WaitingOn.MERCHANT)
        )
        .select_related("order")
        .order_by(F("due_at").asc(nulls_last=True), "pk")
    )
    return list(qs[:limit])


# Event data naming staff users by username.
_USER_KEYS = ("assignee", "previous")
# Keys whose value is a list of usernames (the people a deadline alert went to).
_USER_LIST_KEYS = ("recipients",)
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


def actor_labels_as_seen_by(*, actor: Actor, labels: set[str]) -> dict[str, str]:
    """How each actor label (``user:ann``, ``system:ladder``) is shown to `actor`: as itself to
    staff; to a merchant user a person is their role and a job is "系统"."""
    if actor.is_staff_role:
        return {label: label for label in labels}
    shown = usernames_as_seen_by(actor=actor, usernames={n for lb in labels if (n := _username(lb))})
    return {label: shown[n] if (n := _username(label)) else str(_("系统")) for label in labels}


def case_timeline(*, actor: Actor, case: ExceptionCase) -> list[TimelineEntry]:
    """The case's events and, for a stock-out case (T1), the stock moves of its order (H1.3),
    oldest first, as `actor` may see them (see `TimelineEntry`). A stock move is an entry of type ``stock.<kind>``
    (``stock.allocation``, ``stock.release``, ``stock.dispatch``) with the SKU, warehouse,
    quantity and reason in `data`. Three queries: the events, the moves, and the roles of the
    users they name (for a merchant viewer)."""
    events = _case_events(actor=actor, case=case)
    if case.type != ExceptionType.OUT_OF_STOCK:
        return events
    return sorted(
        [*events, *_order_stock_moves(actor=actor, order_id=case.order_id)],
        # at the same moment the stock move first: it is what the case's events answer
        key=lambda e: (e.occurred_at, not e.type.startswith("stock."), e.id),
    )


def _order_stock_moves(*, actor: Actor, order_id: int) -> list[TimelineEntry]:
    rows = StockMovement.objects.filter(order_id=order_id).order_by("occurred_at", "pk")
    out = []
    for pk, at, kind, quantity, reason, label, sku, warehouse in rows.values_list(
        "pk", "occurred_at", "type", "quantity", "reason", "actor_label", "sku__code", "warehouse__code"
    ):
        name = _username(label)
        who = (name if actor.is_staff_role else None) or _("系统")
        out.append(
            TimelineEntry(
                id=pk,
                occurred_at=at,
                type=f"stock.{kind}",
                actor=label if actor.is_staff_role else str(who),
                who=str(who),
                data={"sku": sku, "warehouse": warehouse, "quantity": quantity, "reason": reason},
            )
        )
    return out


def _case_events(*, actor: Actor, case: ExceptionCase) -> list[TimelineEntry]:
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
    names |= {str(n) for e in rows for k in _USER_LIST_KEYS for n in e.data.get(k) or ()}
    shown = usernames_as_seen_by(actor=actor, usernames=names)
    out = []
    for e in rows:
        name = _username(e.actor_label)
        label = shown[name] if name else _("系统")
        data = dict(e.data)
        for key in _USER_KEYS:
            if data.get(key):
                data[key] = shown[str(data[key])]
        for key in _USER_LIST_KEYS:
            if data.get(key):
                data[key] = [shown[str(n)] for n in data[key]]
        out.append(
            TimelineEntry(id=e.pk, occurred_at=e.occurred_at, type=e.type, actor=label, who=label, data=data)
        )
    return out
