"""Incidents (T4, H4, B3): one row per fault, its timeline, the platform-support contacts, each
channel's last judged health (D3), and the orders entered by hand while a channel was down."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.core.models import EventModel


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("未确认")
    ACKNOWLEDGED = "acknowledged", _("处理中")
    RESOLVED = "resolved", _("已恢复")


ACTIVE_STATUSES = (IncidentStatus.OPEN.value, IncidentStatus.ACKNOWLEDGED.value)


class IncidentSeverity(models.TextChoices):
    CRITICAL = "critical", _("严重")
    MAJOR = "major", _("重要")
    MINOR = "minor", _("一般")


class IncidentKind(models.TextChoices):
    CHANNEL_SILENT = "channel_silent", _("渠道无订单")
    CHANNEL_SLOW = "channel_slow", _("渠道订单量骤降")
    IMPORT_ERRORS = "import_errors", _("导入错误率过高")
    WEBHOOK_ERRORS = "webhook_errors", _("推送错误率过高")
    DATABASE = "database", _("数据库故障")
    QUEUE = "queue", _("任务队列故障")
    WORKER = "worker", _("后台任务停止")
    OUTBOX_BACKLOG = "outbox_backlog", _("通知积压")
    DISK = "disk", _("磁盘空间不足")
    MANUAL = "manual", _("人工报告")


class Incident(models.Model):
    """One fault (T4). Repeated signals of the same fault fold into the open incident with the
    same `fingerprint` (at most one open or acknowledged incident per fingerprint). `channel`
    is the channel at fault (none for OrderGuard's own components); `merchants` the merchants
    it touches; `orders` the orders of the channel in the fault window (from `started_at`).
    The triage deadline (S1: T4 `triage`, 30 min) is `due_at`; until the incident is
    acknowledged the periodic scan escalates it once per level (`escalation_level`,
    `escalation_next_at`)."""

    fingerprint = models.CharField(max_length=200)
    kind = models.CharField(_("类型"), max_length=30, choices=IncidentKind.choices)
    severity = models.CharField(_("严重程度"), max_length=10, choices=IncidentSeverity.choices)
    status = models.CharField(
        _("状态"), max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    title = models.CharField(_("标题"), max_length=300)
    detail = models.TextField(_("详情"), blank=True)
    channel = models.ForeignKey(
        "orders.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    merchants = models.ManyToManyField("tenancy.Merchant", blank=True, related_name="incidents")
    orders = models.ManyToManyField("orders.Order", blank=True, related_name="incidents")
    started_at = models.DateTimeField(_("故障开始"))
    opened_at = models.DateTimeField(_("创建时间"))
    last_signal_at = models.DateTimeField(_("最近信号"))
    signal_count = models.PositiveIntegerField(default=1)
    # the last evaluation that no longer saw the fault (None while it is still seen)
    cleared_at = models.DateTimeField(_("信号消失"), null=True, blank=True)
    assignee = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(_("恢复时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.TextField(_("处理结果"), blank=True)
    due_at = models.DateTimeField(_("响应截止"))
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalation_next_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("故障")
        verbose_name_plural = _("故障")
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="incident_one_active_per_fingerprint",
            )
        ]
        indexes = [
            models.Index(fields=["status", "opened_at"], name="incident_status_idx"),
            models.Index(
                fields=["escalation_next_at", "id"],
                condition=models.Q(escalation_next_at__isnull=False),
                name="incident_escalation_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class IncidentEventType(models.TextChoices):
    OPENED = "opened", _("发现故障")
    SIGNAL = "signal", _("再次检测到")
    CLEARED = "cleared", _("检测恢复正常")
    ACKNOWLEDGED = "acknowledged", _("确认")
    ASSIGNED = "assigned", _("指派")
    UPDATE = "update", _("进展")
    CONTACT = "contact", _("联系平台")
    ESCALATED = "escalated", _("超时升级")
    ORDERS_LINKED = "orders_linked", _("关联订单")
    MANUAL_ORDER = "manual_order", _("手工录单")
    RESOLVED = "resolved", _("恢复")


class IncidentEvent(EventModel):
    """The incident's timeline (append-only): what happened, who did it, and what was said."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=30, choices=IncidentEventType.choices)

    class Meta:
        verbose_name = _("故障日志")
        verbose_name_plural = _("故障日志")
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["incident", "occurred_at"], name="incidentevent_idx")]


class PlatformContact(models.Model):
    """A contact with the platform's technical support about the incident (H4.3): whom, through
    which channel, the platform's ticket reference and what was agreed."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="contacts")
    contact = models.CharField(_("联系人"), max_length=200)
    via = models.CharField(_("联系方式"), max_length=100)
    ticket_ref = models.CharField(_("工单号"), max_length=100, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    occurred_at = models.DateTimeField()
    actor_label = models.CharField(max_length=100)

    class Meta:
        verbose_name = _("平台技术支持联系记录")
        verbose_name_plural = _("平台技术支持联系记录")
        ordering = ["occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.contact} {self.ticket_ref}"


class HealthState(models.TextChoices):
    OK = "ok", _("正常")
    SILENT = "silent", _("无订单")
    SLOW = "slow", _("订单量骤降")
    ERRORS = "errors", _("错误率过高")
    NOT_JUDGED = "not_judged", _("历史不足，不评估")
    QUIET = "quiet", _("平时清闲时段")


class ChannelHealth(models.Model):
    """Each channel's state as the last evaluation judged it (D3), for the health panel."""

    channel = models.OneToOneField("orders.Channel", on_delete=models.CASCADE, related_name="health")
    state = models.CharField(max_length=20, choices=HealthState.choices)
    checked_at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("渠道健康状态")
        verbose_name_plural = _("渠道健康状态")

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.state}"


class ManualStatus(models.TextChoices):
    PENDING = "pending", _("等待平台订单")
    MATCHED = "matched", _("已合并")
    CONFLICT = "conflict", _("待人工确认")
    SEPARATE = "separate", _("保持独立")


class ManualOrder(models.Model):
    """An order entered by hand while its channel was down (H4.2, B3), and what reconciliation
    made of it: still waiting for the platform's copy, merged with it (`platform_order_id` of
    the copy, which was folded into this order), a conflict between several `candidates` for a
    person to settle, or kept separate by a person."""

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="manual")
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="manual_orders"
    )
    channel = models.ForeignKey("orders.Channel", on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="+")
    entered_id = models.CharField(_("录入单号"), max_length=64)
    status = models.CharField(max_length=20, choices=ManualStatus.choices, default=ManualStatus.PENDING)
    matched_platform_id = models.CharField(_("平台订单号"), max_length=64, blank=True)
    matched_by = models.CharField(max_length=20, blank=True)  # "platform_id" or "phone_lines"
    candidates = models.JSONField(default=list, blank=True)  # order ids of a conflict
    entered_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by_label = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = _("手工订单")
        verbose_name_plural = _("手工订单")
        ordering = ["-entered_at", "-pk"]
        indexes = [models.Index(fields=["channel", "status"], name="manualorder_channel_idx")]

    def __str__(self) -> str:
        return f"{self.entered_id} ({self.status})"
