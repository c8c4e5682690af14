"""Reads of the outbox for people: failed messages and the endpoints' health."""

from __future__ import annotations

from typing import Any

from django.db import models

from orderguard.notifications.models import NotificationChannel, OutboxMessage, OutboxStatus
from orderguard.tenancy.access import Actor, visible


def outbox_failed(*, actor: Actor) -> models.QuerySet[OutboxMessage]:
    """Failed messages the actor may see (a merchant user: its own merchant's), newest first."""
    return visible(OutboxMessage.objects.filter(status=OutboxStatus.FAILED), actor).order_by(
        "-updated_at", "-pk"
    )


def channels_visible(*, actor: Actor) -> models.QuerySet[NotificationChannel]:
    """Endpoints the actor may see: all for staff; a merchant user its own merchant's."""
    qs = NotificationChannel.objects.select_related("merchant", "warehouse").order_by("name", "pk")
    if actor.merchant_id is not None:
        return qs.filter(merchant_id=actor.merchant_id)
    return qs


def outbox_summary() -> dict[str, Any]:
    """For the staff dashboard: how many messages failed, which endpoints are unhealthy."""
    return {
        "failed": OutboxMessage.objects.filter(status=OutboxStatus.FAILED).count(),
        "unhealthy": list(
            NotificationChannel.objects.filter(healthy=False)
            .order_by("name")
            .values("name", "kind", "last_error")
        ),
    }
