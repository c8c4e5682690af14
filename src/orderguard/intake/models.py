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


class WebhookDeliveryStatus(models.TextChoices):
    PROCESSED = "processed", _("已处理")
    WITH_ERRORS = "with_errors", _("已处理，部分订单有错误")


class WebhookDelivery(models.Model):
    """One webhook delivery a channel sent and OrderGuard imported: what makes a redelivery a no-op.

    The unique (channel, delivery_id) decides which of two identical deliveries runs; the row is
    written in the same transaction as the import it records, so it exists only for a delivery
    whose orders were imported. `delivery_id` is the platform's delivery id, or
    ``sha256:<body digest>`` when the platform sends none.
    """

    channel = models.ForeignKey("orders.Channel", on_delete=models.PROTECT, related_name="+")
    delivery_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=WebhookDeliveryStatus.choices)
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    body_sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("Webhook 推送")
        verbose_name_plural = _("Webhook 推送")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "delivery_id"], name="webhookdelivery_unique_id"),
            # a replay under a new delivery id is the same body: one import per body
            models.UniqueConstraint(fields=["channel", "body_sha256"], name="webhookdelivery_unique_body"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.delivery_id}"
