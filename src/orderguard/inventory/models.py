from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.core.models import EventModel, TimeStampedModel


class StockLevel(TimeStampedModel):
    """Stock of one SKU in one warehouse. `available` = on_hand - allocated, never negative.

    Changed only by `inventory.services` under a row lock, each change with a StockMovement.
    """

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey("catalog.Warehouse", on_delete=models.PROTECT, related_name="stock")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="stock")
    on_hand = models.IntegerField(_("在库"), default=0)
    allocated = models.IntegerField(_("已分配"), default=0)
    safety_stock = models.IntegerField(_("安全库存"), default=0)
    inbound_quantity = models.IntegerField(_("在途数量"), default=0)
    inbound_eta = models.DateTimeField(_("预计到货"), null=True, blank=True)

    class Meta:
        verbose_name = _("库存")
        verbose_name_plural = _("库存")
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "sku"], name="stock_unique_wh_sku"),
            models.CheckConstraint(condition=models.Q(on_hand__gte=0), name="stock_on_hand_gte_0"),
            models.CheckConstraint(condition=models.Q(allocated__gte=0), name="stock_allocated_gte_0"),
            models.CheckConstraint(
                condition=models.Q(allocated__lte=models.F("on_hand")), name="stock_allocated_le_on_hand"
            ),
            models.CheckConstraint(condition=models.Q(safety_stock__gte=0), name="stock_safety_gte_0"),
            models.CheckConstraint(condition=models.Q(inbound_quantity__gte=0), name="stock_inbound_gte_0"),
        ]
        indexes = [models.Index(fields=["merchant", "warehouse"], name="stock_merchant_idx")]

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.warehouse_id}"


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("入库")
    ADJUSTMENT = "adjustment", _("调整")
    COUNT = "count", _("盘点")
    ALLOCATION = "allocation", _("分配")
    RELEASE = "release", _("释放")
    DISPATCH = "dispatch", _("出库")
    TRANSFER_OUT = "transfer_out", _("调出")
    TRANSFER_IN = "transfer_in", _("调入")


# Kinds whose quantity changes on hand, and kinds whose quantity changes allocated (a dispatch
# changes both: the held goods leave the shelf). `stock_ledger_mismatches` sums by these.
ON_HAND_KINDS = frozenset(
    {
        MovementKind.RECEIPT,
        MovementKind.ADJUSTMENT,
        MovementKind.COUNT,
        MovementKind.DISPATCH,
        MovementKind.TRANSFER_OUT,
        MovementKind.TRANSFER_IN,
    }
)
ALLOCATED_KINDS = frozenset({MovementKind.ALLOCATION, MovementKind.RELEASE, MovementKind.DISPATCH})


