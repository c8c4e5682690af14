"""The in-app inbox: a channel whose recipient is a user id and whose message is a row
(`InboxItem`) the user sees under the bell in the page header."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.models import User
from django.db import models

from orderguard.core import clock
from orderguard.core.errors import NotFound
from orderguard.notifications.channels.base import ConfigError, Outgoing, SendResult
from orderguard.notifications.models import InboxItem, OutboxMessage
from orderguard.tenancy.access import Actor, visible
from orderguard.tenancy.models import Membership


class InboxChannel:
    """Writes an InboxItem for the user `recipient`. The item's key is the message's, so a
    resend after a crash adds nothing. The link comes from the message's context (`link`)."""

    kind: ClassVar[str] = "inbox"
    # writes rows: the dispatcher calls it in its own thread and transaction
    uses_database: ClassVar[bool] = True

    def __init__(self, config: Mapping[str, Any]) -> None:
        unknown = sorted(set(config) - {"note"})
        if unknown:
            raise ConfigError({unknown[0]: "the inbox takes no configuration"})

    def send(self, message: Outgoing) -> SendResult:
        if (
            not message.recipient.isdigit()
            or not User.objects.filter(pk=int(message.recipient), is_active=True).exists()
        ):
            return SendResult(ok=False, error=f"no active user {message.recipient!r}", retryable=False)
        user_id = int(message.recipient)
        context = (
            OutboxMessage.objects.filter(idempotency_key=message.key.removeprefix("digest:"))
            .values_list("context", flat=True)
            .first()
        )
        link = str((context or {}).get("link", ""))[:300]
        merchant_id = Membership.objects.filter(user_id=user_id).values_list("merchant_id", flat=True).first()
        InboxItem.objects.get_or_create(
            key=message.key,
            defaults={
                "user_id": user_id,
                "merchant_id": merchant_id,
                "title": message.subject[:300],
                "body": message.text,
                "link": link if link.startswith("/") else "",
                "created_at": clock.now(),
            },
        )
        return SendResult(ok=True)

    def close(self) -> None:
        return None


def inbox_items(*, actor: Actor) -> models.QuerySet[InboxItem]:
    """The actor's own inbox, newest first (a merchant user's only within its merchant)."""
    return visible(InboxItem.objects.filter(user_id=actor.user_id), actor).order_by("-created_at", "-pk")


def inbox_unread_count(*, actor: Actor) -> int:
    return inbox_items(actor=actor).filter(read_at__isnull=True).count()


def inbox_item_mark_read(*, actor: Actor, item_id: int, now: datetime | None = None) -> InboxItem:
    """Mark one of the actor's items read (another user's is NotFound, like a missing one)."""
    item = inbox_items(actor=actor).filter(pk=item_id).first()
    if item is None:
        raise NotFound("not found", model="InboxItem", id=item_id)
    if item.read_at is None:
        item.read_at = now or clock.now()
        item.save(update_fields=["read_at"])
    return item


def inbox_mark_all_read(*, actor: Actor, now: datetime | None = None) -> int:
    """Mark every unread item of the actor read; returns how many."""
    return inbox_items(actor=actor).filter(read_at__isnull=True).update(read_at=now or clock.now())
