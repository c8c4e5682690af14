from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from orderguard.core import clock
from orderguard.sla.services import deadlines_scan


@db_periodic_task(crontab(minute="*"))
def deadlines_scan_periodic() -> None:
    """Every minute (S2). No task lock: the scan's row claims make two runs at once safe."""
    deadlines_scan(now=clock.now())
