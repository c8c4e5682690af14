"""Retention job. Thin: it calls `orders.services`."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from orderguard.orders.services import orders_anonymise


@db_periodic_task(crontab(hour="3", minute="30"))
def orders_anonymise_periodic() -> None:
    """Daily. No task lock: rows are locked and checked again per batch, so two runs at once
    anonymise each order once."""
    orders_anonymise()
