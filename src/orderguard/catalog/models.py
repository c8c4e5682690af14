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


class DisputeAnswer(models.TextChoices):
    """How a disputed SKU (H3.2) was closed: the merchant's answer (`MERCHANT_ANSWERS`), or
    ``withdrawn`` when every case that asked closed before the merchant answered."""

    DATA_FIXED = "data_fixed", _("商品资料已更正")
    SKU_RIGHT = "sku_right", _("SKU无误")
    OTHER = "other", _("其他")
    WITHDRAWN = "withdrawn", _("已撤回")


# The answers a merchant (or staff for it) may give.
MERCHANT_ANSWERS = (DisputeAnswer.DATA_FIXED, DisputeAnswer.SKU_RIGHT, DisputeAnswer.OTHER)


class SkuDispute(models.Model):
    """A SKU disputed with its merchant (T3, H3.2): the buyer insists the order is right but it
    does not match what the warehouse stocks, so the merchant is asked to check its product data.

    `sku_code` is the code as the order has it (a code the catalogue may not know); `sku` the
    catalogue's SKU when the code names one. One open dispute per (merchant, code): a second
    case about the same code joins it (`cases`). Open while `answered_at` is empty; orders
    touching an open dispute's code show it. The answer is logged on every linked case. When
    every linked case closes before the answer, nobody waits for it: the dispute is withdrawn
    (`answered_at` the closing, `answer` ``withdrawn``, `answered_by_label` who closed it)."""

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="sku_disputes")
    sku = models.ForeignKey(Sku, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes")
    sku_code = models.CharField(_("SKU编码"), max_length=100)
    cases = models.ManyToManyField(
        "cases.ExceptionCase", related_name="sku_disputes", verbose_name=_("异常单")
    )
    buyer_says = models.TextField(_("买家的说法"))
    opened_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by_label = models.CharField(max_length=200)
    opened_at = models.DateTimeField(_("提出时间"))
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answer = models.CharField(_("商家答复"), max_length=20, choices=DisputeAnswer.choices, blank=True)
    answer_text = models.TextField(_("答复说明"), blank=True)
    answered_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by_label = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("待核实SKU")
        verbose_name_plural = _("待核实SKU")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "sku_code"],
                condition=models.Q(answered_at__isnull=True),
                name="sku_dispute_one_open_per_code",
            ),
            models.CheckConstraint(
                condition=(models.Q(answered_at__isnull=True) & models.Q(answer=""))
                | (models.Q(answered_at__isnull=False) & ~models.Q(answer="")),
                name="sku_dispute_answered_with_answer",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "answered_at", "sku_code"], name="sku_dispute_open_idx")]

    def __str__(self) -> str:
        return f"{self.sku_code} ({self.merchant_id})"

    @property
    def is_open(self) -> bool:
        return self.answered_at is None
