"""Patterns and advice (S3, B5): recurring stock-outs with the safety-stock formula and its
inputs, channels whose faults recur with their outage minutes, areas and merchants with many
address errors; ranked by the orders affected."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderguard.analysis.advice import findings_build, safety_stock
from orderguard.analysis.periods import Period
from orderguard.analysis.rollup import rollup_rebuild
from orderguard.analysis.selectors import Scope
from orderguard.analysis.tests.factories import finding
from orderguard.cases.machine import ActionName
from orderguard.cases.models import ExceptionCase
from orderguard.cases.services import OrderFindings, case_transition, cases_triage
from orderguard.catalog.tests.factories import SkuFactory
from orderguard.inventory.models import StockLevel
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory, OrderLineFactory
from orderguard.sla.services import PolicyBook
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")
WEEK = Period(first=date(2026, 11, 16), last=date(2026, 11, 22))


def bj(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BJ)


def test_the_safety_stock_formula_and_its_inputs():
    # d = 4, 0, 6, 2, 0, 0, 0: mean 12/7, population std-dev 2.2497; z(0.95) = 1.6449; L = 7:
    # 1.6449 * 2.2497 * sqrt(7) + 1.7143 * 7 = 9.790 + 12.000 = 21.79 -> 22
    got = safety_stock(daily=[4, 0, 6, 2, 0, 0, 0], lead_days=7, service_level=0.95)

    assert got == {
        "z": 1.645,
        "service_level": 0.95,
        "demand_mean": 1.71,
        "demand_std": 2.25,
        "lead_days": 7,
        "days": 7,
        "suggested": 22,
    }
    assert safety_stock(daily=[3] * 7, lead_days=5, service_level=0.95)["suggested"] == 15


def _history() -> None:
    shop = MerchantFactory(code="adv-a")
    other = MerchantFactory(code="adv-b")
    tmall = ChannelFactory(merchant=shop, code="adv-tmall")
    jd = ChannelFactory(merchant=other, code="adv-jd")
    sku = SkuFactory(merchant=shop, code="SKU-R")
    StockLevel.objects.create(merchant=shop, warehouse=tmall.warehouse, sku=sku, on_hand=0, safety_stock=5)
    agent = actor_for(user_with_role("operator", username="adv-agent"))
    book = PolicyBook()

    def case(channel, code: str, at: datetime, quantity: int = 1, province: str = "浙江省") -> ExceptionCase:  # type: ignore[no-untyped-def]
        order = OrderFactory(channel=channel, paid_at=at, province=province)
        OrderLineFactory(order=order, sku=None, sku_code="SKU-R", quantity=quantity)
        cases_triage(
            items=[OrderFindings(order=order, findings=[finding(code, sku="SKU-R")])],
            now=at,
            actor_label="system:test",
            policies=book,
        )
        return ExceptionCase.objects.get(order=order, type=code)

    # SKU-R short on Monday (4 ordered over two orders), Wednesday (6) and Thursday (2)
    case(tmall, "T1", bj(16, 10), 3)
    case(tmall, "T1", bj(16, 11), 1)
    case(tmall, "T1", bj(18, 10), 6)
    case(tmall, "T1", bj(19, 10), 2)
    # the other merchant's channel fails on two days: open 30 and 90 minutes
    for day, minutes in ((17, 30), (20, 90)):
        fault = case(jd, "T4", bj(day, 10))
        case_transition(case_id=fault.pk, action=ActionName.START, actor=agent, now=bj(day, 10))
        case_transition(
            case_id=fault.pk,
            action=ActionName.RESOLVE,
            actor=agent,
            now=bj(day, 10) + timedelta(minutes=minutes),
            outcome="succeeded",
            note="恢复",
        )
    # three address errors to 浙江省 (the other merchant), one to 广东省
    for day in (16, 17, 18):
        case(jd, "T2", bj(day, 12))
    case(jd, "T2", bj(19, 12), province="广东省")
    rollup_rebuild()


def test_findings_ranked_by_the_orders_affected():
    _history()

    findings = findings_build(scope=Scope(merchant=None), period=WEEK)

    # ties (4 orders each) in the order of their kind
    assert findings == [
        {"kind": "merchant_address_errors", "subject": "adv-b", "merchant": "adv-b", "affected": 4},
        {
            "kind": "sku_stockouts",
            "subject": "SKU-R",
            "merchant": "adv-a",
            "affected": 4,
            "days": 3,
            "known_sku": True,
            "current_safety_stock": 5,
            "advice": {
                "z": 1.645,
                "service_level": 0.95,
                "demand_mean": 1.71,
                "demand_std": 2.25,
                "lead_days": 7,
                "days": 7,
                "suggested": 22,
            },
        },
        {"kind": "area_address_errors", "subject": "浙江省", "merchant": None, "affected": 3},
        {
            "kind": "channel_faults",
            "subject": "adv-jd",
            "merchant": "adv-b",
            "platform": "taobao",
            "affected": 2,
            "days": 2,
            "outage_minutes": 120,
        },
    ]


def test_a_merchants_findings_are_its_own():
    _history()
    from orderguard.tenancy.models import Merchant

    mine = findings_build(scope=Scope(merchant=Merchant.objects.get(code="adv-a")), period=WEEK)

    assert [(f["kind"], f["subject"]) for f in mine] == [("sku_stockouts", "SKU-R")]