class StockMovement(EventModel):
    """Append-only ledger of stock changes: `quantity` is the change of on hand (receipt,
    adjustment, count, transfer out/in) or of allocated (allocation, release), or of both
    (dispatch). Who: `actor` / `actor_label`; why: `reason` (a code such as ``order_updated`` or
    a person's words). A transfer is two rows, out of one warehouse and into another, sharing
    ``data["transfer"]``. Summing a stock row's movements gives its on hand and allocated
    (`inventory.selectors.stock_ledger_mismatches`)."""

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey("catalog.Warehouse", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.IntegerField()
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("库存流水")
        verbose_name_plural = _("库存流水")
        indexes = [
            models.Index(fields=["merchant", "sku", "occurred_at"], name="movement_sku_idx"),
            models.Index(fields=["order", "occurred_at"], name="movement_order_idx"),
        ]


class AlertStatus(models.TextChoices):
    OPEN = "open", _("未解除")
    CLOSED = "closed", _("已解除")


class AlertKind(models.TextChoices):
    BELOW_SAFETY = "below_safety", _("低于安全库存")
    LOW_COVER = "low_cover", _("预计断货")


class StockAlert(TimeStampedModel):
    """D1: available stock of a SKU fell below its safety stock (``below_safety``), or recent
    demand will use it up within the warning days before any inbound stock arrives
    (``low_cover``). One open alert per stock row; the figures are those at opening."""

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    stock = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="alerts")
    status = models.CharField(max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    kind = models.CharField(max_length=20, choices=AlertKind.choices, default=AlertKind.BELOW_SAFETY)
    available = models.IntegerField(_("可用"))
    safety_stock = models.IntegerField(_("安全库存"))
    open_demand = models.IntegerField(_("待满足需求"), default=0)
    inbound_quantity = models.IntegerField(_("在途数量"), default=0)
    inbound_eta = models.DateTimeField(_("预计到货"), null=True, blank=True)
    days_of_cover = models.FloatField(_("可售天数"), null=True, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("库存预警")
        verbose_name_plural = _("库存预警")
        constraints = [
            models.UniqueConstraint(
                fields=["stock"], condition=models.Q(status="open"), name="stockalert_one_open"
            )
        ]
        indexes = [models.Index(fields=["merchant", "status"], name="stockalert_merchant_idx")]


class ShortPolicy(models.TextChoices):
    """What allocation does with an order it cannot serve whole."""

    HOLD = "hold", _("整单等待到货")
    PARTIAL = "partial", _("有货先发，缺货部分待补")


class AllocationPolicy(TimeStampedModel):
    """A merchant's allocation rules (T1): which orders go before the payment order (expedited,
    VIP buyers), and what a short order does (`ShortPolicy`). A merchant without one: hold, in
    payment order."""

    merchant = models.OneToOneField(
        "tenancy.Merchant", on_delete=models.PROTECT, related_name="allocation_policy"
    )
    short_policy = models.CharField(
        _("缺货订单"), max_length=10, choices=ShortPolicy.choices, default=ShortPolicy.HOLD
    )
    expedited_first = models.BooleanField(_("加急订单优先"), default=False)
    vip_first = models.BooleanField(_("VIP 买家优先"), default=False)

    class Meta:
        verbose_name = _("分配策略")
        verbose_name_plural = _("分配策略")

    def __str__(self) -> str:
        return f"{self.merchant_id}:{self.short_policy}"


class DecisionKind(models.TextChoices):
    """What a merchant decides for the orders short of one SKU (H1.2, B4)."""

    TRANSFER = "transfer", _("从其他仓调拨")
    SUBSTITUTE = "substitute", _("换成其他商品")
    PARTIAL = "partial", _("有货先发")
    WAIT = "wait", _("等待补货")
    CANCEL = "cancel", _("取消订单并退款")


class StockDecision(models.Model):
    """A merchant's decision for the orders short of one SKU (H1.2, B4), applied to every open
    stock-out case of that SKU but the `excluded_order_ids`, by `inventory.decisions`.

    transfer: `from_warehouse` gives `quantity` units to `warehouse`; substitute: the orders'
    lines of the SKU become `substitute_sku` (`buyer_consent` and its `consent_note` record the
    buyer's agreement); wait: the cases wait for `restock_at`; partial: the orders ship what
    there is; cancel: the orders are cancelled and their stock released. `order_ids` are the
    orders it applied to, `effect` what it did (served, still short, cancelled...). Written
    once, never changed."""

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(
        "catalog.Warehouse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("决定"), max_length=20, choices=DecisionKind.choices)
    from_warehouse = models.ForeignKey(
        "catalog.Warehouse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.IntegerField(null=True, blank=True)
    substitute_sku = models.ForeignKey(
        "catalog.Sku", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    buyer_consent = models.BooleanField(default=False)
    consent_note = models.TextField(blank=True)
    restock_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_label = models.CharField(max_length=100)
    decided_at = models.DateTimeField()
    excluded_order_ids = models.JSONField(default=list, blank=True)
    order_ids = models.JSONField(default=list, blank=True)
    effect = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("缺货处理决定")
        verbose_name_plural = _("缺货处理决定")
        indexes = [models.Index(fields=["merchant", "decided_at"], name="decision_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.sku_id}:{self.kind}"


class TransferStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", _("在途")
    ARRIVED = "arrived", _("已到货")
    CANCELLED = "cancelled", _("已取消")


class Transfer(TimeStampedModel):
    """Stock on its way from one warehouse to another (H1.2): shipping it writes the
    ``transfer_out`` at the source (the goods left), receiving it the ``transfer_in`` at the
    destination, which allocates the orders waiting there (`inventory.transfers`). Cancelled on
    the way, the goods go back to the source (a ``transfer_in`` there). While in transit it
    counts as inbound stock of the destination, with `expected_at` as its ETA (D1).
    `decision`: the merchant's stock-out decision it serves, whose orders wait for it."""

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    from_warehouse = models.ForeignKey("catalog.Warehouse", on_delete=models.PROTECT, related_name="+")
    to_warehouse = models.ForeignKey("catalog.Warehouse", on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField(_("数量"))
    status = models.CharField(
        _("状态"), max_length=20, choices=TransferStatus.choices, default=TransferStatus.IN_TRANSIT
    )
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=100)
    shipped_at = models.DateTimeField(_("发出时间"))
    expected_at = models.DateTimeField(_("预计到货"))
    arrived_at = models.DateTimeField(_("到货时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    closed_by_label = models.CharField(max_length=100, blank=True)
    decision = models.ForeignKey(
        StockDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers"
    )

    class Meta:
        verbose_name = _("调拨")
        verbose_name_plural = _("调拨")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="transfer_quantity_gt_0"),
            models.CheckConstraint(
                condition=~models.Q(from_warehouse=models.F("to_warehouse")), name="transfer_two_warehouses"
            ),
        ]
        indexes = [
            models.Index(fields=["to_warehouse", "sku", "status"], name="transfer_inbound_idx"),
            models.Index(fields=["merchant", "shipped_at"], name="transfer_merchant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}:{self.from_warehouse_id}->{self.to_warehouse_id}"
