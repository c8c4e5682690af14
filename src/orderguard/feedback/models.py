"""Customer-service reports (D5): an agent tells the warehouse of a special request or another
anomaly on an order; the report opens a case or joins the order's open case of that type."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _


class VarMediaStorage(FileSystemStorage):
    """Attachments live under OG_VAR_DIR/media (read when used, so a test's own directory
    counts), never served as static files: only the attachment view, which checks who may
    see the order, reads them."""

    @property
    def base_location(self) -> str:
        return str(settings.VAR_DIR / "media")

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


def media_storage() -> FileSystemStorage:
    return VarMediaStorage()


class ReportKind(models.TextChoices):
    SPECIAL = "special", _("特殊需求")
    ADDRESS = "address", _("地址问题")
    PRODUCT = "product", _("商品问题")
    OTHER = "other", _("其他异常")


class SpecialKind(models.TextChoices):
    COURIER = "courier", _("指定快递")
    EXPEDITED = "expedited", _("加急发货")
    DELIVERY_TIME = "delivery_time", _("指定送达时间")
    GIFT_PACKING = "gift_packing", _("礼品包装")
    NO_PRICE_SLIP = "no_price_slip", _("不放价格单")
    OTHER = "other", _("其他要求")


class ServiceReport(models.Model):
    """One report. `case` is the case it opened (`case_created`) or joined; `notified_at` is
    when the reporter was told that case was closed."""

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=20, choices=ReportKind.choices)
    special_kind = models.CharField(_("特殊需求类型"), max_length=20, choices=SpecialKind.choices, blank=True)
    text = models.TextField(_("内容"))
    reporter = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_label = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    case = models.ForeignKey(
        "cases.ExceptionCase", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case_created = models.BooleanField(default=False)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("客服反馈")
        verbose_name_plural = _("客服反馈")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="report_merchant_idx"),
            models.Index(
                fields=["case"], condition=models.Q(notified_at__isnull=True), name="report_unnotified_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}"


class ReportAttachment(models.Model):
    """A picture or PDF sent with a report; `content_type` is what its bytes are (checked),
    `name` the file's name as sent."""

    report = models.ForeignKey(ServiceReport, on_delete=models.PROTECT, related_name="attachments")
    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    file = models.FileField(storage=media_storage, upload_to="reports/%Y/%m/", max_length=300)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("反馈附件")
        verbose_name_plural = _("反馈附件")
        indexes = [models.Index(fields=["merchant", "report"], name="report_attachment_idx")]

    def __str__(self) -> str:
        return self.name
