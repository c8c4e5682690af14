"""Inventory reads, scoped to what the actor may see."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.db.models import F, Min, Q, Sum

from orderguard.catalog.models import BundleItem
from orderguard.inventory.models import (
    ALLOCATED_KINDS,
    ON_HAND_KINDS,
    AlertStatus,
    MovementKind,
    StockAlert,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from orderguard.orders.choices import OrderStatus
from orderguard.orders.models import Channel, Order, OrderLine
from orderguard.orders.schema import PlatformState
from orderguard.tenancy.access import Actor, visible


def stock_levels(
    *, actor: Actor, sku: str = "", warehouse: str = "", low: bool = False
) -> models.QuerySet[StockLevel]:
    """The stock rows `actor` may see, by warehouse and SKU code. `sku` and `warehouse` are
    codes (exact); `low` keeps the rows whose available stock (on hand - allocated) is below
    their safety stock."""
    qs = visible(StockLevel.objects.select_related("warehouse", "sku", "merchant"), actor)
    if sku:
        qs = qs.filter(sku__code=sku)
    if warehouse:
        qs = qs.filter(warehouse__code=warehouse)
    if low:
        qs = qs.filter(safety_stock__gt=models.F("on_hand") - models.F("allocated"))
    return qs.order_by("warehouse__code", "sku__code", "pk")


def stock_alerts_open(*, actor: Actor) -> models.QuerySet[StockAlert]:
    """Open D1 alerts (available below safety stock) the actor may see, the shortest first
    (available minus safety stock, then oldest), with their stock row, SKU and warehouse."""
    return (
        visible(StockAlert.objects.filter(status=AlertStatus.OPEN), actor)
        .select_related("stock__sku", "stock__warehouse", "merchant")
        .order_by("available", "opened_at", "pk")
    )


@dataclass(frozen=True, slots=True)
class LedgerMismatch:
    """A stock row whose stored numbers differ from the sum of its movements."""

    stock_id: int
    warehouse_id: int
    sku_id: int
    on_hand: int
    on_hand_from_ledger: int
    allocated: int
    allocated_from_ledger: int


def stock_ledger_mismatches(*, merchant_id: int | None = None) -> list[LedgerMismatch]:
    """Stock rows whose on hand or allocated is not what their movements add up to (on hand:
    receipts, adjustments, counts, dispatches, transfers; allocated: allocations, releases,
    dispatches). Empty when the ledger and the rows agree; available is on hand - allocated on
    both sides. Two queries whatever the number of rows."""
    moves = StockMovement.objects.all()
    rows = StockLevel.objects.all()
    if merchant_id is not None:
        moves, rows = moves.filter(merchant_id=merchant_id), rows.filter(merchant_id=merchant_id)
    sums = {
        (wh, sku): (on_hand or 0, allocated or 0)
        for wh, sku, on_hand, allocated in moves.values_list("warehouse_id", "sku_id").annotate(
            on_hand=Sum("quantity", filter=Q(type__in=[str(k) for k in ON_HAND_KINDS])),
            allocated=Sum("quantity", filter=Q(type__in=[str(k) for k in ALLOCATED_KINDS])),
        )
    }
    out = []
    for pk, wh, sku, on_hand, allocated in rows.order_by("pk").values_list(
        "pk", "warehouse_id", "sku_id", "on_hand", "allocated"
    ):
        ledger_on_hand, ledger_allocated = sums.get((wh, sku), (0, 0))
        if (ledger_on_hand, ledger_allocated) != (on_hand, allocated):
            out.append(LedgerMismatch(pk, wh, sku, on_hand, ledger_on_hand, allocated, ledger_allocated))
    return out


def stock_movements(*, actor: Actor, order_id: int | None = None) -> models.QuerySet[StockMovement]:
    """Stock movements the actor may see, newest first, with their SKU and warehouse; `order_id`
    keeps those of one order (allocations, releases, dispatches)."""
    qs = visible(StockMovement.objects.select_related("sku", "warehouse"), actor)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    return qs.order_by("-occurred_at", "-pk")


# Recent demand is read over this many days; a stock row whose cover is below the warning days
# (and whose inbound stock, if any, arrives later than the forecast stock-out) warns.
DEMAND_WINDOW_DAYS = 14
COVER_WARN_DAYS = 3.0


@dataclass(frozen=True, slots=True)
class StockFigures:
    """The numbers of a stock alert (D1) and the forecast of a stock row.

    `open_demand`: units that orders to ship still lack (held or back-ordered), a bundle's line
    counting its units of the SKU; `daily_demand`:
    units allocated per day over the last `DEMAND_WINDOW_DAYS`; `inbound_quantity` and
    `inbound_eta`: the row's inbound stock and the transfers in transit to it (the earliest ETA); `days_of_cover`: what is left
    after the open demand, divided by the daily demand (None: no recent demand); `stockout_at`:
    when that runs out; `cover_warning`: it runs out within `COVER_WARN_DAYS` and before the
    inbound stock arrives (or none is expected)."""

    available: int
    safety_stock: int
    open_demand: int
    inbound_quantity: int
    inbound_eta: datetime | None
    daily_demand: float
    days_of_cover: float | None
    stockout_at: datetime | None
    cover_warning: bool

    @property
    def below_safety_stock(self) -> bool:
        return self.available < self.safety_stock


def bundles_holding(sku_ids: set[int]) -> dict[int, dict[int, int]]:
    """Bundle SKU id -> {component SKU id: units per bundle} of the bundles holding any of
    `sku_ids` (their other components left out): the lines that need these SKUs through a
    bundle. One query."""
    out: dict[int, dict[int, int]] = {}
    for bundle, component, per in BundleItem.objects.filter(component_id__in=sku_ids).values_list(
        "bundle_id", "component_id", "quantity"
    ):
        out.setdefault(bundle, {})[component] = per
    return out


def stock_figures(*, levels: Sequence[StockLevel], now: datetime) -> dict[int, StockFigures]:
    """Stock row pk -> its `StockFigures`, for many rows in four queries (the bundles holding
    the SKUs; open demand of the orders at each row's warehouse, through bundles too;
    allocations of the demand window; transfers in transit)."""
    if not levels:
        return {}
    warehouses = {lv.warehouse_id for lv in levels}
    skus = {lv.sku_id for lv in levels}
    # orders need a SKU itself or through a bundle holding it (units per bundle)
    bundles = bundles_holding(skus)
    waiting = (
        OrderLine.objects.filter(
            sku_id__in=skus | set(bundles),
            allocated_quantity__lt=F("quantity"),
            order__status__in=[OrderStatus.ON_HOLD, OrderStatus.READY],
            order__platform_state=PlatformState.READY,
            order__channel__warehouse_id__in=warehouses,
        )
        .values_list("order__channel__warehouse_id", "sku_id")
        .annotate(units=Sum(F("quantity") - F("allocated_quantity")))
    )
    open_demand: dict[tuple[int, int], int] = defaultdict(int)
    for w, line_sku, units in waiting:
        if line_sku in skus:
            open_demand[(w, line_sku)] += units
        for component, per in bundles.get(line_sku, {}).items():
            open_demand[(w, component)] += units * per
    since = now - timedelta(days=DEMAND_WINDOW_DAYS)
    taken = (
        StockMovement.objects.filter(
            type=MovementKind.ALLOCATION, warehouse_id__in=warehouses, sku_id__in=skus, occurred_at__gte=since
        )
        .values_list("warehouse_id", "sku_id")
        .annotate(units=Sum("quantity"))
    )
    allocated = {(w, s): units for w, s, units in taken}
    # transfers on their way count as inbound stock, with their expected arrival as its ETA
    transit = {
        (w, s): (units, eta)
        for w, s, units, eta in Transfer.objects.filter(
            status=TransferStatus.IN_TRANSIT, to_warehouse_id__in=warehouses, sku_id__in=skus
        )
        .values_list("to_warehouse_id", "sku_id")
        .annotate(units=Sum("quantity"), eta=Min("expected_at"))
    }
    out = {}
    for lv in levels:
        key = (lv.warehouse_id, lv.sku_id)
        inbound, eta = lv.inbound_quantity, lv.inbound_eta
        if key in transit:
            units, transit_eta = transit[key]
            inbound += units
            eta = transit_eta if eta is None or lv.inbound_quantity <= 0 else min(eta, transit_eta)
        demand = open_demand.get(key, 0)
        daily = allocated.get(key, 0) / DEMAND_WINDOW_DAYS
        left = max(0, lv.on_hand - lv.allocated - demand)
        cover = round(left / daily, 1) if daily > 0 else (0.0 if demand > 0 else None)
        stockout = now + timedelta(days=cover) if cover is not None else None
        warning = (
            cover is not None
            and stockout is not None
            and cover < COVER_WARN_DAYS
            and (eta is None or inbound <= 0 or eta > stockout)
        )
        out[lv.pk] = StockFigures(
            available=lv.on_hand - lv.allocated,
            safety_stock=lv.safety_stock,
            open_demand=demand,
            inbound_quantity=inbound,
            inbound_eta=eta,
            daily_demand=round(daily, 2),
            days_of_cover=cover,
            stockout_at=stockout,
            cover_warning=warning,
        )
    return out


def orders_short_skus(*, orders: Sequence[Order]) -> dict[int, list[str]]:
    """Order pk -> the codes of its SKUs (or bundle components) with an open stock alert at the
    order's warehouse, sorted: the mark of every order touching a short SKU (D1). At most four
    queries whatever the number of orders."""
    if not orders:
        return {}
    # the channel's warehouse, from the channels already loaded with the orders when they are
    warehouse_of = {
        o.channel_id: o._state.fields_cache["channel"].warehouse_id
        for o in orders
        if "channel" in o._state.fields_cache
    }
    missing = {o.channel_id for o in orders} - set(warehouse_of)
    if missing:
        warehouse_of.update(Channel.objects.filter(pk__in=missing).values_list("pk", "warehouse_id"))
    lines = list(
        OrderLine.objects.filter(order__in=orders, sku__isnull=False).values_list("order_id", "sku_id")
    )
    parts: dict[int, set[int]] = {}
    for bundle, component in BundleItem.objects.filter(bundle_id__in={s for _o, s in lines}).values_list(
        "bundle_id", "component_id"
    ):
        parts.setdefault(bundle, set()).add(component)
    wanted = {(oid, s) for oid, sku in lines for s in parts.get(sku, {sku})}
    short = {
        (w, s): code
        for w, s, code in StockAlert.objects.filter(
            status=AlertStatus.OPEN, stock__sku_id__in={s for _o, s in wanted}
        ).values_list("stock__warehouse_id", "stock__sku_id", "stock__sku__code")
    }
    channel_of = {o.pk: o.channel_id for o in orders}
    out: dict[int, set[str]] = {o.pk: set() for o in orders}
    for order_id, sku in wanted:
        code = short.get((warehouse_of[channel_of[order_id]], sku))
        if code is not None:
            out[order_id].add(code)
    return {pk: sorted(codes) for pk, codes in out.items()}


@dataclass(frozen=True, slots=True)
class StockSource:
    """One warehouse's stock of a SKU, for choosing where to transfer from (H1.2)."""

    warehouse: str
    available: int
    open_demand: int
    spare: int
    inbound_quantity: int
    inbound_eta: datetime | None


