"""Intake reads: the channels an actor may import into and how each channel's orders are
arriving, import batches and their row errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import OuterRef, Subquery

from orderguard.core.errors import NotFound
from orderguard.intake.models import ImportBatch, ImportKind, ImportRowError, ImportStatus
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


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """A channel's latest order intake (file, webhook or API): when it started, how it ended.

    `state` is "failed" when the latest intake failed or left rows refused, "ok" after a clean
    one, "idle" when the channel has had none yet (or is switched off)."""

    channel: Channel
    last_at: datetime | None
    last_status: str
    last_rows_failed: int

    @property
    def state(self) -> str:
        if not self.channel.active or self.last_at is None:
            return "idle"
        if self.last_status == ImportStatus.FAILED or self.last_rows_failed:
            return "failed"
        return "ok"


def channels_status(*, actor: Actor) -> list[ChannelStatus]:
    """Every channel the actor may see with its latest order import, failing ones first. One
    query: the latest batch per channel comes from a correlated subquery on the small batch
    table, not from the orders."""
    latest = ImportBatch.objects.filter(channel=OuterRef("pk"), kind=ImportKind.ORDERS).order_by(
        "-started_at", "-pk"
    )
    rows = (
        visible(Channel.objects.all(), actor)
        .select_related("merchant")
        .annotate(
            last_at=Subquery(latest.values("started_at")[:1]),
            last_status=Subquery(latest.values("status")[:1]),
            last_rows_failed=Subquery(latest.values("rows_failed")[:1]),
        )
        .order_by("code")
    )
    out = [
        ChannelStatus(
            channel=c,
            last_at=c.last_at,
            last_status=c.last_status or "",
            last_rows_failed=c.last_rows_failed or 0,
        )
        for c in rows
    ]
    order = {"failed": 0, "ok": 1, "idle": 2}
    return sorted(out, key=lambda s: order[s.state])
