from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.core.models import TimeStampedModel


class OutboxChannel(models.TextChoices):
    EMAIL = "email", _("邮件")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class Topic(models.TextChoices):
    """What a message is about: templates, contacts and digests are chosen per topic."""

    STOCKOUT_NOTICE = "stockout_notice", _("缺货通知")
    STOCK_ALERT = "stock_alert", _("库存预警")
    OUTAGE = "outage", _("故障通知")
    REPORT = "report", _("报表")
    OVERDUE = "overdue", _("超时提醒")
    ESCALATION = "escalation", _("升级通知")
    BUYER_SMS = "buyer_sms", _("买家短信")
    CASE_MERCHANT = "case_merchant", _("请商家协助")
    ONCALL_ALARM = "oncall_alarm", _("值班告警")
    REPORT_RESOLVED = "report_resolved", _("客服反馈处理结果")


class ReportKinds(models.TextChoices):
    """Which scheduled reports a `report` contact receives (analysis.delivery)."""

    ALL = "all", _("周报和月报")
    WEEKLY = "weekly", _("仅周报")
    MONTHLY = "monthly", _("仅月报")


class NotificationChannel(TimeStampedModel):
    """A configured place messages go to: an SMTP server, a robot webhook, an SMS gateway, the
    in-app inbox. `kind` names the adapter (channels.base.REGISTRY); `config` holds its settings
    and secrets, never shown back in full (`notifications.endpoints.config_masked`).

    Owned by a warehouse, by a merchant, or by neither (global). `topics` lists what a warehouse
    or global endpoint receives (a group robot). The delivery job keeps its health: after
    OUTBOX_UNHEALTHY_AFTER failures in a row it is unhealthy until a send succeeds.
    `is_default` marks the one row standing for Django's EMAIL_* settings (messages without an
    endpoint), created on first use to hold its health.
    """

    kind = models.CharField(_("类型"), max_length=30)
    name = models.CharField(_("名称"), max_length=100)
    merchant = models.ForeignKey(
        "tenancy.Merchant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("商家"),
    )
    warehouse = models.ForeignKey(
        "catalog.Warehouse",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("仓库"),
    )
    config = models.JSONField(_("配置"), default=dict, blank=True)
    topics = models.JSONField(_("订阅主题"), default=list, blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    rate_per_minute = models.PositiveIntegerField(_("每分钟上限"), null=True, blank=True)
    is_default = models.BooleanField(default=False, editable=False)
    healthy = models.BooleanField(_("健康"), default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("通知渠道")
        verbose_name_plural = _("通知渠道")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["merchant", "kind"], name="notif_channel_merchant_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(merchant__isnull=True) | models.Q(warehouse__isnull=True),
                name="notif_channel_one_owner",
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="notif_channel_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class MerchantContact(TimeStampedModel):
    """Who at a merchant hears of a topic, through which endpoint, at which address (an email,
    a phone, a user id; empty for a group robot), in which language. Without any contact for a
    topic, the merchant's contact email gets it by the default email. A `report` contact chooses
    the weekly report, the monthly one or both (`reports`)."""

    merchant = models.ForeignKey(
        "tenancy.Merchant", on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    topic = models.CharField(_("主题"), max_length=30, choices=Topic.choices)
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.PROTECT, related_name="contacts", verbose_name=_("通知渠道")
    )
    address = models.CharField(_("地址"), max_length=300, blank=True)
    language = models.CharField(_("语言"), max_length=10, default="zh-hans")
    enabled = models.BooleanField(_("启用"), default=True)
    # topic `report` only: which of the scheduled reports this contact receives
    reports = models.CharField(_("报表"), max_length=10, choices=ReportKinds.choices, default=ReportKinds.ALL)

    class Meta:
        verbose_name = _("商家联系人")
        verbose_name_plural = _("商家联系人")
        indexes = [models.Index(fields=["merchant", "topic"], name="notif_contact_topic_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "topic", "channel", "address"], name="notif_contact_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.topic} → {self.address or self.channel_id}"


class NotificationTemplate(TimeStampedModel):
    """The words of a topic in one language (Django template syntax, every variable required).
    A topic without a row here uses its built-in default (notifications.templates.BUILTIN)."""

    topic = models.CharField(_("主题"), max_length=30, choices=Topic.choices)
    language = models.CharField(_("语言"), max_length=10)
    subject = models.CharField(_("标题"), max_length=300)
    body = models.TextField(_("正文"))
    html = models.TextField(_("HTML 正文"), blank=True)
    sms_template = models.CharField(_("短信模板编号"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("通知模板")
        verbose_name_plural = _("通知模板")
        ordering = ["topic", "language"]
        constraints = [models.UniqueConstraint(fields=["topic", "language"], name="notif_template_unique")]

    def __str__(self) -> str:
        return f"{self.topic} ({self.language})"


class OutboxMessage(TimeStampedModel):
    """A message to send, written in the same transaction as the change that causes it.

    `idempotency_key` is unique: writing the same notice twice yields one row, and every resend
    carries the key (the email's Message-ID is derived from it) so a resend is recognisable.
    `endpoint` null means the default email (Django's EMAIL_* settings). With `context` set,
    subject and body are rendered from the topic's template in `language` when sent (`subject`
    and `body` hold the text as it was when queued); without, they are sent as written.
    Rows sharing a `digest_key` that are due together go out as one message listing each.
    Delivery is the periodic `outbox_dispatch` job; a rolled-back change leaves no row.
    """

    merchant = models.ForeignKey(
        "tenancy.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=20, choices=OutboxChannel.choices, default=OutboxChannel.EMAIL)
    endpoint = models.ForeignKey(
        NotificationChannel, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    topic = models.CharField(max_length=50)
    recipient = models.CharField(max_length=300)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    language = models.CharField(max_length=10, default="zh-hans")
    context = models.JSONField(null=True, blank=True)
    digest_key = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=20, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("待发消息")
        verbose_name_plural = _("待发消息")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["merchant", "status"], name="outbox_merchant_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} → {self.recipient}"


class OutboxAttachment(models.Model):
    """A file sent with an outbox message (email): kept with the row, so every try and a resend
    by hand carry the same bytes."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200)
    mimetype = models.CharField(max_length=100)
    content = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "filename"], name="outbox_attachment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.message_id}: {self.filename}"


class OutboxAttempt(models.Model):
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempt_log")
    endpoint = models.ForeignKey(
        NotificationChannel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempted_at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.IntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["attempted_at", "pk"]
        indexes = [models.Index(fields=["endpoint", "attempted_at"], name="outbox_attempt_endpoint_idx")]

    def __str__(self) -> str:
        return f"{self.message_id} {'ok' if self.ok else 'failed'} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"


class InboxItem(models.Model):
    """A message in a user's in-app inbox (the bell). `key` is the outbox message's
    idempotency key, so a resend after a crash adds no second item."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    merchant = models.ForeignKey(
        "tenancy.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    key = models.CharField(max_length=200, unique=True)
    title = models.CharField(_("标题"), max_length=300)
    body = models.TextField(_("正文"), blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["merchant", "user", "read_at"], name="inbox_user_unread_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"
