from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """Last time a background worker ran its heartbeat job (one row per worker host/pid)."""

    worker = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"
