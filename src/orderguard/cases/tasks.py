from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from orderguard.cases.contacts import contacts_advance
from orderguard.core import clock


@db_periodic_task(crontab(minute="*"))
def contacts_advance_periodic() -> None:
    """Every minute (B2): the contact ladder's SMS and merchant requests that are due."""
    contacts_advance(now=clock.now())
