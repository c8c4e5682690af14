from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.core.choices import ExceptionType
from orderguard.core.models import TimeStampedModel


class SlaPolicy(TimeStampedModel):
    """S1: how long a step of a case type may take, and how its clock runs.

    Defaults come from REQUIREMENTS.md S1 (merchant notified of a stock-out in 1 h, buyer
    contacted in 2 h, outage triaged in 30 min); all are editable in admin. `business_hours`
    counts the time on the warehouse's working calendar (B1) instead of the clock;
    `pause_while_waiting` stops the clock while the case waits on the buyer or the merchant;
    the owner is warned at `warn_percent` of the time; after the deadline the case escalates
    one level (team lead, then manager) every `escalate_after_minutes`.
    """

    case_type = models.CharField(_("异常类型"), max_length=2, choices=ExceptionType.choices)
    step = models.CharField(_("环节"), max_length=50)
    minutes = models.PositiveIntegerField(_("时限(分钟)"), validators=[MinValueValidator(1)])
    warn_percent = models.PositiveSmallIntegerField(
        _("预警点(时限的百分比)"), default=75, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    business_hours = models.BooleanField(_("按工作时间计时"), default=False)
    pause_while_waiting = models.BooleanField(_("等待回复时暂停计时"), default=True)
    escalate_after_minutes = models.PositiveIntegerField(
        _("超时后逐级升级间隔(分钟)"), default=60, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("时效标准")
        verbose_name_plural = _("时效标准")
        constraints = [
            models.UniqueConstraint(fields=["case_type", "step"], name="slapolicy_unique"),
            models.CheckConstraint(
                condition=models.Q(warn_percent__gte=1, warn_percent__lte=99), name="slapolicy_warn_percent"
            ),
            models.CheckConstraint(condition=models.Q(minutes__gte=1), name="slapolicy_minutes_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.case_type}/{self.step}: {self.minutes} min"


class WorkingCalendar(TimeStampedModel):
    """B1: a warehouse's working time (`sla.calendar.WorkingTime`). The one without a warehouse
    is the default for warehouses that have none. Days follow China's statutory calendar
    (holidays and adjusted working days) or the listed weekdays (1 = Monday ... 7 = Sunday)."""

    warehouse = models.OneToOneField(
        "catalog.Warehouse",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="working_calendar",
        verbose_name=_("仓库"),
    )
    name = models.CharField(_("名称"), max_length=100)
    timezone = models.CharField(_("时区"), max_length=50, default="Asia/Shanghai")
    day_starts = models.TimeField(_("上班时间"), default="09:00")
    day_ends = models.TimeField(_("下班时间"), default="18:00", help_text=_("00:00 表示午夜（全天）"))
    follows_statutory = models.BooleanField(_("按国家法定节假日和调休"), default=True)
    weekdays = models.CharField(
        _("工作日"), max_length=7, default="12345", help_text=_("不按法定节假日时使用：1=周一 … 7=周日")
    )

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(warehouse__isnull=True), name="calendar_one_default_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CalendarDay(models.Model):
    """One day that differs from the calendar's rule: a day off or an extra working day."""

    calendar = models.ForeignKey(WorkingCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("日期"))
    working = models.BooleanField(_("上班"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("特殊日期")
        verbose_name_plural = _("特殊日期")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendarday_unique")]
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'on' if self.working else 'off'}"
