"""A small hand-made history whose every report figure is worked out by hand in
`test_report.py` (S3). Times are Beijing time; the period is the week of Monday 2026-11-16.

| case | merchant/channel | province | type, SKU | opened        | closed                     | assignee |
|------|------------------|----------|-----------|---------------|----------------------------|----------|
| c1   | hand-a / tmall   | 浙江省   | T2        | Mon 16 10:00  | Mon 11:00 succeeded        | ann      |
| c2   | hand-a / tmall   | 浙江省   | T2        | Mon 16 10:00  | Mon 12:30 failed (overdue) | ann      |
| c3   | hand-a / jd      | 广东省   | T1 SKU-X  | Mon 16 10:00  | Tue 17 10:00 succeeded     | bob      |
| c4   | hand-b / douyin  | 广东省   | T1 SKU-X  | Tue 17 10:00  | Tue 10:30 cancelled        | -        |
| c5   | hand-b / douyin  | 上海市   | T2        | Wed 18 10:00  | open                       | -        |
| p1   | hand-a / tmall   | 浙江省   | T2        | Mon 9 10:00   | open (the week before)     | -        |
| p2   | hand-b / douyin  | 上海市   | T2        | Tue 10 10:00  | open (the week before)     | -        |

c2 is flagged overdue by the deadline scan at 12:01 (its 2 working hours ended at 12:00). c3's
merchant is told of the stock-out at Mon 10:20 (its first step, tell the merchant within 1
working hour, ends in time); the merchant's decision is then its step (4 working hours, due Mon
14:20) until it closes on Tuesday, after that deadline.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from orderguard.analysis.rollup import rollup_rebuild
from orderguard.analysis.tests.factories import finding
from orderguard.cases import events
from orderguard.cases.machine import ActionName
from orderguard.cases.models import ExceptionCase
from orderguard.cases.notices import stockout_notices_enqueue
from orderguard.cases.services import OrderFindings, case_assign, case_transition, cases_triage
from orderguard.core import bulk
from orderguard.orders.choices import Platform
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.sla.services import PolicyBook
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role

BJ = ZoneInfo("Asia/Shanghai")
A = ActionName


def bj(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BJ)


def make_history() -> dict[str, ExceptionCase]:
    a, b = MerchantFactory(code="hand-a", name="甲商家"), MerchantFactory(code="hand-b", name="乙商家")
    tmall = ChannelFactory(merchant=a, code="a-tmall", name="甲天猫", platform=Platform.TAOBAO)
    jd = ChannelFactory(merchant=a, code="a-jd", name="甲京东", platform=Platform.JD)
    dy = ChannelFactory(merchant=b, code="b-dy", name="乙抖音", platform=Platform.DOUYIN)
    ann = actor_for(user_with_role("cs_agent", username="ann"))
    bob = actor_for(user_with_role("operator", username="bob"))
    book = PolicyBook()

    def open_case(channel, province: str, code: str, at: datetime) -> ExceptionCase:  # type: ignore[no-untyped-def]
        order = OrderFactory(channel=channel, province=province)
        f = finding(code, sku="SKU-X")
        cases_triage(
            items=[OrderFindings(order=order, findings=[f])], now=at, actor_label="system:test", policies=book
        )
        return ExceptionCase.objects.get(order=order)

    def close(case: ExceptionCase, who, at: datetime, action: ActionName, outcome: str | None = None) -> None:  # type: ignore[no-untyped-def]
        case_transition(case_id=case.pk, action=A.START, actor=who, now=at)
        case_transition(case_id=case.pk, action=action, actor=who, now=at, outcome=outcome, note="处理完毕")

    cases = {
        "p1": open_case(tmall, "浙江省", "T2", bj(9, 10)),
        "p2": open_case(dy, "上海市", "T2", bj(10, 10)),
        "c1": open_case(tmall, "浙江省", "T2", bj(16, 10)),
        "c2": open_case(tmall, "浙江省", "T2", bj(16, 10)),
        "c3": open_case(jd, "广东省", "T1", bj(16, 10)),
        "c4": open_case(dy, "广东省", "T1", bj(17, 10)),
        "c5": open_case(dy, "上海市", "T2", bj(18, 10)),
    }
    case_assign(case_id=cases["c1"].pk, assignee_id=ann.user_id, actor=ann, now=bj(16, 10, 5))
    case_assign(case_id=cases["c2"].pk, assignee_id=ann.user_id, actor=ann, now=bj(16, 10, 5))
    case_assign(case_id=cases["c3"].pk, assignee_id=bob.user_id, actor=bob, now=bj(16, 10, 5))
    stockout_notices_enqueue(
        cases=[ExceptionCase.objects.select_related("order").get(pk=cases["c3"].pk)],
        warehouse_id=jd.warehouse_id,
        now=bj(16, 10, 20),
        actor_label="system:test",
    )
    close(cases["c1"], ann, bj(16, 11), A.RESOLVE, "succeeded")
    c2 = ExceptionCase.objects.get(pk=cases["c2"].pk)
    bulk.insert([events.sla_alerted(c2, at=bj(16, 12, 1), level=2, recipients=["ann"], due_at=c2.due_at)])
    close(cases["c2"], ann, bj(16, 12, 30), A.RESOLVE, "failed")
    close(cases["c3"], bob, bj(17, 10), A.RESOLVE, "succeeded")
    close(cases["c4"], bob, bj(17, 10, 30), A.CANCEL)
    rollup_rebuild()
    return cases
