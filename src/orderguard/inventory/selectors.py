"""Inventory reads, scoped to what the actor may see."""

from __future__ import annotations

from django.db import models

from orderguard.inventory.models import AlertStatus, StockAlert, StockLevel
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
