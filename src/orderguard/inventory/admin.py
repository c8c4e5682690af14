from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from orderguard.core import clock
from orderguard.inventory.models import StockLevel
from orderguard.inventory.services import StockIn, stock_levels_set


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    """Planning fields only (safety stock, inbound quantity and ETA). Stock on hand and allocated
    change through `inventory.services`, each change with its StockMovement (stock import,
    allocation), never by hand here."""

    list_display = (
        "sku",
        "warehouse",
        "merchant",
        "on_hand",
        "allocated",
        "safety_stock",
        "inbound_quantity",
        "inbound_eta",
    )
    list_filter = ("warehouse", "merchant")
    search_fields = ("sku__code",)
    list_select_related = ("sku", "warehouse", "merchant")
    fields = (
        "merchant",
        "warehouse",
        "sku",
        "on_hand",
        "allocated",
        "safety_stock",
        "inbound_quantity",
        "inbound_eta",
    )
    readonly_fields = ("merchant", "warehouse", "sku", "on_hand", "allocated")

    def save_model(self, request: HttpRequest, obj: StockLevel, form: Any, change: bool) -> None:
        # through the service, so that a new safety stock opens or closes its alert at once
        if obj.inbound_eta is None:
            # the service keeps an ETA it is not given: a cleared one is cleared here
            StockLevel.objects.filter(pk=obj.pk).update(inbound_eta=None)
        stock_levels_set(
            merchant_id=obj.merchant_id,
            lines=[
                StockIn(
                    warehouse_id=obj.warehouse_id,
                    sku_id=obj.sku_id,
                    safety_stock=obj.safety_stock,
                    inbound_quantity=obj.inbound_quantity,
                    inbound_eta=obj.inbound_eta,
                )
            ],
            now=clock.now(),
            actor_label=f"user:{request.user.get_username()}",
            reason="admin",
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
