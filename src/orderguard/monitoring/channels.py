"""Channel health (D3): each active channel's order flow against its own history, and the error
rates of its imports and webhook deliveries.

The flow is judged on the orders' payment times, as the platform stamps them: a channel that
stops delivering leaves a gap after its last paid order. What is normal is learnt from the
channel's own orders of the last `MONITOR_BASELINE_WEEKS` weeks at the same hour of the week:
per week, the orders of each quarter hour of the hour around now give the mean and the spread
of orders per 15 minutes, and the orders of the trailing window the expected flow.

- silent: no order for `gap` minutes (at least `MONITOR_SILENCE_MIN_MINUTES`) where this hour's
  historical rate expects at least `MONITOR_SILENCE_EXPECTED` orders in such a gap (counted
  over at most one flow window): at a busy hour within a few minutes, at a quiet hour never;
- slow: the trailing `MONITOR_FLOW_WINDOW_MINUTES` brought less than `MONITOR_SLOW_RATIO` of
  the expected orders and three standard deviations fewer, where at least
  `MONITOR_FLOW_MIN_EXPECTED` are expected;
- errors: of the imports (or the webhook deliveries) of the last `MONITOR_ERROR_WINDOW_MINUTES`,
  at least `MONITOR_ERROR_MIN_COUNT` and a share of at least `MONITOR_ERROR_RATE` failed.

A channel with fewer than `MONITOR_BASELINE_MIN_WEEKS` weeks of orders is not judged on its
flow. Orders entered by hand (H4.2) are not the channel's flow. Everything is read with four
queries, whatever the number of channels.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Q

from orderguard.intake.models import (
    ImportBatch,
    ImportKind,
    ImportStatus,
    WebhookDelivery,
    WebhookDeliveryStatus,
)
from orderguard.orders.models import Channel, Order

WEEK = timedelta(days=7)
SLOT = timedelta(minutes=15)
# the quarter hours around now whose history gives the expected rate: two before, two after
SLOTS_AROUND = (-2, -1, 0, 1)


@dataclass
class ChannelReport:
    channel_id: int
    channel_code: str
    merchant_id: int
    state: str  # incidents.models.HealthState values
    last_order_at: datetime | None
    last_import_at: datetime | None
    last_webhook_at: datetime | None
    weeks_known: int
    expected_per_15: float | None
    spread_per_15: float | None
    window_observed: int
    window_expected: float | None
    gap_minutes: float | None
    gap_expected: float | None
    imports: tuple[int, int] = (0, 0)  # (failed, total) in the error window
    webhooks: tuple[int, int] = (0, 0)
    faults: list[str] = field(default_factory=list)  # incidents.models.IncidentKind values

    def as_data(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "last_order_at": iso(self.last_order_at),
            "last_import_at": iso(self.last_import_at),
            "last_webhook_at": iso(self.last_webhook_at),
            "weeks_known": self.weeks_known,
            "expected_per_15": None if self.expected_per_15 is None else round(self.expected_per_15, 2),
            "spread_per_15": None if self.spread_per_15 is None else round(self.spread_per_15, 2),
            "window_observed": self.window_observed,
            "window_expected": None if self.window_expected is None else round(self.window_expected, 2),
            "gap_minutes": None if self.gap_minutes is None else round(self.gap_minutes, 1),
            "gap_expected": None if self.gap_expected is None else round(self.gap_expected, 2),
            "imports_failed": self.imports[0],
            "imports_total": self.imports[1],
            "webhooks_failed": self.webhooks[0],
            "webhooks_total": self.webhooks[1],
            "faults": list(self.faults),
        }


def _flow_aggregates(now: datetime, weeks: int, window: timedelta) -> dict[int, dict[str, Any]]:
    since = now - weeks * WEEK + SLOTS_AROUND[0] * SLOT - window
    aggregates: dict[str, Any] = {
        "first": Min("paid_at"),
        "last": Max("paid_at", filter=Q(paid_at__lte=now)),
        "window": Count("pk", filter=Q(paid_at__gt=now - window, paid_at__lte=now)),
    }
    for k in range(1, weeks + 1):
        then = now - k * WEEK
        aggregates[f"w{k}"] = Count("pk", filter=Q(paid_at__gt=then - window, paid_at__lte=then))
        for s in SLOTS_AROUND:
            start = then + s * SLOT
            aggregates[f"s{k}_{s}"] = Count("pk", filter=Q(paid_at__gte=start, paid_at__lt=start + SLOT))
    rows = (
        Order.objects.filter(channel__active=True, is_manual=False, paid_at__gte=since, paid_at__lte=now)
        .values("channel_id")
        .annotate(**aggregates)
    )
    return {row["channel_id"]: row for row in rows}


def channels_evaluate(*, now: datetime) -> list[ChannelReport]:
    """Judge every active channel now (reads only)."""
    weeks = settings.MONITOR_BASELINE_WEEKS
    window = timedelta(minutes=settings.MONITOR_FLOW_WINDOW_MINUTES)
    error_since = now - timedelta(minutes=settings.MONITOR_ERROR_WINDOW_MINUTES)
    channels: list[dict[str, Any]] = [
        dict(c)
        for c in Channel.objects.filter(active=True).order_by("code").values("pk", "code", "merchant_id")
    ]
    flows = _flow_aggregates(now, weeks, window)
    imports = {
        row["channel_id"]: row
        for row in ImportBatch.objects.filter(kind=ImportKind.ORDERS, channel__active=True)
        .values("channel_id")
        .annotate(
            last=Max("started_at"),
            total=Count("pk", filter=Q(started_at__gte=error_since, started_at__lte=now)),
            failed=Count(
                "pk", filter=Q(started_at__gte=error_since, started_at__lte=now, status=ImportStatus.FAILED)
            ),
        )
    }
    hooks = {
        row["channel_id"]: row
        for row in WebhookDelivery.objects.filter(channel__active=True)
        .values("channel_id")
        .annotate(
            last=Max("received_at"),
            total=Count("pk", filter=Q(received_at__gte=error_since, received_at__lte=now)),
            failed=Count(
                "pk",
                filter=Q(
                    received_at__gte=error_since,
                    received_at__lte=now,
                    status=WebhookDeliveryStatus.WITH_ERRORS,
                ),
            ),
        )
    }
    return [
        _judge(c, flows.get(c["pk"]), imports.get(c["pk"]), hooks.get(c["pk"]), now, weeks, window)
        for c in channels
    ]


def _judge(
    channel: dict[str, Any],
    flow: dict[str, Any] | None,
    imports: dict[str, Any] | None,
    hooks: dict[str, Any] | None,
    now: datetime,
    weeks: int,
    window: timedelta,
) -> ChannelReport:
    from orderguard.incidents.models import HealthState, IncidentKind

    flow = flow or {}
    first: datetime | None = flow.get("first")
    last: datetime | None = flow.get("last")
    # a week counts when the channel already had orders before its hour around now
    known = [
        k
        for k in range(1, weeks + 1)
        if first is not None and first <= now - k * WEEK + SLOTS_AROUND[0] * SLOT
    ]
    report = ChannelReport(
        channel_id=channel["pk"],
        channel_code=channel["code"],
        merchant_id=channel["merchant_id"],
        state=HealthState.OK,
        last_order_at=last,
        last_import_at=(imports or {}).get("last"),
        last_webhook_at=(hooks or {}).get("last"),
        weeks_known=len(known),
        expected_per_15=None,
        spread_per_15=None,
        window_observed=flow.get("window", 0),
        window_expected=None,
        gap_minutes=None if last is None else (now - last).total_seconds() / 60,
        gap_expected=None,
        imports=((imports or {}).get("failed", 0), (imports or {}).get("total", 0)),
        webhooks=((hooks or {}).get("failed", 0), (hooks or {}).get("total", 0)),
    )
    for kind, (failed, total) in (
        (IncidentKind.IMPORT_ERRORS, report.imports),
        (IncidentKind.WEBHOOK_ERRORS, report.webhooks),
    ):
        if (
            total
            and failed >= settings.MONITOR_ERROR_MIN_COUNT
            and failed / total >= settings.MONITOR_ERROR_RATE
        ):
            report.faults.append(kind)
    if len(known) >= settings.MONITOR_BASELINE_MIN_WEEKS:
        slots = [float(flow.get(f"s{k}_{s}", 0)) for k in known for s in SLOTS_AROUND]
        windows = [float(flow.get(f"w{k}", 0)) for k in known]
        report.expected_per_15 = statistics.fmean(slots)
        report.spread_per_15 = statistics.pstdev(slots)
        report.window_expected = statistics.fmean(windows)
        window_spread = statistics.pstdev(windows)
        rate = report.expected_per_15 / 15  # orders per minute at this hour of the week
        window_minutes = window.total_seconds() / 60
        gap = report.gap_minutes if report.gap_minutes is not None else window_minutes
        # the gap is judged at this hour's rate over at most one window: a long quiet night does
        # not add up to a busy hour's worth of orders
        report.gap_expected = rate * min(gap, window_minutes)
        if (
            gap >= settings.MONITOR_SILENCE_MIN_MINUTES
            and report.gap_expected >= settings.MONITOR_SILENCE_EXPECTED
        ):
            report.faults.append(IncidentKind.CHANNEL_SILENT)
        elif (
            report.window_expected >= settings.MONITOR_FLOW_MIN_EXPECTED
            and report.window_observed < report.window_expected * settings.MONITOR_SLOW_RATIO
            and report.window_observed <= report.window_expected - 3 * window_spread
        ):
            report.faults.append(IncidentKind.CHANNEL_SLOW)
        quiet = report.window_expected < settings.MONITOR_FLOW_MIN_EXPECTED and not report.faults
        report.state = HealthState.QUIET if quiet else HealthState.OK
    else:
        report.state = HealthState.NOT_JUDGED
    if IncidentKind.CHANNEL_SILENT in report.faults:
        report.state = HealthState.SILENT
    elif IncidentKind.CHANNEL_SLOW in report.faults:
        report.state = HealthState.SLOW
    elif report.faults:
        report.state = HealthState.ERRORS
    return report
