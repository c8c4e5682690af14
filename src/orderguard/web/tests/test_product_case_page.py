"""The product-error parts of the pages (T3, H3): the case page's buttons and lines form, the
lines form's refusals, and the disputed SKU's page; a refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from orderguard.cases.disputes import sku_dispute_answer
from orderguard.cases.machine import ActionName
from orderguard.cases.models import CaseEvent
from orderguard.cases.services import case_transition
from orderguard.catalog.models import SkuDispute
from orderguard.intake.tests.product_world import IMPORTED_AT, order_for_xl, tee_shop
from orderguard.orders.models import Order, OrderLine
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(channel):  # type: ignore[no-untyped-def]
    shop = tee_shop(channel)
    order, case = order_for_xl(shop, "TB1")
    return {"shop": shop, "order": order, "case": case}


def _state(order: Order) -> tuple:
    return (
        Order.objects.get(pk=order.pk).status,
        list(OrderLine.objects.filter(order=order).values_list("sku_code", "quantity")),
        CaseEvent.objects.count(),
    )


def _dispute(world) -> SkuDispute:  # type: ignore[no-untyped-def]
    agent = actor_for(user_with_role("cs_agent"))
    case_transition(
        case_id=world["case"].pk,
        action=ActionName.DISPUTE_SKU,
        actor=agent,
        now=IMPORTED_AT + timedelta(minutes=5),
        note="买家坚持",
    )
    return SkuDispute.objects.get()


def test_the_case_page_draws_the_product_machines_buttons_and_the_lines_form_for_staff(client, world):
    client.force_login(user_with_role("cs_agent"))
    html = client.get(f"/cases/{world['case'].pk}/").content.decode()
    assert 'value="dispute_sku"' in html and 'value="wait_merchant"' not in html
    assert 'id="lines-form"' in html

    client.force_login(user_with_role("merchant", merchant=world["shop"].merchant))
    html = client.get(f"/cases/{world['case'].pk}/").content.decode()
    assert 'id="lines-form"' not in html and 'id="case-actions"' not in html


@pytest.mark.parametrize(
    ("codes", "quantities", "message"),
    [
        (["TEE-M", "TEE-S"], ["1", "0"], "第 2 行：数量必须是不小于 1 的整数"),
        (["TEE-M"], ["1.5"], "第 1 行：数量必须是不小于 1 的整数"),
        (["TEE-M"], ["-3"], "第 1 行：数量必须是不小于 1 的整数"),
        (["NOPE"], ["1"], "第 1 行：商家没有这个SKU编码"),
        (["", ""], ["", ""], "请填写 1 到 200 行商品"),
    ],
)
def test_bad_lines_in_the_form_are_named_and_nothing_changes(client, world, codes, quantities, message):
    client.force_login(user_with_role("cs_agent"))
    before = _state(world["order"])

    response = client.post(
        f"/cases/{world['case'].pk}/lines", {"sku_code": codes, "quantity": quantities}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [message]
    assert _state(world["order"]) == before


def test_the_lines_of_a_shipped_order_stay_and_merchants_change_none(client, world):
    Order.objects.filter(pk=world["order"].pk).update(status="shipped")
    before = _state(world["order"])
    url = f"/cases/{world['case'].pk}/lines"
    form = {"sku_code": ["TEE-M"], "quantity": ["1"]}

    client.force_login(user_with_role("manager"))
    response = client.post(url, form, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["订单已发货或已取消，不能修改商品"]
    client.force_login(user_with_role("merchant", merchant=world["shop"].merchant))
    assert client.post(url, form).status_code == 403
    client.force_login(user_with_role("merchant", merchant=ChannelFactory().merchant))
    assert client.post(url, form).status_code == 404
    assert _state(world["order"]) == before


def test_the_dispute_page_answers_once_for_its_own_merchant_only(client, world):
    dispute = _dispute(world)
    page = f"/disputes/{dispute.pk}/"
    other = Client()
    other.force_login(user_with_role("merchant", merchant=ChannelFactory().merchant))
    assert other.get(page).status_code == 404
    assert other.post(page + "answer", {"answer": "data_fixed"}).status_code == 404
    operator = Client()
    operator.force_login(user_with_role("operator"))
    assert 'id="answer-form"' not in operator.get(page).content.decode()
    assert operator.post(page + "answer", {"answer": "data_fixed"}).status_code == 403
    assert SkuDispute.objects.get().answered_at is None

    client.force_login(user_with_role("merchant", merchant=world["shop"].merchant))
    assert 'id="answer-form"' in client.get(page).content.decode()
    response = client.post(page + "answer", {"answer": "other", "text": ""}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["选择“其他”时请填写说明"]
    response = client.post(page + "answer", {"answer": "sku_right", "text": "XL在途"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["已答复，仓库会继续处理相关订单"]
    events = CaseEvent.objects.count()
    response = client.post(page + "answer", {"answer": "data_fixed"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["这条商品资料核实已经答复过了"]
    assert (SkuDispute.objects.get().answer, CaseEvent.objects.count()) == ("sku_right", events)


def test_the_merchant_dashboard_lists_open_disputes_until_answered(client, world):
    dispute = _dispute(world)
    merchant = user_with_role("merchant", merchant=world["shop"].merchant)
    client.force_login(merchant)
    assert f'data-dispute="{dispute.pk}"' in client.get("/dashboard/panels").content.decode()

    sku_dispute_answer(
        dispute_id=dispute.pk, actor=actor_for(merchant), answer="data_fixed", text="", now=IMPORTED_AT
    )

    assert f'data-dispute="{dispute.pk}"' not in client.get("/dashboard/panels").content.decode()
