from django.contrib import admin

from orderguard.orders.models import Channel


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "platform", "merchant", "warehouse", "active")
    list_filter = ("platform", "merchant", "active")
    search_fields = ("code", "name")
    list_select_related = ("merchant", "warehouse")
