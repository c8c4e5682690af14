from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from orderguard.notifications.services import outbox_dispatch


@db_periodic_task(crontab(minute="*"))
@lock_task("outbox-dispatch")
def outbox_dispatch_periodic() -> None:
    outbox_dispatch()


@db_task()
def outbox_dispatch_soon() -> None:
    """Enqueued after a commit that wrote outbox rows, so they leave before the next tick."""
    outbox_dispatch()
