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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from orderguard.catalog.models import BundleItem, Sku, Warehouse
from orderguard.core import bulk
from orderguard.core.choices import DetectionSource, ExceptionType, Severity
from orderguard.core.findings import Finding
from orderguard.inventory.findings import STOCK_LOW, STOCK_SHORT
from orderguard.inventory.models import AlertStatus, MovementKind, StockAlert, StockLevel, StockMovement
from orderguard.notifications.endpoints import Recipient, recipients_for
from orderguard.notifications.services import OutboxIn, outbox_enqueue
from orderguard.orders.models import Order, OrderLine
from orderguard.tenancy.models import Merchant

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


def stock_allocate(
    *, requests: Sequence[AllocationRequest], now: datetime, actor_label: str
) -> AllocationResult:
    """Reserve stock for whole orders, earliest payment first.

    The orders must have primary keys (saved, or keys from `core.bulk.reserve_ids` for orders
    written later in the same transaction); lines already in the database get their allocated
    quantity updated, new lines only in memory.

    An order is allocated whole or not at all (the default "hold the whole order" policy): if
    any line is short, nothing is reserved for it and each short line gives a STOCK_SHORT
    finding (T1, source D1) with the quantities; the stock stays free for later orders that it
    covers. Lines without a resolved SKU are not allocated (the product check has a finding
    for them). Orders touching a SKU whose available stock ends below its safety stock get a
    STOCK_LOW warning, and a stock alert opens for that SKU (D1).
    """
    result = AllocationResult()
    todo = [r for r in requests if r.lines and all(line.sku_id for line in r.lines)]
    if not todo:
        return result
    bundles = _components(line.sku_id for r in todo for line in r.lines if line.sku_id)
    needs_by_order: dict[int, list[tuple[OrderLine, list[tuple[int, int]]]]] = {}
    pairs: set[tuple[int, int]] = set()
    for r in todo:
        entries = [(line, _needs(line, bundles)) for line in r.lines]
        needs_by_order[r.order.pk] = entries
        pairs.update((r.warehouse_id, sku) for _line, parts in entries for sku, _q in parts)
    levels = _lock_levels(pairs)
    touched: dict[int, StockLevel] = {}
    movements: list[StockMovement] = []
    lines_changed: list[OrderLine] = []
    for r in sorted(todo, key=_payment_order):
        entries = needs_by_order[r.order.pk]
        demand: dict[int, int] = defaultdict(int)
        for _line, parts in entries:
            for sku, qty in parts:
                demand[sku] += qty
        short = []
        for sku, qty in demand.items():
            level = levels.get((r.warehouse_id, sku))
            free = level.on_hand - level.allocated if level else 0
            if free < qty:
                short.append((sku, qty, max(free, 0)))
        if short:
            short_skus = {s for s, _q, _f in short}
            lines = []
            for line, parts in entries:
                for sku, _qty in parts:
                    if sku in short_skus:
                        wanted, free = next((q, f) for s, q, f in short if s == sku)
                        lines.append(
                            ShortLine(line_no=line.line_no, sku_code=line.sku_code, wanted=wanted, free=free)
                        )
                        result.findings[r.order.pk].append(
                            Finding(
                                code=STOCK_SHORT,
                                type=ExceptionType.OUT_OF_STOCK,
                                field=f"lines[{line.line_no}]",
                                source=DetectionSource.STOCK_ALERT,
                                data={"sku": line.sku_code, "wanted": wanted, "free": free},
                            )
                        )
                        break
            result.short[r.order.pk] = lines
            continue
        for line, parts in entries:
            for sku, qty in parts:
                level = levels[(r.warehouse_id, sku)]
                level.allocated += qty
                touched[level.pk] = level
                movements.append(
                    bulk.new(
                        StockMovement,
                        merchant_id=r.order.merchant_id,
                        warehouse_id=r.warehouse_id,
                        sku_id=sku,
                        type=MovementKind.ALLOCATION,
                        quantity=qty,
                        order_id=r.order.pk,
                        occurred_at=now,
                        actor_label=actor_label,
                        data={"line": line.line_no},
                    )
                )
            line.allocated_quantity = line.quantity
            lines_changed.append(line)
        result.allocated.add(r.order.pk)
    if touched:
        bulk.update(list(touched.values()), ["allocated"])
    # Lines not yet written (a new order in an import) are written by the caller with their
    # allocated quantity already set; lines in the database are updated here.
    saved = [line for line in lines_changed if line.pk is not None]
    if saved:
        bulk.update(saved, ["allocated_quantity"])
    bulk.insert(movements)
    # D1: low stock marks every order touching it (short or allocated) and opens an alert.
    low = {key: lv for key, lv in levels.items() if lv.on_hand - lv.allocated < lv.safety_stock}
    if low:
        codes = dict(Sku.objects.filter(pk__in={lv.sku_id for lv in low.values()}).values_list("pk", "code"))
        for r in todo:
            marked: set[int] = set()
            for _line, parts in needs_by_order[r.order.pk]:
                for sku, _qty in parts:
                    level = low.get((r.warehouse_id, sku))
                    if level is not None and sku not in marked:
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
                                    "available": level.on_hand - level.allocated,
                                    "safety_stock": level.safety_stock,
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
    *, orders: Sequence[Order], now: datetime, actor_label: str, reason: str, kind: MovementKind
) -> int:
    held = _held_by(orders)
    if not held:
        return 0
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


