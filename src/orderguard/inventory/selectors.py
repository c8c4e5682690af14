"""Inventory reads, scoped to what the actor may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import Q, Sum

from orderguard.inventory.models import (
    ALLOCATED_KINDS,
    ON_HAND_KINDS,
    AlertStatus,
    StockAlert,
    StockLevel,
    StockMovement,
)
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
