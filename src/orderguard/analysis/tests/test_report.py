"""Every figure of the report (S3) against the hand-made history of `handmade.py`, worked out
by hand: shares and trends, handling times in clock and working time, success rates, deadline
compliance per step, and the breakdowns."""

from __future__ import annotations

from datetime import date

import pytest

from orderguard.analysis.periods import Period
from orderguard.analysis.selectors import ReportRefused, report_build, report_scope
from orderguard.analysis.tests.handmade import make_history
from orderguard.core.errors import NotFound
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.models import Merchant
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
WEEK = Period(first=date(2026, 11, 16), last=date(2026, 11, 22))


@pytest.fixture
def manager():  # type: ignore[no-untyped-def]
    return actor_for(user_with_role("manager", username="boss"))


def _report(actor, code: str = ""):  # type: ignore[no-untyped-def]
    return report_build(scope=report_scope(actor=actor, merchant_code=code), period=WEEK, actor=actor)


def _pick(rows, *fields):  # type: ignore[no-untyped-def]
    return [tuple(r[f] for f in fields) for r in rows]


def test_warehouse_report_totals_shares_and_trend_against_the_week_before(manager):
    make_history()

    report = _report(manager)

    assert report["period"] == {"from": "2026-11-16", "to": "2026-11-22", "days": 7}
    assert report["previous"] == {"from": "2026-11-09", "to": "2026-11-15", "days": 7}
    assert report["merchant"] is None
    # 5 opened (c1..c5) against 2 (p1, p2); 4 closed: 2 succeeded, 1 failed, 1 cancelled
    assert report["totals"] == {
        "opened": 5,
        "closed": 4,
        "succeeded": 2,
        "failed": 1,
        "cancelled": 1,
        "success_rate": 50.0,
        "handling_mean": (3600 + 9000 + 86400 + 1800) // 4,
        "reopened": 0,
        "previous_opened": 2,
        "change": 150.0,
    }
    assert _pick(
        report["types"], "type", "opened", "share", "previous_opened", "previous_share", "change"
    ) == [
        ("T1", 2, 40.0, 0, 0.0, None),
        ("T2", 3, 60.0, 2, 100.0, 50.0),
        ("T3", 0, 0.0, 0, 0.0, None),
        ("T4", 0, 0.0, 0, 0.0, None),
        ("T5", 0, 0.0, 0, 0.0, None),
    ]
    assert [
        (s["source"], s["opened"], s["share"], s["previous_opened"], s["change"]) for s in report["sources"]
    ] == [
        ("D1", 2, 40.0, 0, None),
        ("D2", 3, 60.0, 2, 50.0),
        ("D3", 0, 0.0, 0, None),
        ("D4", 0, 0.0, 0, None),
        ("D5", 0, 0.0, 0, None),
        ("manual", 0, 0.0, 0, None),
    ]
    assert report["trend"]["days"][0] == "2026-11-16" and len(report["trend"]["days"]) == 7
    assert report["trend"]["series"]["T1"] == [1, 1, 0, 0, 0, 0, 0]
    assert report["trend"]["series"]["T2"] == [2, 0, 1, 0, 0, 0, 0]
    assert report["trend"]["previous_total"] == [1, 1, 0, 0, 0, 0, 0]


