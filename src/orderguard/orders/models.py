from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Right
from django.utils.translation import gettext_lazy as _

from orderguard.core.masking import mask_phone
from orderguard.core.models import EventModel, TimeStampedModel
from orderguard.orders.choices import OrderEventType, OrderStatus, Platform
from orderguard.orders.schema import PlatformState

# A signing secret shorter than this can be guessed offline from one signed delivery.
MIN_SIGNING_SECRET = 32


def validate_signing_secret(value: str) -> None:
    """A signing secret is blank (webhooks off) or at least `MIN_SIGNING_SECRET` characters."""
    if value and len(value) < MIN_SIGNING_SECRET:
        raise ValidationError(
            _("签名密钥至少需要 %(min)d 个字符（现在是 %(length)d 个）：请使用随机生成的密钥"),
            code="secret_too_short",
            params={"min": MIN_SIGNING_SECRET, "length": len(value)},
        )


class Channel(TimeStampedModel):
    """A merchant's shop on a platform, the way its orders reach the warehouse.

    `warehouse` fulfils the channel's orders; `signing_secret` verifies its webhooks, and while
    the secret is being rotated `previous_signing_secret` is accepted too (blank otherwise).
    """

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="channels")
    platform = models.CharField(_("平台"), max_length=20, choices=Platform.choices)
    code = models.SlugField(_("编码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    warehouse = models.ForeignKey("catalog.Warehouse", on_delete=models.PROTECT, related_name="channels")
    signing_secret = models.CharField(
        _("签名密钥"), max_length=200, blank=True, validators=[validate_signing_secret]
    )
    previous_signing_secret = models.CharField(
        _("旧签名密钥"),
        max_length=200,
        blank=True,
        validators=[validate_signing_secret],
        help_text=_("更换密钥期间仍然接受的上一个密钥；平台全部改用新密钥后清空"),
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("渠道")
        verbose_name_plural = _("渠道")
        ordering = ["code"]
        indexes = [models.Index(fields=["merchant", "platform"], name="channel_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Order(TimeStampedModel):
    """An order, one row per (channel, platform order id).

    The recipient is kept as received (`recipient_*`, `address_received`) and as parsed (the
    `province`..`postcode` columns); `findings` lists every finding of the last check, warnings
    included, as dicts of `core.findings.Finding`. `phone_tail` is the last four characters of
    `phone_normalised` (the digits a masked phone still shows), written by the database.

    Search indexes (`orders.selectors.orders_search`) all start with the merchant; two more are
    created per engine by migration 0005 because Django cannot declare them portably: the newest
    first listing (``merchant, paid_at DESC NULLS LAST, id DESC``) and, on PostgreSQL, the order
    id prefix search (``varchar_pattern_ops``).
    A closed order's recipient data is removed after the retention period
    (`orders.services.orders_anonymise`, `anonymised_at`).
    """

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="orders")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    platform_order_id = models.CharField(_("平台订单号"), max_length=64)
    platform_status = models.CharField(_("平台状态"), max_length=100, blank=True)
    platform_state = models.CharField(
        _("平台状态归类"), max_length=20, choices=PlatformState.choices, default=PlatformState.READY
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.RECEIVED
    )
    placed_at = models.DateTimeField(_("下单时间"), null=True, blank=True)
    paid_at = models.DateTimeField(_("付款时间"), null=True, blank=True)

    recipient_name = models.CharField(_("收货人"), max_length=200, blank=True)
    recipient_phone = models.CharField(_("联系电话"), max_length=100, blank=True)
    phone_normalised = models.CharField(_("规范化电话"), max_length=40, blank=True)
    # Computed by the database from `phone_normalised`, so every writer (bulk imports, the ORM,
    # a later anonymisation) keeps it right; indexed for the phone-tail search.
    phone_tail = models.GeneratedField(
        expression=Right("phone_normalised", 4),
        output_field=models.CharField(max_length=4, blank=True),
        db_persist=True,
        verbose_name=_("电话后四位"),
    )
    phone_kind = models.CharField(_("电话类型"), max_length=20, blank=True)
    phone_expires_at = models.DateTimeField(_("虚拟号到期"), null=True, blank=True)
    address_received = models.JSONField(_("收货地址(原始)"), default=dict, blank=True)
    country = models.CharField(_("国家"), max_length=2, default="CN")
    province = models.CharField(_("省"), max_length=50, blank=True)
    city = models.CharField(_("市"), max_length=50, blank=True)
    district = models.CharField(_("区县"), max_length=50, blank=True)
    town = models.CharField(_("街道/镇"), max_length=50, blank=True)
    address_detail = models.CharField(_("详细地址"), max_length=500, blank=True)
    postcode = models.CharField(_("邮编"), max_length=20, blank=True)
    division_code = models.CharField(_("区划代码"), max_length=12, blank=True)

    buyer_note = models.TextField(_("买家留言"), blank=True)
    seller_note = models.TextField(_("卖家备注"), blank=True)
    requested_courier = models.CharField(_("指定快递"), max_length=50, blank=True)
    service_level = models.CharField(_("时效"), max_length=20, blank=True)
    is_manual = models.BooleanField(_("手工订单"), default=False)

    findings = models.JSONField(_("校验结果"), default=list, blank=True)
    fingerprint = models.CharField(max_length=32, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    import_batch = models.ForeignKey(
        "intake.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # set when the retention period removed the recipient's personal data (`orders_anonymise`)
    anonymised_at = models.DateTimeField(_("个人信息清除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("订单")
        verbose_name_plural = _("订单")
        constraints = [
            models.UniqueConstraint(fields=["channel", "platform_order_id"], name="order_unique_platform_id")
        ]
        indexes = [
            models.Index(fields=["merchant", "status"], name="order_merchant_status_idx"),
            models.Index(fields=["merchant", "platform_order_id"], name="order_merchant_poid_idx"),
            models.Index(fields=["merchant", "phone_tail"], name="order_merchant_phone_tail_idx"),
            models.Index(fields=["merchant", "recipient_name"], name="order_merchant_recipient_idx"),
            models.Index(fields=["status", "paid_at"], name="order_status_paid_idx"),
            # D3: a channel's order flow by payment time (monitoring's per-channel counts)
            models.Index(fields=["channel", "paid_at"], name="order_channel_paid_idx"),
        ]

    def __str__(self) -> str:
        return self.platform_order_id

    @property
    def phone_masked(self) -> str:
        """The recipient's phone as anyone may see it (``138****0000``): the normalised number,
        else the one received."""
        return mask_phone(self.phone_normalised or self.recipient_phone)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    sku_code = models.CharField(_("商家编码"), max_length=100, blank=True)
    title = models.CharField(_("商品标题"), max_length=300, blank=True)
    attributes = models.JSONField(_("下单属性"), default=dict, blank=True)
    sku = models.ForeignKey("catalog.Sku", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("数量"))
    allocated_quantity = models.PositiveIntegerField(_("已分配"), default=0)
    platform_line_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("订单明细")
        verbose_name_plural = _("订单明细")
        # SKU search: lines by code, then their orders by key (an order line has no merchant)
        indexes = [models.Index(fields=["sku_code", "order"], name="orderline_sku_code_idx")]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orderline_unique_no"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderline_qty_positive"),
            models.CheckConstraint(
                condition=models.Q(allocated_quantity__lte=models.F("quantity")),
                name="orderline_alloc_le_qty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_no}"


class OrderEvent(EventModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=30, choices=OrderEventType.choices)

    class Meta:
        verbose_name = _("订单日志")
        verbose_name_plural = _("订单日志")
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["order", "occurred_at"], name="orderevent_order_idx")]
