"""Customer-service report jobs. Thin: they call `feedback.services`."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from orderguard.core import clock
from orderguard.feedback.services import reports_notify_resolved


@db_periodic_task(crontab(minute="*"))
def reports_notify_resolved_periodic() -> None:
    """Every minute: reporters whose report's case was closed are told in their inbox (D5).
    Safe to run twice: a report is told once."""
    reports_notify_resolved(now=clock.now())
