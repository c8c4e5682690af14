"""The stock-out decision page (H1.2, B4): a merchant user sees its short SKUs with the number
of orders, what is available and where the SKU is, and decides for all of them at once."""

from __future__ import annotations

import pytest
from django.test import Client

from orderguard.cases.models import ExceptionCase
from orderguard.inventory.models import StockDecision, Transfer
from orderguard.inventory.tests.test_decisions import _setup, _snapshot
from orderguard.orders.models import Order
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
PAGE = "/stock/decisions/"
POST = "/stock/decisions/decide"


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_a_merchant_sees_its_short_sku_with_orders_stock_and_sources(channel):
    _setup(channel, far_a=10)
    page = _client(user_with_role("merchant", merchant=channel.merchant)).get(PAGE).content.decode()

    assert 'data-sku="A"' in page
    assert '<strong class="affected">3</strong>' in page
    assert '<span class="available">0</span>' in page
    assert 'data-warehouse="far">far: 10</span>' in page
    # another merchant sees none of it
    other = _client(user_with_role("merchant", merchant=ChannelFactory().merchant)).get(PAGE).content.decode()
    assert 'data-sku="A"' not in other


def test_a_merchant_decides_a_transfer_and_its_orders_are_served(channel):
    _setup(channel, far_a=10)
    client = _client(user_with_role("merchant", merchant=channel.merchant))
    keep = Order.objects.get(platform_order_id="3").pk

    response = client.post(
        POST,
        {
            "merchant": channel.merchant_id,
            "sku": "A",
            "warehouse": channel.warehouse.code,
            "kind": "transfer",
            "from_warehouse": "far",
            "exclude": [keep],
        },
    )

    assert response.status_code == 302
    statuses = dict(ExceptionCase.objects.values_list("order__platform_order_id", "step"))
    assert statuses == {"1": "in_transit", "2": "in_transit", "3": "merchant_decision"}
    transfer = Transfer.objects.get()
    assert (transfer.status, transfer.quantity) == ("in_transit", 3)
    # the case says the stock is on its way and when it is expected
    from django.utils import timezone

    case = ExceptionCase.objects.get(order__platform_order_id="1")
    page = client.get(f"/cases/{case.pk}/").content.decode()
    expected = timezone.localtime(transfer.expected_at).strftime("%Y-%m-%d %H:%M")
    assert (
        f'<span class="what ms-1">调拨在途：A 3 件（far → {channel.warehouse.code}），预计 {expected} 到货</span>'
        in page
    )
    assert '<span class="what ms-1">商家决定：从其他仓调拨</span>' in page

    # only warehouse stock staff receive it: a merchant user is refused, nothing changes
    before = _snapshot()
    assert client.post(f"/stock/transfers/{transfer.pk}/receive").status_code == 403
    assert _snapshot() == before
    operator = _client(user_with_role("operator"))
    assert operator.post(f"/stock/transfers/{transfer.pk}/receive").status_code == 302
    statuses = dict(ExceptionCase.objects.values_list("order__platform_order_id", "status"))
    assert statuses == {"1": "resolved", "2": "resolved", "3": "open"}
    # a second time: a message, nothing changed
    before = _snapshot()
    response = operator.post(f"/stock/transfers/{transfer.pk}/receive", follow=True)
    assert f"调拨 {transfer.pk} 已到货，不能重复接收" in response.content.decode()
    assert _snapshot() == before
    decision = StockDecision.objects.get()
    assert (decision.kind, decision.quantity, decision.excluded_order_ids) == ("transfer", 3, [keep])
    page = client.get(PAGE).content.decode()
    assert '<strong class="affected">1</strong>' in page


def test_another_merchants_user_cannot_decide_and_nothing_changes(channel):
    _setup(channel, far_a=10)
    before = _snapshot()
    outsider = _client(user_with_role("merchant", merchant=ChannelFactory().merchant))

    response = outsider.post(
        POST, {"merchant": channel.merchant_id, "sku": "A", "kind": "transfer", "from_warehouse": "far"}
    )

    assert response.status_code == 302
    assert _snapshot() == before
    operator = _client(user_with_role("operator"))
    assert (
        operator.post(POST, {"merchant": channel.merchant_id, "sku": "A", "kind": "cancel"}).status_code
        == 403
    )
    assert _snapshot() == before


def test_the_case_page_shows_the_decision_as_decided_events(channel):
    """H1.3: a merchant's decision is a ``decided`` event on the case's timeline (not a note),
    in words on the case page."""
    from datetime import timedelta

    from orderguard.inventory.decisions import stock_decision_apply
    from orderguard.inventory.tests.test_decisions import LATER, _merchant_actor

    _setup(channel)
    stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="wait",
        restock_at=LATER + timedelta(days=3),
        note="周五到货",
        now=LATER,
    )
    case = ExceptionCase.objects.get(order__platform_order_id="1")
    assert list(case.events.filter(type="decided").values_list("data", flat=True)) == [
        {"text": "周五到货", "decision": StockDecision.objects.get().pk, "kind": "wait", "step": "decided"},
        {
            "text": "周五到货",
            "decision": StockDecision.objects.get().pk,
            "kind": "wait",
            "step": "waiting",
            "restock_at": (LATER + timedelta(days=3)).isoformat(),
        },
    ]
    assert not case.events.filter(type="note").exists()

    page = _client(user_with_role("manager")).get(f"/cases/{case.pk}/").content.decode()
    assert page.count('data-event="decided"') == 2
    assert '<span class="what ms-1">商家决定：等待补货</span>' in page
    # 2026-11-25 11:00 UTC + 3 days, in Shanghai time
    assert '<span class="what ms-1">等待补货，预计 2026-11-28 19:00</span>' in page
    assert page.count('<div class="note small ms-3">周五到货</div>') == 2
