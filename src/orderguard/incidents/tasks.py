from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from orderguard.core import clock
from orderguard.incidents.monitor import monitoring_run


@db_periodic_task(crontab(minute="*"))
def monitoring_periodic() -> None:
    """Every minute (D3, T4): health checks, incidents, the triage deadline, reconciliation.
    No task lock: folding by fingerprint, row claims and outbox keys make two runs safe."""
    monitoring_run(now=clock.now())
