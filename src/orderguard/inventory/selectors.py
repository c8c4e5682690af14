"""Inventory reads."""

from __future__ import annotations

from django.db import models

from orderguard.inventory.models import StockLevel
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
