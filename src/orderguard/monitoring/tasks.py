"""Worker liveness jobs. Thin: they call `monitoring.health`."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, task

from orderguard.monitoring.health import heartbeat_record, worker_name


@task()
def ping() -> str:
    return worker_name()


@db_periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    heartbeat_record()
