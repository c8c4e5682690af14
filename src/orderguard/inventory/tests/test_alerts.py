"""Stock alerts (D1): the alert's numbers, the days-of-cover forecast that warns before a
stock-out, and the mark on every order touching a short SKU (order page and API)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from orderguard.catalog.tests.factories import SkuFactory
from orderguard.inventory.models import StockAlert
from orderguard.inventory.selectors import stock_figures
from orderguard.inventory.services import (
    AllocationRequest,
    MoveIn,
    stock_allocate,
    stock_cover_check,
    stock_moves_apply,
)
from orderguard.inventory.tests.factories import StockLevelFactory
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.tests.factories import OrderFactory, OrderLineFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _allocate(channel, sku, qty, at):  # type: ignore[no-untyped-def]
    order = OrderFactory(channel=channel, paid_at=at)
    line = OrderLineFactory(order=order, line_no=1, sku=sku, quantity=qty)
    stock_allocate(
        requests=[AllocationRequest(order=order, lines=[line], warehouse_id=channel.warehouse_id)],
        now=at,
        actor_label="test",
    )
    return order


def test_an_alert_carries_available_safety_stock_open_demand_inbound_and_eta(channel, now):
    sku = SkuFactory(merchant=channel.merchant, code="PAN")
    eta = now + timedelta(days=7)
    StockLevelFactory(
        sku=sku, warehouse=channel.warehouse, on_hand=6, safety_stock=5, inbound_quantity=20, inbound_eta=eta
    )
    held = OrderFactory(channel=channel, status="on_hold")
    OrderLineFactory(order=held, line_no=1, sku=sku, quantity=9)

    _allocate(channel, sku, 2, now)

    alert = StockAlert.objects.get()
    assert (
        alert.kind,
        alert.available,
        alert.safety_stock,
        alert.open_demand,
        alert.inbound_quantity,
        alert.inbound_eta,
    ) == ("below_safety", 4, 5, 9, 20, eta)


def test_days_of_cover_from_recent_demand_warn_before_the_stock_out(channel, now):
    sku = SkuFactory(merchant=channel.merchant, code="MUG")
    level = StockLevelFactory(sku=sku, warehouse=channel.warehouse, on_hand=30)
    for day in range(1, 8):  # 28 units over the last week: 2 a day over the 14-day window
        _allocate(channel, sku, 4, now - timedelta(days=day))
    level.refresh_from_db()

    [figures] = stock_figures(levels=[level], now=now).values()
    assert (figures.available, figures.daily_demand, figures.days_of_cover, figures.cover_warning) == (
        2,
        2.0,
        1.0,
        True,
    )
    assert figures.stockout_at == now + timedelta(days=1)

    opened = stock_cover_check(now=now)
    again = stock_cover_check(now=now)

    [alert] = opened
    assert (alert.kind, alert.available, alert.days_of_cover, again) == ("low_cover", 2, 1.0, [])
    [message] = OutboxMessage.objects.filter(topic="stock_cover")
    assert message.recipient == channel.merchant.contact_email
    assert message.body == "MUG：可用 2，待满足 0，约 1.0 天后断货，预计到货 未知"

    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "MUG", 40)],
        now=now,
        actor_label="user:op",
    )
    stock_cover_check(now=now)
    alert.refresh_from_db()
    assert alert.status == "closed"


def test_inbound_stock_arriving_before_the_stock_out_does_not_warn(channel, now):
    sku = SkuFactory(merchant=channel.merchant)
    level = StockLevelFactory(
        sku=sku,
        warehouse=channel.warehouse,
        on_hand=30,
        inbound_quantity=50,
        inbound_eta=now + timedelta(hours=6),
    )
    for day in range(1, 8):
        _allocate(channel, sku, 4, now - timedelta(days=day))
    level.refresh_from_db()

    [figures] = stock_figures(levels=[level], now=now).values()

    assert (figures.days_of_cover, figures.cover_warning) == (1.0, False)
    assert stock_cover_check(now=now) == []


def test_every_order_touching_a_short_sku_is_marked_on_its_page_and_in_the_api(channel, now):
    short = SkuFactory(merchant=channel.merchant, code="SHORT-1")
    plenty = SkuFactory(merchant=channel.merchant, code="PLENTY")
    StockLevelFactory(sku=short, warehouse=channel.warehouse, on_hand=3, safety_stock=5)
    StockLevelFactory(sku=plenty, warehouse=channel.warehouse, on_hand=100)
    touching = _allocate(channel, short, 1, now)  # opens the alert
    OrderLineFactory(order=touching, line_no=2, sku=plenty, quantity=1)
    other = _allocate(channel, plenty, 1, now)
    client = Client()
    client.force_login(user_with_role("merchant", merchant=channel.merchant))

    marked = client.get(f"/api/v1/orders/{touching.pk}").json()["short_skus"]
    unmarked = client.get(f"/api/v1/orders/{other.pk}").json()["short_skus"]
    page = client.get(f"/orders/{touching.pk}/").content.decode()

    assert (marked, unmarked) == (["SHORT-1"], [])
    assert 'id="short-skus"' in page and "SHORT-1" in page
    assert 'id="short-skus"' not in client.get(f"/orders/{other.pk}/").content.decode()
