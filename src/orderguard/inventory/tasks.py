"""Stock jobs. Thin: they call `inventory.services`."""

from __future__ import annotations

from django.db import transaction
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from orderguard.core import clock
from orderguard.inventory.services import stock_cover_check


@db_periodic_task(crontab(minute="10"))
def stock_cover_check_periodic() -> None:
    """Hourly: the days-of-cover forecast of every stock row (D1). Safe to run twice: an open
    alert is never opened again."""
    with transaction.atomic():
        stock_cover_check(now=clock.now())
