"""Prometheus metrics, read from the database at scrape time.

The numbers live in tables, not in process memory: gunicorn runs several processes and the
workers others, so counters kept in memory would each know a part. A scrape costs a handful of
aggregate queries on indexed columns.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from orderguard.cases.choices import OPEN_STATUSES
from orderguard.cases.models import ExceptionCase
from orderguard.core import clock
from orderguard.core.choices import ExceptionType
from orderguard.notifications.models import OutboxMessage, OutboxStatus
from orderguard.orders.models import Order


class OrderGuardCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        imported = CounterMetricFamily(
            "orderguard_orders_imported", "Orders stored, by warehouse status", labels=["status"]
        )
        for status, n in Order.objects.values_list("status").annotate(n=Count("pk")).order_by("status"):
            imported.add_metric([status], n)
        yield imported

        now = clock.now()
        open_cases = GaugeMetricFamily(
            "orderguard_cases_open",
            "Open exception cases by type and deadline state",
            labels=["type", "deadline"],
        )
        rows = {
            r["type"]: r
            for r in ExceptionCase.objects.filter(status__in=OPEN_STATUSES)
            .values("type")
            .annotate(
                total=Count("pk"),
                overdue=Count("pk", filter=Q(due_at__lt=now)),
                due_soon=Count("pk", filter=Q(due_at__gte=now, warn_at__lte=now)),
            )
            .order_by("type")
        }
        for case_type in ExceptionType.values:
            r = rows.get(case_type, {"total": 0, "overdue": 0, "due_soon": 0})
            open_cases.add_metric([case_type, "overdue"], r["overdue"])
            open_cases.add_metric([case_type, "due_soon"], r["due_soon"])
            open_cases.add_metric([case_type, "on_time"], r["total"] - r["overdue"] - r["due_soon"])
        yield open_cases

        outbox = GaugeMetricFamily(
            "orderguard_outbox_messages", "Outbox messages by status", labels=["status"]
        )
        counts = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("pk")).order_by("status"))
        for status in OutboxStatus.values:
            outbox.add_metric([status], counts.get(status, 0))
        yield outbox
