"""The demo's month of history (S3, S4): the 30 days before the demo day, written in bulk so
that the analysis page has something to say on the first `orderguard demo`.

Orders on every demo channel each day (with their lines, naming the catalogue's SKUs, so that
the safety-stock advice has a demand history), and cases of every type on some of them, opened, started, closed with an
outcome (or still open), stock-outs and special requests through their later steps, some
flagged overdue by the deadline scan, each with the case events the rollup counts, backdated. Three patterns for the advice to find:

- `RECUR_SKU` of `RECUR_MERCHANT` runs out on `RECUR_SKU_DAYS` separate days before an
  improvement action (raise its safety stock) starts `ACTION_DAYS_AGO` days before the demo
  day; after it the SKU never runs out again;
- `RECUR_CHANNEL` fails on `FAULT_DAYS` days: each fault an `incidents.Incident` (open for
  `FAULT_MINUTES` minutes, linked to the orders caught in it) and a T4 case per order;
- recipient errors concentrated in `ADDRESS_PROVINCE` on `ADDRESS_MERCHANT`'s orders.

Once: a second run finds the history orders there and writes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from orderguard.analysis.advice import safety_stock
from orderguard.analysis.choices import ActionStatus, FindingKind
from orderguard.analysis.models import ImprovementAction
from orderguard.cases import events
from orderguard.cases.choices import CaseOutcome, CaseStatus
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.models import Sku
from orderguard.core import bulk
from orderguard.core.choices import DetectionSource, ExceptionType
from orderguard.incidents.models import Incident, IncidentKind, IncidentSeverity, IncidentStatus
from orderguard.orders.choices import OrderStatus
from orderguard.orders.models import Channel, Order, OrderLine
from orderguard.sla.services import FIRST_STEP

T = ExceptionType
HISTORY_DAYS = 30
PREFIX = "H"
ACTOR = "user:demo-agent"
RECUR_MERCHANT = "chuju"
RECUR_SKU = "CJ-PAN-24"
# days before the demo day on which RECUR_SKU ran out, and its cases each of those days
RECUR_SKU_DAYS = (28, 25, 23, 20, 17)
RECUR_SKU_CASES = 2
ACTION_DAYS_AGO = 15
RECUR_CHANNEL = "petfood-pdd"
# days before the demo day of each fault of RECUR_CHANNEL, how long it lasted, and the orders
# it caught (one T4 case each)
FAULT_DAYS = (26, 19, 11, 4)
FAULT_MINUTES = (45, 90, 30, 120)
FAULT_CASES = 3
ADDRESS_MERCHANT = "yoyo"
ADDRESS_PROVINCE = "四川省"
PROVINCES = ("浙江省", "江苏省", "上海市", "广东省", "北京市", "山东省")
ORDERS_PER_CHANNEL_DAY = 8
LOCAL = "Asia/Shanghai"

SKUS = {
    "yoyo": ["YY-TS-WH-M", "YY-TS-BK-L", "YY-DR-BL-S", "YY-DR-PK-M"],
    "chuju": ["CJ-PAN-20", "CJ-PAN-24", "CJ-KNIFE-SET"],
    "petfood": ["PF-CAT-2KG", "PF-CAT-5KG", "PF-DOG-5KG"],
}
FINDING = {
    T.RECIPIENT_ERROR: ("ADDRESS_NO_ROAD_OR_NUMBER", "address", DetectionSource.IMPORT_CHECK),
    T.PRODUCT_ERROR: ("SKU_UNKNOWN", "lines[1].sku_code", DetectionSource.IMPORT_CHECK),
    T.SPECIAL_REQUEST: ("SPECIAL_GIFT_WRAP_REQUESTED", "buyer_note", DetectionSource.SERVICE_REPORT),
    T.SYSTEM_FAULT: ("SYSTEM_FAULT", "", DetectionSource.MONITORING),
    T.OUT_OF_STOCK: ("STOCK_SHORT", "lines[1]", DetectionSource.STOCK_ALERT),
}
# the steps a closed case of a type moves through after its first one (`step_started` events),
# at these shares of its handling time: the merchant decides after the stock-out notice; a
# special request is quoted, confirmed by the buyer, then fulfilled
LATER_STEPS: dict[str, tuple[tuple[str, float], ...]] = {
    T.OUT_OF_STOCK: (("merchant_decision", 0.15),),
    T.SPECIAL_REQUEST: (("quote", 0.2), ("buyer_confirmation", 0.35), ("fulfil", 0.7)),
}
# hours a person takes on a case of each type (low, high)
HOURS = {
    T.OUT_OF_STOCK: (2, 30),
    T.RECIPIENT_ERROR: (1, 20),
    T.PRODUCT_ERROR: (1, 10),
    T.SYSTEM_FAULT: (1, 4),
    T.SPECIAL_REQUEST: (1, 8),
}


def _finding(case_type: str, **data: Any) -> dict[str, Any]:
    code, field, source = FINDING[T(case_type)]
    return {
        "code": code,
        "type": case_type,
        "field": field,
        "severity": "blocking",
        "source": str(source),
        "data": data,
    }


def _problem(case_type: str, o: Order, line: OrderLine, *, still_open: bool) -> dict[str, Any]:
    """What the case's finding says about its order (as the checks would say it), and, for a
    case still open, the problem put on the order: a product code the catalogue lacks, a street
    address without road or number. Every gift-packing request comes from the buyer's note."""
    if case_type == T.PRODUCT_ERROR:
        if still_open:
            line.sku_code, line.sku_id = f"{line.sku_code}-OLD", None
        return {"line": line.line_no, "sku": line.sku_code}
    if case_type == T.SPECIAL_REQUEST:
        o.buyer_note = "请用礼盒包装，谢谢"
        return {"source": "buyer_note", "keyword": "礼盒"}
    if case_type == T.RECIPIENT_ERROR and still_open:
        o.address_detail = "小区门口"
    return {}


