from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.core.models import TimeStampedModel


class ImportKind(models.TextChoices):
    ORDERS = "orders", _("订单")
    CATALOG = "catalog", _("商品")
    STOCK = "stock", _("库存")
    MASTERDATA = "masterdata", _("基础资料")


class ImportStatus(models.TextChoices):
    RUNNING = "running", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ImportBatch(TimeStampedModel):
    """One import of one or more files, with its counts, progress and per-row errors."""

    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    merchant = models.ForeignKey(
        "tenancy.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.ForeignKey(
        "orders.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    format = models.CharField(max_length=20, blank=True)
    file_names = models.JSONField(default=list)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.RUNNING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    cases_opened = models.PositiveIntegerField(default=0)
    actor_label = models.CharField(max_length=100, default="system:intake")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("导入批次")
        verbose_name_plural = _("导入批次")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["merchant", "started_at"], name="importbatch_merchant_idx")]


class ImportRowError(models.Model):
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="errors")
    file = models.CharField(max_length=300)
    row = models.PositiveIntegerField()
    field = models.CharField(max_length=100, blank=True)
    code = models.CharField(max_length=50)
    message = models.TextField()
    value = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["file", "row", "pk"]

    def __str__(self) -> str:
        return f"{self.file}:{self.row} {self.field} {self.code}"
