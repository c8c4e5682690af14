"""Incidents in the admin, to read: they are worked on the incident pages (acknowledge,
assign, updates, contacts, resolve), whose services keep the timeline and send the notices.
Nothing is added, changed or deleted here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from orderguard.incidents.models import Incident, IncidentEvent, ManualOrder, PlatformContact


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Part of the incident: seen by whoever may see the incident."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("incidents.view_incident"))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IncidentEventInline(ReadOnlyInline):
    model = IncidentEvent
    fields = ("occurred_at", "type", "actor_label", "data")
    readonly_fields = fields
    ordering = ("occurred_at", "pk")


class PlatformContactInline(ReadOnlyInline):
    model = PlatformContact
    fields = ("occurred_at", "contact", "via", "ticket_ref", "notes", "actor_label")
    readonly_fields = fields


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "title",
        "kind",
        "severity",
        "status",
        "channel",
        "opened_at",
        "due_at",
        "resolved_at",
    )
    list_filter = ("status", "severity", "kind")
    search_fields = ("title", "fingerprint")
    list_select_related = ("channel",)
    date_hierarchy = "opened_at"
    # the orders touched can be thousands: counted here, listed on the incident's page
    exclude = ("orders",)
    readonly_fields = ("orders_touched",)
    inlines = [PlatformContactInline, IncidentEventInline]

    @admin.display(description=_("关联订单"))
    def orders_touched(self, obj: Incident) -> int:
        return obj.orders.count()


@admin.register(ManualOrder)
class ManualOrderAdmin(ReadOnlyAdmin):
    list_display = (
        "entered_id",
        "channel",
        "merchant",
        "status",
        "matched_platform_id",
        "entered_at",
        "incident",
    )
    list_filter = ("status",)
    search_fields = ("entered_id", "matched_platform_id")
    list_select_related = ("channel", "merchant", "incident")
