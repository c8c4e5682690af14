from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from orderguard.orders.models import Channel


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "platform", "merchant", "warehouse", "active")
    list_filter = ("platform", "merchant", "active")
    search_fields = ("code", "name")
    list_select_related = ("merchant", "warehouse")

    # who may read a channel but not change it has no use for its webhook signing secrets
    SECRETS = ("signing_secret", "previous_signing_secret")

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        excluded = list(super().get_exclude(request, obj) or ())
        if not self.has_change_permission(request, obj):
            excluded += self.SECRETS
        return excluded

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # a shop never changes hands: moving it would send its buyers' orders to another
            # merchant
            fields.append("merchant")
        return fields
