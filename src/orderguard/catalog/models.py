from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.core.models import TimeStampedModel


class Warehouse(TimeStampedModel):
    code = models.SlugField(_("编码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    alert_email = models.EmailField(_("预警邮箱"), blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("仓库")
        verbose_name_plural = _("仓库")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Sku(TimeStampedModel):
    """A stocked variant of a merchant's product.

    `style_code` groups the variants of one product (款号/SPU); `attributes` holds the normalised
    variant attributes (keys colour/size/spec/style and any others), also copied to the four
    columns people filter on.
    """

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(_("SKU编码"), max_length=100)
    style_code = models.CharField(_("款号"), max_length=100, blank=True)
    name = models.CharField(_("名称"), max_length=300, blank=True)
    colour = models.CharField(_("颜色"), max_length=100, blank=True)
    size = models.CharField(_("尺码"), max_length=100, blank=True)
    spec = models.CharField(_("规格"), max_length=200, blank=True)
    style = models.CharField(_("款式"), max_length=100, blank=True)
    attributes = models.JSONField(_("属性"), default=dict, blank=True)
    barcode = models.CharField(_("条码"), max_length=64, blank=True)
    is_bundle = models.BooleanField(_("组合商品"), default=False)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKU")
        constraints = [models.UniqueConstraint(fields=["merchant", "code"], name="sku_unique_code")]
        indexes = [
            models.Index(fields=["merchant", "style_code"], name="sku_style_idx"),
            models.Index(fields=["merchant", "barcode"], name="sku_barcode_idx"),
        ]

    def __str__(self) -> str:
        return self.code


class BundleItem(models.Model):
    """A component of a bundle SKU (组合商品): allocating the bundle allocates its components."""

    bundle = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="components")
    component = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("组合明细")
        verbose_name_plural = _("组合明细")
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="bundle_item_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="bundle_item_qty_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_id} ← {self.component_id} x{self.quantity}"


class Courier(TimeStampedModel):
    """A courier the warehouse can ship with; `aliases` are the names buyers write (顺丰, SF)."""

    code = models.SlugField(_("编码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    aliases = models.JSONField(_("别名"), default=list, blank=True)
    active = models.BooleanField(_("合作中"), default=True)

    class Meta:
        verbose_name = _("快递公司")
        verbose_name_plural = _("快递公司")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
