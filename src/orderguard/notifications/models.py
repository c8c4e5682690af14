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


class OutboxMessage(TimeStampedModel):
    """A message to send, written in the same transaction as the change that causes it.

    `idempotency_key` is unique: writing the same notice twice yields one row, and the email's
    Message-ID is derived from it so a resend after a crash is recognisable. Delivery is the
    periodic `outbox_dispatch` job; a rolled-back change leaves no row and so sends nothing.
    """

    merchant = models.ForeignKey(
        "tenancy.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=20, choices=OutboxChannel.choices, default=OutboxChannel.EMAIL)
    topic = models.CharField(max_length=50)
    recipient = models.CharField(max_length=300)
    subject = models.CharField(max_length=300)
    body = models.TextField()
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
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.topic} → {self.recipient}"


class OutboxAttempt(models.Model):
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    ok = models.BooleanField()
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["attempted_at", "pk"]

    def __str__(self) -> str:
        return f"{self.message_id} {'ok' if self.ok else 'failed'} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"