def test_handling_times_in_clock_and_working_time_and_success_rates_per_type(manager):
    make_history()

    types = {t["type"]: t for t in _report(manager)["types"]}

    # T2: c1 1 h (succeeded), c2 2.5 h (failed), both inside working hours
    t2 = types["T2"]
    assert _pick([t2], "closed", "succeeded", "failed", "cancelled", "success_rate") == [(2, 1, 1, 0, 50.0)]
    # the median is the first of two (nearest rank), the 90th percentile the second, each the
    # middle of its log-scale bucket: 3600 s in [3230, 3840) -> 3521; 9000 s in [7680, 9133) -> 8375
    assert t2["handling"] == {"mean": 6300, "median": 3521, "p90": 8375}
    assert t2["working"] == {"mean": 6300, "median": 3521, "p90": 8375}
    # T1: c3 Monday 10:00 to Tuesday 10:00 (24 h; working time 8 h on Monday + 1 h on Tuesday),
    # c4 30 min cancelled
    t1 = types["T1"]
    assert _pick([t1], "closed", "succeeded", "failed", "cancelled", "success_rate") == [(2, 1, 0, 1, 50.0)]
    assert t1["handling"] == {"mean": (86400 + 1800) // 2, "median": 1761, "p90": 79678}
    assert t1["working"] == {"mean": (32400 + 1800) // 2, "median": 1761, "p90": 33500}
    assert types["T3"]["handling"] == {"mean": None, "median": None, "p90": None}
    assert types["T3"]["success_rate"] is None


def test_deadline_compliance_per_step(manager):
    make_history()

    steps = _report(manager)["steps"]

    # a type's steps in the order a case meets them: T1 notify_merchant: c3 told in 20 min, c4
    # closed in 30 min; T1 merchant_decision: c3's, due Mon 14:20, closed on Tuesday;
    # T2 contact_buyer: c2 flagged overdue by the scan, c1 in time
    assert _pick(steps, "type", "step", "closed", "on_time", "late", "on_time_share", "overdue_alerts") == [
        ("T1", "notify_merchant", 2, 2, 0, 100.0, 0),
        ("T1", "merchant_decision", 1, 0, 1, 0.0, 0),
        ("T2", "contact_buyer", 2, 1, 1, 50.0, 1),
    ]


def test_time_per_step_in_clock_and_working_time(manager):
    make_history()

    report = _report(manager)
    steps = {(s["type"], s["step"]): s for s in report["steps"]}

    # notify_merchant: c3 Mon 10:00-10:20 (1200 s), c4 Tue 10:00-10:30 (1800 s), all in working
    # hours; median the first (1200 s in bucket [1142, 1358) -> 1245), 90th percentile the
    # second (1800 s in [1615, 1920) -> 1761)
    notify = steps[("T1", "notify_merchant")]
    assert notify["timed"] == 2
    assert notify["handling"] == {"mean": 1500, "median": 1245, "p90": 1761}
    assert notify["working"] == {"mean": 1500, "median": 1245, "p90": 1761}
    # merchant_decision: c3 Mon 10:20 to Tue 10:00, 85200 s of clock time ([73065, 86889) ->
    # 79678); working time Mon 10:20-18:00 and Tue 09:00-10:00, 31200 s ([30720, 36532) -> 33500)
    decision = steps[("T1", "merchant_decision")]
    assert decision["timed"] == 1
    assert decision["handling"] == {"mean": 85200, "median": 79678, "p90": 79678}
    assert decision["working"] == {"mean": 31200, "median": 33500, "p90": 33500}
    # contact_buyer: c1 and c2 spent their whole handling time in their one step
    contact = steps[("T2", "contact_buyer")]
    assert contact["timed"] == 2
    assert contact["handling"] == {"mean": 6300, "median": 3521, "p90": 8375}
    assert contact["working"] == contact["handling"]
    # a case's steps add up to its handling time: T1's steps to c3's 24 h and c4's 30 min
    t1 = next(t for t in report["types"] if t["type"] == "T1")
    assert sum(s["handling"]["mean"] * s["timed"] for k, s in steps.items() if k[0] == "T1") == (
        t1["handling"]["mean"] * t1["closed"]
    )


def test_breakdowns_by_merchant_platform_channel_sku_province_and_person(manager):
    make_history()

    b = _report(manager)["breakdowns"]

    fields = ("key", "opened", "closed", "succeeded", "success_rate", "handling_mean")
    assert _pick(b["merchant"], *fields) == [
        ("hand-a", 3, 3, 2, 66.7, (3600 + 9000 + 86400) // 3),
        ("hand-b", 2, 1, 0, 0.0, 1800),
    ]
    assert _pick(b["channel"], "key", "platform", "opened", "closed", "success_rate", "handling_mean") == [
        ("a-tmall", "taobao", 2, 2, 50.0, 6300),
        ("b-dy", "douyin", 2, 1, 0.0, 1800),
        ("a-jd", "jd", 1, 1, 100.0, 86400),
    ]
    assert _pick(b["platform"], "key", "opened", "closed") == [
        ("taobao", 2, 2),
        ("douyin", 2, 1),
        ("jd", 1, 1),
    ]
    assert _pick(b["sku"], *fields) == [("SKU-X", 2, 2, 1, 50.0, 44100)]
    assert _pick(b["province"], *fields) == [
        ("广东省", 2, 2, 1, 50.0, 44100),
        ("浙江省", 2, 2, 1, 50.0, 6300),
        ("上海市", 1, 0, 0, None, None),
    ]
    assert _pick(b["person"], *fields) == [
        ("ann", 2, 2, 1, 50.0, 6300),
        ("", 2, 1, 0, 0.0, 1800),
        ("bob", 1, 1, 1, 100.0, 86400),
    ]


def test_a_merchant_user_gets_its_own_report_and_is_refused_another_merchants(manager):
    make_history()
    shop = actor_for(
        user_with_role("merchant", merchant=Merchant.objects.get(code="hand-b"), username="shop-b")
    )

    own = _report(shop)
    also_own = _report(shop, "hand-b")

    assert own["merchant"] == {"code": "hand-b", "name": "乙商家"} == also_own["merchant"]
    assert _pick([own["totals"]], "opened", "closed", "cancelled", "previous_opened") == [(2, 1, 1, 1)]
    assert own["breakdowns"]["merchant"] == [] and own["breakdowns"]["person"] == []
    with pytest.raises(ReportRefused) as refused:
        report_scope(actor=shop, merchant_code="hand-a")
    assert refused.value.data == {"merchant": "hand-a"}
    with pytest.raises(NotFound):
        report_scope(actor=manager, merchant_code="nobody")
    staff_view = _report(manager, "hand-a")
    assert _pick([staff_view["totals"]], "opened", "closed", "succeeded", "failed") == [(3, 3, 2, 1)]
