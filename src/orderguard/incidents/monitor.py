"""The periodic evaluation (D3): OrderGuard's own components and every active channel, each
fault turned into (or folded into) an incident at once, the orders a channel fault touches
linked, faults no longer seen marked cleared, unacknowledged incidents escalated, and manual
orders reconciled with what the platforms sent. Idempotent: running it twice in the same
minute, or on two workers, opens nothing twice and sends nothing twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from orderguard.incidents.models import (
    ACTIVE_STATUSES,
    ChannelHealth,
    Incident,
    IncidentKind,
    ManualOrder,
    ManualStatus,
)
from orderguard.incidents.services import (
    Signal,
    incident_link_orders,
    incident_signal,
    incidents_clear,
    incidents_escalate,
)
from orderguard.monitoring.channels import ChannelReport, channels_evaluate
from orderguard.monitoring.health import Component, check_disk, check_outbox_backlog, system_health
from orderguard.sla.services import PolicyBook

COMPONENT_KINDS = {
    "database": IncidentKind.DATABASE,
    "queue": IncidentKind.QUEUE,
    "worker": IncidentKind.WORKER,
    "outbox": IncidentKind.OUTBOX_BACKLOG,
    "disk": IncidentKind.DISK,
}


@dataclass
class MonitoringResult:
    channels: list[ChannelReport] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    opened: list[Incident] = field(default_factory=list)
    folded: list[Incident] = field(default_factory=list)
    cleared: int = 0
    escalated: int = 0
    linked_orders: int = 0


def _channel_signals(report: ChannelReport, now: datetime) -> list[Signal]:
    out = []
    error_start = now - timedelta(minutes=settings.MONITOR_ERROR_WINDOW_MINUTES)
    for kind in report.faults:
        if kind == IncidentKind.CHANNEL_SILENT:
            title = _("渠道 %(channel)s 停止来单") % {"channel": report.channel_code}
            detail = _("已 %(gap)d 分钟没有新订单，按历史此时段应有约 %(expected).0f 单") % {
                "gap": int(report.gap_minutes or 0),
                "expected": report.gap_expected or 0,
            }
            started = report.last_order_at or now
        elif kind == IncidentKind.CHANNEL_SLOW:
            title = _("渠道 %(channel)s 订单量骤降") % {"channel": report.channel_code}
            detail = _("最近 %(minutes)d 分钟 %(observed)d 单，按历史此时段应有约 %(expected).0f 单") % {
                "minutes": settings.MONITOR_FLOW_WINDOW_MINUTES,
                "observed": report.window_observed,
                "expected": report.window_expected or 0,
            }
            started = now - timedelta(minutes=settings.MONITOR_FLOW_WINDOW_MINUTES)
        else:
            numbers: dict[str, Any] = {
                "channel": report.channel_code,
                "minutes": settings.MONITOR_ERROR_WINDOW_MINUTES,
            }
            if kind == IncidentKind.IMPORT_ERRORS:
                numbers.update(failed=report.imports[0], total=report.imports[1])
                title = _("渠道 %(channel)s 导入错误率过高") % numbers
                detail = _("最近 %(minutes)d 分钟 %(total)d 次导入中 %(failed)d 次失败") % numbers
            else:
                numbers.update(failed=report.webhooks[0], total=report.webhooks[1])
                title = _("渠道 %(channel)s 推送错误率过高") % numbers
                detail = _("最近 %(minutes)d 分钟 %(total)d 次推送中 %(failed)d 次失败") % numbers
            started = error_start
        out.append(
            Signal(kind=kind, title=title, detail=detail, channel_id=report.channel_id, started_at=started)
        )
    return out


def _component_signal(component: Component) -> Signal:
    kind = COMPONENT_KINDS[component.name]
    return Signal(kind=kind, title=str(IncidentKind(kind).label), detail=component.detail)


def monitoring_run(*, now: datetime, disk_free_bytes: int | None = None) -> MonitoringResult:
    from orderguard.incidents.reconcile import manual_reconcile

    result = MonitoringResult()
    policies = PolicyBook()
    health = system_health(wait_for_worker=0, now=now)
    result.components = [
        *health.components,
        check_outbox_backlog(now=now),
        check_disk(free_bytes=disk_free_bytes),
    ]
    signals = [_component_signal(c) for c in result.components if not c.ok and c.name in COMPONENT_KINDS]
    result.channels = channels_evaluate(now=now)
    for report in result.channels:
        signals.extend(_channel_signals(report, now))
    ChannelHealth.objects.bulk_create(
        [
            ChannelHealth(channel_id=r.channel_id, state=r.state, checked_at=now, data=r.as_data())
            for r in result.channels
        ],
        update_conflicts=True,
        unique_fields=["channel"],
        update_fields=["state", "checked_at", "data"],
    )
    for signal in signals:
        incident, opened = incident_signal(signal=signal, now=now, policies=policies)
        (result.opened if opened else result.folded).append(incident)
    result.cleared = incidents_clear(seen={s.fingerprint for s in signals}, now=now)
    for incident in Incident.objects.filter(status__in=ACTIVE_STATUSES, channel__isnull=False).order_by("pk"):
        result.linked_orders += incident_link_orders(incident=incident, now=now, policies=policies)
    result.escalated = incidents_escalate(now=now, policies=policies)
    pending = set(
        ManualOrder.objects.filter(status=ManualStatus.PENDING)
        .values_list("channel_id", flat=True)
        .distinct()
    )
    for channel_id in sorted(pending):
        manual_reconcile(channel_id=channel_id, now=now)
    return result
