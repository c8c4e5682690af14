from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from orderguard.analysis.rollup import rollup_catch_up
from orderguard.core import clock


@db_periodic_task(crontab(minute="*/5"))
@lock_task("analysis-rollup")
def rollup_periodic() -> None:
    """Every five minutes (S3): the daily rollups catch up with the case events."""
    rollup_catch_up(now=clock.now())
