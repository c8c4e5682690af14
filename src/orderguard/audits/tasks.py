"""Daily sample audit job. Thin: it calls `audits.services`."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from orderguard.audits.services import audits_draw_daily
from orderguard.core import clock


@db_periodic_task(crontab(hour="16", minute="30"))
def audits_draw_daily_periodic() -> None:
    """Daily at 16:30 UTC (00:30 in Asia/Shanghai): the sample of yesterday's orders of every
    warehouse (D4). Safe to run twice: an audit is drawn once per warehouse and day."""
    audits_draw_daily(now=clock.now())
