"""Correcting an order's recipient data through the API: answers per caller, the error shape,
and that a refusal writes nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.intake.tests.correction_world import block_suggestions, order_without_province
from orderguard.orders.models import Order, OrderEvent
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: dict) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _state(order: Order) -> tuple:
    o = Order.objects.get(pk=order.pk)
    return (
        o.status,
        o.address_received,
        o.findings,
        o.updated_at,
        OrderEvent.objects.filter(order=o).count(),
        list(ExceptionCase.objects.filter(order=o).values_list("status", "findings")),
        CaseEvent.objects.count(),
    )


@pytest.fixture
def order(channel):  # type: ignore[no-untyped-def]
    return order_without_province(block_suggestions(channel), "3001")


def test_an_agent_corrects_the_province_and_gets_the_order_and_the_closed_case(client, order):
    client.force_login(user_with_role("cs_agent", username="ann"))
    case = ExceptionCase.objects.get(order=order)

    response = _post(
        client,
        f"/api/v1/orders/{order.pk}/correct",
        {"changes": {"province": "浙江省"}, "reason": "采用建议"},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["findings"], body["changed"], body["closed_cases"]) == (
        order.pk,
        "ready",
        [],
        ["province"],
        [case.pk],
    )
    assert (body["recipient"]["province"], body["recipient"]["city"], body["recipient"]["name"]) == (
        "浙江省",
        "杭州市",
        "张*",
    )
    assert OrderEvent.objects.filter(order=order).order_by("pk").last().data == {  # type: ignore[union-attr]
        "changed": ["province"],
        "reason": "采用建议",
        "status": "ready",
        "codes": [],
    }


def test_a_key_that_is_not_a_recipient_field_is_refused_naming_it(client, order):
    client.force_login(user_with_role("manager"))
    before = _state(order)

    response = _post(
        client, f"/api/v1/orders/{order.pk}/correct", {"changes": {"province": "浙江省", "seller_note": "x"}}
    )

    assert (response.status_code, response.json()["error"]["code"], response.json()["error"]["field"]) == (
        422,
        "INVALID_INPUT",
        "changes.seller_note",
    )
    assert _state(order) == before


def test_an_extra_top_level_key_is_refused_naming_it(client, order):
    client.force_login(user_with_role("manager"))
    before = _state(order)

    response = _post(client, f"/api/v1/orders/{order.pk}/correct", {"changes": {}, "status": "ready"})

    assert (response.status_code, response.json()["error"]["field"]) == (422, "status")
    assert _state(order) == before


def test_a_merchant_user_is_refused_on_its_own_order_and_nothing_is_written(client, order):
    client.force_login(user_with_role("merchant", merchant=order.merchant))
    before = _state(order)

    response = _post(client, f"/api/v1/orders/{order.pk}/correct", {"changes": {"province": "浙江省"}})

    assert (response.status_code, response.json()["error"]["code"]) == (403, "ROLE")
    assert _state(order) == before


def test_a_cancelled_order_is_refused_with_409_and_nothing_is_written(client, order):
    Order.objects.filter(pk=order.pk).update(status="cancelled")
    client.force_login(user_with_role("cs_agent"))
    before = _state(order)

    response = _post(client, f"/api/v1/orders/{order.pk}/correct", {"changes": {"province": "浙江省"}})

    assert (response.status_code, response.json()["error"]["code"]) == (409, "ORDER_CLOSED")
    assert response.json()["error"]["message"] == "订单已发货或已取消，不能更正收货信息"
    assert _state(order) == before


def test_another_merchants_order_is_not_found_and_nothing_is_written(client, order):
    client.force_login(user_with_role("merchant", merchant=ChannelFactory().merchant))
    before = _state(order)

    response = _post(client, f"/api/v1/orders/{order.pk}/correct", {"changes": {"province": "浙江省"}})

    assert (response.status_code, response.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert _state(order) == before


def test_the_current_values_change_nothing_and_the_order_comes_back(client, order):
    client.force_login(user_with_role("operator"))
    before = _state(order)

    response = _post(client, f"/api/v1/orders/{order.pk}/correct", {"changes": {"city": "杭州市"}})

    assert (response.status_code, response.json()["changed"], response.json()["closed_cases"]) == (
        200,
        [],
        [],
    )
    assert _state(order) == before
