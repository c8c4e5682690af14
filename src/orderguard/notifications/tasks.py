from __future__ import annotations

import time

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from orderguard.notifications.services import outbox_dispatch

# A run of the periodic job keeps draining this long at most (the next starts a minute later).
DRAIN_SECONDS = 50


@db_periodic_task(crontab(minute="*"))
def outbox_dispatch_periodic() -> None:
    """Every minute, drain what is due (batch after batch, up to DRAIN_SECONDS). No task lock:
    claims make two runs at once safe, and a lock left behind by a killed worker would stop all
    messages until someone cleared it."""
    stop = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < stop:
        result = outbox_dispatch()
        if not (result.sent or result.retried or result.failed or result.deferred):
            break
        if result.deferred and not (result.sent or result.retried or result.failed):
            break  # only rate-limited messages left: they wait for the next minute
