"""POST /api/v1/stock/decisions and GET /api/v1/stock/decisions: the merchant's decision per
short SKU by API (H1.2, B4)."""

from __future__ import annotations

import pytest
from django.test import Client

from orderguard.cases.models import ExceptionCase
from orderguard.inventory.models import StockDecision, StockLevel, Transfer
from orderguard.inventory.tests.test_decisions import _setup, _snapshot
from orderguard.orders.models import Order
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
URL = "/api/v1/stock/decisions"


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, body: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(URL, data=body, content_type="application/json")
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("merchant", 200, None),
        ("cs_agent", 200, None),
        ("manager", 200, None),
        ("admin", 200, None),
        ("operator", 403, "ROLE"),
        ("tech_oncall", 403, "ROLE"),
        ("other_merchant", 404, "NOT_FOUND"),
    ],
)
def test_each_role_decides_a_transfer_or_is_refused_with_nothing_changed(channel, role, status, code):
    _setup(channel, far_a=10)
    if role == "merchant":
        user = user_with_role("merchant", merchant=channel.merchant)
    elif role == "other_merchant":
        user = user_with_role("merchant", merchant=ChannelFactory().merchant)
    else:
        user = user_with_role(role)
    before = _snapshot()

    got, body = _post(
        _client(user),
        {"merchant": channel.merchant.code, "sku": "A", "kind": "transfer", "from_warehouse": "far"},
    )

    assert got == status, body
    if status == 200:
        assert (body["kind"], body["from_warehouse"], body["quantity"]) == ("transfer", "far", 5)
        orders = sorted(Order.objects.values_list("pk", flat=True))
        assert body["effect"] == {
            "served": [],
            "still_short": orders,
            "cancelled": [],
            "cases": sorted(ExceptionCase.objects.values_list("pk", flat=True)),
            "transfer": Transfer.objects.get().pk,
        }
        assert set(ExceptionCase.objects.values_list("status", "step")) == {("open", "in_transit")}
        assert StockLevel.objects.get(sku__code="A", warehouse__code="far").on_hand == 5
    else:
        assert body["error"]["code"] == code
        assert _snapshot() == before


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        ({"sku": "NOPE", "kind": "cancel"}, 404, "SKU_UNKNOWN"),
        (
            {"sku": "A", "kind": "transfer", "from_warehouse": "far", "quantity": 50},
            409,
            "INSUFFICIENT_STOCK",
        ),
        ({"sku": "A", "kind": "transfer", "from_warehouse": "far", "quantity": 1.5}, 422, "QUANTITY_INVALID"),
        ({"sku": "A", "kind": "substitute", "substitute_sku": "C"}, 422, "CONSENT_REQUIRED"),
        ({"sku": "A", "kind": "wait"}, 422, "RESTOCK_INVALID"),
    ],
)
def test_bad_decisions_are_refused_with_a_code_and_nothing_changed(channel, extra, status, code):
    _setup(channel, far_a=10)
    client = _client(user_with_role("merchant", merchant=channel.merchant))
    before = _snapshot()

    got, body = _post(client, extra)

    assert (got, body["error"]["code"]) == (status, code)
    assert _snapshot() == before


def test_a_decision_on_a_shipped_order_is_a_conflict(channel):
    _setup(channel, far_a=10)
    Order.objects.filter(platform_order_id="1").update(status="shipped")
    shipped = Order.objects.get(platform_order_id="1").pk
    client = _client(user_with_role("merchant", merchant=channel.merchant))
    before = _snapshot()

    got, body = _post(client, {"sku": "A", "kind": "cancel", "order_ids": [shipped]})

    assert (got, body["error"]["code"]) == (409, "ORDER_SHIPPED")
    assert _snapshot() == before


def test_the_list_shows_a_merchant_its_own_decisions(channel):
    _setup(channel, far_a=10)
    mine = _client(user_with_role("merchant", merchant=channel.merchant))
    assert _post(mine, {"sku": "A", "kind": "wait", "restock_at": "2099-01-01T00:00:00Z"})[0] == 200
    other = _client(user_with_role("merchant", merchant=ChannelFactory().merchant))

    listed = mine.get(URL, {"sku": "A"}).json()
    assert (listed["total"], listed["items"][0]["kind"], listed["items"][0]["restock_at"]) == (
        1,
        "wait",
        "2099-01-01T00:00:00Z",
    )
    assert other.get(URL).json() == {"total": 0, "items": []}
    assert StockDecision.objects.count() == 1
