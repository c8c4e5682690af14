"""Daily sample audits (D4, B5): a plan per warehouse, one audit per warehouse and day, and
one line per drawn order with its checklist."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.core.models import TimeStampedModel

# The risk factors of B5 and their default weights: an order's weight is 1 plus, per factor,
# its weight times the factor's value (an exception rate 0..1, or 1 for a new merchant).
DEFAULT_WEIGHTS: dict[str, float] = {
    "merchant": 2.0,
    "sku": 2.0,
    "channel": 1.0,
    "area": 2.0,
    "new_merchant": 1.0,
}


def default_weights() -> dict[str, float]:
    return dict(DEFAULT_WEIGHTS)


class AuditPlan(TimeStampedModel):
    """How a warehouse's daily sample is drawn: `share_percent` of the day's orders, at least
    `min_count` and at most `max_count` (never more than there are), weighted by risk or not.
    With `risk_weighting`, `weights` (keys of `DEFAULT_WEIGHTS`) set how much each factor
    counts; exceptions count over the last `lookback_days`, a merchant is new when its first
    order is at most `new_merchant_days` old. A warehouse without a plan uses the defaults."""

    warehouse = models.OneToOneField("catalog.Warehouse", on_delete=models.PROTECT, related_name="audit_plan")
    share_percent = models.DecimalField(
        _("抽检比例(%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("5"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    min_count = models.PositiveIntegerField(_("最少抽检数"), default=10)
    max_count = models.PositiveIntegerField(_("最多抽检数"), default=200)
    risk_weighting = models.BooleanField(_("按风险加权"), default=True)
    weights = models.JSONField(_("风险权重"), default=default_weights, blank=True)
    lookback_days = models.PositiveIntegerField(_("异常回看天数"), default=30)
    new_merchant_days = models.PositiveIntegerField(_("新商家天数"), default=30)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("抽检计划")
        verbose_name_plural = _("抽检计划")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(share_percent__gte=0) & models.Q(share_percent__lte=100),
                name="auditplan_share_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(min_count__lte=models.F("max_count")), name="auditplan_min_le_max"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.warehouse_id}: {self.share_percent}%"


class DailyAudit(models.Model):
    """The sample of one warehouse's orders paid on `day` (local date): drawn once, from the
    stored `seed` (the same seed and the same orders draw the same sample). `plan` is the
    plan as it was when drawn; `population` the day's orders that will ship (cancelled and
    platform-closed ones left out), `planned` the sample size the
    plan asked for, `drawn` the lines made."""

    warehouse = models.ForeignKey("catalog.Warehouse", on_delete=models.PROTECT, related_name="audits")
    day = models.DateField(_("日期"))
    seed = models.BigIntegerField(_("随机种子"))
    weighted = models.BooleanField(_("按风险加权"))
    plan = models.JSONField(default=dict)
    population = models.PositiveIntegerField(_("当日订单数"))
    planned = models.PositiveIntegerField(_("计划抽检数"))
    drawn = models.PositiveIntegerField(_("抽检数"))
    weight_total = models.FloatField(default=0.0)
    drawn_at = models.DateTimeField(_("抽取时间"))
    drawn_by_label = models.CharField(max_length=100)

    class Meta:
        verbose_name = _("每日抽检")
        verbose_name_plural = _("每日抽检")
        ordering = ["-day", "warehouse_id"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "day"], name="audit_one_per_warehouse_day")
        ]

    def __str__(self) -> str:
        return f"{self.warehouse_id} {self.day}"


class LineStatus(models.TextChoices):
    PENDING = "pending", _("待检查")
    PASSED = "passed", _("通过")
    FAILED = "failed", _("未通过")


class AuditLine(models.Model):
    """One drawn order. `rank` is its place in the draw (1 = highest key); `weight` its risk
    weight and `reasons` why (factor → value); `inclusion` the approximate probability that it
    was drawn (`sampling.inclusion_probabilities`: n·w/Σw, capped at 1), whose inverse weighs
    it in the day's estimate. `proposal`
    is what the checks found per checklist item when drawn; `items` what the person decided
    (item → {"result", "note", "proposed"}). `cases` are the cases a failed item opened or
    joined."""

    audit = models.ForeignKey(DailyAudit, on_delete=models.CASCADE, related_name="lines")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveIntegerField()
    weight = models.FloatField()
    inclusion = models.FloatField()
    reasons = models.JSONField(default=dict, blank=True)
    proposal = models.JSONField(default=dict, blank=True)
    items = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("结果"), max_length=10, choices=LineStatus.choices, default=LineStatus.PENDING
    )
    note = models.TextField(_("备注"), blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_by_label = models.CharField(max_length=100, blank=True)
    cases = models.ManyToManyField("cases.ExceptionCase", blank=True, related_name="+")

    class Meta:
        verbose_name = _("抽检订单")
        verbose_name_plural = _("抽检订单")
        ordering = ["audit", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["audit", "order"], name="auditline_unique_order"),
            models.UniqueConstraint(fields=["audit", "rank"], name="auditline_unique_rank"),
        ]
        indexes = [models.Index(fields=["merchant", "audit"], name="auditline_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.audit_id}#{self.rank}"
