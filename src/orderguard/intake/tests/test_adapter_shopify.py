"""Shopify order JSON (REST Order resource / orders/create webhook)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.adapters.shopify import ShopifyAdapter, variant_attributes
from orderguard.intake.errors import FileRejected, RowError
from orderguard.intake.tabular import SHANGHAI
from orderguard.orders.schema import AddressIn, LineIn, OrderIn, PlatformState

# Shopify/shopify_python_api test/fixtures/order.json (excerpt), see shopify_order_fixture.SOURCE.txt
FIXTURE = Path(__file__).parent / "data" / "shopify_order_fixture_excerpt.json"


def read(document: Any, name: str = "shopify.json") -> list[OrderIn | RowError]:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return list(ShopifyAdapter().read([SourceFile(name=name, data=data)]))


def order(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 1,
        "created_at": "2024-05-01T10:00:00+08:00",
        "financial_status": "paid",
        "fulfillment_status": None,
        "line_items": [{"id": 11, "sku": "SKU-1", "quantity": 1, "title": "Mug", "variant_title": None}],
        "shipping_address": {"name": "Li Si", "address1": "1 Road", "city": "Hangzhou", "country_code": "CN"},
    }
    body.update(fields)
    return body


def only_order(items: list[OrderIn | RowError]) -> OrderIn:
    assert len(items) == 1 and isinstance(items[0], OrderIn), items
    return items[0]


def errors_of(items: list[OrderIn | RowError]) -> list[tuple[str, int, str, str]]:
    return [(e.file, e.row, e.field, e.code) for e in items if isinstance(e, RowError)]


def test_fixture_order_reads_to_exact_order():
    fixture = SourceFile(name=FIXTURE.name, data=FIXTURE.read_bytes())

    assert ShopifyAdapter().detect([fixture]) is True
    items = list(ShopifyAdapter().read([fixture]))

    moment = datetime(2008, 1, 11, 0, 0, tzinfo=SHANGHAI)  # 2008-01-10T11:00:00-05:00
    assert items == [
        OrderIn(
            platform_order_id="450789469",
            platform_status="authorized",
            state=PlatformState.READY,
            created_at=moment,
            paid_at=moment,
            recipient_name="Bob Norman",
            recipient_phone="555-625-1199",
            address=AddressIn(
                raw="Chestnut Street 92, Louisville, Kentucky, 40202, US",
                province="Kentucky",
                city="Louisville",
                detail="Chestnut Street 92",
                postcode="40202",
                country="US",
            ),
            lines=[
                LineIn(
                    sku_code="IPOD2008GREEN",
                    quantity=1,
                    title="IPod Nano - 8gb",
                    attributes={"variant": "green", "Custom Engraving": "Happy Birthday"},
                    platform_line_id="466157049",
                    source_file=FIXTURE.name,
                    source_row=1,
                ),
                LineIn(
                    sku_code="IPOD2008RED",
                    quantity=1,
                    attributes={"variant": "red"},
                    platform_line_id="518995019",
                    source_file=FIXTURE.name,
                    source_row=1,
                ),
            ],
            source_file=FIXTURE.name,
            source_row=1,
            extra={
                "payment_captured": False,
                "shipping_lines": ["Free Shipping"],
                "order_name": "#1001",
                "note_attributes": {"custom engraving": "Happy Birthday", "colour": "green"},
            },
        )
    ]
    assert items[0].created_at.tzinfo is SHANGHAI  # type: ignore[union-attr]


def test_every_shape_is_accepted():
    body = order()

    for document in (body, {"order": body}, {"orders": [body]}, [body]):
        assert only_order(read(document)).platform_order_id == "1"


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"financial_status": "paid"}, PlatformState.READY),
        ({"financial_status": "partially_paid"}, PlatformState.READY),
        ({"financial_status": "authorized"}, PlatformState.READY),
        ({"financial_status": "pending"}, PlatformState.UNPAID),
        ({"financial_status": None}, PlatformState.UNPAID),
        ({"financial_status": "partially_refunded"}, PlatformState.REFUNDING),
        ({"financial_status": "refunded"}, PlatformState.CLOSED),
        ({"financial_status": "voided"}, PlatformState.CLOSED),
        ({"cancelled_at": "2024-05-02T10:00:00+08:00"}, PlatformState.CLOSED),
        ({"fulfillment_status": "fulfilled"}, PlatformState.SHIPPED),
        ({"fulfillment_status": "partial"}, PlatformState.READY),
    ],
)
def test_state_mapping(fields, state):
    assert only_order(read(order(**fields))).state == state


def test_unpaid_order_has_no_paid_at_and_processed_at_is_paid_at():
    assert only_order(read(order(financial_status="pending"))).paid_at is None
    paid = only_order(read(order(processed_at="2024-05-01T03:00:00Z")))
    assert paid.paid_at == datetime(2024, 5, 1, 3, 0, tzinfo=UTC)


def test_unknown_financial_status_is_a_row_error():
    items = read([order(), order(id=2, financial_status="mystery")])

    assert errors_of(items) == [("shopify.json", 2, "financial_status", "STATUS_UNKNOWN")]


def test_null_shipping_address_gives_an_empty_address():
    result = only_order(read(order(shipping_address=None, phone=None)))

    assert (result.address, result.recipient_name, result.recipient_phone) == (AddressIn(country=""), "", "")


def test_phone_falls_back_to_order_then_customer():
    address = {"name": "A", "address1": "x", "phone": None}

    assert (
        only_order(read(order(shipping_address=address, phone="+8613900000001"))).recipient_phone
        == "+8613900000001"
    )
    customer = {"phone": "+8613900000002"}
    assert (
        only_order(read(order(shipping_address=address, customer=customer))).recipient_phone
        == "+8613900000002"
    )


def test_name_is_built_from_first_and_last_and_address2_joins_the_detail():
    address = {
        "first_name": "Bob",
        "last_name": "Norman",
        "address1": "92 Chestnut St",
        "address2": "Apt 4",
        "zip": "40202",
    }

    result = only_order(read(order(shipping_address=address)))

    assert (result.recipient_name, result.address.detail, result.address.postcode) == (
        "Bob Norman",
        "92 Chestnut St Apt 4",
        "40202",
    )


def test_shipping_lines_set_express_and_requested_courier():
    result = only_order(read(order(shipping_lines=[{"title": "UPS Next Day Air", "code": "01"}])))

    assert (result.service_level, result.requested_courier) == ("express", "UPS")
    plain = only_order(read(order(shipping_lines=[{"title": "SF Express", "code": "sf"}])))
    assert (plain.service_level, plain.requested_courier) == ("", "顺丰")


def test_variant_titles_and_hidden_properties():
    assert variant_attributes("M / Red") == {"option1": "M", "option2": "Red"}
    assert variant_attributes("green") == {"variant": "green"}
    assert variant_attributes("Default Title") == {}
    line = {
        "id": 5,
        "sku": None,
        "quantity": 2,
        "variant_title": "L / Blue / Cotton",
        "properties": [{"name": "_bundle_id", "value": "x"}, {"name": "Gift wrap", "value": "yes"}],
    }

    result = only_order(read(order(line_items=[line])))

    assert result.lines == [
        LineIn(
            sku_code="",
            quantity=2,
            attributes={"option1": "L", "option2": "Blue", "option3": "Cotton", "Gift wrap": "yes"},
            platform_line_id="5",
            source_file="shopify.json",
            source_row=1,
        )
    ]


def test_lines_not_to_ship_are_left_out():
    lines = [
        {"id": 1, "sku": "CARD", "quantity": 1, "requires_shipping": False},
        {"id": 2, "sku": "A", "quantity": 3, "fulfillable_quantity": 1},
        {"id": 3, "sku": "B", "quantity": 1, "fulfillable_quantity": 0},
    ]

    result = only_order(read(order(line_items=lines, fulfillment_status="partial")))

    assert [(ln.sku_code, ln.quantity) for ln in result.lines] == [("A", 1)]
    assert result.extra["dropped_lines"] == [
        {"sku_code": "CARD", "quantity": 1, "reason": "requires_shipping_false"},
        {"sku_code": "B", "quantity": 1, "reason": "nothing_left_to_fulfil"},
    ]


def test_order_with_only_digital_lines_is_no_lines():
    items = read(order(line_items=[{"id": 1, "sku": "CARD", "quantity": 1, "requires_shipping": False}]))

    assert errors_of(items) == [("shopify.json", 1, "line_items", "NO_LINES")]


@pytest.mark.parametrize("quantity", [0, -1, "abc", 1.5, None])
def test_bad_quantity_rejects_the_order(quantity):
    items = read(
        order(line_items=[{"id": 1, "sku": "A", "quantity": 1}, {"id": 2, "sku": "B", "quantity": quantity}])
    )

    assert errors_of(items) == [("shopify.json", 1, "line_items[1].quantity", "QUANTITY_INVALID")]


def test_duplicate_order_and_missing_id_and_bad_time():
    items = read([order(), order(), order(id=None), order(id=3, created_at="last tuesday")])

    assert errors_of(items) == [
        ("shopify.json", 2, "id", "DUPLICATE_ORDER"),
        ("shopify.json", 3, "id", "FIELD_MISSING"),
        ("shopify.json", 4, "created_at", "DATETIME_INVALID"),
    ]


def test_not_a_shopify_document_is_rejected():
    with pytest.raises(FileRejected) as info:
        read({"data": {}})

    assert info.value.error.code == "FILE_JSON_SHAPE"
    assert ShopifyAdapter().detect([SourceFile(name="x.json", data=b'{"data": {}}')]) is False


def test_entries_that_are_not_orders_are_named_and_the_others_still_read():
    items = read({"orders": [5, order(id=None), order(id=2), order(id=2)]})

    assert errors_of(items) == [
        ("shopify.json", 1, "", "ORDER_NOT_OBJECT"),
        ("shopify.json", 2, "id", "FIELD_MISSING"),
        ("shopify.json", 4, "id", "DUPLICATE_ORDER"),
    ]
    assert [o.platform_order_id for o in items if isinstance(o, OrderIn)] == ["2"]
