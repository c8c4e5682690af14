"""Base models shared by every domain."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from orderguard.core.errors import AppendOnlyViolation


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes: an event log is only ever appended to."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyViolation(model=self.model.__name__)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyViolation(model=self.model.__name__)


class EventModel(models.Model):
    """An append-only event row (OrderEvent, CaseEvent, StockMovement...).

    `actor_label` survives the deletion of the user (``system:intake`` for jobs); `data` never
    holds recipient PII in clear. Saving an existing row or deleting one raises
    `AppendOnlyViolation`; the database refuses UPDATE too (a trigger in each app's migration).
    """

    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=100)
    type = models.CharField(max_length=50)
    data = models.JSONField(default=dict, blank=True)

    objects: ClassVar[models.Manager[Any]] = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyViolation(model=type(self).__name__)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyViolation(model=type(self).__name__)
