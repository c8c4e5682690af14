from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from orderguard.analysis.delivery import reports_due_send
from orderguard.analysis.rollup import rollup_catch_up
from orderguard.core import clock


@db_periodic_task(crontab(minute="*/5"))
@lock_task("analysis-rollup")
def rollup_periodic() -> None:
    """Every five minutes (S3): the daily rollups catch up with the case events."""
    rollup_catch_up(now=clock.now())


@db_periodic_task(crontab(minute="7"))
@lock_task("analysis-report-delivery")
def reports_deliver_periodic() -> None:
    """Hourly (S3): the weekly report on Mondays and the monthly one on the 1st, from
    OG_REPORT_SEND_HOUR local time, each recipient once per period (`analysis.delivery`)."""
    reports_due_send(now=clock.now())
