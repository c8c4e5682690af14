"""D4/B5: the daily draw: size by plan, reproducible from its seed, once per warehouse and day,
weighted by risk with its reasons, and the proposal of each checklist item."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderguard.audits.errors import AuditRefused
from orderguard.audits.models import AuditLine, AuditPlan, DailyAudit
from orderguard.audits.services import audit_draw, audit_plan_set, audits_draw_daily, risk_of
from orderguard.audits.tests.factories import audit_order
from orderguard.cases.models import ExceptionCase
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 on the 21st in Shanghai
PAID = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 on the 20th in Shanghai


def _orders(channel, n, start=0):  # type: ignore[no-untyped-def]
    return [audit_order(channel, paid_at=PAID + timedelta(minutes=start + i)) for i in range(n)]


def _plan(channel, **kw):  # type: ignore[no-untyped-def]
    values = {"share_percent": Decimal("10"), "min_count": 3, "max_count": 50, "risk_weighting": False}
    values.update(kw)
    return AuditPlan.objects.create(warehouse=channel.warehouse, **values)


def test_the_sample_size_follows_the_plan_and_the_same_seed_draws_the_same_orders():
    channel = ChannelFactory()
    _orders(channel, 40)
    _plan(channel)

    first = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=42).audit
    drawn = list(first.lines.order_by("rank").values_list("order_id", flat=True))
    # the same orders and seed in another database row: the same sample, in the same order
    DailyAudit.objects.filter(pk=first.pk).delete()
    second = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=42).audit
    other = audit_draw(warehouse_id=channel.warehouse_id, day=DAY - timedelta(days=0), now=NOW, seed=42).audit

    assert (first.population, first.planned, first.drawn, first.seed) == (40, 4, 4, 42)
    assert list(second.lines.order_by("rank").values_list("order_id", flat=True)) == drawn
    assert other.pk == second.pk  # a second draw of the day is the first one
    assert len(set(drawn)) == 4


def test_another_seed_draws_another_sample():
    channel = ChannelFactory()
    _orders(channel, 40)
    _plan(channel)
    a = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=1).audit
    ids_a = set(a.lines.values_list("order_id", flat=True))
    DailyAudit.objects.filter(pk=a.pk).delete()
    b = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=2).audit

    assert ids_a != set(b.lines.values_list("order_id", flat=True))


def test_the_daily_job_draws_once_per_warehouse_and_day_and_a_second_run_changes_nothing():
    channel = ChannelFactory()
    _orders(channel, 5)
    _plan(channel, min_count=2)

    first = audits_draw_daily(now=NOW)
    lines = list(AuditLine.objects.order_by("pk").values_list("pk", "order_id", "rank"))
    again = audits_draw_daily(now=NOW)

    assert [(r.created, r.audit.day, r.audit.drawn) for r in first] == [(True, DAY, 2)]
    assert [(r.created, r.audit.pk) for r in again] == [(False, first[0].audit.pk)]
    assert list(AuditLine.objects.order_by("pk").values_list("pk", "order_id", "rank")) == lines
    assert DailyAudit.objects.count() == 1


def test_a_day_without_orders_is_recorded_with_nothing_drawn():
    channel = ChannelFactory()
    _plan(channel)

    result = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=5)

    assert (result.created, result.audit.population, result.audit.planned, result.audit.drawn) == (
        True,
        0,
        0,
        0,
    )
    assert AuditLine.objects.count() == 0


def test_a_future_day_is_refused_and_nothing_is_recorded():
    channel = ChannelFactory()
    with pytest.raises(AuditRefused) as refused:
        audit_draw(warehouse_id=channel.warehouse_id, day=date(2026, 11, 22), now=NOW)
    assert (refused.value.code, refused.value.field) == ("DAY_INVALID", "day")
    assert DailyAudit.objects.count() == 0


def test_orders_of_another_day_or_warehouse_are_not_drawn():
    channel, elsewhere = ChannelFactory(), ChannelFactory()
    mine = _orders(channel, 3)
    audit_order(channel, paid_at=PAID - timedelta(days=1))
    audit_order(elsewhere, paid_at=PAID)
    _plan(channel, share_percent=Decimal("100"))

    audit = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=3).audit

    assert sorted(audit.lines.values_list("order_id", flat=True)) == sorted(o.pk for o in mine)


def _not_shipping(channel, start):  # type: ignore[no-untyped-def]
    """A day's orders that will never be packed: two cancelled here, one closed on the platform."""
    return [
        audit_order(channel, paid_at=PAID + timedelta(minutes=start), status="cancelled"),
        audit_order(channel, paid_at=PAID + timedelta(minutes=start + 1), status="cancelled"),
        audit_order(
            channel, paid_at=PAID + timedelta(minutes=start + 2), status="not_ready", platform_state="closed"
        ),
    ]


