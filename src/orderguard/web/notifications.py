"""The bell and the inbox (every user, its own items), and failed messages with the
endpoints' health (warehouse staff; retried by on-call, managers and admins)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from orderguard.core.errors import NotFound
from orderguard.notifications.inbox import (
    inbox_item_mark_read,
    inbox_items,
    inbox_mark_all_read,
    inbox_unread_count,
)
from orderguard.notifications.models import OutboxMessage
from orderguard.notifications.selectors import channels_visible, outbox_failed
from orderguard.notifications.services import RetryRefused, outbox_message_retry
from orderguard.tenancy.models import Role
from orderguard.web.common import actor_or_refuse

INBOX_SHOWN = 100
FAILED_SHOWN = 200
# Who may send a failed message again.
RETRY_ROLES = frozenset({Role.TECH_ONCALL, Role.MANAGER, Role.ADMIN})


@never_cache
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    items = list(inbox_items(actor=actor)[:INBOX_SHOWN])
    return render(
        request, "web/inbox.html", {"items": items, "unread": sum(1 for i in items if i.read_at is None)}
    )


@never_cache
@login_required
def inbox_bell(request: HttpRequest) -> HttpResponse:
    """The bell's unread count, fetched by the header every few seconds (htmx)."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    return render(request, "web/_inbox_bell.html", {"unread": inbox_unread_count(actor=actor)})


@require_POST
@login_required
def inbox_read(request: HttpRequest, item_id: int) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        item = inbox_item_mark_read(actor=actor, item_id=item_id)
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到该消息")}, status=404)
    if item.link and url_has_allowed_host_and_scheme(item.link, allowed_hosts={request.get_host()}):
        return redirect(item.link)
    return redirect("web:inbox")


@require_POST
@login_required
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    inbox_mark_all_read(actor=actor)
    return redirect("web:inbox")


@never_cache
@login_required
def failed_messages(request: HttpRequest) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if not actor.is_staff_role:
        return render(
            request, "web/refused.html", {"message": _("只有仓库员工可以查看发送失败的通知")}, status=403
        )
    failed = list(outbox_failed(actor=actor).select_related("endpoint")[:FAILED_SHOWN])
    return render(
        request,
        "web/outbox_failed.html",
        {
            "failed": failed,
            "channels": list(channels_visible(actor=actor)),
            "can_retry": actor.role in RETRY_ROLES,
        },
    )


@require_POST
@login_required
def failed_message_retry(request: HttpRequest, message_id: int) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if actor.role not in RETRY_ROLES:
        return render(request, "web/refused.html", {"message": _("你的角色不能重发通知")}, status=403)
    if not OutboxMessage.objects.filter(pk=message_id).exists():
        return render(request, "web/refused.html", {"message": _("找不到该消息")}, status=404)
    try:
        outbox_message_retry(message_id=message_id)
    except RetryRefused:
        messages.error(request, _("这条通知不是发送失败的状态，不能重发"))
    else:
        messages.success(request, _("已重新排队发送"))
    return redirect("web:outbox_failed")
