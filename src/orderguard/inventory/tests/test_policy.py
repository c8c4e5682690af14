"""Allocation rules (T1, B4): payment order with a per-merchant priority for expedited and VIP
orders; hold the whole short order or ship what is there and back-order the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderguard.catalog.tests.factories import SkuFactory
from orderguard.inventory.models import AllocationPolicy, StockLevel
from orderguard.inventory.services import (
    AllocationRequest,
    PlanLine,
    PlanOrder,
    allocation_plan,
    stock_allocate,
)
from orderguard.inventory.tests.factories import StockLevelFactory
from orderguard.orders.tests.factories import OrderFactory, OrderLineFactory

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _request(channel, sku, qty, minutes, **order):  # type: ignore[no-untyped-def]
    o = OrderFactory(channel=channel, paid_at=T0 + timedelta(minutes=minutes), **order)
    line = OrderLineFactory(order=o, line_no=1, sku=sku, quantity=qty)
    return AllocationRequest(order=o, lines=[line], warehouse_id=channel.warehouse_id)


@pytest.mark.django_db
def test_expedited_and_vip_orders_go_first_when_the_merchant_says_so(channel, now):
    AllocationPolicy.objects.create(merchant=channel.merchant, expedited_first=True, vip_first=True)
    sku = SkuFactory(merchant=channel.merchant)
    StockLevelFactory(sku=sku, warehouse=channel.warehouse, on_hand=2)
    early = _request(channel, sku, 1, 0)
    express = _request(channel, sku, 1, 30, service_level="express")
    vip = _request(channel, sku, 1, 40, extra={"vip": True})

    result = stock_allocate(requests=[early, express, vip], now=now, actor_label="test")

    assert result.allocated == {express.order.pk, vip.order.pk}
    assert [f.code for f in result.findings[early.order.pk]] == ["STOCK_SHORT"]


@pytest.mark.django_db
def test_without_the_override_payment_order_decides(channel, now):
    AllocationPolicy.objects.create(merchant=channel.merchant, expedited_first=False)
    sku = SkuFactory(merchant=channel.merchant)
    StockLevelFactory(sku=sku, warehouse=channel.warehouse, on_hand=1)
    early = _request(channel, sku, 1, 0)
    express = _request(channel, sku, 1, 30, service_level="express")

    result = stock_allocate(requests=[express, early], now=now, actor_label="test")

    assert result.allocated == {early.order.pk}


@pytest.mark.django_db
def test_partial_policy_ships_what_is_there_and_back_orders_the_rest(channel, now):
    AllocationPolicy.objects.create(merchant=channel.merchant, short_policy="partial")
    cup = SkuFactory(merchant=channel.merchant, code="CUP")
    lid = SkuFactory(merchant=channel.merchant, code="LID")
    StockLevelFactory(sku=cup, warehouse=channel.warehouse, on_hand=3)
    StockLevelFactory(sku=lid, warehouse=channel.warehouse, on_hand=0)
    order = OrderFactory(channel=channel, paid_at=T0)
    lines = [
        OrderLineFactory(order=order, line_no=1, sku=cup, quantity=5),
        OrderLineFactory(order=order, line_no=2, sku=lid, quantity=1),
    ]
    nothing = _request(channel, lid, 2, 10)

    result = stock_allocate(
        requests=[AllocationRequest(order=order, lines=lines, warehouse_id=channel.warehouse_id), nothing],
        now=now,
        actor_label="test",
    )

    assert result.allocated == {order.pk}
    assert [(f.code, f.severity, f.data) for f in result.findings[order.pk]] == [
        ("STOCK_BACKORDER", "warning", {"sku": "CUP", "wanted": 5, "allocated": 3}),
        ("STOCK_BACKORDER", "warning", {"sku": "LID", "wanted": 1, "allocated": 0}),
    ]
    # an order of which nothing at all can be served waits like a held one
    assert [(f.code, f.data) for f in result.findings[nothing.order.pk]] == [
        ("STOCK_SHORT", {"sku": "LID", "wanted": 2, "free": 0})
    ]
    for line in lines:
        line.refresh_from_db()
    assert [line.allocated_quantity for line in lines] == [3, 0]
    assert StockLevel.objects.get(sku=cup).allocated == 3


# --- the rules, without a database ------------------------------------------------------------

SKUS = st.integers(1, 3)
LINES = st.lists(
    st.tuples(
        st.integers(1, 5),
        st.lists(st.tuples(SKUS, st.integers(1, 3)), min_size=1, max_size=2, unique_by=lambda p: p[0]),
    ),
    min_size=1,
    max_size=3,
)
ORDERS = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 50), LINES, st.booleans()), min_size=1, max_size=10
)


@given(orders=ORDERS, free=st.dictionaries(SKUS, st.integers(0, 12)))
def test_the_plan_never_over_allocates_and_serves_in_rank_order(orders, free):
    plan_orders = [
        PlanOrder(
            key=n,
            rank=(prio, T0 + timedelta(minutes=minutes), n),
            lines=tuple(
                PlanLine(line_no=i + 1, quantity=q, parts=tuple(parts)) for i, (q, parts) in enumerate(lines)
            ),
            partial=partial,
        )
        for n, (prio, minutes, lines, partial) in enumerate(orders)
    ]

    plans = allocation_plan(orders=plan_orders, free=free)

    left = {sku: qty for sku, qty in free.items()}
    for order in sorted(plan_orders, key=lambda o: o.rank):
        got = plans[order.key]
        demand: dict[int, int] = {}
        for line in order.lines:
            for sku, per in line.parts:
                demand[sku] = demand.get(sku, 0) + per * line.quantity
        fits = all(left.get(sku, 0) >= qty for sku, qty in demand.items())
        for line in order.lines:
            units = got.units.get(line.line_no, 0)
            assert 0 <= units <= line.quantity
            if fits:
                assert units == line.quantity
            elif not order.partial:
                # hold: a short order takes nothing
                assert units == 0
            else:
                # partial: as many whole units as what the earlier orders left allows
                assert units == min([line.quantity, *(left.get(s, 0) // per for s, per in line.parts)])
            for sku, per in line.parts:
                left[sku] = left.get(sku, 0) - per * units
        assert bool(got.short) == (not fits)
    assert all(qty >= 0 for qty in left.values())
