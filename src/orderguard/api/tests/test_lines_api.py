"""Product errors (T3, H3) through the API: changing an order's lines, disputing a SKU with the
merchant through the case's actions, listing and answering disputes; answers per caller, the
error shape, and that a refusal writes nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.models import SkuDispute
from orderguard.intake.tests.product_world import order_for_xl, tee_shop
from orderguard.orders.models import Order, OrderEvent, OrderLine
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: dict) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _state(order: Order) -> tuple:
    return (
        Order.objects.get(pk=order.pk).status,
        list(OrderLine.objects.filter(order=order).values_list("sku_code", "quantity")),
        OrderEvent.objects.filter(order=order).count(),
        list(ExceptionCase.objects.filter(order=order).values_list("type", "status")),
        CaseEvent.objects.count(),
        SkuDispute.objects.count(),
    )


@pytest.fixture
def shop(channel):  # type: ignore[no-untyped-def]
    return tee_shop(channel)


def test_an_agent_changes_the_lines_and_the_product_case_closes(client, shop):
    order, case = order_for_xl(shop, "TB1")
    client.force_login(user_with_role("cs_agent", username="ann"))

    response = _post(
        client,
        f"/api/v1/orders/{order.pk}/lines",
        {"lines": [{"sku_code": "TEE-M", "quantity": 1}], "reason": "买家选错尺码"},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["changed"], body["closed_cases"], body["opened_cases"]) == (
        "ready",
        True,
        [case.pk],
        [],
    )
    assert [(li["sku_code"], li["quantity"], li["allocated"]) for li in body["lines"]] == [("TEE-M", 1, 1)]
    assert body["disputed_skus"] == []


@pytest.mark.parametrize(
    ("lines", "status", "code", "field"),
    [
        ([{"sku_code": "NOPE", "quantity": 1}], 422, "SKU_UNKNOWN", "lines[0].sku_code"),
        ([{"sku_code": "TEE-M", "quantity": 0}], 422, "QUANTITY_INVALID", "lines[0].quantity"),
        (
            [{"sku_code": "TEE-M", "quantity": 2}, {"sku_code": "TEE-S", "quantity": 0.5}],
            422,
            "QUANTITY_INVALID",
            "lines[1].quantity",
        ),
        ([{"sku_code": "TEE-M", "quantity": -1}], 422, "QUANTITY_INVALID", "lines[0].quantity"),
        ([{"sku_code": "TEE-M", "quantity": True}], 422, "INVALID_INPUT", "lines.0.quantity.int"),
    ],
)
def test_bad_lines_are_refused_naming_the_line_and_nothing_changes(client, shop, lines, status, code, field):
    order, _case = order_for_xl(shop, "TB2")
    client.force_login(user_with_role("cs_agent"))
    before = _state(order)

    response = _post(client, f"/api/v1/orders/{order.pk}/lines", {"lines": lines})

    assert response.status_code == status
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    assert _state(order) == before


def test_a_merchant_user_or_a_shipped_order_is_refused_and_another_merchant_finds_nothing(client, shop):
    order, _case = order_for_xl(shop, "TB3")
    before = _state(order)
    body = {"lines": [{"sku_code": "TEE-M", "quantity": 1}]}

    client.force_login(user_with_role("merchant", merchant=shop.merchant))
    assert _post(client, f"/api/v1/orders/{order.pk}/lines", body).json()["error"]["code"] == "ROLE"
    client.force_login(user_with_role("merchant", merchant=ChannelFactory().merchant))
    assert _post(client, f"/api/v1/orders/{order.pk}/lines", body).status_code == 404
    assert _state(order) == before

    Order.objects.filter(pk=order.pk).update(status="shipped")
    before = _state(order)
    client.force_login(user_with_role("manager"))
    response = _post(client, f"/api/v1/orders/{order.pk}/lines", body)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "ORDER_CLOSED")
    assert _state(order) == before


def test_the_buyer_insists_the_merchant_lists_and_answers_and_the_case_resumes(client, shop):
    order, case = order_for_xl(shop, "TB4")
    agent = Client()
    agent.force_login(user_with_role("cs_agent", username="ann"))

    response = _post(
        agent, f"/api/v1/cases/{case.pk}/actions", {"action": "dispute_sku", "note": "买家坚持XL"}
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["waiting_on"], response.json()["step"]) == (
        "waiting",
        "merchant",
        "merchant_answer",
    )
    assert agent.get(f"/api/v1/orders/{order.pk}").json()["disputed_skus"] == ["TEE-XL"]
    dispute = SkuDispute.objects.get()

    client.force_login(user_with_role("merchant", merchant=shop.merchant, username="yoyo"))
    listed = client.get("/api/v1/catalog/disputes?open=true").json()
    assert (listed["total"], [(d["id"], d["sku_code"], d["cases"], d["open"]) for d in listed["items"]]) == (
        1,
        [(dispute.pk, "TEE-XL", [case.pk], True)],
    )
    # the merchant reads a role, not the agent's username
    assert listed["items"][0]["opened_by"] == "客服"

    response = _post(
        client, f"/api/v1/catalog/disputes/{dispute.pk}/answer", {"answer": "sku_right", "text": "XL在途"}
    )
    assert response.status_code == 200
    assert (response.json()["open"], response.json()["answer"], response.json()["answer_text"]) == (
        False,
        "sku_right",
        "XL在途",
    )
    case.refresh_from_db()
    assert (case.status, case.waiting_on) == ("in_progress", "")
    assert agent.get(f"/api/v1/orders/{order.pk}").json()["disputed_skus"] == []
    assert client.get("/api/v1/catalog/disputes?open=true").json()["total"] == 0

    events = CaseEvent.objects.count()
    again = _post(client, f"/api/v1/catalog/disputes/{dispute.pk}/answer", {"answer": "data_fixed"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ALREADY_ANSWERED")
    assert CaseEvent.objects.count() == events
    assert SkuDispute.objects.get().answer == "sku_right"


def test_another_merchant_neither_lists_nor_answers_a_dispute_and_other_needs_words(client, shop):
    _order, case = order_for_xl(shop, "TB5")
    agent = Client()
    agent.force_login(user_with_role("cs_agent"))
    _post(agent, f"/api/v1/cases/{case.pk}/actions", {"action": "dispute_sku", "note": "坚持"})
    dispute = SkuDispute.objects.get()
    events = CaseEvent.objects.count()

    client.force_login(user_with_role("merchant", merchant=ChannelFactory().merchant))
    assert client.get("/api/v1/catalog/disputes").json() == {"total": 0, "items": []}
    response = _post(client, f"/api/v1/catalog/disputes/{dispute.pk}/answer", {"answer": "data_fixed"})
    assert response.status_code == 404

    client.force_login(user_with_role("merchant", merchant=shop.merchant))
    response = _post(client, f"/api/v1/catalog/disputes/{dispute.pk}/answer", {"answer": "other", "text": ""})
    assert (response.status_code, response.json()["error"]) == (
        422,
        {"code": "TEXT_REQUIRED", "message": "选择“其他”时请填写说明", "field": "text"},
    )
    assert (SkuDispute.objects.get().answered_at, CaseEvent.objects.count()) == (None, events)


def test_a_merchant_user_lists_its_disputes_in_a_fixed_number_of_queries(client, shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orderguard.core import clock

    user_with_role("cs_agent", username="ann")
    user_with_role("cs_agent", username="bob")
    client.force_login(user_with_role("merchant", merchant=shop.merchant))

    def add(n: int) -> None:
        for i in range(n):
            SkuDispute.objects.create(
                merchant=shop.merchant,
                sku_code=f"CODE-{SkuDispute.objects.count()}-{i}",
                buyer_says="买家坚持",
                opened_by_label="user:ann" if i % 2 else "user:bob",
                opened_at=clock.now(),
            )

    add(1)
    with CaptureQueriesContext(connection) as one:
        first = client.get("/api/v1/catalog/disputes")
    add(5)
    with CaptureQueriesContext(connection) as six:
        second = client.get("/api/v1/catalog/disputes")

    assert (first.status_code, second.status_code) == (200, 200)
    assert len(second.json()["items"]) == 6
    # people are shown by role to a merchant user, never by username
    assert {item["opened_by"] for item in second.json()["items"]} == {"客服"}
    assert len(six.captured_queries) == len(one.captured_queries)