def stock_release(*, orders: Sequence[Order], now: datetime, actor_label: str, reason: str) -> int:
    """Give back what these orders hold (changed on the platform, cancelled, refunding): each
    (order, warehouse, SKU) the ledger shows held becomes a RELEASE movement. Returns the
    number of movements written."""
    return _give_back(
        orders=orders, now=now, actor_label=actor_label, reason=reason, kind=MovementKind.RELEASE
    )


def stock_dispatch(*, orders: Sequence[Order], now: datetime, actor_label: str, reason: str) -> int:
    """The held stock of these orders has left the warehouse (the platform says shipped): on
    hand and allocated both go down by what each order held (a DISPATCH movement), so shipped
    goods never come back as available. Returns the number of movements written."""
    return _give_back(
        orders=orders, now=now, actor_label=actor_label, reason=reason, kind=MovementKind.DISPATCH
    )


def stock_alerts_refresh(*, levels: Sequence[StockLevel], now: datetime) -> list[StockAlert]:
    """Open an alert (and its notices) for each level below safety stock without one; close
    the open alerts of levels that recovered. Returns the alerts opened."""
    if not levels:
        return []
    by_pk = {lv.pk: lv for lv in levels}
    open_alerts = {
        a.stock_id: a for a in StockAlert.objects.filter(stock_id__in=by_pk, status=AlertStatus.OPEN)
    }
    opened: list[StockAlert] = []
    recovered: list[StockAlert] = []
    for lv in levels:
        available = lv.on_hand - lv.allocated
        alert = open_alerts.get(lv.pk)
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
            "inbound": lv.inbound_quantity,
            "eta": timezone.localtime(lv.inbound_eta).strftime("%Y-%m-%d") if lv.inbound_eta else None,
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


def stock_levels_set(
    *,
    merchant_id: int,
    lines: Sequence[StockIn],
    now: datetime,
    actor_label: str,
    reason: str = "stock_import",
) -> StockSetResult:
    """Set counted stock levels (cycle count, stock file) in the caller's transaction.

    A change of on hand is a COUNT movement of the difference. A count below what is already
    allocated is refused for that line (the stock is promised to orders; release them first),
    and nothing of that line is written. Alerts are refreshed for every line touched.
    """
    result = StockSetResult()
    pairs = {(ln.warehouse_id, ln.sku_id) for ln in lines}
    levels = _lock_levels(pairs)
    created: list[StockLevel] = []
    movements: list[StockMovement] = []
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
    return result
