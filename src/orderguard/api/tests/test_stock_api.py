"""POST /api/v1/stock/movements and GET /api/v1/stock/movements: stock moves by API (T1, D1)."""

from __future__ import annotations

import pytest
from django.test import Client

from orderguard.catalog.tests.factories import SkuFactory, WarehouseFactory
from orderguard.inventory.models import StockLevel, StockMovement
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory, OrderLineFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
URL = "/api/v1/stock/movements"


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    channel = ChannelFactory(code="mine")
    WarehouseFactory(code="east")
    SkuFactory(merchant=channel.merchant, code="MUG")
    return channel


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, body: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(URL, data=body, content_type="application/json")
    return response.status_code, response.json()


def _state() -> tuple[list[tuple[str, int, int]], int]:
    levels = list(StockLevel.objects.order_by("pk").values_list("warehouse__code", "on_hand", "allocated"))
    return levels, StockMovement.objects.count()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("operator", 200),
        ("manager", 200),
        ("admin", 200),
        ("cs_agent", 403),
        ("tech_oncall", 403),
        ("merchant", 403),
        ("other_merchant", 404),
    ],
)
def test_each_role_moves_stock_or_is_refused_with_nothing_changed(shop, role, status):
    if role == "merchant":
        user = user_with_role("merchant", merchant=shop.merchant)
    elif role == "other_merchant":
        user = user_with_role("merchant", merchant=ChannelFactory().merchant)
    else:
        user = user_with_role(role)
    body = {
        "merchant": shop.merchant.code,
        "movements": [
            {
                "type": "receipt",
                "warehouse": shop.warehouse.code,
                "sku": "MUG",
                "quantity": 7,
                "reason": "PO-9",
            }
        ],
    }

    got, answer = _post(_client(user), body)

    assert got == status
    if status == 200:
        [moved] = answer["movements"]
        assert (moved["type"], moved["quantity"], moved["sku"], moved["reason"], moved["actor"]) == (
            "receipt",
            7,
            "MUG",
            "PO-9",
            f"user:{user.username}",
        )
        assert _state() == ([(shop.warehouse.code, 7, 0)], 1)
    else:
        assert answer["error"]["code"] == ("ROLE" if status == 403 else "NOT_FOUND")
        assert _state() == ([], 0)


@pytest.mark.parametrize(
    ("movement", "status", "code", "field"),
    [
        ({"type": "receipt", "quantity": -2}, 422, "QUANTITY_INVALID", "movements[1].quantity"),
        ({"type": "receipt", "quantity": 1.5}, 422, "QUANTITY_NOT_WHOLE", "movements[1].quantity"),
        (
            {"type": "receipt", "quantity": 1, "warehouse": "nowhere"},
            422,
            "WAREHOUSE_UNKNOWN",
            "movements[1].warehouse",
        ),
        ({"type": "receipt", "quantity": 1, "sku": "NOPE"}, 422, "SKU_UNKNOWN", "movements[1].sku"),
        (
            {"type": "transfer", "quantity": 9, "to_warehouse": "east"},
            409,
            "INSUFFICIENT_STOCK",
            "movements[1].quantity",
        ),
        ({"type": "count", "quantity": "ten"}, 422, "INVALID_INPUT", "movements.1.quantity.int"),
    ],
)
def test_bad_input_names_the_movement_and_field_and_changes_nothing(shop, movement, status, code, field):
    StockLevel.objects.create(
        merchant=shop.merchant, warehouse=shop.warehouse, sku=shop.merchant.skus.get(), on_hand=3
    )
    before = _state()
    wh = shop.warehouse.code
    body = {
        "merchant": shop.merchant.code,
        "movements": [
            {"type": "receipt", "warehouse": wh, "sku": "MUG", "quantity": 5},
            {"warehouse": wh, "sku": "MUG", **movement},
        ],
    }

    got, answer = _post(_client(user_with_role("operator")), body)

    assert (got, answer["error"]["code"], answer["error"]["field"]) == (status, code, field)
    assert _state() == before


def test_the_ledger_lists_the_merchants_own_movements(shop):
    _post(
        _client(user_with_role("operator")),
        {
            "merchant": shop.merchant.code,
            "movements": [{"type": "receipt", "warehouse": shop.warehouse.code, "sku": "MUG", "quantity": 2}],
        },
    )
    mine = _client(user_with_role("merchant", merchant=shop.merchant)).get(URL).json()
    theirs = _client(user_with_role("merchant", merchant=ChannelFactory().merchant)).get(URL).json()

    assert (mine["total"], [(m["type"], m["quantity"], m["sku"]) for m in mine["items"]]) == (
        1,
        [("receipt", 2, "MUG")],
    )
    assert (theirs["total"], theirs["items"]) == (0, [])


SOURCES = "/api/v1/stock/sources"


@pytest.mark.parametrize(
    ("caller", "query", "status"),
    [
        ("merchant", "sku=MUG", 200),
        ("merchant", "sku=MUG&merchant=mine-shop", 200),
        ("other_merchant", "sku=MUG", 404),
        ("other_merchant", "sku=MUG&merchant=mine-shop", 404),
        ("operator", "sku=MUG&merchant=mine-shop", 200),
        ("operator", "sku=MUG", 404),
        ("operator", "sku=NOPE&merchant=mine-shop", 404),
    ],
)
def test_where_a_sku_is_answers_each_caller_as_decided(shop, caller, query, status):
    """H1.2: which of the merchant's warehouses have a short SKU to spare, the most spare first."""
    shop.merchant.code = "mine-shop"
    shop.merchant.save()
    mug = shop.merchant.skus.get()
    StockLevel.objects.create(merchant=shop.merchant, warehouse=shop.warehouse, sku=mug, on_hand=1)
    StockLevel.objects.create(
        merchant=shop.merchant, warehouse=WarehouseFactory(code="east"), sku=mug, on_hand=9, allocated=2
    )
    # an order waits for 1 at the shop's warehouse: nothing there to spare
    waiting = OrderFactory(channel=shop, status="on_hold")
    OrderLineFactory(order=waiting, line_no=1, sku=mug, quantity=1)
    if caller == "merchant":
        user = user_with_role("merchant", merchant=shop.merchant)
    elif caller == "other_merchant":
        user = user_with_role("merchant", merchant=ChannelFactory().merchant)
    else:
        user = user_with_role(caller)

    response = _client(user).get(f"{SOURCES}?{query}")

    assert response.status_code == status
    if status == 200:
        assert [
            (s["warehouse"], s["available"], s["open_demand"], s["spare"]) for s in response.json()["items"]
        ] == [("east", 7, 0, 7), (shop.warehouse.code, 1, 1, 0)]
