from __future__ import annotations

from django.contrib import admin

from orderguard.inventory.models import StockLevel


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

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
