"""`orderguard demo --outage` (D3, T4, H4, B3): detected, alarmed, manual orders, reconciled
without a duplicate; a second run changes nothing."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from orderguard.incidents.demo import demo_outage
from orderguard.incidents.models import Incident, ManualOrder
from orderguard.intake.demo import demo_run
from orderguard.monitoring.models import WorkerHeartbeat
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.models import Order

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
# the demo day before NOW, whatever today is: none of the demo's orders comes after NOW
DEMO_DAY = date(2026, 11, 24)


def test_the_outage_demo_goes_from_silence_to_a_reconciled_channel():
    demo_run(orders=300, seed=7, progress=False, day=DEMO_DAY)
    # a worker that is alive and has sent what the demo queued: OrderGuard itself is healthy
    WorkerHeartbeat.objects.create(worker="w:1", beat_at=NOW)
    OutboxMessage.objects.update(status="sent")

    result = demo_outage(now=NOW, progress=False)

    assert {
        k: result[k]
        for k in ("created", "status", "manual_orders", "merged", "live_orders", "platform_orders")
    } == {
        "created": True,
        "status": "resolved",
        "manual_orders": 2,
        "merged": 2,
        "live_orders": 3,
        "platform_orders": 3,
    }
    assert result["alarms"] >= 1
    incident = Incident.objects.get(pk=result["incident"])
    assert (incident.kind, incident.channel.merchant.code) == ("channel_silent", "yoyo")
    alarms = OutboxMessage.objects.filter(
        topic="oncall_alarm",
        recipient="oncall@demo.example",
        idempotency_key__startswith=f"incident:{incident.pk}:",
    )
    assert list(alarms.values_list("idempotency_key", flat=True)) == [
        f"incident:{incident.pk}:opened:u{alarms[0].idempotency_key.split(':u')[1]}"
    ]
    # (the demo's month of history holds resolved faults of another channel, S3)
    assert list(Incident.objects.exclude(channel__code="petfood-pdd").values_list("kind", flat=True)) == [
        "channel_silent"
    ]
    # each urgent order is one live order under the platform's id, never two
    for oid in ("YOYO-OUTAGE-1", "YOYO-OUTAGE-2"):
        live = Order.objects.filter(platform_order_id=oid).exclude(status="cancelled")
        assert [(o.is_manual, o.manual.status) for o in live] == [(True, "matched")]
    assert list(incident.events.values_list("type", flat=True))[:4] == [
        "opened",
        "acknowledged",
        "contact",
        "update",
    ]

    again = demo_outage(now=NOW, progress=False)
    assert again == {"incident": incident.pk, "created": False}
    assert ManualOrder.objects.count() == 2
