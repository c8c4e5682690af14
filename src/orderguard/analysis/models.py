from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.analysis.choices import ActionStatus, Dim, FindingKind
from orderguard.core.choices import ExceptionType


class DailyStat(models.Model):
    """One day's figures of one merchant's cases of one type, broken down by one dimension
    (`dim`, `key`), for the weekly and monthly analysis (S3). Derived data: rebuilt from the
    cases and their events by `analysis.rollup` (never edited by hand, never the source of
    anything else).

    The day is the warehouse's local date (TIME_ZONE) of the fact counted: `opened` by the
    case's opening, `closed`/`succeeded`/`failed`/`cancelled` and the handling times by its
    ``resolved`` event (a case closed, reopened and closed again counts two closings),
    `reopened` by its ``reopened`` event, `overdue`/`escalated` by the deadline scan's events.
    `steps_closed`/`steps_late` count, at each closing, the steps the case went through and
    those finished after their deadline (`key` is the step); the step rows' handling and
    working seconds and histograms are the time spent in the step (`analysis.rollup`), their
    histograms' count the closings whose step times are known. The `total` and `step` rows
    hold the histograms (`analysis.histogram`, bucket index -> closings).
    """

    # None: the whole warehouse (every merchant's rows added up, so that the warehouse's report
    # reads a sixth of the rows at six merchants); merchants never read these rows
    merchant = models.ForeignKey("tenancy.Merchant", null=True, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    case_type = models.CharField(max_length=2, choices=ExceptionType.choices)
    dim = models.CharField(max_length=10, choices=Dim.choices)
    key = models.CharField(max_length=100, blank=True)
    opened = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    handling_seconds = models.BigIntegerField(default=0)
    working_seconds = models.BigIntegerField(default=0)
    handling_hist = models.JSONField(default=dict, blank=True)
    working_hist = models.JSONField(default=dict, blank=True)
    steps_closed = models.PositiveIntegerField(default=0)
    steps_late = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("日统计")
        verbose_name_plural = _("日统计")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "day", "case_type", "dim", "key"], name="dailystat_unique"
            )
        ]
        indexes = [
            # the warehouse-wide report reads one dimension over a range of days
            models.Index(fields=["dim", "day"], name="dailystat_dim_day_idx"),
            models.Index(fields=["merchant", "dim", "day"], name="dailystat_merchant_dim_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.merchant_id} {self.case_type} {self.dim}={self.key}"


class RollupState(models.Model):
    """The rollup's watermark: the last CaseEvent id it has counted, and when it ran (one row)."""

    last_event_id = models.BigIntegerField(default=0)
    ran_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("统计进度")
        verbose_name_plural = _("统计进度")

    def __str__(self) -> str:
        return f"rollup at event {self.last_event_id}"


class ImprovementAction(models.Model):
    """S4: a finding of the analysis turned into a tracked action: who does what by when, and
    what it should change (`expected_effect`, e.g. "raise the safety stock of SKU X to 22";
    `target_value` the number, when there is one). Its effect is measured from `started_on`:
    the subject's cases in the days before against as many days after (`analysis.actions`).
    `merchant` is the merchant the subject belongs to (None for a province across merchants)."""

    merchant = models.ForeignKey(
        "tenancy.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("类别"), max_length=30, choices=FindingKind.choices)
    subject = models.CharField(_("对象"), max_length=100)
    expected_effect = models.CharField(_("预期效果"), max_length=300)
    target_value = models.PositiveIntegerField(_("目标值"), null=True, blank=True)
    owner = models.ForeignKey(
        "auth.User", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("负责人")
    )
    owner_label = models.CharField(max_length=150)
    due_on = models.DateField(_("截止日期"))
    started_on = models.DateField(_("开始日期"))
    status = models.CharField(
        _("状态"), max_length=20, choices=ActionStatus.choices, default=ActionStatus.PLANNED
    )
    note = models.CharField(_("备注"), max_length=1000, blank=True)
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("改进措施")
        verbose_name_plural = _("改进措施")
        indexes = [models.Index(fields=["merchant", "status"], name="action_merchant_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.subject}"