def demo_history(
    *, day: date, seed: int, agent_id: int | None, manager_id: int | None, say: Callable[[str], None]
) -> dict[str, Any] | None:
    """Write the month before `day` (see the module); None when it is there already."""
    from zoneinfo import ZoneInfo

    if Order.objects.filter(platform_order_id__startswith=f"{PREFIX}-").exists():
        return None
    tz = ZoneInfo(LOCAL)
    rng = random.Random(seed)
    channels = list(Channel.objects.select_related("merchant").order_by("code"))
    orders: list[Order] = []
    lines: list[OrderLine] = []
    # (order, type, opened_at, extra finding data, still open)
    wanted: list[tuple[Order, str, datetime, dict[str, Any], bool]] = []
    faults: list[tuple[Channel, datetime, datetime, list[Order]]] = []
    n = 0
    # the catalogue's SKUs, so that each line names its SKU as an imported order's would
    catalogue = {
        (merchant_id, code): pk
        for pk, merchant_id, code in Sku.objects.filter(
            merchant_id__in={c.merchant_id for c in channels}
        ).values_list("pk", "merchant_id", "code")
    }

    def order(channel: Channel, at: datetime, sku: str, quantity: int, province: str) -> Order:
        nonlocal n
        n += 1
        o = bulk.new(
            Order,
            merchant_id=channel.merchant_id,
            channel_id=channel.pk,
            platform_order_id=f"{PREFIX}-{at:%Y%m%d}-{n:05d}",
            platform_status="已发货",
            status=OrderStatus.SHIPPED,
            placed_at=at - timedelta(minutes=3),
            paid_at=at,
            recipient_name="历史订单",
            province=province,
            city="",
            address_detail="",
        )
        orders.append(o)
        lines.append(
            bulk.new(
                OrderLine,
                order=o,
                line_no=1,
                sku_code=sku,
                sku_id=catalogue.get((channel.merchant_id, sku)),
                title=sku,
                quantity=quantity,
            )
        )
        return o

    for ago in range(HISTORY_DAYS, 0, -1):
        d = day - timedelta(days=ago)
        start = datetime.combine(d, time(8, 0), tzinfo=tz)
        for channel in channels:
            skus = SKUS.get(channel.merchant.code, ["X"])
            for _ in range(ORDERS_PER_CHANNEL_DAY):
                at = start + timedelta(minutes=rng.randint(0, 13 * 60))
                province = rng.choice(PROVINCES)
                o = order(channel, at, rng.choice(skus), rng.randint(1, 3), province)
                roll = rng.random()
                still_open = ago <= 3 and rng.random() < 0.4
                if roll < 0.06:
                    wanted.append((o, T.PRODUCT_ERROR, at, {}, still_open))
                elif roll < 0.10:
                    wanted.append((o, T.SPECIAL_REQUEST, at, {}, still_open))
                elif roll < 0.13 and channel.merchant.code != RECUR_MERCHANT:
                    wanted.append((o, T.RECIPIENT_ERROR, at, {}, still_open))
            # the recipient errors of one merchant in one province
            if channel.merchant.code == ADDRESS_MERCHANT and ago % 3 == 0:
                at = start + timedelta(hours=rng.randint(1, 10))
                o = order(channel, at, rng.choice(SKUS[ADDRESS_MERCHANT]), 1, ADDRESS_PROVINCE)
                wanted.append((o, T.RECIPIENT_ERROR, at, {}, False))
            if channel.merchant.code == RECUR_MERCHANT:
                # steady demand for the recurring SKU, out of stock on its bad days
                for k in range(rng.randint(1, 3) + (RECUR_SKU_CASES if ago in RECUR_SKU_DAYS else 0)):
                    at = start + timedelta(minutes=rng.randint(0, 12 * 60))
                    o = order(channel, at, RECUR_SKU, rng.randint(1, 4), rng.choice(PROVINCES))
                    if ago in RECUR_SKU_DAYS and k < RECUR_SKU_CASES:
                        wanted.append(
                            (o, T.OUT_OF_STOCK, at, {"sku": RECUR_SKU, "wanted": 2, "free": 0}, False)
                        )
            if channel.code == RECUR_CHANNEL and ago in FAULT_DAYS:
                began = start + timedelta(hours=3 + FAULT_DAYS.index(ago))
                ended = began + timedelta(minutes=FAULT_MINUTES[FAULT_DAYS.index(ago)])
                hit: list[Order] = []
                faults.append((channel, began, ended, hit))
                for _ in range(FAULT_CASES):
                    o = order(
                        channel, began + timedelta(minutes=rng.randint(1, 20)), "PF-CAT-5KG", 1, "浙江省"
                    )
                    hit.append(o)
                    wanted.append((o, T.SYSTEM_FAULT, began + timedelta(minutes=25), {}, False))
        # other SKUs out of stock now and then (one day each)
        if ago in (27, 14, 6):
            channel = rng.choice([c for c in channels if c.merchant.code != RECUR_MERCHANT])
            at = start + timedelta(hours=2)
            sku = rng.choice(SKUS.get(channel.merchant.code, ["X"]))
            o = order(channel, at, sku, 1, rng.choice(PROVINCES))
            wanted.append(
                (o, T.OUT_OF_STOCK, at + timedelta(minutes=5), {"sku": sku, "wanted": 1, "free": 0}, False)
            )

    cases: list[ExceptionCase] = []
    line_of = {id(line.order): line for line in lines}
    usernames = dict(User.objects.filter(pk__in=[agent_id, manager_id]).values_list("pk", "username"))
    plans: list[tuple[ExceptionCase, datetime | None, bool]] = []
    for o, case_type, at, data, still_open in wanted:
        data = {**data, **_problem(case_type, o, line_of[id(o)], still_open=still_open)}
        if still_open:
            # a case still open: its order waits with the problem the case is about
            o.status = OrderStatus.ON_HOLD
            o.findings = [_finding(case_type, **data)]
        opened_at = at + timedelta(minutes=2)
        due_at = opened_at + timedelta(hours=4 if case_type == T.SYSTEM_FAULT else 8)
        low, high = HOURS[T(case_type)]
        closed_at = None if still_open else opened_at + timedelta(minutes=rng.randint(low * 60, high * 60))
        overdue = (closed_at or opened_at + timedelta(days=1)) > due_at and rng.random() < 0.7
        roll = rng.random()
        outcome = (
            "" if still_open else ("succeeded" if roll < 0.75 else "failed" if roll < 0.9 else "cancelled")
        )
        if case_type == T.SYSTEM_FAULT and not still_open:
            outcome = "succeeded"
        c = bulk.new(
            ExceptionCase,
            merchant_id=o.merchant_id,
            order=o,
            type=case_type,
            status=CaseStatus.IN_PROGRESS,
            source=FINDING[T(case_type)][2],
            findings=[_finding(case_type, **data)],
            step=FIRST_STEP[case_type],
            due_at=due_at,
            assignee_id=agent_id if rng.random() < 0.8 else manager_id,
            opened_at=opened_at,
            outcome=outcome,
        )
        cases.append(c)
        plans.append((c, closed_at, overdue))

    with transaction.atomic():
        for obj, pk in zip(orders, bulk.reserve_ids(Order, len(orders)), strict=True):
            obj.pk = pk
        bulk.insert(orders)
        for line in lines:
            line.order_id = line.order.pk
        bulk.insert(lines)
        for c in cases:
            c.order_id = c.order.pk
        for case, case_pk in zip(cases, bulk.reserve_ids(ExceptionCase, len(cases)), strict=True):
            case.pk = case_pk
        made: list[CaseEvent] = []
        for c, closed_at, overdue in plans:
            status = c.status
            c.status = CaseStatus.OPEN
            made.append(events.opened(c, at=c.opened_at, actor_label="system:intake"))
            c.status = status
            made.append(
                events.status_changed(
                    c,
                    at=c.opened_at + timedelta(minutes=10),
                    actor_label=ACTOR,
                    actor_id=c.assignee_id,
                    action="start",
                    source=CaseStatus.OPEN,
                    note="",
                )
            )
            # a closed case's later steps, each a share of its handling time in (time per step)
            starts = [(c.opened_at, c.step)]
            if closed_at is not None:
                starts += [
                    (c.opened_at + (closed_at - c.opened_at) * share, step)
                    for step, share in LATER_STEPS.get(T(c.type), ())
                ]
            first_step, first_due = c.step, c.due_at
            for at, step in starts[1:]:
                c.step, c.due_at = step, None
                made.append(events.step_started(c, at=at, actor_label=ACTOR, actor_id=c.assignee_id))
            c.due_at = first_due
            if overdue and c.due_at is not None:
                # the alert names the step the case was in when it fell due
                c.step = [step for at, step in starts if at <= c.due_at][-1]
                made.append(
                    events.sla_alerted(
                        c,
                        at=c.due_at + timedelta(minutes=1),
                        level=2,
                        recipients=[usernames[c.assignee_id]] if c.assignee_id in usernames else [],
                        due_at=c.due_at,
                    )
                )
            c.step = first_step
            if closed_at is not None:
                c.status = CaseStatus.CANCELLED if c.outcome == CaseOutcome.CANCELLED else CaseStatus.RESOLVED
                c.closed_at = closed_at
                c.handling_seconds = int((closed_at - c.opened_at).total_seconds())
                c.resolution = "已处理"
                c.step = ""
                c.due_at = None
                made.append(
                    events.resolved(
                        c,
                        at=closed_at,
                        actor_label=ACTOR,
                        reason="cancel" if c.status == CaseStatus.CANCELLED else "resolve",
                        actor_id=c.assignee_id,
                        note="已处理",
                    )
                )
        bulk.insert(cases)
        made.sort(key=lambda e: e.occurred_at)
        bulk.insert(made)
        for i, (channel, began, ended, hit) in enumerate(faults):
            incident = Incident.objects.create(
                fingerprint=f"{IncidentKind.CHANNEL_SILENT.value}:{channel.pk}",
                kind=IncidentKind.CHANNEL_SILENT,
                severity=IncidentSeverity.MAJOR,
                status=IncidentStatus.RESOLVED,
                title=f"{channel.code} 渠道无订单",
                channel=channel,
                started_at=began - timedelta(minutes=15),
                opened_at=began,
                last_signal_at=ended - timedelta(minutes=5),
                signal_count=3 + i,
                cleared_at=ended,
                acknowledged_at=began + timedelta(minutes=10),
                acknowledged_by_id=manager_id,
                resolved_at=ended,
                resolved_by_id=manager_id,
                resolution="平台接口恢复",
                due_at=began + timedelta(minutes=30),
            )
            # the fault's orders (and so its T4 cases) and merchant, as a live incident links them
            incident.orders.add(*hit)
            incident.merchants.add(channel.merchant_id)
        action = _action(day=day, rng_seed=seed, lines=lines, manager_id=manager_id, tz=tz)
    by_type: dict[str, int] = {}
    for c in cases:
        by_type[str(c.type)] = by_type.get(str(c.type), 0) + 1
    say(
        f"history of {HISTORY_DAYS} days: {len(orders)} orders, {len(cases)} cases, {len(faults)} channel faults, "
        f"action on {action.subject} from {action.started_on}"
    )
    return {
        "orders": len(orders),
        "cases": len(cases),
        "cases_by_type": dict(sorted(by_type.items())),
        "incidents": len(faults),
        "action": action.pk,
    }


