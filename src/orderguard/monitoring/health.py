"""System health: database, queue and worker (the `check` command and /api/v1/health)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from orderguard.core import clock
from orderguard.monitoring.models import WorkerHeartbeat

# A worker beats every minute; two missed beats mean it is gone.
HEARTBEAT_STALE_AFTER = timedelta(minutes=3)


@dataclass
class Component:
    name: str
    ok: bool
    detail: str


@dataclass
class HealthReport:
    components: list[Component] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.components)

    def as_dict(self, *, details: bool = True) -> dict[str, object]:
        return {
            "ok": self.ok,
            "components": [
                {"name": c.name, "ok": c.ok, "detail": c.detail if details else ""} for c in self.components
            ],
        }


def details_visible_to(user: object) -> bool:
    """Component details (host:pid, backlog, error text naming hosts) are for warehouse staff;
    anyone else learns only what is up."""
    from orderguard.tenancy.access import NoRole, actor_for

    try:
        return actor_for(user).is_staff_role  # type: ignore[arg-type]
    except NoRole:
        return False


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_record() -> None:
    """Called by the worker's periodic heartbeat job."""
    WorkerHeartbeat.objects.update_or_create(worker=worker_name(), defaults={"beat_at": clock.now()})


def _check_database() -> Component:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return Component("database", False, f"{type(exc).__name__}: {exc}")
    vendor = connection.vendor
    return Component("database", True, vendor)


def _check_queue() -> Component:
    from huey.contrib.djhuey import HUEY

    try:
        pending = HUEY.pending_count()
    except Exception as exc:
        return Component("queue", False, f"{type(HUEY).__name__}: {type(exc).__name__}: {exc}")
    return Component("queue", True, f"{type(HUEY).__name__}, {pending} pending")


def _check_worker(wait_for_worker: float, now: datetime | None = None) -> Component:
    """A live worker answers a ping task within `wait_for_worker` seconds; with 0, only the
    last heartbeat is read (cheap enough for a health endpoint)."""
    if wait_for_worker > 0:
        from orderguard.monitoring.tasks import ping

        try:
            answer = ping().get(blocking=True, timeout=wait_for_worker)
        except Exception as exc:
            return Component(
                "worker", False, f"no answer to ping in {wait_for_worker:g}s ({type(exc).__name__})"
            )
        return Component("worker", True, f"answered ping from {answer}")
    last = WorkerHeartbeat.objects.order_by("-beat_at").first()
    if last is None:
        return Component("worker", False, "no heartbeat yet")
    age = (now or clock.now()) - last.beat_at
    if age > HEARTBEAT_STALE_AFTER:
        return Component(
            "worker", False, f"last heartbeat {int(age.total_seconds())}s ago from {last.worker}"
        )
    return Component("worker", True, f"heartbeat {int(age.total_seconds())}s ago from {last.worker}")


def system_health(*, wait_for_worker: float = 0, now: datetime | None = None) -> HealthReport:
    report = HealthReport([_check_database(), _check_queue()])
    if not getattr(settings, "HUEY", {}).get("immediate", False):
        report.components.append(_check_worker(wait_for_worker, now))
    return report


def check_outbox_backlog(*, now: datetime | None = None) -> Component:
    """The oldest message due in the outbox: older than MONITOR_OUTBOX_MAX_AGE_SECONDS means
    notifications are not leaving (a stopped worker, an endpoint down)."""
    from django.db.models import Min

    from orderguard.notifications.models import OutboxMessage, OutboxStatus

    moment = now or clock.now()
    oldest = OutboxMessage.objects.filter(
        status__in=(OutboxStatus.PENDING, OutboxStatus.SENDING), next_attempt_at__lte=moment
    ).aggregate(oldest=Min("next_attempt_at"))["oldest"]
    age = 0 if oldest is None else int((moment - oldest).total_seconds())
    limit = settings.MONITOR_OUTBOX_MAX_AGE_SECONDS
    return Component("outbox", age <= limit, f"oldest due message {age}s old (limit {limit}s)")


def check_disk(*, free_bytes: int | None = None) -> Component:
    """Free space where OrderGuard writes (OG_VAR_DIR: the embedded database, the queue, mail,
    uploads) against MONITOR_DISK_MIN_FREE_MB."""
    import shutil

    free = free_bytes if free_bytes is not None else shutil.disk_usage(settings.VAR_DIR).free
    limit = settings.MONITOR_DISK_MIN_FREE_MB
    free_mb = free // (1024 * 1024)
    return Component("disk", free_mb >= limit, f"{free_mb} MiB free (minimum {limit} MiB)")
