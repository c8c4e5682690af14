"""Worker liveness and database upkeep jobs. Thin: they call `monitoring.health` and
`core.sql`."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
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


@db_periodic_task(crontab(minute="41", hour="*/6"))
def sessions_clear_expired() -> None:
    """Every six hours: expired sessions are deleted (Django keeps them otherwise), and with them
    the order searches they held (a search may name a recipient)."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