def test_cancelled_and_platform_closed_orders_are_neither_drawn_nor_counted():
    channel = ChannelFactory()
    shipping = _orders(channel, 3)
    shipped = audit_order(channel, paid_at=PAID + timedelta(minutes=3), status="shipped")
    left_out = _not_shipping(channel, 10)
    _plan(channel, share_percent=Decimal("100"))

    audit = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=3).audit

    drawn = sorted(audit.lines.values_list("order_id", flat=True))
    assert drawn == sorted([o.pk for o in shipping] + [shipped.pk])
    assert not set(drawn) & {o.pk for o in left_out}
    assert (audit.population, audit.planned, audit.drawn) == (4, 4, 4)
    assert audit.weight_total == 4.0
    # 4 of a population of 4: each surely
    assert set(audit.lines.values_list("inclusion", flat=True)) == {1.0}


def test_the_share_and_the_inclusion_probabilities_are_of_the_shipping_orders_only():
    channel = ChannelFactory()
    _orders(channel, 40)
    _not_shipping(channel, 100)
    _plan(channel)

    first = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=42).audit
    drawn = list(first.lines.order_by("rank").values_list("order_id", "inclusion"))
    DailyAudit.objects.filter(pk=first.pk).delete()
    second = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=42).audit

    # 43 orders paid that day, 3 of them never packed: population 40, ceil(40 × 10 %) = 4
    # (counting all 43 would plan ceil(4.3) = 5), each drawn with probability 4 / 40 = 0.1
    assert (first.population, first.planned, first.drawn) == (40, 4, 4)
    assert [p for _pk, p in drawn] == [pytest.approx(0.1)] * 4
    # the same seed and the same orders: the same sample, in the same order
    assert list(second.lines.order_by("rank").values_list("order_id", "inclusion")) == drawn


def test_leaving_out_orders_that_do_not_ship_costs_no_query():
    plain, mixed = ChannelFactory(), ChannelFactory()
    _orders(plain, 3)
    _orders(mixed, 3)
    _not_shipping(mixed, 10)
    _plan(plain, share_percent=Decimal("100"), risk_weighting=True)
    _plan(mixed, share_percent=Decimal("100"), risk_weighting=True)

    with CaptureQueriesContext(connection) as without:
        a = audit_draw(warehouse_id=plain.warehouse_id, day=DAY, now=NOW, seed=1).audit
    with CaptureQueriesContext(connection) as with_closed:
        b = audit_draw(warehouse_id=mixed.warehouse_id, day=DAY, now=NOW, seed=1).audit

    assert (a.population, b.population) == (3, 3)
    assert len(with_closed.captured_queries) == len(without.captured_queries)