def stock_sources(*, merchant_id: int, sku_code: str, now: datetime) -> list[StockSource]:
    """Every warehouse holding a stock row of the merchant's SKU, the most spare first: spare is
    what is available beyond the open demand of the orders shipping from there, so a warehouse
    with spare stock can give it to one where orders wait (a transfer). Five queries."""
    levels = StockLevel.objects.filter(merchant_id=merchant_id, sku__code=sku_code)
    return next(iter(_sources_by_sku(levels, now=now).values()), [])


def stock_sources_for(*, sku_ids: set[int], now: datetime) -> dict[int, list[StockSource]]:
    """SKU id -> `stock_sources` of that SKU, for many SKUs in the same five queries (the
    short SKUs of the decision page)."""
    if not sku_ids:
        return {}
    return _sources_by_sku(StockLevel.objects.filter(sku_id__in=sku_ids), now=now)


def _sources_by_sku(levels: models.QuerySet[StockLevel], *, now: datetime) -> dict[int, list[StockSource]]:
    rows = list(levels.select_related("warehouse"))
    figures = stock_figures(levels=rows, now=now)
    out: dict[int, list[StockSource]] = defaultdict(list)
    for lv in rows:
        f = figures[lv.pk]
        out[lv.sku_id].append(
            StockSource(
                warehouse=lv.warehouse.code,
                available=f.available,
                open_demand=f.open_demand,
                spare=max(0, f.available - f.open_demand),
                inbound_quantity=f.inbound_quantity,
                inbound_eta=f.inbound_eta,
            )
        )
    return {sku: sorted(found, key=lambda s: (-s.spare, s.warehouse)) for sku, found in out.items()}
