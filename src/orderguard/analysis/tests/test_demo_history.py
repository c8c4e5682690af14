"""The demo's month of history (S3, S4): the report, the advice and the improvement action
have something to show after the first `orderguard demo`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db.models import Sum

from orderguard.analysis.actions import action_effect
from orderguard.analysis.advice import findings_build
from orderguard.analysis.demo import FAULT_MINUTES, RECUR_CHANNEL, RECUR_SKU
from orderguard.analysis.models import ImprovementAction
from orderguard.analysis.periods import Period
from orderguard.analysis.rollup import rollup_rebuild
from orderguard.analysis.selectors import Scope, period_sums, report_build
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.incidents.models import Incident
from orderguard.intake.demo import demo_run
from orderguard.orders.models import Order, OrderLine
from orderguard.tenancy.access import actor_for

pytestmark = pytest.mark.django_db


def _month() -> tuple[ImprovementAction, Period]:
    action = ImprovementAction.objects.get()
    day = action.started_on + timedelta(days=15)  # the demo day
    return action, Period(first=day - timedelta(days=30), last=day - timedelta(days=1))


def test_the_demo_writes_a_month_of_history_the_analysis_reads_once(django_assert_num_queries):
    summary = demo_run(orders=40, seed=11, progress=False)
    rollup_rebuild()
    history = summary["history"]
    assert history == {
        "orders": 1067,
        "cases": 146,
        "cases_by_type": {"T1": 13, "T2": 38, "T3": 42, "T4": 12, "T5": 41},
        "incidents": 4,
        "action": ImprovementAction.objects.get().pk,
    }
    action, month = _month()
    assert (action.kind, action.subject, action.merchant.code, action.status) == (
        "sku_stockouts",
        RECUR_SKU,
        "chuju",
        "done",
    )
    # S3: every type has cases, closings, success rates and handling times in the month
    report = report_build(
        scope=Scope(merchant=None), period=month, actor=actor_for(User.objects.get(username="demo-manager"))
    )
    assert {t["type"]: (t["opened"], t["closed"]) for t in report["types"]} == {
        "T1": (13, 13),
        "T2": (38, 38),
        "T3": (42, 40),
        "T4": (12, 12),
        "T5": (41, 40),
    }
    assert all(t["success_rate"] > 0 and t["handling_mean"] > 0 for t in report["types"])
    assert {s["source"]: s["opened"] for s in report["sources"] if s["opened"]} == {
        "D1": 13,
        "D2": 80,
        "D3": 12,
        "D5": 41,
    }
    assert report["totals"]["opened"] == 146
    # S3: the time per step, stock-outs and special requests through their later steps
    timed = {(s["type"], s["step"]): s["timed"] for s in report["steps"] if s["timed"]}
    assert timed == {
        ("T1", "notify_merchant"): 13,
        ("T1", "merchant_decision"): 13,
        ("T2", "contact_buyer"): 38,
        ("T3", "confirm_with_buyer"): 40,
        ("T4", "triage"): 12,
        ("T5", "assess_feasibility"): 40,
        ("T5", "quote"): 40,
        ("T5", "buyer_confirmation"): 40,
        ("T5", "fulfil"): 40,
    }
    decision = next(s for s in report["steps"] if s["step"] == "merchant_decision")
    notify = next(s for s in report["steps"] if s["step"] == "notify_merchant")
    # the notice takes 15% of a stock-out's handling time, the decision the rest
    assert notify["handling"]["mean"] < decision["handling"]["mean"]
    assert CaseEvent.objects.filter(
        type="sla_overdue", case__order__platform_order_id__startswith="H-"
    ).exists()
    assert (
        ExceptionCase.objects.filter(
            order__platform_order_id__startswith="H-", closed_at__isnull=True
        ).count()
        == 3
    )

    # S3 advice: the recurring SKU with its safety stock, the recurring channel fault with the
    # minutes its incidents lasted, the province and merchant of the address errors
    findings = findings_build(scope=Scope(merchant=None), period=month)
    found = {(f["kind"], f["subject"]): f for f in findings}
    # with the report's sums: the merchants, stock levels, SKUs and demand behind the
    # stock-outs, the channels and their incidents, the merchants' codes
    sums = period_sums(Scope(merchant=None), month)
    with django_assert_num_queries(7):
        assert findings_build(scope=Scope(merchant=None), period=month, sums=sums) == findings
    sku = found[("sku_stockouts", RECUR_SKU)]
    assert (sku["affected"], sku["days"], sku["advice"]["days"], sku["advice"]["suggested"]) == (
        10,
        5,
        30,
        97,
    )
    fault = found[("channel_faults", RECUR_CHANNEL)]
    assert (fault["affected"], fault["days"], fault["outage_minutes"]) == (
        12,
        4,
        sum(FAULT_MINUTES) == 285 and 285,
    )
    assert found[("area_address_errors", "四川省")]["affected"] == 20
    assert found[("merchant_address_errors", "yoyo")]["affected"] == 31

    # drill-down lands on real rows: the lines name the catalogue's SKUs (but those of the
    # product errors still open, whose code the catalogue lacks), and each fault's incident
    # holds the orders of its T4 cases
    history_lines = OrderLine.objects.filter(order__platform_order_id__startswith="H-")
    unknown = history_lines.filter(sku__isnull=True)
    assert unknown.count() == 2
    assert set(unknown.values_list("order__cases__type", "order__cases__closed_at")) == {("T3", None)}
    assert set(history_lines.filter(sku_code=RECUR_SKU).values_list("sku__merchant__code", "sku__code")) == {
        ("chuju", RECUR_SKU)
    }
    t4_orders = set(
        ExceptionCase.objects.filter(type="T4", order__platform_order_id__startswith="H-").values_list(
            "order_id", flat=True
        )
    )
    assert len(t4_orders) == 12
    assert set(Incident.objects.values_list("orders", flat=True)) == t4_orders
    assert [i.orders.count() for i in Incident.objects.order_by("opened_at")] == [3, 3, 3, 3]

    # S4: the SKU ran out on 5 days before the action and never after it
    assert action_effect(action, today=month.last + timedelta(days=2)) == {
        "days": 16,
        "before": 10,
        "after": 0,
        "change": -100.0,
    }

    # a second run writes nothing more
    orders = Order.objects.count()
    assert demo_run(orders=40, seed=11, progress=False)["history"] is None
    assert (Order.objects.count(), ImprovementAction.objects.count(), Incident.objects.count()) == (
        orders,
        1,
        4,
    )


def test_outage_minutes_come_from_the_incidents_else_from_the_fault_cases():
    demo_run(orders=40, seed=11, progress=False)
    rollup_rebuild()
    _action, month = _month()

    def minutes() -> int:
        [fault] = [
            f
            for f in findings_build(scope=Scope(merchant=None), period=month)
            if f["kind"] == "channel_faults"
        ]
        return fault["outage_minutes"]

    assert minutes() == 285  # 45 + 90 + 30 + 120, opened -> resolved of the 4 incidents
    Incident.objects.all().delete()
    by_cases = ExceptionCase.objects.filter(type="T4", order__channel__code=RECUR_CHANNEL).aggregate(
        s=Sum("handling_seconds")
    )["s"]
    assert minutes() == round(by_cases / 60) != 285


def test_the_historys_open_cases_are_about_a_problem_their_order_still_has():
    """A case the month leaves open reads as a real one on its page: its order waits with the
    finding the case names, the finding's words have their data, and an overdue alert names
    whom it reminded."""
    from orderguard.catalog.models import Sku
    from orderguard.core.findings import Finding
    from orderguard.validation.checks import explain

    demo_run(orders=40, seed=11, progress=False)
    still_open = list(
        ExceptionCase.objects.filter(order__platform_order_id__startswith="H-", closed_at__isnull=True)
        .select_related("order")
        .order_by("pk")
    )
    assert still_open, "the month leaves some cases open"
    for case in still_open:
        order = case.order
        assert order.status == "on_hold"
        assert order.findings == case.findings
        [finding] = case.findings
        text = explain(Finding.from_dict(finding))
        assert "—" not in text and "%(" not in text, text
        if case.type == "T5":
            assert finding["data"]["keyword"] in order.buyer_note
        if case.type == "T3":
            [line] = order.lines.all()
            assert line.sku_code == finding["data"]["sku"] and line.sku_id is None
            assert not Sku.objects.filter(merchant_id=order.merchant_id, code=line.sku_code).exists()
        if case.type == "T2":
            assert order.address_detail == "小区门口"
    alerts = CaseEvent.objects.filter(type="sla_overdue", case__order__platform_order_id__startswith="H-")
    assert alerts.exists()
    assert all(e.data["recipients"] for e in alerts)
