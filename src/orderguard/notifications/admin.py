from django.contrib import admin

from orderguard.notifications.models import OutboxAttempt, OutboxMessage


class OutboxAttemptInline(admin.TabularInline):
    model = OutboxAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("attempted_at", "ok", "duration_ms", "error")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: messages are written by the services, in the transaction of their cause."""

    list_display = ("topic", "recipient", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "topic", "channel")
    search_fields = ("recipient", "idempotency_key", "subject")
    inlines = [OutboxAttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
