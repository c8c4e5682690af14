"""GET /api/v1/skus, /api/v1/skus/{id} and /api/v1/stock: read-only, scoped to the caller."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from orderguard.catalog.models import Sku
from orderguard.catalog.tests.factories import SkuFactory, WarehouseFactory
from orderguard.inventory.models import StockLevel
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
ETA = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def world() -> dict[str, Any]:
    """Merchant a: a red mug (two barcodes' worth of data: one barcode), a bundle and an
    inactive SKU, stocked in two warehouses, one row below safety stock; merchant b: one SKU."""
    a, b = ChannelFactory(code="shop-a"), ChannelFactory(code="shop-b")
    hz, sh = WarehouseFactory(code="HZ01"), WarehouseFactory(code="SH01")
    mug = SkuFactory(
        merchant=a.merchant,
        code="MUG-RED",
        name="马克杯 红色",
        style_code="MUG",
        attributes={"colour": "红色"},
        barcode="6901234567890",
    )
    pan = SkuFactory(merchant=a.merchant, code="PAN-20", name="平底锅", is_bundle=True)
    old = SkuFactory(merchant=a.merchant, code="OLD-1", name="旧款", active=False)
    theirs = SkuFactory(merchant=b.merchant, code="MUG-RED", name="别家的杯子")
    rows = {
        "mug_hz": StockLevel.objects.create(
            merchant=a.merchant, warehouse=hz, sku=mug, on_hand=10, allocated=8, safety_stock=5
        ),
        "mug_sh": StockLevel.objects.create(
            merchant=a.merchant,
            warehouse=sh,
            sku=mug,
            on_hand=20,
            allocated=0,
            safety_stock=5,
            inbound_quantity=30,
            inbound_eta=ETA,
        ),
        "pan_hz": StockLevel.objects.create(
            merchant=a.merchant, warehouse=hz, sku=pan, on_hand=3, safety_stock=3
        ),
        "theirs": StockLevel.objects.create(
            merchant=b.merchant, warehouse=hz, sku=theirs, on_hand=0, safety_stock=1
        ),
    }
    return {"a": a, "b": b, "mug": mug, "pan": pan, "old": old, "theirs": theirs, "rows": rows}


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def merchant(world: dict[str, Any]) -> Client:
    return login(user_with_role("merchant", merchant=world["a"].merchant))


@pytest.fixture
def staff(world: dict[str, Any]) -> Client:
    return login(user_with_role("operator"))


def sku_out(s: Sku) -> dict[str, Any]:
    return {
        "id": s.pk,
        "merchant": s.merchant.code,
        "code": s.code,
        "title": s.name,
        "style_code": s.style_code,
        "attributes": s.attributes,
        "barcodes": [s.barcode] if s.barcode else [],
        "is_bundle": s.is_bundle,
        "active": s.active,
    }


def test_a_merchant_lists_its_own_skus_by_code(world, merchant):
    body = merchant.get("/api/v1/skus").json()
    assert body == {"total": 3, "items": [sku_out(world[k]) for k in ("mug", "old", "pan")]}


def test_staff_list_every_merchants_skus_and_filter_by_merchant(world, staff):
    everything = staff.get("/api/v1/skus").json()
    only_b = staff.get(f"/api/v1/skus?merchant={world['b'].merchant.code}").json()
    assert everything["total"] == 4
    assert only_b == {"total": 1, "items": [sku_out(world["theirs"])]}


def test_a_merchant_naming_another_merchant_gets_nothing(world, merchant):
    assert merchant.get(f"/api/v1/skus?merchant={world['b'].merchant.code}").json() == {
        "total": 0,
        "items": [],
    }


@pytest.mark.parametrize(
    ("q", "codes"),
    [
        ("mug", ["MUG-RED"]),
        ("平底", ["PAN-20"]),
        ("6901234567890", ["MUG-RED"]),
        ("MUG", ["MUG-RED"]),
        ("zzz", []),
    ],
)
def test_skus_are_searched_by_code_title_style_or_barcode(world, merchant, q, codes):
    assert [s["code"] for s in merchant.get("/api/v1/skus", {"q": q}).json()["items"]] == codes


def test_one_sku_is_read_by_id_and_another_merchants_is_not_found(world, merchant):
    assert merchant.get(f"/api/v1/skus/{world['mug'].pk}").json() == sku_out(world["mug"])
    response = merchant.get(f"/api/v1/skus/{world['theirs'].pk}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "NOT_FOUND")


def test_stock_rows_say_available_below_safety_and_inbound(world, merchant):
    body = merchant.get("/api/v1/stock").json()
    rows = world["rows"]
    assert body["total"] == 3
    assert body["items"][0] == {
        "id": rows["mug_hz"].pk,
        "merchant": world["a"].merchant.code,
        "warehouse": "HZ01",
        "sku_id": world["mug"].pk,
        "sku": "MUG-RED",
        "on_hand": 10,
        "allocated": 8,
        "available": 2,
        "safety_stock": 5,
        "below_safety_stock": True,
        "inbound_quantity": 0,
        "inbound_eta": None,
        "open_demand": 0,
        "daily_demand": 0.0,
        "days_of_cover": None,
        "stockout_expected_at": None,
        "cover_warning": False,
    }
    assert [(r["warehouse"], r["sku"], r["below_safety_stock"]) for r in body["items"]] == [
        ("HZ01", "MUG-RED", True),
        ("HZ01", "PAN-20", False),
        ("SH01", "MUG-RED", False),
    ]
    assert (body["items"][2]["inbound_quantity"], body["items"][2]["inbound_eta"]) == (
        30,
        "2026-12-01T08:00:00Z",
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("low=true", [("HZ01", "MUG-RED")]),
        ("sku=MUG-RED", [("HZ01", "MUG-RED"), ("SH01", "MUG-RED")]),
        ("warehouse=HZ01", [("HZ01", "MUG-RED"), ("HZ01", "PAN-20")]),
        ("warehouse=SH01&low=true", []),
    ],
)
def test_stock_is_filtered_by_sku_warehouse_and_low(world, merchant, query, expected):
    items = merchant.get(f"/api/v1/stock?{query}").json()["items"]
    assert [(r["warehouse"], r["sku"]) for r in items] == expected


def test_staff_see_every_merchants_stock_and_the_other_merchant_none_of_a(world, staff):
    other = login(user_with_role("merchant", merchant=world["b"].merchant))
    assert staff.get("/api/v1/stock?low=true").json()["total"] == 2
    assert [r["id"] for r in other.get("/api/v1/stock").json()["items"]] == [world["rows"]["theirs"].pk]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/skus?limit=0", "limit"),
        ("/api/v1/skus?limit=201", "limit"),
        ("/api/v1/skus?offset=10001", "offset"),
        ("/api/v1/skus?q=a%00b", "q"),
        ("/api/v1/skus?merchant=a%20b", "merchant"),
        ("/api/v1/skus?code=MUG", "code"),
        ("/api/v1/skus/1?full=1", "full"),
        ("/api/v1/skus/0", "sku_id"),
        ("/api/v1/stock?low=maybe", "low"),
        ("/api/v1/stock?offset=-1", "offset"),
        ("/api/v1/stock?warehous=HZ01", "warehous"),
        ("/api/v1/stock?sku=a%00", "sku"),
    ],
)
def test_parameters_outside_their_range_or_unknown_are_refused(world, merchant, url, field):
    response = merchant.get(url)
    assert (response.status_code, response.json()["error"]["field"]) == (422, field)


@pytest.mark.parametrize(("url", "queries"), [("/api/v1/skus", 5), ("/api/v1/stock", 9)])
def test_lists_take_the_same_number_of_queries_for_one_row_or_many(
    world, staff, url, queries, django_assert_num_queries
):
    staff.get(url)  # session and role lookups warmed the same way for both
    # the stock list: four more for the figures (bundles holding the SKUs, open demand, recent
    # demand, transfers in transit)
    with django_assert_num_queries(queries) as few:
        staff.get(url + "?limit=1")
    with django_assert_num_queries(len(few.captured_queries)):
        staff.get(url + "?limit=200")