def test_risk_weighting_records_each_orders_weight_and_why():
    risky, calm = ChannelFactory(), None
    calm = ChannelFactory(warehouse=risky.warehouse)
    # the week before: half of the risky merchant's orders had a case, none of the calm one's
    for i in range(4):
        old = audit_order(risky, paid_at=PAID - timedelta(days=3, minutes=i))
        audit_order(calm, paid_at=PAID - timedelta(days=3, minutes=i))
        if i % 2 == 0:
            ExceptionCase.objects.create(
                merchant=old.merchant, order=old, type="T2", source="D2", opened_at=PAID - timedelta(days=3)
            )
    today_risky = audit_order(risky, paid_at=PAID)
    today_calm = audit_order(calm, paid_at=PAID + timedelta(minutes=1))
    plan = _plan(risky, risk_weighting=True, new_merchant_days=0)

    _start, end = datetime(2026, 11, 19, 16, tzinfo=UTC), datetime(2026, 11, 20, 16, tzinfo=UTC)
    risks = risk_of([today_risky, today_calm], plan=plan, until=end)

    # merchant 2/5 orders with a case, channel 2/5, SKU 2/5 (the calm merchant's MUG-1 is its
    # own), area 2/10 (both ship to 浙江省 杭州市); weights 2, 1, 2, 2
    assert risks[today_risky.pk].reasons == {"merchant": 0.4, "sku": 0.4, "channel": 0.4, "area": 0.2}
    assert risks[today_risky.pk].weight == pytest.approx(1 + 2 * 0.4 + 2 * 0.4 + 1 * 0.4 + 2 * 0.2)
    assert risks[today_calm.pk].reasons == {"area": 0.2}
    assert risks[today_calm.pk].weight == pytest.approx(1.4)

    audit = audit_draw(warehouse_id=risky.warehouse_id, day=DAY, now=NOW, seed=9).audit
    lines = {line.order_id: line for line in audit.lines.all()}
    assert audit.weighted is True
    assert audit.weight_total == pytest.approx(risks[today_risky.pk].weight + 1.4)
    # min_count 3 of 2 orders: both drawn, each surely (inclusion 1)
    assert {pk: (round(line.weight, 4), line.inclusion) for pk, line in lines.items()} == {
        today_risky.pk: (round(risks[today_risky.pk].weight, 4), 1.0),
        today_calm.pk: (1.4, 1.0),
    }
    assert lines[today_risky.pk].reasons == {"merchant": 0.4, "sku": 0.4, "channel": 0.4, "area": 0.2}


def test_a_new_merchant_counts_as_a_risk():
    channel = ChannelFactory()
    order = audit_order(channel, paid_at=PAID)
    plan = _plan(channel, risk_weighting=True, new_merchant_days=30)

    risks = risk_of([order], plan=plan, until=datetime(2026, 11, 20, 16, tzinfo=UTC))

    assert risks[order.pk].reasons == {"new_merchant": 1.0}
    assert risks[order.pk].weight == 2.0


def test_the_proposal_fails_the_address_of_a_vague_order_and_passes_a_tidy_one():
    channel = ChannelFactory()
    tidy = audit_order(channel, paid_at=PAID)
    vague = audit_order(channel, paid_at=PAID + timedelta(minutes=1), vague=True)
    _plan(channel, share_percent=Decimal("100"))

    audit = audit_draw(warehouse_id=channel.warehouse_id, day=DAY, now=NOW, seed=1).audit
    proposals = {line.order_id: line.proposal for line in audit.lines.all()}

    assert {item: p["result"] for item, p in proposals[tidy.pk].items()} == {
        "address": "pass",
        "recipient": "pass",
        "items": "pass",
    }
    assert proposals[vague.pk]["address"] == {
        "result": "fail",
        "codes": ["ADDRESS_NO_ROAD_OR_NUMBER"],
        "warnings": [],
    }


def test_a_share_outside_0_to_100_percent_is_refused_and_the_plan_stays():
    channel = ChannelFactory()
    plan = _plan(channel)
    manager = actor_for(user_with_role("manager"))

    for share in ("101", "-1", "abc"):
        with pytest.raises(AuditRefused) as refused:
            audit_plan_set(
                actor=manager,
                warehouse_id=channel.warehouse_id,
                share_percent=share,
                min_count=1,
                max_count=10,
                risk_weighting=True,
            )
        assert (refused.value.code, refused.value.field) == ("SHARE_INVALID", "share_percent")
    with pytest.raises(AuditRefused) as refused:
        audit_plan_set(
            actor=actor_for(user_with_role("operator")),
            warehouse_id=channel.warehouse_id,
            share_percent="5",
            min_count=1,
            max_count=10,
            risk_weighting=True,
        )
    assert refused.value.code == "ROLE"
    plan.refresh_from_db()
    assert (plan.share_percent, plan.min_count, plan.max_count) == (Decimal("10.00"), 3, 50)

    saved = audit_plan_set(
        actor=manager,
        warehouse_id=channel.warehouse_id,
        share_percent="2.5",
        min_count=5,
        max_count=20,
        risk_weighting=False,
        weights={"sku": 4},
    )
    assert (saved.share_percent, saved.min_count, saved.max_count, saved.weights["sku"]) == (
        Decimal("2.50"),
        5,
        20,
        4.0,
    )
