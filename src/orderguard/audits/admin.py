from django.contrib import admin

from orderguard.audits.models import AuditPlan


@admin.register(AuditPlan)
class AuditPlanAdmin(admin.ModelAdmin):
    list_display = ("warehouse", "share_percent", "min_count", "max_count", "risk_weighting", "active")
