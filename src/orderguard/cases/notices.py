"""H1.1: the merchant is told of its stock-outs: one message per merchant contact listing each
short SKU, how many orders it holds up (and their order numbers), on-hand against safety stock, and the expected restock
(rendered from the `stockout_notice` template when sent)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from orderguard.cases import events
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.core.choices import ExceptionType
from orderguard.inventory.models import StockLevel
from orderguard.notifications.endpoints import recipients_for
from orderguard.notifications.services import OutboxIn, outbox_enqueue
from orderguard.orders.models import Order
from orderguard.tenancy.models import Merchant

TOPIC = "stockout_notice"
# A notice names at most this many orders per SKU (the count says how many there are).
ORDERS_LISTED = 20


def stockout_notices_enqueue(
    *, cases: Sequence[ExceptionCase], warehouse_id: int, now: datetime, actor_label: str
) -> int:
    """Queue the notices for newly opened T1 cases and log them on each case. Returns the
    number of messages queued."""
    t1 = [c for c in cases if c.type == ExceptionType.OUT_OF_STOCK]
    if not t1:
        return 0
    orders_per_sku: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for case in t1:
        for f in case.findings:
            if f["code"] == "STOCK_SHORT":
                orders_per_sku[case.merchant_id][f["data"]["sku"]].add(case.order_id)
    merchants = {m.pk: m for m in Merchant.objects.filter(pk__in=orders_per_sku)}
    platform_ids = dict(
        Order.objects.filter(pk__in={c.order_id for c in t1}).values_list("pk", "platform_order_id")
    )
    levels = {
        (lv.merchant_id, lv.sku.code): lv
        for lv in StockLevel.objects.filter(warehouse_id=warehouse_id, merchant_id__in=orders_per_sku)
        .select_related("sku")
        .filter(sku__code__in={s for per in orders_per_sku.values() for s in per})
    }
    messages: list[OutboxIn] = []
    log: list[CaseEvent] = []
    for merchant_id, per_sku in orders_per_sku.items():
        merchant = merchants[merchant_id]
        skus = []
        for sku, order_ids in sorted(per_sku.items()):
            lv = levels.get((merchant_id, sku))
            skus.append(
                {
                    "sku": sku,
                    "orders": len(order_ids),
                    # the platform's order numbers, the first `ORDERS_LISTED` of them
                    "order_ids": sorted(platform_ids[pk] for pk in order_ids)[:ORDERS_LISTED],
                    "available": (lv.on_hand - lv.allocated) if lv else 0,
                    "on_hand": lv.on_hand if lv else 0,
                    "safety_stock": lv.safety_stock if lv else 0,
                    "eta": timezone.localtime(lv.inbound_eta).strftime("%Y-%m-%d")
                    if lv and lv.inbound_eta
                    else None,
                }
            )
        case_ids = sorted(c.pk for c in t1 if c.merchant_id == merchant_id)
        digest = hashlib.blake2b(",".join(map(str, case_ids)).encode(), digest_size=12).hexdigest()
        key = f"stockout:{merchant_id}:{digest}"
        context = {"merchant": merchant.name, "orders": len(case_ids), "skus": skus}
        recipients = recipients_for(
            topic=TOPIC, merchant_id=merchant_id, fallback_email=merchant.contact_email
        )
        messages.extend(
            OutboxIn(
                topic=TOPIC,
                recipient=r.address,
                endpoint_id=r.endpoint_id,
                language=r.language,
                context=context,
                idempotency_key=f"{key}:{r.suffix}" if r.suffix else key,
                merchant_id=merchant_id,
            )
            for r in recipients
        )
        log.extend(
            events.notified(c, at=now, actor_label=actor_label, topic=TOPIC, key=key)
            for c in t1
            if c.merchant_id == merchant_id and recipients
        )
    queued = outbox_enqueue(messages=messages, now=now)
    CaseEvent.objects.bulk_create(log, batch_size=1000)
    _decision_clock_start(
        cases=[c for c in t1 if c.pk in {e.case_id for e in log}],
        warehouse_id=warehouse_id,
        now=now,
        actor_label=actor_label,
    )
    return queued


def _decision_clock_start(
    *, cases: Sequence[ExceptionCase], warehouse_id: int, now: datetime, actor_label: str
) -> None:
    """The merchant was told: its decision (H1.2, `inventory.decisions`) is the case's next
    step, `MERCHANT_DECISION_STEP`, with its own deadline (S1), after which `deadlines_scan`
    escalates the case."""
    from orderguard.sla.services import MERCHANT_DECISION_STEP, cases_clock_start

    cases_clock_start(cases=cases, step=MERCHANT_DECISION_STEP, now=now, warehouse_id=warehouse_id)
    CaseEvent.objects.bulk_create(
        events.steps_started(cases, at=now, actor_label=actor_label), batch_size=1000
    )
