"""POST /api/v1/orders: orders in the generic JSON layout, through the same flow as a file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from orderguard.cases.models import ExceptionCase
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.intake.models import ImportBatch, ImportRowError
from orderguard.orders.models import Channel, Order, OrderEvent
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import token_create
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders"


def order(order_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "paid_at": "2026-11-25 09:30:00",
        "recipient_name": "张三",
        "recipient_phone": "13800138000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路90号",
        "lines": [{"sku": "MUG-1", "quantity": 2}],
        **fields,
    }


@pytest.fixture
def shop() -> Channel:
    channel = ChannelFactory(code="erp-a")
    skus_upsert(merchant_id=channel.merchant_id, skus=[SkuIn(code="MUG-1", name="Mug")])
    return channel


@pytest.fixture
def other_shop() -> Channel:
    return ChannelFactory(code="erp-b")


def bearer_client(user: Any) -> Client:
    _token, raw = token_create(user_id=user.pk, name="erp")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def merchant_client(shop: Channel) -> Client:
    return bearer_client(user_with_role("merchant", merchant=shop.merchant, username="erp-user"))


def post(client: Client, body: Any, url: str = URL) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def nothing_written() -> tuple[int, int, int, int]:
    return (
        ImportBatch.objects.count(),
        Order.objects.count(),
        OrderEvent.objects.count(),
        ExceptionCase.objects.count(),
    )


def test_orders_are_created_with_one_batch_and_a_result_each(shop, merchant_client):
    response = post(merchant_client, {"channel": "erp-a", "orders": [order("E-1"), order("E-2")]})
    assert response.status_code == 200, response.content
    body = response.json()
    batch = ImportBatch.objects.get()
    e1, e2 = Order.objects.get(platform_order_id="E-1"), Order.objects.get(platform_order_id="E-2")
    assert body == {
        "ok": True,
        "batch": batch.pk,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "refused": 0,
        "orders": [
            {"index": 0, "platform_order_id": "E-1", "result": "created", "order_id": e1.pk, "errors": []},
            {"index": 1, "platform_order_id": "E-2", "result": "created", "order_id": e2.pk, "errors": []},
        ],
    }
    assert (batch.channel_id, batch.format, batch.actor_label, batch.created) == (
        shop.pk,
        "generic",
        "user:erp-user",
        2,
    )
    assert list(OrderEvent.objects.filter(order=e1).values_list("type", "actor_label")) == [
        ("imported", "user:erp-user")
    ]


def test_the_same_orders_sent_again_are_unchanged_and_a_changed_one_is_updated(shop, merchant_client):
    post(merchant_client, {"channel": "erp-a", "orders": [order("E-1"), order("E-2")]})
    response = post(
        merchant_client, {"channel": "erp-a", "orders": [order("E-1"), order("E-2", buyer_note="请周末送")]}
    )
    body = response.json()
    e1, e2 = Order.objects.get(platform_order_id="E-1"), Order.objects.get(platform_order_id="E-2")
    second = ImportBatch.objects.order_by("pk").last()
    assert (response.status_code, body["batch"], body["created"], body["updated"], body["unchanged"]) == (
        200,
        second.pk,
        0,
        1,
        1,
    )
    assert [(o["result"], o["order_id"]) for o in body["orders"]] == [
        ("unchanged", e1.pk),
        ("updated", e2.pk),
    ]
    assert Order.objects.count() == 2
    assert list(OrderEvent.objects.filter(order=e2).order_by("pk").values_list("type", "data__changed")) == [
        ("imported", None),
        ("updated", ["buyer_note"]),
    ]
    assert OrderEvent.objects.filter(order=e1).count() == 1


def test_a_refused_order_names_its_index_and_field_and_the_others_are_imported(shop, merchant_client):
    orders = [
        order("E-1"),
        order("E-2", lines=[{"sku": "MUG-1", "quantity": "two"}]),
        order("E-3", recipient_phone={"tel": "138"}),
        order("E-1"),
    ]
    body = post(merchant_client, {"channel": "erp-a", "orders": orders}).json()
    results = [
        (o["index"], o["platform_order_id"], o["result"], [e["field"] for e in o["errors"]])
        for o in body["orders"]
    ]
    assert results == [
        (0, "E-1", "created", []),
        (1, "E-2", "refused", ["orders[1].lines[0].quantity"]),
        (2, "E-3", "refused", ["orders[2].recipient_phone"]),
        (3, "E-1", "refused", ["orders[3].order_id"]),
    ]
    assert [[e["code"] for e in o["errors"]] for o in body["orders"]] == [
        [],
        ["QUANTITY_INVALID"],
        ["VALUE_INVALID"],
        ["DUPLICATE_ORDER"],
    ]
    assert (body["created"], body["refused"]) == (1, 3)
    assert [o["order_id"] for o in body["orders"]] == [Order.objects.get().pk, None, None, None]
    assert ImportRowError.objects.filter(batch_id=body["batch"]).count() == 3


def test_warehouse_staff_create_orders_in_any_merchants_channel(shop, other_shop):
    client = bearer_client(user_with_role("operator"))
    body = post(
        client, {"channel": "erp-b", "orders": [order("S-1", lines=[{"sku": "X", "quantity": 1}])]}
    ).json()
    assert (body["created"], Order.objects.get().channel_id) == (1, other_shop.pk)


@pytest.mark.parametrize("code", ["erp-b", "nope", "off"])
def test_another_merchants_missing_or_inactive_channel_is_not_found_and_nothing_is_written(
    shop, other_shop, merchant_client, code
):
    ChannelFactory(code="off", merchant=shop.merchant, active=False)
    response = post(merchant_client, {"channel": code, "orders": [order("E-1")]})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert nothing_written() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "erp-a", "orders": [order(f"E-{n}") for n in range(501)]}, "orders"),
        ({"channel": "erp-a", "orders": []}, "orders"),
        ({"channel": "erp-a", "orders": [order("E-1"), "E-2"]}, "orders.1"),
        ({"channel": "erp-a"}, "orders"),
        ({"orders": [order("E-1")]}, "channel"),
        ({"channel": "erp a", "orders": [order("E-1")]}, "channel"),
        ({"channel": "erp-a", "orders": [order("E-1")], "dry_run": True}, "dry_run"),
    ],
)
def test_a_body_wrong_as_a_whole_is_refused_and_changes_nothing(shop, merchant_client, body, field):
    response = post(merchant_client, body)
    assert (response.status_code, response.json()["ok"], response.json()["error"]["field"]) == (
        422,
        False,
        field,
    )
    assert nothing_written() == (0, 0, 0, 0)


def test_a_body_that_is_not_json_is_refused(shop, merchant_client):
    response = merchant_client.post(URL, data=b"{orders", content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "INVALID_JSON")
    assert nothing_written() == (0, 0, 0, 0)


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(shop, merchant_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(merchant_client, {"channel": "erp-a", "orders": [order(f"E-{n}") for n in range(5)]})
    assert (response.status_code, response.json()["error"]["code"], response.json()["error"]["field"]) == (
        413,
        "BODY_TOO_LARGE",
        "body",
    )
    assert nothing_written() == (0, 0, 0, 0)


def test_a_query_parameter_is_refused(shop, merchant_client):
    response = post(merchant_client, {"channel": "erp-a", "orders": [order("E-1")]}, url=URL + "?dry_run=1")
    assert (response.status_code, response.json()["error"]["field"]) == (422, "dry_run")
    assert nothing_written() == (0, 0, 0, 0)


def test_an_order_the_database_refuses_is_refused_alone_with_its_reason(shop, merchant_client, monkeypatch):
    from orderguard.intake import services

    def explode(*args: Any, **kwargs: Any) -> None:
        raise services.DatabaseError("disk full")

    monkeypatch.setattr(services, "stock_allocate", explode)
    response = post(merchant_client, {"channel": "erp-a", "orders": [order("E-1")]})
    assert response.status_code == 200
    body = response.json()
    # the flow's own guard: the one order is refused, the batch records why
    assert [(o["result"], [e["code"] for e in o["errors"]]) for o in body["orders"]] == [
        ("refused", ["ORDER_REFUSED"])
    ]
    assert (Order.objects.count(), OrderEvent.objects.count()) == (0, 0)


def test_a_session_write_without_the_csrf_token_is_refused(shop):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("merchant", merchant=shop.merchant))
    response = post(client, {"channel": "erp-a", "orders": [order("E-1")]})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "CSRF_FAILED")
    assert nothing_written() == (0, 0, 0, 0)


CALLERS = (
    "anonymous",
    "no_role",
    "merchant",
    "other_merchant",
    "operator",
    "cs_agent",
    "tech_oncall",
    "manager",
    "admin",
)
# a valid body for the merchant's channel: created for whoever may import there
EXPECTED = {"anonymous": 401, "no_role": 403, "merchant": 200, "other_merchant": 404}


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_may_create_orders_as_decided(shop, other_shop, caller):
    from orderguard.tenancy.tests.factories import UserFactory

    users = {
        "no_role": lambda: UserFactory(),
        "merchant": lambda: user_with_role("merchant", merchant=shop.merchant),
        "other_merchant": lambda: user_with_role("merchant", merchant=other_shop.merchant),
    }
    client = Client()
    if caller != "anonymous":
        client.force_login(users.get(caller, lambda: user_with_role(caller))())
    response = post(client, {"channel": "erp-a", "orders": [order("E-1")]})
    expected = EXPECTED.get(caller, 200)
    assert response.status_code == expected
    assert Order.objects.count() == (1 if expected == 200 else 0)
    assert ImportBatch.objects.count() == (1 if expected == 200 else 0)
