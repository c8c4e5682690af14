"""Special requests (T5, H5): the warehouses' courier contracts that decide feasibility, and the
state of each request a person works from feasibility to dispatch."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.cases.machine import CHECKLIST_STEPS
from orderguard.core.models import TimeStampedModel
from orderguard.validation.special import COURIERS

COURIER_CHOICES = [(code, names[0]) for code, names in COURIERS.items()]


class CourierContract(TimeStampedModel):
    """A warehouse's contract with a courier (H5.1): where it delivers, what a designated or an
    expedited parcel costs the buyer, the daily cut-off for same-day dispatch (in the warehouse's
    time zone, its working calendar's), and how many expedited parcels it takes a day.

    `regions` lists provinces and/or cities (``广东省``, ``深圳市``; the suffix may be left out);
    empty means nationwide."""

    warehouse = models.ForeignKey(
        "catalog.Warehouse",
        on_delete=models.PROTECT,
        related_name="courier_contracts",
        verbose_name=_("仓库"),
    )
    courier = models.CharField(_("快递公司"), max_length=20, choices=COURIER_CHOICES)
    active = models.BooleanField(_("有效"), default=True)
    regions = models.JSONField(
        _("服务地区"),
        default=list,
        blank=True,
        help_text=_('省份或城市的列表，如 ["广东省", "杭州市"]；留空表示全国'),
    )
    designated_fee = models.DecimalField(
        _("指定快递费用(元/单)"),
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        max_digits=8,
        decimal_places=2,
    )
    expedited_fee = models.DecimalField(
        _("加急费用(元/单)"),
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        max_digits=8,
        decimal_places=2,
    )
    cutoff = models.TimeField(_("当日发货截单时间"), default=time(16, 0))
    expedited_capacity = models.PositiveIntegerField(_("每日加急/当日发运力(单)"), default=0)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("快递合同")
        verbose_name_plural = _("快递合同")
        ordering = ["warehouse", "courier"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "courier"], name="courier_contract_unique"),
            models.CheckConstraint(
                condition=models.Q(designated_fee__gte=0, expedited_fee__gte=0),
                name="courier_contract_fees_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.warehouse_id}/{self.courier}"


class ConfirmChannel(models.TextChoices):
    """How the buyer's answer came (H5.2)."""

    CALL = "call", _("电话")
    SMS = "sms", _("短信")
    CHAT = "chat", _("平台聊天")


class BuyerAnswer(models.TextChoices):
    ACCEPTED = "accepted", _("同意")
    DECLINED = "declined", _("不同意")


class SpecialRequest(models.Model):
    """One T5 case's special request: what was asked (`courier`, `expedited`, `kinds`), the last
    feasibility check (`feasibility`: the result with the contracts considered), the quote, the
    buyer's answer, the alternative offered when not feasible, and the owner (the case's
    assignee, H5.3). Every change is also a CaseEvent; this row is the current state, read by
    the pages, the API and the capacity count (expedited requests accepted today per contract).
    """

    case = models.OneToOneField("cases.ExceptionCase", on_delete=models.PROTECT, related_name="special")
    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    kinds = models.JSONField(_("需求"), default=list, blank=True)
    courier = models.CharField(_("指定快递"), max_length=20, blank=True)
    expedited = models.BooleanField(_("加急"), default=False)
    feasible = models.BooleanField(_("可行"), null=True, blank=True)
    feasibility = models.JSONField(_("可行性评估"), default=dict, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    contract = models.ForeignKey(
        CourierContract, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    fee = models.DecimalField(_("费用(元)"), null=True, blank=True, max_digits=8, decimal_places=2)
    dispatch_at = models.DateTimeField(_("承诺发货时间"), null=True, blank=True)
    quoted_at = models.DateTimeField(null=True, blank=True)
    answer = models.CharField(_("买家答复"), max_length=10, choices=BuyerAnswer.choices, blank=True)
    answer_channel = models.CharField(
        _("确认方式"), max_length=10, choices=ConfirmChannel.choices, blank=True
    )
    answered_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    answer_by_label = models.CharField(_("记录人"), max_length=100, blank=True)
    alternative = models.TextField(_("替代方案"), blank=True)
    # a reopened case works its request again from feasibility: a new round, whose checklist
    # starts empty (the earlier rounds' ticks stay as they were)
    round = models.PositiveSmallIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("特殊需求")
        verbose_name_plural = _("特殊需求")
        indexes = [
            # the capacity count: a contract's expedited requests accepted since a time
            models.Index(
                fields=["contract", "expedited", "answer", "answered_at"], name="special_capacity_idx"
            ),
            models.Index(fields=["merchant", "case"], name="special_merchant_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fee__isnull=True) | models.Q(fee__gte=0), name="special_fee_gte_0"
            )
        ]

    def __str__(self) -> str:
        return f"special#{self.case_id}"


class ChecklistTick(models.Model):
    """One step of the owner's checklist (H5.3), ticked with what was verified; at most once
    per step of a round (the database's last guard against a double tick)."""

    request = models.ForeignKey(SpecialRequest, on_delete=models.PROTECT, related_name="ticks")
    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    round = models.PositiveSmallIntegerField(default=1)
    step = models.CharField(_("环节"), max_length=20, choices=[(s, s) for s in CHECKLIST_STEPS])
    verified = models.TextField(_("核对内容"))
    ticked_at = models.DateTimeField(_("时间"))
    ticked_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticked_by_label = models.CharField(max_length=100)

    class Meta:
        verbose_name = _("核对记录")
        verbose_name_plural = _("核对记录")
        ordering = ["ticked_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["request", "round", "step"], name="checklist_tick_unique")
        ]
        indexes = [models.Index(fields=["merchant", "request"], name="checklist_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.request_id}/{self.step}"
