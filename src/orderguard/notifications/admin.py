from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orderguard.notifications.channels.base import REGISTRY, ConfigError, channel_for
from orderguard.notifications.endpoints import config_masked, config_merge
from orderguard.notifications.models import (
    MerchantContact,
    NotificationChannel,
    NotificationTemplate,
    OutboxAttempt,
    OutboxMessage,
    OutboxStatus,
)
from orderguard.notifications.rendering import LANGUAGES, TemplateFailed, template_preview
from orderguard.notifications.services import outbox_message_retry


class NotificationChannelForm(forms.ModelForm):
    """The config is shown masked; a masked value saved back keeps the stored secret, and the
    whole is checked by the channel's adapter (its errors name the field)."""

    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=())

    class Meta:
        model = NotificationChannel
        fields = ("kind", "name", "merchant", "warehouse", "config", "topics", "enabled", "rate_per_minute")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, k) for k in sorted(REGISTRY)]  # type: ignore[attr-defined]
        if self.instance.pk:
            self.initial["config"] = config_masked(self.instance.config)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        config = data.get("config") or {}
        if self.instance.pk:
            config = config_merge(self.instance.config, config)
        data["config"] = config
        if data.get("merchant") and data.get("warehouse"):
            self.add_error("warehouse", _("通知渠道属于一个商家或一个仓库，不能同时属于两者"))
        kind = data.get("kind")
        if kind:
            try:
                channel_for(kind, config).close()
            except ConfigError as exc:
                self.add_error("config", "; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
            except ImportError:
                self.add_error("kind", _("这种通知渠道尚未安装"))
        return data


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = NotificationChannelForm
    list_display = (
        "name",
        "kind",
        "merchant",
        "warehouse",
        "enabled",
        "healthy",
        "consecutive_failures",
        "last_ok_at",
    )
    list_filter = ("kind", "enabled", "healthy")
    search_fields = ("name",)
    readonly_fields = ("healthy", "consecutive_failures", "last_ok_at", "last_failure_at", "last_error")

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationChannel]:
        return super().get_queryset(request).filter(is_default=False)


@admin.register(MerchantContact)
class MerchantContactAdmin(admin.ModelAdmin):
    list_display = ("merchant", "topic", "channel", "address", "language", "reports", "enabled")
    list_filter = ("topic", "language", "reports", "enabled")
    search_fields = ("merchant__code", "address")


class NotificationTemplateForm(forms.ModelForm):
    language = forms.ChoiceField(label=gettext_lazy("语言"), choices=[(code, code) for code in LANGUAGES])

    class Meta:
        model = NotificationTemplate
        fields = ("topic", "language", "subject", "body", "html", "sms_template")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("topic") and data.get("subject") is not None and data.get("body") is not None:
            shown = template_preview(
                topic=data["topic"], subject=data["subject"], body=data["body"], html=data.get("html", "")
            )
            if isinstance(shown, TemplateFailed):
                self.add_error("body", shown.reason)
        return data


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    """Django template syntax; every variable must exist. Saving checks the template against
    the topic's sample data, and the page shows it rendered."""

    form = NotificationTemplateForm
    list_display = ("topic", "language", "subject", "updated_at")
    list_filter = ("topic", "language")
    readonly_fields = ("preview",)

    @admin.display(description=gettext_lazy("预览（示例数据）"))
    def preview(self, obj: NotificationTemplate) -> str:
        if not obj.pk:
            return "—"
        shown = template_preview(topic=obj.topic, subject=obj.subject, body=obj.body, html=obj.html)
        if isinstance(shown, TemplateFailed):
            return format_html('<span class="errornote">{}</span>', shown.reason)
        return format_html("<strong>{}</strong><pre>{}</pre>", shown.subject, shown.text)


class OutboxAttemptInline(admin.TabularInline):
    model = OutboxAttempt
    extra = 0
    can_delete = False
    fields = ("attempted_at", "endpoint", "ok", "status_code", "duration_ms", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: messages are written by the services, in the transaction of their cause. A
    failed message can be sent again (those who see the outbox may)."""

    list_display = ("topic", "recipient", "endpoint", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "topic", "endpoint")
    search_fields = ("recipient", "idempotency_key", "subject")
    inlines = [OutboxAttemptInline]
    actions = ["retry_failed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("notifications.view_outboxmessage"))

    @admin.action(description=gettext_lazy("重发所选的发送失败消息"), permissions=["retry"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        ids = list(queryset.filter(status=OutboxStatus.FAILED).values_list("pk", flat=True))
        for pk in ids:
            outbox_message_retry(message_id=pk)
        self.message_user(request, _("已重新排队 %(count)d 条消息") % {"count": len(ids)}, messages.SUCCESS)
