"""Intake reads: the channels an actor may import into, import batches and their row errors."""

from __future__ import annotations

from django.db import models

from orderguard.core.errors import NotFound
from orderguard.intake.models import ImportBatch, ImportRowError
from orderguard.orders.models import Channel
from orderguard.tenancy.access import Actor, get_visible, visible


def channel_for_import(*, actor: Actor, code: str) -> Channel:
    """The active channel `code` if `actor` may import into it (staff: any; a merchant user:
    its own merchant's); `NotFound` alike for a missing, inactive and another merchant's."""
    channel = visible(Channel.objects.filter(code=code, active=True), actor).first()
    if channel is None:
        raise NotFound("not found", model="Channel", id=code)
    return channel


def import_batch_get(*, actor: Actor, batch_id: int) -> ImportBatch:
    """The import batch `batch_id` if `actor` may see it; `NotFound` otherwise."""
    return get_visible(ImportBatch.objects.select_related("channel", "merchant"), actor, batch_id)


def import_errors(*, batch: ImportBatch) -> models.QuerySet[ImportRowError]:
    """The batch's row errors in file and row order."""
    return ImportRowError.objects.filter(batch=batch).order_by("file", "row", "pk")
