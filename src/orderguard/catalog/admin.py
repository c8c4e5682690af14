from django.contrib import admin

from orderguard.catalog.models import BundleItem, Courier, Sku, Warehouse


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "alert_email", "active")
    search_fields = ("code", "name")


class BundleItemInline(admin.TabularInline):
    model = BundleItem
    fk_name = "bundle"
    raw_id_fields = ("component",)
    extra = 0


@admin.register(Sku)
class SkuAdmin(admin.ModelAdmin):
    list_display = ("code", "merchant", "name", "style_code", "colour", "size", "spec", "barcode", "active")
    list_filter = ("merchant", "active", "is_bundle")
    search_fields = ("code", "name", "style_code", "barcode")
    list_select_related = ("merchant",)
    inlines = [BundleItemInline]


@admin.register(Courier)
class CourierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "aliases", "active")
