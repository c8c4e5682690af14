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

    assert first["orders"] == 600 == Order.objects.count()
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

    assert (again["orders"], again["cases"], again["passwords"]) == (600, first["cases"], {})
    assert again["audit"] == first["audit"]
    assert (DailyAudit.objects.count(), ServiceReport.objects.count()) == (1, 1)
    assert NotificationChannel.objects.filter(kind="inbox").count() == 1
