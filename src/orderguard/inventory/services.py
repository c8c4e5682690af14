"""Stock writes: allocation in payment order under row locks, release, counted levels, alerts.

Invariants (DESIGN.md): stock never goes negative and is never allocated twice. Every function
here locks the StockLevel rows it changes with `select_for_update().order_by("pk")` (a fixed
order, so concurrent imports cannot deadlock), decides in memory while holding the locks, and
writes the new values back in one batch with a StockMovement per change. The database's check
constraints (allocated ≤ on hand, nothing negative) are the last guard.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import field as dc_field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from orderguard.catalog.models import BundleItem, Sku, Warehouse
from orderguard.core import bulk
from orderguard.core.choices import DetectionSource, ExceptionType, Severity
from orderguard.core.errors import DomainError
from orderguard.core.findings import Finding
from orderguard.inventory.findings import STOCK_BACKORDER, STOCK_LOW, STOCK_SHORT
from orderguard.inventory.models import (
    AlertKind,
    AlertStatus,
    AllocationPolicy,
    MovementKind,
    ShortPolicy,
    StockAlert,
    StockLevel,
    StockMovement,
)
from orderguard.inventory.selectors import bundles_holding, stock_figures
from orderguard.notifications.endpoints import Recipient, recipients_for
from orderguard.notifications.services import OutboxIn, outbox_enqueue
from orderguard.orders.choices import OrderEventType, OrderStatus
from orderguard.orders.models import Order, OrderEvent, OrderLine
from orderguard.orders.schema import PlatformState
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Merchant, Role
from orderguard.validation.special import service_level_is_express

TOPIC_STOCK_ALERT = "stock_alert"

FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ShortLine:
    line_no: int
    sku_code: str
    wanted: int
    free: int


@dataclass(slots=True)
class AllocationRequest:
    order: Order
    lines: list[OrderLine]
    warehouse_id: int


@dataclass
class AllocationResult:
    allocated: set[int] = field(default_factory=set)
    short: dict[int, list[ShortLine]] = field(default_factory=dict)
    # order pk -> findings from stock (STOCK_SHORT blocking, STOCK_LOW warning)
    findings: dict[int, list[Finding]] = field(default_factory=lambda: defaultdict(list))
    alerts_opened: list[StockAlert] = field(default_factory=list)


def _components(sku_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """Bundle SKU id -> [(component SKU id, quantity per bundle)]; plain SKUs are their own."""
    bundles: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for item in BundleItem.objects.filter(bundle_id__in=set(sku_ids)).values_list(
        "bundle_id", "component_id", "quantity"
    ):
        bundles[item[0]].append((item[1], item[2]))
    return bundles


def _needs(line: OrderLine, bundles: dict[int, list[tuple[int, int]]]) -> list[tuple[int, int]]:
    assert line.sku_id is not None
    parts = bundles.get(line.sku_id)
    if parts:
        return [(component, per * line.quantity) for component, per in parts]
    return [(line.sku_id, line.quantity)]


def _lock_levels(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    if not pairs:
        return {}
    warehouses = {w for w, _s in pairs}
    skus = {s for _w, s in pairs}
    levels = (
        StockLevel.objects.select_for_update()
        .filter(warehouse_id__in=warehouses, sku_id__in=skus)
        .order_by("pk")
    )
    return {(lv.warehouse_id, lv.sku_id): lv for lv in levels if (lv.warehouse_id, lv.sku_id) in pairs}


def _payment_order(request: AllocationRequest) -> tuple[datetime, int]:
    """Earliest payment first; an order without a payment time (manual entry) goes last."""
    o = request.order
    return (o.paid_at or o.placed_at or FAR_FUTURE, o.pk)


def order_is_priority(order: Order, policy: AllocationPolicy | None) -> bool:
    """Whether the merchant's policy serves this order before the payment order: an expedited
    order (its service level asks for express) when `expedited_first`, a VIP buyer's
    (``extra["vip"]`` true) when `vip_first`."""
    if policy is None:
        return False
    if policy.expedited_first and service_level_is_express(order.service_level):
        return True
    return bool(policy.vip_first and isinstance(order.extra, dict) and order.extra.get("vip") is True)


# An order the merchant decided to ship partially (`inventory.decisions`, H1.2) carries this in
# its `extra`: allocation treats it as under the partial policy whatever the merchant's policy.
SHORT_POLICY_KEY = "short_policy"


def order_ships_partially(order: Order) -> bool:
    return isinstance(order.extra, dict) and order.extra.get(SHORT_POLICY_KEY) == ShortPolicy.PARTIAL


@dataclass(frozen=True, slots=True)
class PlanLine:
    """A line still to serve: `quantity` units, each needing `parts` [(SKU id, per unit)]."""

    line_no: int
    quantity: int
    parts: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class PlanOrder:
    key: int
    rank: tuple[int, datetime, int]
    lines: tuple[PlanLine, ...]
    partial: bool = False


@dataclass
class OrderPlan:
    """What one order gets: units per line number; `short` [(SKU id, wanted, free)] for each SKU
    that did not cover the order when its turn came."""

    units: dict[int, int] = field(default_factory=dict)
    short: list[tuple[int, int, int]] = field(default_factory=list)


def allocation_plan(*, orders: Sequence[PlanOrder], free: Mapping[int, int]) -> dict[int, OrderPlan]:
    """The allocation rules, pure: orders by `rank` (priority, payment time, key), each served
    from what the earlier ones left of `free` (SKU id -> free units).

    - hold (the default): an order is served whole or not at all; a short one takes nothing,
      so the stock stays free for later orders it covers;
    - partial: each line gets as many whole units as every part of it allows (lines in order);
      whatever is left is back-ordered.
    Never more than is free, never negative.
    """
    left = {sku: max(0, qty) for sku, qty in free.items()}
    plans: dict[int, OrderPlan] = {}
    for order in sorted(orders, key=lambda o: o.rank):
        plan = OrderPlan()
        plans[order.key] = plan
        demand: dict[int, int] = defaultdict(int)
        for line in order.lines:
            for sku, per in line.parts:
                demand[sku] += per * line.quantity
        plan.short = [(sku, qty, left.get(sku, 0)) for sku, qty in demand.items() if left.get(sku, 0) < qty]
        if not plan.short:
            for line in order.lines:
                plan.units[line.line_no] = line.quantity
            for sku, qty in demand.items():
                left[sku] -= qty
            continue
        if not order.partial:
            plan.units = {line.line_no: 0 for line in order.lines}
            continue
        for line in order.lines:
            units = min([line.quantity, *(left.get(sku, 0) // per for sku, per in line.parts if per > 0)])
            plan.units[line.line_no] = units
            for sku, per in line.parts:
                left[sku] = left.get(sku, 0) - per * units
    return plans


def policies_for(merchant_ids: Iterable[int]) -> dict[int, AllocationPolicy]:
    """The allocation policies of these merchants (a merchant without one: hold, no priority)."""
    return {p.merchant_id: p for p in AllocationPolicy.objects.filter(merchant_id__in=set(merchant_ids))}


def stock_allocate(
    *,
    requests: Sequence[AllocationRequest],
    now: datetime,
    actor_label: str,
    reason: str = "order_ready",
    policies: Mapping[int, AllocationPolicy] | None = None,
) -> AllocationResult:
    """Reserve stock for orders, in the merchant's order of priority then earliest payment.

    Each line is served for what it still lacks (quantity less its allocated quantity), so
    re-allocating an order waiting for stock tops it up. The orders must have primary keys
    (saved, or keys from `core.bulk.reserve_ids` for orders written later in the same
    transaction); lines already in the database get their allocated quantity updated, new
    lines only in memory.

    The merchant's `AllocationPolicy` (`policies`, read when not given) decides a short order:
    hold (the default) reserves nothing for it, and each short line gives a STOCK_SHORT finding
    (T1, source D1) with the quantities; partial reserves what is there and gives a
    STOCK_BACKORDER warning per short line (the order ships what it has), unless nothing at all
    could be reserved (then STOCK_SHORT as for hold). Lines without a resolved SKU are not
    allocated (the product check has a finding for them). Orders touching a SKU whose
    available stock ends below its safety stock get a STOCK_LOW warning, and a stock alert
    opens for that SKU (D1).
    """
    result = AllocationResult()
    todo = [r for r in requests if r.lines and all(line.sku_id for line in r.lines)]
    if not todo:
        return result
    if policies is None:
        policies = policies_for(r.order.merchant_id for r in todo)
    bundles = _components(line.sku_id for r in todo for line in r.lines if line.sku_id)
    needs_by_order: dict[int, list[tuple[OrderLine, list[tuple[int, int]]]]] = {}
    pairs: set[tuple[int, int]] = set()
    for r in todo:
        entries = [(line, _needs(line, bundles)) for line in r.lines]
        needs_by_order[r.order.pk] = entries
        pairs.update((r.warehouse_id, sku) for _line, parts in entries for sku, _q in parts)
    levels = _lock_levels(pairs)
    by_warehouse: dict[int, list[PlanOrder]] = defaultdict(list)
    for r in todo:
        policy = policies.get(r.order.merchant_id)
        paid, pk = _payment_order(r)
        plan_lines = []
        for line, parts in needs_by_order[r.order.pk]:
            remaining = line.quantity - (line.allocated_quantity or 0)
            if remaining > 0:
                plan_lines.append(
                    PlanLine(
                        line_no=line.line_no,
                        quantity=remaining,
                        parts=tuple((sku, qty // line.quantity) for sku, qty in parts),
                    )
                )
        by_warehouse[r.warehouse_id].append(
            PlanOrder(
                key=pk,
                rank=(0 if order_is_priority(r.order, policy) else 1, paid, pk),
                lines=tuple(plan_lines),
                partial=(policy is not None and policy.short_policy == ShortPolicy.PARTIAL)
                or order_ships_partially(r.order),
            )
        )
    plans: dict[int, OrderPlan] = {}
    for wh, plan_orders in by_warehouse.items():
        free_here = {sku: lv.on_hand - lv.allocated for (w, sku), lv in levels.items() if w == wh}
        plans.update(allocation_plan(orders=plan_orders, free=free_here))
    touched: dict[int, StockLevel] = {}
    # ALLOCATION movements: (merchant, warehouse, SKU, quantity, order, data) rows
    movements: list[tuple[int, int, int, int, int, dict[str, Any]]] = []
    lines_changed: list[OrderLine] = []
    for r in todo:
        plan = plans[r.order.pk]
        entries = needs_by_order[r.order.pk]
        served_any = False
        for line, parts in entries:
            units = plan.units.get(line.line_no, 0)
            if units <= 0:
                continue
            served_any = True
            for sku, qty in parts:
                level = levels[(r.warehouse_id, sku)]
                take = qty // line.quantity * units
                level.allocated += take
                touched[level.pk] = level
                movements.append(
                    (r.order.merchant_id, r.warehouse_id, sku, take, r.order.pk, {"line": line.line_no})
                )
            line.allocated_quantity = (line.allocated_quantity or 0) + units
            lines_changed.append(line)
        if plan.short:
            backorder = served_any
            short_skus = {s: (q, f) for s, q, f in plan.short}
            lines = []
            for line, parts in entries:
                if line.allocated_quantity >= line.quantity:
                    continue
                for sku, _qty in parts:
                    if sku in short_skus:
                        wanted, free = short_skus[sku]
                        lines.append(
                            ShortLine(line_no=line.line_no, sku_code=line.sku_code, wanted=wanted, free=free)
                        )
                        if backorder:
                            finding = Finding(
                                code=STOCK_BACKORDER,
                                type=ExceptionType.OUT_OF_STOCK,
                                field=f"lines[{line.line_no}]",
                                severity=Severity.WARNING,
                                source=DetectionSource.STOCK_ALERT,
                                data={
                                    "sku": line.sku_code,
                                    "wanted": line.quantity,
                                    "allocated": line.allocated_quantity,
                                },
                            )
                        else:
                            finding = Finding(
                                code=STOCK_SHORT,
                                type=ExceptionType.OUT_OF_STOCK,
                                field=f"lines[{line.line_no}]",
                                source=DetectionSource.STOCK_ALERT,
                                data={"sku": line.sku_code, "wanted": wanted, "free": free},
                            )
                        result.findings[r.order.pk].append(finding)
                        break
            result.short[r.order.pk] = lines
            if not backorder:
                continue
        result.allocated.add(r.order.pk)
    if touched:
        bulk.update(list(touched.values()), ["allocated"])
    # Lines not yet written (a new order in an import) are written by the caller with their
    # allocated quantity already set; lines in the database are updated here.
    saved = [line for line in lines_changed if line.pk is not None]
    # lines now served whole (the usual case when stock arrives): one UPDATE for all of them
    full = [line.pk for line in saved if line.allocated_quantity == line.quantity]
    if full:
        OrderLine.objects.filter(pk__in_ids=full).update(allocated_quantity=F("quantity"))
    bulk.update([line for line in saved if line.allocated_quantity != line.quantity], ["allocated_quantity"])
    bulk.insert_rows(
        StockMovement,
        common={
            "type": MovementKind.ALLOCATION,
            "reason": reason,
            "occurred_at": now,
            "actor_label": actor_label,
        },
        names=("merchant_id", "warehouse_id", "sku_id", "quantity", "order_id", "data"),
        rows=movements,
    )
    # D1: low stock marks every order touching it (short or allocated) and opens an alert.
    low = {key: lv for key, lv in levels.items() if lv.on_hand - lv.allocated < lv.safety_stock}
    if low:
        codes = dict(Sku.objects.filter(pk__in={lv.sku_id for lv in low.values()}).values_list("pk", "code"))
        for r in todo:
            marked: set[int] = set()
            for _line, parts in needs_by_order[r.order.pk]:
                for sku, _qty in parts:
                    low_level = low.get((r.warehouse_id, sku))
                    if low_level is not None and sku not in marked:
                        marked.add(sku)
                        result.findings[r.order.pk].append(
                            Finding(
                                code=STOCK_LOW,
                                type=ExceptionType.OUT_OF_STOCK,
                                field="lines",
                                severity=Severity.WARNING,
                                source=DetectionSource.STOCK_ALERT,
                                data={
                                    "sku": codes[sku],
                                    "available": low_level.on_hand - low_level.allocated,
                                    "safety_stock": low_level.safety_stock,
                                },
                            )
                        )
        result.alerts_opened = stock_alerts_refresh(levels=list(low.values()), now=now)
    return result


def _held_by(orders: Sequence[Order]) -> dict[tuple[int, int, int], int]:
    """(order, warehouse, SKU) -> quantity these orders hold, read from the ledger (allocations
    less releases and dispatches), so what is given back is exactly what was taken even if
    the bundle was redefined or the channel moved to another warehouse since."""
    held = (
        StockMovement.objects.filter(
            order__in=orders, type__in=[MovementKind.ALLOCATION, MovementKind.RELEASE, MovementKind.DISPATCH]
        )
        .values_list("order_id", "warehouse_id", "sku_id")
        .annotate(quantity=Sum("quantity"))
    )
    return {(o, w, s): q for o, w, s, q in held if q > 0}


def _give_back(
    *,
    orders: Sequence[Order],
    now: datetime,
    actor_label: str,
    reason: str,
    kind: MovementKind,
    released: set[tuple[int, int]] | None = None,
) -> int:
    held = _held_by(orders)
    if not held:
        return 0
    if released is not None:
        released.update((w, s) for _o, w, s in held)
    merchant_of = {o.pk: o.merchant_id for o in orders}
    levels = _lock_levels({(w, s) for _o, w, s in held})
    movements = []
    for (order_id, wh, sku), qty in held.items():
        level = levels[(wh, sku)]
        level.allocated -= qty
        if kind == MovementKind.DISPATCH:
            level.on_hand -= qty
        movements.append(
            bulk.new(
                StockMovement,
                merchant_id=merchant_of[order_id],
                warehouse_id=wh,
                sku_id=sku,
                type=kind,
                quantity=-qty,
                reason=reason,
                order_id=order_id,
                occurred_at=now,
                actor_label=actor_label,
                data={"reason": reason},
            )
        )
    bulk.update(list(levels.values()), ["on_hand", "allocated"])
    OrderLine.objects.filter(order__in=orders, allocated_quantity__gt=0).update(allocated_quantity=0)
    bulk.insert(movements)
    stock_alerts_refresh(levels=list(levels.values()), now=now)
    return len(movements)


def stock_release(
    *,
    orders: Sequence[Order],
    now: datetime,
    actor_label: str,
    reason: str,
    released: set[tuple[int, int]] | None = None,
) -> int:
    """Give back what these orders hold (changed on the platform, cancelled, refunding): each
    (order, warehouse, SKU) the ledger shows held becomes a RELEASE movement. Returns the
    number of movements written; `released` (when given) gets the (warehouse, SKU) rows."""
    return _give_back(
        orders=orders,
        now=now,
        actor_label=actor_label,
        reason=reason,
        kind=MovementKind.RELEASE,
        released=released,
    )


def stock_dispatch(*, orders: Sequence[Order], now: datetime, actor_label: str, reason: str) -> int:
    """The held stock of these orders has left the warehouse (the platform says shipped): on
    hand and allocated both go down by what each order held (a DISPATCH movement), so shipped
    goods never come back as available. Returns the number of movements written."""
    return _give_back(
        orders=orders, now=now, actor_label=actor_label, reason=reason, kind=MovementKind.DISPATCH
    )


def stock_alerts_refresh(*, levels: Sequence[StockLevel], now: datetime) -> list[StockAlert]:
    """Open an alert (and its notices) for each level below safety stock without one, with its
    figures (`inventory.selectors.stock_figures`); close the open alerts of levels that
    recovered. Returns the alerts opened."""
    if not levels:
        return []
    by_pk = {lv.pk: lv for lv in levels}
    open_alerts = {
        a.stock_id: a for a in StockAlert.objects.filter(stock_id__in=by_pk, status=AlertStatus.OPEN)
    }
    opened: list[StockAlert] = []
    recovered: list[StockAlert] = []
    cover_closed: list[StockAlert] = []
    for lv in levels:
        available = lv.on_hand - lv.allocated
        alert = open_alerts.get(lv.pk)
        if available < lv.safety_stock and alert is not None and alert.kind == AlertKind.LOW_COVER:
            alert.status, alert.closed_at = AlertStatus.CLOSED, now
            cover_closed.append(alert)
            alert = None
        if alert is not None and alert.kind == AlertKind.LOW_COVER:
            continue  # forecast alerts are opened and closed by `stock_cover_check`
        if available < lv.safety_stock and alert is None:
            opened.append(
                StockAlert(
                    merchant_id=lv.merchant_id,
                    stock=lv,
                    available=available,
                    safety_stock=lv.safety_stock,
                    opened_at=now,
                )
            )
        elif available >= lv.safety_stock and alert is not None:
            alert.status = AlertStatus.CLOSED
            alert.closed_at = now
            recovered.append(alert)
    if opened:
        figures = stock_figures(levels=[a.stock for a in opened], now=now)
        for a in opened:
            f = figures[a.stock.pk]
            a.open_demand, a.days_of_cover = f.open_demand, f.days_of_cover
            a.inbound_quantity, a.inbound_eta = f.inbound_quantity, f.inbound_eta
        # a forecast alert of the row gives way to the safety-stock alert (one open per row)
        bulk.update(cover_closed, ["status", "closed_at"])
        StockAlert.objects.bulk_create(opened)
        _enqueue_alert_notices(opened, now=now)
    if recovered:
        bulk.update(recovered, ["status", "closed_at"])
    return opened


def _enqueue_alert_notices(alerts: list[StockAlert], *, now: datetime) -> None:
    """One notice per alert to the warehouse and one per merchant listing its alerts (D1),
    each to the recipients of the `stock_alert` topic, rendered from its template when sent."""
    levels = {a.stock_id: a.stock for a in alerts}
    skus = {s.pk: s for s in Sku.objects.filter(pk__in={lv.sku_id for lv in levels.values()})}
    warehouses = {
        w.pk: w for w in Warehouse.objects.filter(pk__in={lv.warehouse_id for lv in levels.values()})
    }
    merchants = {m.pk: m for m in Merchant.objects.filter(pk__in={a.merchant_id for a in alerts})}
    per_merchant: dict[int, list[dict[str, Any]]] = defaultdict(list)
    warehouse_recipients: dict[int, list[Recipient]] = {}
    messages: list[OutboxIn] = []
    for a in alerts:
        lv = levels[a.stock_id]
        sku, wh = skus[lv.sku_id], warehouses[lv.warehouse_id]
        line = {
            "warehouse": wh.code,
            "sku": sku.code,
            "name": sku.name,
            "available": a.available,
            "safety_stock": a.safety_stock,
            "inbound": a.inbound_quantity,
            "eta": timezone.localtime(a.inbound_eta).strftime("%Y-%m-%d") if a.inbound_eta else None,
        }
        per_merchant[a.merchant_id].append(line)
        if wh.pk not in warehouse_recipients:
            warehouse_recipients[wh.pk] = recipients_for(
                topic=TOPIC_STOCK_ALERT, warehouse_id=wh.pk, fallback_email=wh.alert_email
            )
        key = f"stock-alert:{a.pk}:warehouse"
        messages.extend(
            OutboxIn(
                topic=TOPIC_STOCK_ALERT,
                recipient=r.address,
                endpoint_id=r.endpoint_id,
                language=r.language,
                context={"alerts": [line]},
                idempotency_key=f"{key}:{r.suffix}" if r.suffix else key,
                merchant_id=a.merchant_id,
            )
            for r in warehouse_recipients[wh.pk]
        )
    for merchant_id, lines in per_merchant.items():
        merchant = merchants[merchant_id]
        ids = ",".join(str(a.pk) for a in alerts if a.merchant_id == merchant_id)
        keys = hashlib.blake2b(ids.encode(), digest_size=12).hexdigest()
        key = f"stock-alert:merchant:{merchant_id}:{keys}"
        messages.extend(
            OutboxIn(
                topic=TOPIC_STOCK_ALERT,
                recipient=r.address,
                endpoint_id=r.endpoint_id,
                language=r.language,
                context={"alerts": lines},
                idempotency_key=f"{key}:{r.suffix}" if r.suffix else key,
                merchant_id=merchant_id,
            )
            for r in recipients_for(
                topic=TOPIC_STOCK_ALERT, merchant_id=merchant_id, fallback_email=merchant.contact_email
            )
        )
    outbox_enqueue(messages=messages, now=now)


@dataclass(slots=True)
class StockIn:
    """A counted stock line: `on_hand` is what is on the shelf now; None fields keep theirs."""

    warehouse_id: int
    sku_id: int
    on_hand: int | None = None
    safety_stock: int | None = None
    inbound_quantity: int | None = None
    inbound_eta: datetime | None = None


@dataclass
class StockSetResult:
    created: int = 0
    updated: int = 0
    # index in the input -> (field, allocated) of lines refused because on hand < allocated
    refused: dict[int, tuple[str, int]] = field(default_factory=dict)
    recheck: RecheckResult | None = None


def stock_levels_set(
    *,
    merchant_id: int,
    lines: Sequence[StockIn],
    now: datetime,
    actor_label: str,
    reason: str = "stock_import",
    recheck: bool = True,
) -> StockSetResult:
    """Set counted stock levels (cycle count, stock file) in the caller's transaction.

    A change of on hand is a COUNT movement of the difference. A count below what is already
    allocated is refused for that line (the stock is promised to orders; release them first),
    and nothing of that line is written. Alerts are refreshed for every line touched, and
    (`recheck`) orders waiting for stock of rows whose on hand went up are allocated again
    (`stock_recheck`).
    """
    result = StockSetResult()
    pairs = {(ln.warehouse_id, ln.sku_id) for ln in lines}
    levels = _lock_levels(pairs)
    created: list[StockLevel] = []
    movements: list[StockMovement] = []
    gained: set[tuple[int, int]] = set()
    for i, ln in enumerate(lines):
        key = (ln.warehouse_id, ln.sku_id)
        level = levels.get(key)
        if level is None:
            level = StockLevel(merchant_id=merchant_id, warehouse_id=ln.warehouse_id, sku_id=ln.sku_id)
            levels[key] = level
            created.append(level)
        if ln.on_hand is not None and ln.on_hand < level.allocated:
            result.refused[i] = ("on_hand", level.allocated)
            continue
        if ln.on_hand is not None and ln.on_hand != level.on_hand:
            if ln.on_hand > level.on_hand:
                gained.add(key)
            movements.append(
                bulk.new(
                    StockMovement,
                    merchant_id=merchant_id,
                    warehouse_id=ln.warehouse_id,
                    sku_id=ln.sku_id,
                    type=MovementKind.COUNT,
                    quantity=ln.on_hand - level.on_hand,
                    occurred_at=now,
                    actor_label=actor_label,
                    reason=reason,
                    data={"reason": reason, "counted": ln.on_hand},
                )
            )
            level.on_hand = ln.on_hand
        if ln.safety_stock is not None:
            level.safety_stock = ln.safety_stock
        if ln.inbound_quantity is not None:
            level.inbound_quantity = ln.inbound_quantity
        if ln.inbound_eta is not None:
            level.inbound_eta = ln.inbound_eta
    StockLevel.objects.bulk_create(created, batch_size=1000)
    created_keys = {(lv.warehouse_id, lv.sku_id) for lv in created}
    existing = [lv for key, lv in levels.items() if key not in created_keys]
    bulk.update(existing, ["on_hand", "safety_stock", "inbound_quantity", "inbound_eta"])
    StockMovement.objects.bulk_create(movements, batch_size=1000)
    result.created, result.updated = len(created), len(existing)
    stock_alerts_refresh(levels=list(levels.values()), now=now)
    if recheck and gained:
        result.recheck = stock_recheck(pairs=gained, now=now, actor_label=actor_label)
    return result


# --- stock moves by people and files: receipts, adjustments, counts, transfers -----------------


class MoveKind:
    """What a person or a file may do to stock (allocation, release and dispatch are the
    order flow's)."""

    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    TRANSFER = "transfer"
    ALL = ("receipt", "adjustment", "count", "transfer")


# Who may change stock by hand, page, file or API: the warehouse's own people.
STOCK_ROLES = frozenset({Role.OPERATOR, Role.MANAGER, Role.ADMIN})
REASON_MAX_LENGTH = 200
# One request or file at most; larger files are split by the sender.
MOVES_MAX = 5000


@dataclass(frozen=True, slots=True)
class MoveIn:
    """One stock move as asked (codes, the quantity as given: it is checked here).

    `quantity`: receipt and transfer > 0, count ≥ 0 (the counted quantity), adjustment ≠ 0
    (the change, negative to take out). `to_warehouse` only for a transfer.
    """

    kind: str
    warehouse: str
    sku: str
    quantity: object
    to_warehouse: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MoveError:
    """Why move `index` was refused: `field` names the part at fault, `code` is stable."""

    index: int
    field: str
    code: str
    data: dict[str, object] = dc_field(default_factory=dict)


class StockMoveRefused(DomainError):
    """Some moves were refused; nothing was written. `errors` lists every refused move.

    Codes: ``ROLE`` (not warehouse stock staff; index -1), ``TOO_MANY`` (index -1),
    ``KIND_INVALID``, ``QUANTITY_NOT_WHOLE`` (fractional or not a number),
    ``QUANTITY_INVALID`` (negative, zero where it must be positive), ``WAREHOUSE_UNKNOWN``,
    ``SKU_UNKNOWN`` (not this merchant's), ``TRANSFER_SAME_WAREHOUSE``, ``INSUFFICIENT_STOCK``
    (a transfer or negative adjustment needing more than is free: `available`),
    ``BELOW_ALLOCATED`` (a count below what orders hold: `allocated`), ``REASON_INVALID``.
    """

    code = "STOCK_MOVE_REFUSED"

    def __init__(self, *, errors: list[MoveError]) -> None:
        super().__init__(errors[0].code if errors else self.code, errors=errors)
        self.errors = errors


@dataclass
class MovesResult:
    movements: list[StockMovement] = field(default_factory=list)
    levels: list[StockLevel] = field(default_factory=list)
    recheck: RecheckResult | None = None


# Larger quantities are a typing error (and would not fit the database's integer column).
QUANTITY_MAX = 1_000_000_000


def _whole(value: object) -> int | None:
    """`value` as a whole number, or None: a bool, a fraction or text that is no integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) <= QUANTITY_MAX else None
    if isinstance(value, str):
        raw = value.strip().replace(",", "")
        if raw.lstrip("+-").isdigit() and len(raw) <= 12:
            return int(raw)
        try:
            number = float(raw)
        except ValueError:
            return None
        # a spreadsheet's numeric cell read as text ("5.0")
        return _whole(number) if number == number else None
    return None


def move_error_message(error: MoveError) -> str:
    """A refused move in words for people (the code stays the thing callers map)."""
    d = error.data
    messages = {
        "ROLE": lambda: _("只有仓库操作员、主管和管理员可以调整库存"),
        "TOO_MANY": lambda: _("一次最多 %(max)s 条") % {"max": d.get("max")},
        "KIND_INVALID": lambda: _("类型应为入库、调整、盘点或调拨"),
        "QUANTITY_NOT_WHOLE": lambda: _("数量必须是整数"),
        "QUANTITY_INVALID": lambda: _("数量无效：入库和调拨须大于 0，盘点不能为负，调整不能为 0"),
        "WAREHOUSE_UNKNOWN": lambda: _("仓库“%(value)s”不存在") % {"value": d.get("value")},
        "SKU_UNKNOWN": lambda: _("该商家没有 SKU“%(value)s”") % {"value": d.get("value")},
        "TRANSFER_SAME_WAREHOUSE": lambda: _("调出和调入不能是同一个仓库"),
        "INSUFFICIENT_STOCK": lambda: (
            _("可用库存不足：只有 %(available)s") % {"available": d.get("available")}
        ),
        "BELOW_ALLOCATED": lambda: (
            _("盘点数量低于已分配给订单的 %(allocated)s") % {"allocated": d.get("allocated")}
        ),
        "REASON_INVALID": lambda: _("原因过长或含有不允许的字符"),
    }
    return str(messages[error.code]())


def _clean_reason(text: str) -> str | None:
    reason = text.strip()
    if len(reason) > REASON_MAX_LENGTH or any(ord(ch) < 32 or ord(ch) == 127 for ch in reason):
        return None
    return reason


@transaction.atomic
def stock_moves_apply(
    *,
    merchant_id: int,
    moves: Sequence[MoveIn],
    now: datetime,
    actor: Actor | None = None,
    actor_label: str = "",
    recheck: bool = True,
) -> MovesResult:
    """Apply receipts, adjustments, counts and transfers of one merchant's SKUs, all or none.

    Each move is checked as given and then against the stock as the earlier moves of the same
    call leave it (under row locks in pk order); any refusal raises `StockMoveRefused` listing
    every refused move, and nothing is written. Otherwise each change is a StockMovement with
    who (`actor`, or `actor_label` for a job) and why (the move's reason): a receipt adds to on
    hand (and takes as much off the inbound quantity, clearing its ETA when none is left); a
    count sets on hand (the difference is the movement); an adjustment adds or takes; a
    transfer is a ``transfer_out`` of the source and a ``transfer_in`` of the destination.
    Stock rows missing for a receipt, count or transfer destination are created. Alerts are
    refreshed, and (`recheck`) orders waiting for stock at rows that gained are allocated
    again (`stock_recheck`).
    """
    if actor is not None and actor.role not in STOCK_ROLES:
        raise StockMoveRefused(errors=[MoveError(index=-1, field="", code="ROLE", data={"role": actor.role})])
    if len(moves) > MOVES_MAX:
        raise StockMoveRefused(
            errors=[MoveError(index=-1, field="", code="TOO_MANY", data={"max": MOVES_MAX})]
        )
    label = actor.label if actor is not None else actor_label
    errors: list[MoveError] = []
    warehouses = dict(
        Warehouse.objects.filter(
            code__in={m.warehouse for m in moves} | {m.to_warehouse for m in moves if m.to_warehouse}
        ).values_list("code", "pk")
    )
    skus = dict(
        Sku.objects.filter(merchant_id=merchant_id, code__in={m.sku for m in moves}).values_list("code", "pk")
    )
    checked: list[tuple[int, MoveIn, int, int, int, int | None, str]] = []
    for i, m in enumerate(moves):
        before = len(errors)
        if m.kind not in MoveKind.ALL:
            errors.append(MoveError(i, "type", "KIND_INVALID", {"value": str(m.kind)[:20]}))
        qty = _whole(m.quantity)
        if qty is None:
            errors.append(MoveError(i, "quantity", "QUANTITY_NOT_WHOLE", {"value": str(m.quantity)[:20]}))
        elif (
            abs(qty) > QUANTITY_MAX
            or (m.kind in (MoveKind.RECEIPT, MoveKind.TRANSFER) and qty <= 0)
            or ((m.kind == MoveKind.COUNT and qty < 0) or (m.kind == MoveKind.ADJUSTMENT and qty == 0))
        ):
            errors.append(MoveError(i, "quantity", "QUANTITY_INVALID", {"value": qty}))
        if m.warehouse not in warehouses:
            errors.append(MoveError(i, "warehouse", "WAREHOUSE_UNKNOWN", {"value": m.warehouse}))
        if m.sku not in skus:
            errors.append(MoveError(i, "sku", "SKU_UNKNOWN", {"value": m.sku}))
        to_id: int | None = None
        if m.kind == MoveKind.TRANSFER:
            if m.to_warehouse not in warehouses:
                errors.append(MoveError(i, "to_warehouse", "WAREHOUSE_UNKNOWN", {"value": m.to_warehouse}))
            elif m.to_warehouse == m.warehouse:
                errors.append(
                    MoveError(i, "to_warehouse", "TRANSFER_SAME_WAREHOUSE", {"value": m.to_warehouse})
                )
            else:
                to_id = warehouses[m.to_warehouse]
        reason = _clean_reason(m.reason)
        if reason is None:
            errors.append(MoveError(i, "reason", "REASON_INVALID", {"max_length": REASON_MAX_LENGTH}))
        if len(errors) == before:
            assert qty is not None and reason is not None
            checked.append((i, m, warehouses[m.warehouse], skus[m.sku], qty, to_id, reason))
    if errors:
        raise StockMoveRefused(errors=errors)
    pairs = {(wh, sku) for _i, _m, wh, sku, _q, _t, _r in checked}
    pairs |= {(to, sku) for _i, _m, _wh, sku, _q, to, _r in checked if to is not None}
    levels = _lock_levels(pairs)
    created: list[StockLevel] = []

    def level_of(wh: int, sku: int) -> StockLevel:
        level = levels.get((wh, sku))
        if level is None:
            level = StockLevel(merchant_id=merchant_id, warehouse_id=wh, sku_id=sku)
            levels[(wh, sku)] = level
            created.append(level)
        return level

    def movement(
        level: StockLevel, kind: MovementKind, qty: int, reason: str, **data: object
    ) -> StockMovement:
        return bulk.new(
            StockMovement,
            merchant_id=merchant_id,
            warehouse_id=level.warehouse_id,
            sku_id=level.sku_id,
            type=kind,
            quantity=qty,
            reason=reason,
            occurred_at=now,
            actor_id=actor.user_id if actor is not None else None,
            actor_label=label,
            data=data,
        )

    movements: list[StockMovement] = []
    gained: set[tuple[int, int]] = set()
    for i, m, wh, sku, qty, to_id, reason in checked:
        level = level_of(wh, sku)
        if m.kind == MoveKind.RECEIPT:
            level.on_hand += qty
            level.inbound_quantity = max(0, level.inbound_quantity - qty)
            if level.inbound_quantity == 0:
                level.inbound_eta = None
            movements.append(movement(level, MovementKind.RECEIPT, qty, reason))
            gained.add((wh, sku))
        elif m.kind == MoveKind.COUNT:
            if qty < level.allocated:
                errors.append(MoveError(i, "quantity", "BELOW_ALLOCATED", {"allocated": level.allocated}))
                continue
            movements.append(movement(level, MovementKind.COUNT, qty - level.on_hand, reason, counted=qty))
            if qty > level.on_hand:
                gained.add((wh, sku))
            level.on_hand = qty
        elif m.kind == MoveKind.ADJUSTMENT:
            if level.on_hand + qty < level.allocated:
                errors.append(MoveError(i, "quantity", "INSUFFICIENT_STOCK", {"available": level.available}))
                continue
            level.on_hand += qty
            movements.append(movement(level, MovementKind.ADJUSTMENT, qty, reason))
            if qty > 0:
                gained.add((wh, sku))
        else:
            assert to_id is not None
            if level.available < qty:
                errors.append(MoveError(i, "quantity", "INSUFFICIENT_STOCK", {"available": level.available}))
                continue
            target = level_of(to_id, sku)
            key = f"{now.isoformat()}:{wh}:{to_id}:{sku}:{i}"
            transfer = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
            level.on_hand -= qty
            target.on_hand += qty
            movements.append(
                movement(level, MovementKind.TRANSFER_OUT, -qty, reason, transfer=transfer, to=m.to_warehouse)
            )
            movements.append(
                movement(
                    target, MovementKind.TRANSFER_IN, qty, reason, transfer=transfer, **{"from": m.warehouse}
                )
            )
            gained.add((to_id, sku))
    if errors:
        raise StockMoveRefused(errors=errors)
    StockLevel.objects.bulk_create(created, batch_size=1000)
    created_ids = {id(lv) for lv in created}
    bulk.update(
        [lv for lv in levels.values() if id(lv) not in created_ids],
        ["on_hand", "inbound_quantity", "inbound_eta"],
    )
    bulk.insert(movements)
    touched = list(levels.values())
    stock_alerts_refresh(levels=touched, now=now)
    result = MovesResult(movements=movements, levels=touched)
    if recheck and gained:
        result.recheck = stock_recheck(pairs=gained, now=now, actor_label=label)
    return result


# --- automatic re-check when stock arrives (T1, B4) ---------------------------------

STOCK_CODES = frozenset({STOCK_SHORT, STOCK_LOW, STOCK_BACKORDER})
# Orders re-allocated per round: keeps every `IN (...)` under SQLite's limit of bound values
# and the memory of one round small, whatever the number of waiting orders.
RECHECK_BATCH = 5000
RECHECK_ACTOR = "system:stock_recheck"
LINE_FIELDS = ("id", "order_id", "line_no", "sku_code", "sku_id", "quantity", "allocated_quantity")


@dataclass
class RecheckResult:
    """What a re-check did: `orders` looked at, `served` (now holding all their stock),
    `cases_closed` (T1 cases closed as ``stock_arrived``)."""

    orders: int = 0
    served: list[int] = field(default_factory=list)
    cases_closed: list[int] = field(default_factory=list)


def _waiting_orders(pairs: set[tuple[int, int]]) -> dict[int, tuple[int, int, datetime]]:
    """Order id -> (warehouse id, merchant id, payment time) of orders to ship that still lack
    stock of a line touching one of `pairs` (the SKU itself, or a bundle holding it): held
    whole (STOCK_SHORT) or back-ordered. One query for the lines, one for the bundles."""
    skus = {s for _w, s in pairs}
    warehouses = {w for w, _s in pairs}
    bundles_of = bundles_holding(skus)
    rows = (
        OrderLine.objects.filter(
            sku_id__in=skus | set(bundles_of),
            allocated_quantity__lt=F("quantity"),
            order__status__in=[OrderStatus.ON_HOLD, OrderStatus.READY],
            order__platform_state=PlatformState.READY,
            order__channel__warehouse_id__in=warehouses,
        )
        .values_list(
            "order_id",
            "order__channel__warehouse_id",
            "sku_id",
            "order__merchant_id",
            "order__paid_at",
            "order__placed_at",
        )
        .distinct()
    )
    found: dict[int, tuple[int, int, datetime]] = {}
    for order_id, wh, sku, merchant_id, paid, placed in rows.iterator(chunk_size=10_000):
        if (wh, sku) in pairs or any((wh, c) in pairs for c in bundles_of.get(sku, ())):
            found[order_id] = (wh, merchant_id, paid or placed or FAR_FUTURE)
    return found


def stock_free_pairs(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Those of the (warehouse, SKU) rows with stock available (on hand above allocated)."""
    rows = StockLevel.objects.filter(
        warehouse_id__in={w for w, _s in pairs}, sku_id__in={s for _w, s in pairs}, on_hand__gt=F("allocated")
    ).values_list("warehouse_id", "sku_id")
    return {pair for pair in rows if pair in pairs}


def _any_free(pairs: set[tuple[int, int]]) -> bool:
    return bool(stock_free_pairs(pairs))


def stock_recheck(
    *,
    pairs: set[tuple[int, int]],
    now: datetime,
    actor_label: str = RECHECK_ACTOR,
    batch_size: int | None = None,
    order_ids: set[int] | None = None,
    reason: str = "",
) -> RecheckResult:
    """Allocate again the orders waiting for stock of these (warehouse, SKU) rows, which just
    gained (receipt, transfer in, count up), in the order allocation serves them (priority,
    then payment), in the caller's transaction.

    In rounds of `batch_size` orders (`RECHECK_BATCH`), each a fixed number of queries (no query per order):
    the rows are locked and allocated (`stock_allocate`, reason ``stock_arrived``), each
    order's stock findings replaced by the new ones and its status set (ready when nothing
    blocks it any more), an ``allocated`` OrderEvent for each order that got stock, and the
    cases triaged: a T1 case whose order no longer lacks stock closes itself with the reason
    ``stock_arrived`` (a ``resolved`` CaseEvent). Stops when every gained row is used up.
    `order_ids` keeps only those of the waiting orders (a merchant's decision on some of
    them); `reason` replaces ``stock_arrived`` as the logged reason.
    """
    with bulk.gc_paused():
        return _stock_recheck(
            pairs=pairs,
            now=now,
            actor_label=actor_label,
            batch_size=batch_size,
            order_ids=order_ids,
            reason=reason,
        )


def _stock_recheck(
    *,
    pairs: set[tuple[int, int]],
    now: datetime,
    actor_label: str,
    batch_size: int | None,
    order_ids: set[int] | None,
    reason: str,
) -> RecheckResult:
    from orderguard.cases.services import CloseReason, OrderFindings, cases_close_for_orders, cases_triage
    from orderguard.sla.services import PolicyBook

    batch_size = batch_size or RECHECK_BATCH
    reason = reason or CloseReason.STOCK_ARRIVED
    result = RecheckResult()
    waiting = _waiting_orders(pairs)
    if order_ids is not None:
        waiting = {pk: v for pk, v in waiting.items() if pk in order_ids}
    if not waiting:
        return result
    warehouse_of = {pk: wh for pk, (wh, _m, _p) in waiting.items()}
    orders: dict[int, Order] = {}
    # plain rows made into instances with `bulk.loaded`: a fraction of the ORM's cost per row,
    # and only the fields allocation and triage read (status and findings are written back)
    fields = (
        "id",
        "merchant_id",
        "channel_id",
        "status",
        "findings",
        "paid_at",
        "placed_at",
        "service_level",
        "extra",
    )

    def load(ids: Sequence[int]) -> None:
        for start in range(0, len(ids), batch_size):
            rows = Order.objects.filter(pk__in_ids=ids[start : start + batch_size]).values_list(*fields)
            for o in bulk.loaded(Order, fields, rows):
                orders[o.pk] = o

    policies = policies_for({m for _w, m, _p in waiting.values()})
    if any(p.expedited_first or p.vip_first for p in policies.values()):
        # a priority needs each order's service level and buyer: all of them read to rank them
        load(sorted(waiting))

        def rank(o: Order) -> tuple[int, datetime, int]:
            return (
                0 if order_is_priority(o, policies.get(o.merchant_id)) else 1,
                o.paid_at or o.placed_at or FAR_FUTURE,
                o.pk,
            )

        queue_ids = [o.pk for o in sorted(orders.values(), key=rank)]
    else:
        # payment order alone: the orders are read a round at a time, and not at all once the
        # stock is used up (a few units arriving do not read every waiting order)
        queue_ids = sorted(waiting, key=lambda pk: (waiting[pk][2], pk))
    book = PolicyBook()
    for start in range(0, len(queue_ids), batch_size):
        ids = queue_ids[start : start + batch_size]
        load([pk for pk in ids if pk not in orders])
        chunk = [orders[pk] for pk in ids]
        lines: dict[int, list[OrderLine]] = defaultdict(list)
        for line in bulk.loaded(
            OrderLine,
            LINE_FIELDS,
            OrderLine.objects.filter(order_id__in_ids=ids)
            .order_by("order_id", "line_no")
            .values_list(*LINE_FIELDS),
        ):
            lines[line.order_id].append(line)
        before = {o.pk: sum(li.allocated_quantity for li in lines[o.pk]) for o in chunk}
        alloc = stock_allocate(
            requests=[
                AllocationRequest(order=o, lines=lines[o.pk], warehouse_id=warehouse_of[o.pk]) for o in chunk
            ],
            now=now,
            actor_label=actor_label,
            reason=reason,
            policies=policies,
        )
        cleared: list[int] = []  # orders now without any finding: one UPDATE for all of them
        changed: list[Order] = []
        order_events: list[tuple[int, dict[str, Any]]] = []  # (order, data) of `allocated` events
        items: list[OrderFindings] = []
        t1_gone: list[int] = []
        for o in chunk:
            kept = [Finding.from_dict(f) for f in o.findings if f.get("code") not in STOCK_CODES]
            findings = [*kept, *alloc.findings.get(o.pk, ())]
            status = OrderStatus.ON_HOLD if any(f.blocking for f in findings) else OrderStatus.READY
            as_dicts = [f.as_dict() for f in findings]
            if as_dicts != o.findings or status != o.status:
                o.findings, o.status = as_dicts, status
                if as_dicts:
                    changed.append(o)
                else:
                    cleared.append(o.pk)
            if any(f.blocking and f.type == ExceptionType.OUT_OF_STOCK for f in findings):
                # still short (or newly so): triage updates its case or opens one
                items.append(OrderFindings(order=o, findings=findings))
            else:
                t1_gone.append(o.pk)
            got = sum(li.allocated_quantity for li in lines[o.pk]) - before[o.pk]
            if got > 0:
                if all(li.allocated_quantity >= li.quantity for li in lines[o.pk]):
                    result.served.append(o.pk)
                order_events.append((o.pk, {"reason": reason, "units": got, "status": status}))
        if cleared:
            Order.objects.filter(pk__in_ids=cleared).update(
                status=OrderStatus.READY, findings=[], updated_at=timezone.now()
            )
        bulk.update(changed, ["status", "findings"])
        bulk.insert_rows(
            OrderEvent,
            common={"type": OrderEventType.ALLOCATED, "occurred_at": now, "actor_label": actor_label},
            names=("order_id", "data"),
            rows=order_events,
        )
        result.cases_closed.extend(
            cases_close_for_orders(
                order_ids=t1_gone,
                case_type=ExceptionType.OUT_OF_STOCK,
                now=now,
                actor_label=actor_label,
                reason=reason,
            )
        )
        triage = cases_triage(
            items=items,
            now=now,
            actor_label=actor_label,
            policies=book,
            close_reason=reason,
        )
        result.cases_closed.extend(c.pk for c in triage.closed)
        result.orders += len(chunk)
        if start + batch_size < len(queue_ids) and not _any_free(pairs):
            break
    return result


# --- forecast: days of cover (D1) --------------------------------------------------------------


def stock_cover_check(*, now: datetime, levels: Sequence[StockLevel] | None = None) -> list[StockAlert]:
    """Warn before a stock-out (D1): open a ``low_cover`` alert for each stock row whose recent
    demand uses up what is left within `COVER_WARN_DAYS` before any inbound stock arrives
    (`inventory.selectors.stock_figures`), and close those whose forecast recovered. A row
    already below its safety stock has that alert instead. One message per merchant lists its
    new forecasts. Runs in the caller's transaction (the hourly job, or after stock moves);
    returns the alerts opened."""
    rows = list(levels) if levels is not None else list(StockLevel.objects.all())
    if not rows:
        return []
    figures = stock_figures(levels=rows, now=now)
    open_alerts = {
        a.stock_id: a
        for a in StockAlert.objects.filter(stock_id__in=[lv.pk for lv in rows], status=AlertStatus.OPEN)
    }
    opened: list[StockAlert] = []
    closed: list[StockAlert] = []
    for lv in rows:
        f = figures[lv.pk]
        alert = open_alerts.get(lv.pk)
        if f.cover_warning and alert is None and not f.below_safety_stock:
            opened.append(
                StockAlert(
                    merchant_id=lv.merchant_id,
                    stock=lv,
                    kind=AlertKind.LOW_COVER,
                    available=f.available,
                    safety_stock=f.safety_stock,
                    open_demand=f.open_demand,
                    inbound_quantity=f.inbound_quantity,
                    inbound_eta=f.inbound_eta,
                    days_of_cover=f.days_of_cover,
                    opened_at=now,
                )
            )
        elif alert is not None and alert.kind == AlertKind.LOW_COVER and not f.cover_warning:
            alert.status, alert.closed_at = AlertStatus.CLOSED, now
            closed.append(alert)
    bulk.update(closed, ["status", "closed_at"])
    if opened:
        StockAlert.objects.bulk_create(opened)
        _enqueue_cover_notices(opened, now=now)
    return opened


def _enqueue_cover_notices(alerts: list[StockAlert], *, now: datetime) -> None:
    """One message per merchant listing its SKUs forecast to run out (D1)."""
    skus = dict(Sku.objects.filter(pk__in={a.stock.sku_id for a in alerts}).values_list("pk", "code"))
    merchants = {m.pk: m for m in Merchant.objects.filter(pk__in={a.merchant_id for a in alerts})}
    per_merchant: dict[int, list[StockAlert]] = defaultdict(list)
    for a in alerts:
        per_merchant[a.merchant_id].append(a)
    messages = []
    for merchant_id, items in per_merchant.items():
        lines = [
            _("%(sku)s：可用 %(available)d，待满足 %(demand)d，约 %(days)s 天后断货，预计到货 %(eta)s")
            % {
                "sku": skus[a.stock.sku_id],
                "available": a.available,
                "demand": a.open_demand,
                "days": a.days_of_cover,
                "eta": a.inbound_eta.strftime("%Y-%m-%d") if a.inbound_eta else _("未知"),
            }
            for a in items
        ]
        ids = ",".join(str(a.pk) for a in items)
        messages.append(
            OutboxIn(
                topic="stock_cover",
                recipient=merchants[merchant_id].contact_email,
                subject=_("库存预警：%(count)d 个SKU预计即将断货") % {"count": len(items)},
                body="\n".join(lines),
                idempotency_key="stock-cover:"
                + hashlib.blake2b(f"{merchant_id}:{ids}".encode(), digest_size=12).hexdigest(),
                merchant_id=merchant_id,
            )
        )
    outbox_enqueue(messages=messages, now=now)
