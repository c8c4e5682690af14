from django.contrib import admin

from orderguard.tenancy.models import Merchant


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "contact_email", "active")
    search_fields = ("code", "name")
    list_filter = ("active",)
