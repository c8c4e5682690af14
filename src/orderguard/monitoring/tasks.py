"""Worker liveness and database upkeep jobs. Thin: they call `monitoring.health` and
`core.sql`."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, task

from orderguard.core.sql import database_analyze
from orderguard.monitoring.health import heartbeat_record, worker_name


@task()
def ping() -> str:
    return worker_name()


@db_periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    heartbeat_record()


@db_periodic_task(crontab(minute="17"))
def database_statistics() -> None:
    """Hourly: the planner's statistics on SQLite (the embedded profile) stay current."""
    database_analyze()
