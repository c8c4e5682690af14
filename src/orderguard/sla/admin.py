from django.contrib import admin

from orderguard.sla.models import SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("case_type", "step", "minutes", "warn_before_minutes")
    list_editable = ("minutes", "warn_before_minutes")
    list_filter = ("case_type",)
