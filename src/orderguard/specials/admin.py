from django.contrib import admin

from orderguard.specials.models import CourierContract


@admin.register(CourierContract)
class CourierContractAdmin(admin.ModelAdmin):
    """Courier contracts per warehouse (H5.1): managers and admins keep them here."""

    list_display = (
        "warehouse",
        "courier",
        "active",
        "regions",
        "designated_fee",
        "expedited_fee",
        "cutoff",
        "expedited_capacity",
    )
    list_filter = ("warehouse", "courier", "active")
    list_select_related = ("warehouse",)
