"""`orderguard demo --outage`: a channel outage from detection to reconciliation (D3, T4, H4, B3).

On top of the demo warehouse (`intake.demo.demo_run`), staged two hours ago: one channel gets
four weeks of steady orders around that hour of the week (its history, so that monitoring knows what is normal), and
today's orders up to ten minutes ago; then it goes quiet. The monitoring job notices at once,
opens the incident and alarms the on-call user (`demo-oncall`); the on-call acknowledges it,
records the contact with the platform and posts an update to the merchant; customer service
enters two urgent orders by hand; the channel comes back with the same orders (and one more
paid during the gap), reconciliation merges them without a duplicate, and the incident is
resolved. Run once: a second run finds the incident and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F

from orderguard.core import clock

HISTORY_PREFIX = "HIST-"
QUIET_FOR = timedelta(minutes=10)
EVERY = timedelta(minutes=2)
PHONES = ("13905710001", "13905710002", "13905710003")
STAGED_AGO = timedelta(hours=2)


def _history(channel: Any, now: datetime) -> int:
    """Four past weeks of orders every two minutes around this hour, and today's until the
    channel went quiet; stored as shipped (they are the past)."""
    from orderguard.orders.choices import OrderStatus
    from orderguard.orders.models import Order
    from orderguard.orders.schema import PlatformState

    rows = []
    spans = [
        (now - timedelta(days=7 * k) - timedelta(hours=1), now - timedelta(days=7 * k) + timedelta(hours=1))
        for k in range(1, 5)
    ]
    spans.append((now - timedelta(hours=1), now - QUIET_FOR))
    for w, (start, end) in enumerate(spans):
        moment, n = start, 0
        while moment <= end:
            rows.append(
                Order(
                    merchant_id=channel.merchant_id,
                    channel=channel,
                    platform_order_id=f"{HISTORY_PREFIX}{w}-{n:04d}",
                    paid_at=moment,
                    placed_at=moment,
                    status=OrderStatus.SHIPPED,
                    platform_state=PlatformState.SHIPPED,
                    platform_status="shipped",
                )
            )
            moment += EVERY
            n += 1
    Order.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def demo_outage(*, now: datetime | None = None, progress: bool = True) -> dict[str, Any]:
    from orderguard.incidents.models import Incident, ManualOrder, ManualStatus
    from orderguard.incidents.monitor import monitoring_run
    from orderguard.incidents.reconcile import ManualIn, ManualLine, manual_order_enter
    from orderguard.incidents.services import (
        TOPIC_ONCALL,
        incident_acknowledge,
        incident_contact,
        incident_resolve,
        incident_update,
    )
    from orderguard.intake.submit import orders_submit
    from orderguard.inventory.models import StockLevel
    from orderguard.notifications.models import OutboxMessage
    from orderguard.orders.models import Channel, Order
    from orderguard.tenancy.access import actor_for
    from orderguard.tenancy.services import user_create

    say: Callable[[str], None] = print if progress else (lambda _m: None)
    # staged two hours ago: the channel's history is busy around then, so the live monitoring
    # job that runs afterwards finds this hour quiet and opens no second incident
    moment = now or clock.now() - STAGED_AGO
    channel = (
        Channel.objects.select_related("merchant").filter(merchant__code="yoyo").order_by("code").first()
    )
    if channel is None:
        raise RuntimeError("run `orderguard demo` first: the demo channels are missing")
    done = Incident.objects.filter(channel=channel, kind="channel_silent").order_by("pk").first()
    if done is not None:
        say(f"the outage demo ran already: incident #{done.pk}")
        return {"incident": done.pk, "created": False}
    from django.contrib.auth import get_user_model

    users = get_user_model()
    passwords: dict[str, str] = {}
    if not users.objects.filter(username="demo-oncall").exists():
        _u, passwords["demo-oncall"] = user_create(username="demo-oncall", role="tech_oncall")
        say(f"demo user demo-oncall: password {passwords['demo-oncall']}")
    users.objects.filter(username="demo-oncall", email="").update(email="oncall@demo.example")
    oncall = actor_for(users.objects.get(username="demo-oncall"))
    agent_user = users.objects.filter(username="demo-agent").first() or users.objects.get(
        username="demo-oncall"
    )
    agent = actor_for(agent_user)

    history = _history(channel, moment)
    say(
        f"{channel.code}: {history} orders of history; quiet for the last {int(QUIET_FOR.total_seconds() // 60)} minutes"
    )

    result = monitoring_run(now=moment)
    incident = next(i for i in result.opened if i.channel_id == channel.pk)
    alarms = OutboxMessage.objects.filter(
        topic=TOPIC_ONCALL, idempotency_key__startswith=f"incident:{incident.pk}:"
    ).count()
    say(f"incident #{incident.pk} opened: {incident.title} ({incident.detail}); {alarms} alarm(s) to on-call")

    incident_acknowledge(
        incident_id=incident.pk, actor=oncall, now=moment + timedelta(minutes=2), note="值班已接手"
    )
    incident_contact(
        incident_id=incident.pk,
        actor=oncall,
        contact="平台开放平台技术支持",
        via="工单系统",
        ticket_ref="TOP-DEMO-001",
        notes="订单推送接口无响应",
        now=moment + timedelta(minutes=4),
    )
    incident_update(
        incident_id=incident.pk,
        actor=oncall,
        text="平台订单推送中断，已联系平台技术支持；紧急订单改为手工录入。",
        now=moment + timedelta(minutes=5),
    )

    stocked = list(
        StockLevel.objects.filter(merchant_id=channel.merchant_id, warehouse_id=channel.warehouse_id)
        .filter(on_hand__gte=F("allocated") + 5)
        .select_related("sku")
        .order_by("sku__code")[:2]
    )
    urgent = [
        ManualIn(
            recipient_name=name,
            recipient_phone=phone,
            province="浙江省",
            city="杭州市",
            district="西湖区",
            address=f"文三路{90 + i}号{i + 1}幢101室",
            lines=[ManualLine(sku=level.sku.code, quantity=1)],
            buyer_note="加急",
        )
        for i, (name, phone, level) in enumerate(zip(("王芳", "李雷"), PHONES, stocked, strict=False))
    ]
    entered = [
        manual_order_enter(actor=agent, channel=channel, data=m, now=moment + timedelta(minutes=6 + i))
        for i, m in enumerate(urgent)
    ]
    say(f"{len(entered)} urgent orders entered by hand: {', '.join(o.platform_order_id for o in entered)}")

    # the channel comes back: the platform sends the same orders (its own ids) and one more
    back = moment + timedelta(minutes=20)
    paid = moment - timedelta(minutes=5)
    copies = [
        {
            "order_id": f"YOYO-OUTAGE-{i + 1}",
            "paid_at": paid.isoformat(),
            "recipient_name": m.recipient_name,
            "recipient_phone": m.recipient_phone,
            "province": m.province,
            "city": m.city,
            "district": m.district,
            "address": m.address,
            "buyer_note": m.buyer_note,
            "lines": [{"sku": li.sku, "quantity": li.quantity} for li in m.lines],
        }
        for i, m in enumerate(urgent)
    ]
    if stocked:
        copies.append(
            {
                "order_id": "YOYO-OUTAGE-3",
                "paid_at": paid.isoformat(),
                "recipient_name": "赵敏",
                "recipient_phone": PHONES[2],
                "province": "浙江省",
                "city": "杭州市",
                "district": "西湖区",
                "address": "文三路120号3幢202室",
                "lines": [{"sku": stocked[0].sku.code, "quantity": 1}],
            }
        )
    orders_submit(channel=channel, orders=copies, actor_label="system:intake", now=back)
    orders_submit(
        channel=channel, orders=copies, actor_label="system:intake", now=back + timedelta(minutes=1)
    )
    incident_resolve(
        incident_id=incident.pk,
        actor=oncall,
        text="平台恢复推送，手工订单已与平台订单合并。",
        now=back + timedelta(minutes=5),
    )
    merged = ManualOrder.objects.filter(incident=incident, status=ManualStatus.MATCHED).count()
    live = (
        Order.objects.filter(channel=channel, platform_order_id__startswith="YOYO-OUTAGE-")
        .exclude(status="cancelled")
        .count()
    )
    say(f"reconciled: {merged} manual orders merged; {live} live orders for {len(copies)} platform orders")
    incident.refresh_from_db()
    return {
        "incident": incident.pk,
        "created": True,
        "status": incident.status,
        "alarms": alarms,
        "manual_orders": len(entered),
        "merged": merged,
        "live_orders": live,
        "platform_orders": len(copies),
        "passwords": passwords,
    }
