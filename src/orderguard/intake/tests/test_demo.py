"""`orderguard demo`: a working warehouse with every kind of problem, made once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from orderguard.cases.models import CaseEvent
from orderguard.intake.demo import demo_run
from orderguard.inventory.models import StockMovement
from orderguard.inventory.selectors import stock_ledger_mismatches
from orderguard.orders.models import Order
from orderguard.tenancy.access import actor_for

pytestmark = pytest.mark.django_db


def test_the_demo_makes_orders_with_each_kind_of_problem_and_its_users_once():
    first = demo_run(orders=600, seed=7, progress=False)

    # the day's 600 orders, the stock-out story's 6 and the month of history's (S3)
    assert first["orders"] == 606 + first["history"]["orders"] == Order.objects.count()
    assert {t: n > 0 for t, n in first["cases_by_type"].items()} == {
        "T1": True,
        "T2": True,
        "T3": True,
        "T4": False,
        "T5": True,
    }
    assert sorted(first["passwords"]) == ["demo-admin", "demo-agent", "demo-manager", "demo-yoyo"]
    shop = User.objects.get(username="demo-yoyo")
    assert shop.check_password(first["passwords"]["demo-yoyo"])
    assert actor_for(shop).merchant_id is not None
    assert [
        (u.username, u.is_staff, [g.name for g in u.groups.all()])
        for u in User.objects.filter(username__startswith="demo-").order_by("username")
    ] == [
        ("demo-admin", True, ["admin"]),
        ("demo-agent", True, ["cs_agent"]),
        ("demo-manager", True, ["manager"]),
        ("demo-yoyo", False, []),
    ]

    # the agent's overdue cases escalate to the manager; reminders ring the bell
    from orderguard.notifications.models import NotificationChannel
    from orderguard.tenancy.models import Membership

    assert Membership.objects.get(user__username="demo-agent").lead.username == "demo-manager"
    # the manager has an email: the scheduled reports reach it (S3)
    assert User.objects.get(username="demo-manager").email == "manager@warehouse.example"
    assert NotificationChannel.objects.filter(kind="inbox", enabled=True).count() == 1

    # a receipt of a short SKU served the earliest waiting orders and closed their cases
    [receipt] = StockMovement.objects.filter(type="receipt", reason="PO-DEMO-1")
    assert receipt.quantity == 1
    served = CaseEvent.objects.filter(type="resolved", data__reason="stock_arrived").count()
    assert served == 1
    assert stock_ledger_mismatches() == []

    # D4: the demo day's sample, its first 12 lines checked, some failed and linked to cases
    from orderguard.audits.models import AuditLine, DailyAudit
    from orderguard.audits.services import day_bounds
    from orderguard.feedback.models import ServiceReport

    [audit] = DailyAudit.objects.all()
    start, end = day_bounds(audit.day)
    paid_that_day = Order.objects.filter(paid_at__gte=start, paid_at__lt=end).count()
    assert (audit.population, audit.weighted, audit.drawn_by_label) == (paid_that_day, True, "system:demo")
    assert paid_that_day > 500
    assert first["audit"]["drawn"] == audit.drawn == -(-paid_that_day * 5 // 100)  # 5 %, rounded up
    assert first["audit"]["checked"] == 12
    assert first["audit"]["failed"] > 0
    failed = AuditLine.objects.filter(status="failed")
    assert all(line.cases.exists() for line in failed)
    assert set(CaseEvent.objects.filter(type="audited").values_list("case__source", flat=True)) <= {
        "D2",
        "D4",
    }
    # D5: the agent's report on a special request opened or joined a T5 case
    [report] = ServiceReport.objects.all()
    assert (report.kind, report.special_kind, report.case.type, report.reporter_label) == (
        "special",
        "gift_packing",
        "T5",
        "user:demo-agent",
    )
    assert CaseEvent.objects.filter(case=report.case, type="reported").count() == 1

    again = demo_run(orders=600, seed=7, progress=False)

    assert (again["orders"], again["cases"], again["passwords"]) == (first["orders"], first["cases"], {})
    assert again["history"] is None
    assert again["stockout_story"] is None
    assert again["audit"] == first["audit"]
    assert (DailyAudit.objects.count(), ServiceReport.objects.count()) == (1, 1)
    assert NotificationChannel.objects.filter(kind="inbox").count() == 1


def test_the_demo_tells_the_stock_out_story_from_short_to_shipped(client):
    """T1, D1, H1, B4 end to end: a SKU goes short for a demo merchant, the merchant gets one
    message listing it and its orders, decides a transfer, the transfer arrives, the orders are
    allocated in payment order and ship, their cases close with the reason."""
    from orderguard.cases.models import ExceptionCase
    from orderguard.intake.demo import STORY_ORDERS, STORY_SKU
    from orderguard.inventory.models import StockDecision, StockLevel, Transfer
    from orderguard.notifications.models import OutboxMessage

    summary = demo_run(orders=40, seed=11, progress=False)

    story = summary["stockout_story"]
    orders = Order.objects.filter(lines__sku__code=STORY_SKU.code).distinct().order_by("paid_at", "pk")
    assert orders.count() == STORY_ORDERS == story["orders"] == 6
    # one message to the merchant naming the SKU and every one of its orders
    [notice] = [
        m
        for m in OutboxMessage.objects.filter(topic="stockout_notice", merchant__code="yoyo")
        if any(s["sku"] == STORY_SKU.code for s in m.context["skus"])
    ]
    assert notice.recipient == "ops@yoyo.example"
    assert notice.context["skus"] == [
        {
            "sku": "YY-CAP-BK",
            "orders": 6,
            "order_ids": sorted(o.platform_order_id for o in orders),
            "available": 0,
            "on_hand": 0,
            "safety_stock": 10,
            "eta": None,
        }
    ]
    assert story["notices"] == 1
    # the merchant's decision: a transfer of what the orders lack, from NB02
    decision = StockDecision.objects.get(sku__code=STORY_SKU.code)
    wanted = sum(line.quantity for o in orders for line in o.lines.all())
    assert (decision.kind, decision.from_warehouse.code, decision.quantity, decision.decided_by_label) == (
        "transfer",
        "NB02",
        wanted,
        "user:demo-yoyo",
    )
    transfer = Transfer.objects.get(decision=decision)
    assert (transfer.status, transfer.quantity, transfer.closed_by_label) == (
        "arrived",
        wanted,
        "user:demo-manager",
    )
    assert story["transfer"] == {"id": transfer.pk, "from": "NB02", "quantity": wanted, "status": "arrived"}
    # allocated in payment order when it arrived, then shipped: the stock left the warehouse
    allocations = StockMovement.objects.filter(type="allocation", sku__code=STORY_SKU.code).order_by("pk")
    assert [m.order_id for m in allocations] == [o.pk for o in orders]
    assert {o.status for o in orders} == {"shipped"}
    assert (story["allocated"], story["shipped"], story["dispatched_units"]) == (6, 6, wanted)
    assert [
        (lv.warehouse.code, lv.on_hand, lv.allocated)
        for lv in StockLevel.objects.filter(sku__code=STORY_SKU.code).order_by("warehouse__code")
    ] == [("HZ01", 0, 0), ("NB02", 40 - wanted, 0)]
    # every case closed with its reason, and its timeline tells the story
    cases = ExceptionCase.objects.filter(order__in=orders, type="T1")
    assert list(cases.values_list("status", "resolution").distinct()) == [("resolved", "transfer_arrived")]
    assert cases.count() == 6
    assert story["cases_resolved"] == {"transfer_arrived": 6}
    first = cases.get(order=orders[0])
    assert [e.type for e in first.events.order_by("pk")] == [
        "opened",
        "notified",
        "step_started",
        "decided",
        "stock_moved",
        "step_started",
        "stock_moved",
        "resolved",
    ]
    assert [e.data["step"] for e in first.events.filter(type="step_started").order_by("pk")] == [
        "merchant_decision",
        "in_transit",
    ]
    assert stock_ledger_mismatches() == []
    # the merchant reads the case page in words, not in the services' reason codes
    client.force_login(User.objects.get(username="demo-yoyo"))
    page = client.get(f"/cases/{first.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<dd class="col-sm-9" id="case-resolution">调拨已到货</dd>' in page
    assert "transfer_arrived" not in page and "shipped_on_platform" not in page
    assert "平台已发货" in page
