"""Allocation v1 (D1, T1): payment order, whole orders, bundles, safety stock, release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderguard.catalog.tests.factories import BundleItemFactory, SkuFactory
from orderguard.inventory.models import MovementKind, StockAlert, StockLevel, StockMovement
from orderguard.inventory.services import AllocationRequest, stock_allocate, stock_release
from orderguard.inventory.tests.factories import StockLevelFactory
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.tests.factories import OrderFactory, OrderLineFactory
from orderguard.validation.checks import RULES, explain

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _order(channel, sku, qty, paid_minutes):  # type: ignore[no-untyped-def]
    order = OrderFactory(channel=channel, paid_at=T0 + timedelta(minutes=paid_minutes))
    line = OrderLineFactory(order=order, line_no=1, sku=sku, quantity=qty)
    return AllocationRequest(order=order, lines=[line], warehouse_id=channel.warehouse_id)


def test_allocation_serves_the_earliest_payment_first(channel, now):
    sku = SkuFactory(merchant=channel.merchant, code="TS-RED-M")
    StockLevelFactory(sku=sku, warehouse=channel.warehouse, on_hand=3)
    late = _order(channel, sku, 2, paid_minutes=30)
    early = _order(channel, sku, 2, paid_minutes=5)

    result = stock_allocate(requests=[late, early], now=now, actor_label="test")

    assert result.allocated == {early.order.pk}
    assert [f.as_dict() for f in result.findings[late.order.pk]] == [
        {
            "code": "STOCK_SHORT",
            "type": "T1",
            "field": "lines[1]",
            "severity": "blocking",
            "source": "D1",
            "data": {"sku": "TS-RED-M", "wanted": 2, "free": 1},
        }
    ]
    [short] = result.findings[late.order.pk]
    assert (RULES[short.code].type, RULES[short.code].severity) == (short.type, short.severity)
    assert explain(short, language="zh-hans") == "TS-RED-M 缺货：需要 2，可用 1"
    assert explain(short, language="en") == "TS-RED-M is out of stock: 2 wanted, 1 available"
    level = StockLevel.objects.get(sku=sku)
    assert (level.on_hand, level.allocated) == (3, 2)
    assert list(StockMovement.objects.values_list("order_id", "type", "quantity")) == [
        (early.order.pk, MovementKind.ALLOCATION, 2)
    ]
    early.lines[0].refresh_from_db()
    late.lines[0].refresh_from_db()
    assert (early.lines[0].allocated_quantity, late.lines[0].allocated_quantity) == (2, 0)


def test_a_short_order_reserves_nothing_so_stock_stays_free_for_the_next(channel, now):
    shirt = SkuFactory(merchant=channel.merchant)
    pan = SkuFactory(merchant=channel.merchant)
    StockLevelFactory(sku=shirt, warehouse=channel.warehouse, on_hand=1)
    StockLevelFactory(sku=pan, warehouse=channel.warehouse, on_hand=0)
    both = OrderFactory(channel=channel, paid_at=T0)
    lines = [
        OrderLineFactory(order=both, line_no=1, sku=shirt),
        OrderLineFactory(order=both, line_no=2, sku=pan),
    ]
    shirt_only = _order(channel, shirt, 1, paid_minutes=10)

    result = stock_allocate(
        requests=[AllocationRequest(order=both, lines=lines, warehouse_id=channel.warehouse_id), shirt_only],
        now=now,
        actor_label="test",
    )

    assert result.allocated == {shirt_only.order.pk}
    assert [f.data for f in result.findings[both.pk] if f.code == "STOCK_SHORT"] == [
        {"sku": pan.code, "wanted": 1, "free": 0}
    ]
    assert StockLevel.objects.get(sku=shirt).allocated == 1


def test_a_line_without_a_resolved_sku_is_not_allocated(channel, now):
    order = OrderFactory(channel=channel)
    line = OrderLineFactory(order=order, line_no=1, sku=None, sku_code="NOPE")

    result = stock_allocate(
        requests=[AllocationRequest(order=order, lines=[line], warehouse_id=channel.warehouse_id)],
        now=now,
        actor_label="test",
    )

    assert result.allocated == set()
    assert dict(result.findings) == {}
    assert StockMovement.objects.count() == 0


def test_a_bundle_allocates_its_components(channel, now):
    bundle = SkuFactory(merchant=channel.merchant, code="GIFT-BOX", is_bundle=True)
    cup = SkuFactory(merchant=channel.merchant, code="CUP")
    lid = SkuFactory(merchant=channel.merchant, code="LID")
    BundleItemFactory(bundle=bundle, component=cup, quantity=2)
    BundleItemFactory(bundle=bundle, component=lid, quantity=1)
    StockLevelFactory(sku=cup, warehouse=channel.warehouse, on_hand=10)
    StockLevelFactory(sku=lid, warehouse=channel.warehouse, on_hand=10)
    request = _order(channel, bundle, 3, paid_minutes=0)

    result = stock_allocate(requests=[request], now=now, actor_label="test")

    assert result.allocated == {request.order.pk}
    assert StockLevel.objects.get(sku=cup).allocated == 6
    assert StockLevel.objects.get(sku=lid).allocated == 3


def test_falling_below_safety_stock_opens_one_alert_with_notices(channel, now):
    sku = SkuFactory(merchant=channel.merchant, code="PAN-28")
    StockLevelFactory(sku=sku, warehouse=channel.warehouse, on_hand=12, safety_stock=10)
    first = _order(channel, sku, 3, paid_minutes=0)

    result = stock_allocate(requests=[first], now=now, actor_label="test")
    second = _order(channel, sku, 1, paid_minutes=1)
    stock_allocate(requests=[second], now=now, actor_label="test")

    alert = StockAlert.objects.get()
    assert (alert.status, alert.available, alert.safety_stock) == ("open", 9, 10)
    assert result.alerts_opened == [alert]
    [low] = result.findings[first.order.pk]
    assert (low.code, low.severity, low.data) == (
        "STOCK_LOW",
        "warning",
        {"sku": "PAN-28", "available": 9, "safety_stock": 10},
    )
    assert (RULES[low.code].type, RULES[low.code].severity) == (low.type, low.severity)
    assert sorted(OutboxMessage.objects.values_list("topic", "recipient")) == sorted(
        [("stock_alert", channel.merchant.contact_email), ("stock_alert", channel.warehouse.alert_email)]
    )


def test_release_gives_stock_back_and_closes_a_recovered_alert(channel, now):
    sku = SkuFactory(merchant=channel.merchant)
    StockLevelFactory(sku=sku, warehouse=channel.warehouse, on_hand=5, safety_stock=4)
    request = _order(channel, sku, 2, paid_minutes=0)
    stock_allocate(requests=[request], now=now, actor_label="test")
    assert StockAlert.objects.get().status == "open"

    released = stock_release(orders=[request.order], now=now, actor_label="test", reason="order_updated")

    assert released == 1
    assert StockLevel.objects.get(sku=sku).allocated == 0
    assert StockAlert.objects.get().status == "closed"
    assert list(StockMovement.objects.order_by("pk").values_list("type", "quantity")) == [
        (MovementKind.ALLOCATION, 2),
        (MovementKind.RELEASE, -2),
    ]


def test_the_database_refuses_allocating_more_than_on_hand(channel):
    level = StockLevelFactory(
        sku=SkuFactory(merchant=channel.merchant), warehouse=channel.warehouse, on_hand=2
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(allocated=3)
    level.refresh_from_db()
    assert level.allocated == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    on_hand=st.integers(min_value=0, max_value=20),
    wants=st.lists(st.tuples(st.integers(1, 6), st.integers(0, 120)), min_size=1, max_size=8),
)
def test_allocation_never_over_allocates(channel, now, on_hand, wants):
    with transaction.atomic():
        sku = SkuFactory(merchant=channel.merchant)
        StockLevelFactory(sku=sku, warehouse=channel.warehouse, on_hand=on_hand)
        requests = [_order(channel, sku, qty, paid) for qty, paid in wants]

        result = stock_allocate(requests=requests, now=now, actor_label="test")

        level = StockLevel.objects.get(sku=sku)
        served = [r for r in requests if r.order.pk in result.allocated]
        assert level.allocated == sum(r.lines[0].quantity for r in served) <= on_hand
        # every refused order wanted more than was left when its turn came (payment order)
        left = on_hand
        for r in sorted(requests, key=lambda r: (r.order.paid_at, r.order.pk)):
            qty = r.lines[0].quantity
            assert (r.order.pk in result.allocated) == (qty <= left)
            if qty <= left:
                left -= qty
        transaction.set_rollback(True)
