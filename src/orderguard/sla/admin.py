from django.contrib import admin

from orderguard.sla.models import CalendarDay, SlaPolicy, WorkingCalendar


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "case_type",
        "step",
        "minutes",
        "warn_percent",
        "business_hours",
        "pause_while_waiting",
        "escalate_after_minutes",
    )
    list_editable = (
        "minutes",
        "warn_percent",
        "business_hours",
        "pause_while_waiting",
        "escalate_after_minutes",
    )
    list_filter = ("case_type",)


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 1


@admin.register(WorkingCalendar)
class WorkingCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "warehouse", "day_starts", "day_ends", "follows_statutory", "weekdays")
    inlines = [CalendarDayInline]
