"""A generated history of cases for the analysis tests (S3): orders on a few channels and
provinces, cases opened by triage in batches over several days, worked and closed by people
(succeeded, failed, cancelled), some reopened and closed again, some flagged overdue by the
deadline scan's event writer. Everything goes through the services, so the events are the ones
production writes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from orderguard.cases import events
from orderguard.cases.machine import ActionName
from orderguard.cases.models import ExceptionCase
from orderguard.cases.notices import stockout_notices_enqueue
from orderguard.cases.services import OrderFindings, case_assign, case_transition, cases_triage
from orderguard.core import bulk
from orderguard.core.choices import DetectionSource, ExceptionType
from orderguard.core.findings import Finding
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.sla.services import PolicyBook
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role

A = ActionName
PROVINCES = ["浙江省", "广东省", "上海市", ""]


def finding(code: str, sku: str = "SKU-A") -> Finding:
    case_type = ExceptionType(code)
    if case_type == ExceptionType.OUT_OF_STOCK:
        return Finding(
            code="STOCK_SHORT",
            type=case_type,
            field="lines[1]",
            source=DetectionSource.STOCK_ALERT,
            data={"sku": sku, "wanted": 1, "free": 0},
        )
    return Finding(code="ADDRESS_NO_ROAD_OR_NUMBER", type=case_type, field="address")


@dataclass
class History:
    start: datetime
    cases: list[int]


def generate_history(*, seed: int = 5, orders: int = 60, days: int = 4) -> History:
    rng = random.Random(seed)
    start = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai
    merchants = [MerchantFactory(code="gen-a"), MerchantFactory(code="gen-b")]
    channels = [ChannelFactory(merchant=m, code=f"{m.code}-{i}") for m in merchants for i in range(2)]
    agent = actor_for(user_with_role("operator", username="gen-agent"))
    boss = actor_for(user_with_role("manager", username="gen-boss"))
    book = PolicyBook()
    made: list[int] = []
    for batch in range(days * 2):
        at = start + timedelta(hours=11 * batch + rng.randint(0, 50) / 10)
        items = []
        for _ in range(orders // (days * 2)):
            order = OrderFactory(channel=rng.choice(channels), province=rng.choice(PROVINCES))
            types = rng.sample(["T1", "T2", "T3"], rng.choice([1, 1, 2]))
            items.append(
                OrderFindings(
                    order=order, findings=[finding(t, sku=rng.choice(["SKU-A", "SKU-B"])) for t in types]
                )
            )
        result = cases_triage(items=items, now=at, actor_label="system:test", policies=book)
        made.extend(c.pk for c in result.opened)
    for pk in made:
        case = ExceptionCase.objects.select_related("order__channel").get(pk=pk)
        roll = rng.random()
        t = case.opened_at + timedelta(minutes=rng.randint(5, 60 * 30))
        if case.type == "T1" and rng.random() < 0.5:
            # the merchant told of the stock-out: its decision is the case's next step
            stockout_notices_enqueue(
                cases=[case],
                warehouse_id=case.order.channel.warehouse_id,
                now=case.opened_at + timedelta(minutes=rng.randint(1, 2)),
                actor_label="system:test",
            )
        if rng.random() < 0.3:
            overdue_at = case.due_at + timedelta(minutes=1)
            if overdue_at < t:
                bulk.insert(
                    [events.sla_alerted(case, at=overdue_at, level=2, recipients=[], due_at=case.due_at)]
                )
        if roll < 0.15:
            continue  # still open
        if rng.random() < 0.7:
            case_assign(case_id=pk, assignee_id=agent.user_id, actor=agent, now=t - timedelta(minutes=2))
        case_transition(case_id=pk, action=A.START, actor=agent, now=t - timedelta(minutes=1))
        if roll < 0.6:
            case_transition(
                case_id=pk, action=A.RESOLVE, actor=agent, now=t, outcome="succeeded", note="好了"
            )
        elif roll < 0.8:
            case_transition(
                case_id=pk, action=A.RESOLVE, actor=agent, now=t, outcome="failed", note="联系不上"
            )
        else:
            case_transition(case_id=pk, action=A.CANCEL, actor=agent, now=t, note="买家取消")
        if rng.random() < 0.1:
            again = t + timedelta(hours=3)
            case_transition(case_id=pk, action=A.REOPEN, actor=boss, now=again, note="买家又来电")
            if rng.random() < 0.5:
                case_transition(
                    case_id=pk,
                    action=A.RESOLVE,
                    actor=boss,
                    now=again + timedelta(hours=2),
                    outcome="succeeded",
                    note="再次处理",
                )
    return History(start=start, cases=made)
