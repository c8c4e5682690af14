"""Accepting a suggestion and correcting the recipient on the case page (without a browser):
who sees the buttons, what one click does, and refusals that change nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.intake.tests.correction_world import block_suggestions, order_without_province
from orderguard.orders.models import Order, OrderEvent
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def case(channel):  # type: ignore[no-untyped-def]
    order = order_without_province(block_suggestions(channel), "4001")
    return ExceptionCase.objects.get(order=order)


def _state(case: ExceptionCase) -> tuple:
    o = Order.objects.get(pk=case.order_id)
    c = ExceptionCase.objects.get(pk=case.pk)
    return (
        o.status,
        o.address_received,
        o.findings,
        o.updated_at,
        OrderEvent.objects.filter(order=o).count(),
        c.status,
        c.updated_at,
        CaseEvent.objects.filter(case=c).count(),
    )


def _signed_in(role: str, **kw) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user_with_role(role, **kw))
    return client


def test_an_agent_sees_the_suggestion_in_words_with_its_button_and_the_form(case):
    html = _signed_in("cs_agent").get(f"/cases/{case.pk}/").content.decode()

    assert "建议：省份 浙江省" in html
    assert 'name="code" value="ADDRESS_LEVEL_SUGGESTED"' in html
    assert html.count("采用建议") == 1
    assert 'id="correct-form"' in html


def test_an_operator_accepts_suggestions_but_has_no_correction_form(case):
    html = _signed_in("operator").get(f"/cases/{case.pk}/").content.decode()

    assert (html.count("采用建议"), 'id="correct-form"' in html) == (1, False)


def test_a_merchant_user_sees_the_suggestion_but_neither_the_button_nor_the_form(case):
    html = _signed_in("merchant", merchant=case.merchant).get(f"/cases/{case.pk}/").content.decode()

    assert "建议：省份 浙江省" in html
    assert ("采用建议" in html, 'id="correct-form"' in html) == (False, False)


def test_one_click_accepts_the_stored_suggestion_and_the_case_resolves(case):
    client = _signed_in("cs_agent", username="ann")

    response = client.post(f"/cases/{case.pk}/suggestion", {"code": "ADDRESS_LEVEL_SUGGESTED"}, **HX)

    assert (response.status_code, response["HX-Redirect"]) == (204, f"/cases/{case.pk}/")
    order = Order.objects.get(pk=case.order_id)
    assert (order.status, order.province, order.findings) == ("ready", "浙江省", [])
    assert OrderEvent.objects.filter(order=order).order_by("pk").last().data["changed"] == ["province"]  # type: ignore[union-attr]
    case.refresh_from_db()
    assert (case.status, case.resolution) == ("resolved", "recheck_passed")
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "已更正收货信息并重新检查：检查通过，异常单已自动解决" in page
    assert "复核已通过，自动解决" in page
    assert 'id="order-findings-none"' in page


def test_the_suggestion_comes_from_the_stored_finding_never_from_the_request(case):
    client = _signed_in("cs_agent")
    before = _state(case)

    response = client.post(
        f"/cases/{case.pk}/suggestion", {"code": "ADDRESS_NO_PROVINCE", "province": "江苏省"}
    )

    assert response.status_code == 302
    assert _state(case) == before
    assert "这条建议已不存在，页面已刷新" in client.get(f"/cases/{case.pk}/").content.decode()


def test_a_merchant_user_may_not_accept_a_suggestion_and_nothing_is_written(case):
    before = _state(case)

    response = _signed_in("merchant", merchant=case.merchant).post(
        f"/cases/{case.pk}/suggestion", {"code": "ADDRESS_LEVEL_SUGGESTED"}
    )

    assert response.status_code == 403
    assert _state(case) == before


def test_another_merchants_case_is_not_found_and_nothing_is_written(case):
    before = _state(case)
    other = ChannelFactory().merchant

    for url in (f"/cases/{case.pk}/suggestion", f"/cases/{case.pk}/correct"):
        response = _signed_in("merchant", merchant=other).post(url, {"code": "ADDRESS_LEVEL_SUGGESTED"})
        assert response.status_code == 404

    assert _state(case) == before


def test_the_form_corrects_only_the_fields_filled_and_keeps_the_case_open_when_a_problem_remains(case):
    client = _signed_in("manager", username="max")

    response = client.post(
        f"/cases/{case.pk}/correct", {"province": "江苏省", "recipient_name": "", "reason": "买家来电"}
    )

    assert response.status_code == 302
    order = Order.objects.get(pk=case.order_id)
    event = OrderEvent.objects.filter(order=order).order_by("pk").last()
    assert event is not None
    assert (event.type, event.actor_label, event.data["changed"], event.data["reason"]) == (
        "corrected",
        "user:max",
        ["province"],
        "买家来电",
    )
    case.refresh_from_db()
    assert (case.status, [f["code"] for f in case.findings]) == ("open", ["ADDRESS_CONFLICT"])


def test_an_operator_may_not_use_the_correction_form_and_nothing_is_written(case):
    before = _state(case)

    response = _signed_in("operator").post(f"/cases/{case.pk}/correct", {"province": "浙江省"})

    assert response.status_code == 403
    assert _state(case) == before


def test_a_cancelled_order_has_no_correction_form_and_a_forged_one_is_refused(case):
    Order.objects.filter(pk=case.order_id).update(status="cancelled")
    agent = _signed_in("cs_agent")
    before = _state(case)

    html = agent.get(f"/cases/{case.pk}/").content.decode()
    response = agent.post(f"/cases/{case.pk}/correct", {"province": "浙江省"})

    assert 'id="correct-form"' not in html
    # back on the case page with the reason
    assert "订单已发货或已取消，不能更正收货信息" in agent.get(response["Location"]).content.decode()
    assert _state(case) == before