def _action(
    *, day: date, rng_seed: int, lines: list[OrderLine], manager_id: int | None, tz: Any
) -> ImprovementAction:
    """S4: the manager's action on the recurring SKU, started mid-month, its target the safety
    stock the advice suggested from the demand before it."""
    from django.conf import settings

    from orderguard.tenancy.models import Merchant

    started = day - timedelta(days=ACTION_DAYS_AGO)
    first = day - timedelta(days=HISTORY_DAYS)
    daily = {first + timedelta(days=i): 0 for i in range((started - first).days)}
    for line in lines:
        paid = line.order.paid_at
        if line.sku_code == RECUR_SKU and paid is not None and paid.astimezone(tz).date() in daily:
            daily[paid.astimezone(tz).date()] += line.quantity
    target = safety_stock(
        daily=list(daily.values()),
        lead_days=settings.OG_REPLENISH_LEAD_DAYS,
        service_level=settings.OG_SERVICE_LEVEL,
    )["suggested"]
    at = datetime.combine(started, time(10, 0), tzinfo=tz)
    return ImprovementAction.objects.create(
        merchant=Merchant.objects.get(code=RECUR_MERCHANT),
        kind=FindingKind.SKU_STOCKOUTS,
        subject=RECUR_SKU,
        expected_effect=f"{RECUR_SKU} 安全库存提高到 {target}，不再缺货",
        target_value=target,
        owner_id=manager_id,
        owner_label="demo-manager",
        due_on=started + timedelta(days=7),
        started_on=started,
        status=ActionStatus.DONE,
        created_by_label="user:demo-manager",
        created_at=at,
        updated_at=at,
    )
