"""Stock reads, scoped to what the actor may see."""

from __future__ import annotations

from django.db.models import QuerySet

from orderguard.inventory.models import AlertStatus, StockAlert
from orderguard.tenancy.access import Actor, visible


def stock_alerts_open(*, actor: Actor) -> QuerySet[StockAlert]:
    """Open D1 alerts (available below safety stock) the actor may see, the shortest first
    (available minus safety stock, then oldest), with their stock row, SKU and warehouse."""
    return (
        visible(StockAlert.objects.filter(status=AlertStatus.OPEN), actor)
        .select_related("stock__sku", "stock__warehouse", "merchant")
        .order_by("available", "opened_at", "pk")
    )
