from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from orderguard.notifications.services import outbox_dispatch


@db_periodic_task(crontab(minute="*"))
def outbox_dispatch_periodic() -> None:
    """Every minute. No task lock: claims make two runs at once safe, and a lock left behind
    by a killed worker would stop all mail until someone cleared it."""
    outbox_dispatch()
