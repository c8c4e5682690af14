"""The case page without a browser: what each caller sees, the actions it may take, the
logged reveal, and refusals that change nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import case_assign
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.core import clock
from orderguard.orders.models import OrderLine
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
PHONE_FINDING = {
    "code": "PHONE_BAD_LENGTH",
    "type": "T2",
    "field": "recipient_phone",
    "severity": "blocking",
    "source": "D2",
    "data": {"digits": 10},
}


def _case(**kw) -> ExceptionCase:  # type: ignore[no-untyped-def]
    order = OrderFactory(
        platform_order_id="TB-1001",
        recipient_name="张三丰",
        recipient_phone="13800138000",
        phone_normalised="13800138000",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address_detail="文三路90号501室",
        paid_at=datetime(2026, 11, 25, 2, 30, tzinfo=UTC),
    )
    OrderLine.objects.create(order=order, line_no=1, sku_code="SKU-1", title="保温杯", quantity=2)
    return ExceptionCaseFactory(order=order, findings=[PHONE_FINDING], **kw)


def _events(case: ExceptionCase) -> list[tuple[str, str]]:
    return list(CaseEvent.objects.filter(case=case).order_by("pk").values_list("type", "actor_label"))


def _buttons(html: str) -> list[str]:
    return re.findall(r'name="action" value="(\w+)"', html)


def _state(case: ExceptionCase) -> tuple:
    c = ExceptionCase.objects.get(pk=case.pk)
    return (c.status, c.assignee_id, c.outcome, c.updated_at, CaseEvent.objects.filter(case=c).count())


def test_an_agent_sees_the_order_masked_recipient_lines_findings_and_its_buttons(client):
    case = _case()
    client.force_login(user_with_role("cs_agent", username="ann"))

    response = client.get(f"/cases/{case.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert ("TB-1001" in html, "2026-11-25 10:30" in html, "保温杯" in html) == (True, True, True)
    assert re.search(r'id="recipient-name">([^<]*)<', html).group(1) == "张**"
    assert re.search(r'id="recipient-phone">([^<]*)<', html).group(1) == "138****8000"
    assert re.search(r'id="recipient-detail">([^<]*)<', html).group(1) == "****"
    assert ("13800138000" in html, "文三路" in html, "张三丰" in html) == (False, False, False)
    assert "手机号位数不对：10 位" in html
    assert re.search(r'id="recipient-region">([^<]*)<', html).group(1) == "浙江省 杭州市 西湖区"
    assert re.search(r'id="case-step">([^<]*)<', html).group(1) == "联系买家"
    assert _buttons(html) == ["start", "wait_buyer", "wait_merchant", "resolve", "cancel"]
    assert ('id="reveal"' in html, 'id="take"' in html, 'id="note-form"' in html) == (True, True, True)


def test_an_operator_has_buttons_but_no_reveal(client):
    case = _case()
    client.force_login(user_with_role("operator"))

    html = client.get(f"/cases/{case.pk}/").content.decode()

    assert (_buttons(html)[:1], 'id="reveal"' in html) == (["start"], False)


def test_a_merchant_reads_its_own_case_without_buttons_and_with_role_labels(client):
    case = _case()
    boss = user_with_role("manager", username="boss-wang")
    ann = user_with_role("cs_agent", username="agent-li")
    case_assign(case_id=case.pk, assignee_id=ann.pk, actor=actor_for(boss), now=clock.now())
    client.force_login(user_with_role("merchant", merchant=case.merchant, username="shop"))

    html = client.get(f"/cases/{case.pk}/").content.decode()

    assert _buttons(html) == []
    assert ('id="reveal"' in html, 'id="take"' in html, 'id="assign"' in html) == (False, False, False)
    assert 'id="note-form"' in html
    assert re.search(r'id="case-assignee">([^<]*)<', html).group(1) == "客服"
    assert re.findall(
        r'<span class="who[^"]*">([^<]*)</span>\s*<span class="what[^"]*">([^<]*)</span>', html
    ) == [("仓库主管", "指派给 客服")]
    assert ("boss-wang" in html, "agent-li" in html) == (False, False)


def test_another_merchants_case_is_not_found(client):
    case = _case()
    client.force_login(user_with_role("merchant", merchant=ChannelFactory().merchant))

    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert client.post(f"/cases/{case.pk}/notes", {"note": "hi"}).status_code == 404
    assert CaseEvent.objects.count() == 0


def test_an_htmx_action_redraws_the_panel_with_the_new_state_and_the_timeline(client):
    case = _case()
    client.force_login(user_with_role("cs_agent", username="ann"))

    response = client.post(f"/cases/{case.pk}/actions", {"action": "start", "note": ""}, **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<div id="case-work">')
    assert re.search(r'id="case-message"[^>]*>([^<]*)<', html).group(1) == "已执行：开始处理"
    assert re.search(r'data-status="(\w+)"', html).group(1) == "in_progress"
    assert _buttons(html) == ["wait_buyer", "wait_merchant", "resolve", "cancel"]
    assert re.findall(r'<span class="what[^"]*">([^<]*)</span>', html) == ["开始处理"]
    assert _events(case) == [("status_changed", "user:ann")]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"action": "resume"}, "异常单当前的状态不允许这个操作"),
        ({"action": "resolve", "note": "好了"}, "解决时请选择处理结果：成功或失败；其他操作不填结果"),
        ({"action": "resolve", "outcome": "succeeded", "note": " "}, "请填写说明"),
        ({"action": "reopen", "note": "x"}, "你的角色不能执行这个操作"),
        ({"action": "fly"}, "请选择操作"),
        ({}, "请选择操作"),
    ],
)
def test_a_refused_action_says_why_and_changes_nothing(client, form, message):
    case = _case()
    client.force_login(user_with_role("cs_agent"))
    before = _state(case)

    response = client.post(f"/cases/{case.pk}/actions", form, **HX)

    assert response.status_code == 200
    assert (
        re.search(r'id="case-message"[^>]*role="alert">([^<]*)<', response.content.decode()).group(1)
        == message
    )
    assert _state(case) == before


def test_without_htmx_an_action_comes_back_to_the_page_with_the_message(client):
    case = _case()
    client.force_login(user_with_role("manager"))

    response = client.post(f"/cases/{case.pk}/actions", {"action": "cancel", "note": "重复订单"})
    page = client.get(response["Location"]).content.decode()

    assert (response.status_code, response["Location"]) == (302, f"/cases/{case.pk}/")
    assert "已执行：取消异常单" in page
    assert ExceptionCase.objects.get(pk=case.pk).status == "cancelled"


def test_a_merchant_user_posting_an_action_is_refused_and_nothing_changes(client):
    case = _case()
    client.force_login(user_with_role("merchant", merchant=case.merchant))
    before = _state(case)

    responses = [
        client.post(f"/cases/{case.pk}/actions", {"action": "start"}),
        client.post(f"/cases/{case.pk}/take"),
        client.post(f"/cases/{case.pk}/reveal"),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert _state(case) == before


def test_a_merchant_answers_with_a_note(client):
    case = _case()
    client.force_login(user_with_role("merchant", merchant=case.merchant, username="shop"))

    response = client.post(f"/cases/{case.pk}/notes", {"note": "请改发顺丰"}, **HX)

    html = response.content.decode()
    assert re.findall(r'<div class="note[^"]*">([^<]*)</div>', html) == ["请改发顺丰"]
    assert list(CaseEvent.objects.values_list("type", "actor_label", "data")) == [
        ("note", "user:shop", {"text": "请改发顺丰"})
    ]


def test_take_and_assign_from_the_case_page(client):
    case = _case()
    ann = user_with_role("cs_agent", username="ann")
    bob = user_with_role("operator", username="bob")
    client.force_login(ann)

    took = client.post(f"/cases/{case.pk}/take", **HX).content.decode()
    gave = client.post(f"/cases/{case.pk}/assign", {"assignee": bob.pk}, **HX).content.decode()
    nobody = client.post(f"/cases/{case.pk}/assign", {"assignee": "x"}, **HX).content.decode()

    assert re.search(r'id="case-message"[^>]*>([^<]*)<', took).group(1) == f"已领取异常单 {case.pk}"
    assert re.search(r'id="case-assignee">([^<]*)<', gave).group(1) == "bob"
    assert re.search(r'id="case-message"[^>]*>([^<]*)<', nobody).group(1) == "没有这个用户"
    assert [e.data for e in CaseEvent.objects.order_by("pk")] == [
        {"assignee": "ann", "previous": None},
        {"assignee": "bob", "previous": "ann"},
    ]


def test_an_agent_reveals_the_recipient_in_a_fragment_that_is_not_stored_and_is_logged(client):
    case = _case()
    client.force_login(user_with_role("cs_agent", username="ann"))

    response = client.post(f"/cases/{case.pk}/reveal", **HX)
    page = client.get(f"/cases/{case.pk}/").content.decode()

    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert re.search(r'id="recipient-phone">([^<]*)<', html).group(1) == "13800138000"
    assert re.search(r'id="recipient-name">([^<]*)<', html).group(1) == "张三丰"
    assert re.search(r'id="recipient-detail">([^<]*)<', html).group(1) == "文三路90号501室"
    assert list(CaseEvent.objects.values_list("type", "actor_label", "data")) == [
        ("revealed", "user:ann", {"fields": ["name", "phone", "address"]})
    ]
    assert "查看了收件人的姓名、电话、详细地址" in page and "13800138000" not in page
    assert '<div id="case-work" hx-swap-oob="true">' in html
    assert re.findall(r'<span class="what[^"]*">([^<]*)</span>', html) == [
        "查看了收件人的姓名、电话、详细地址"
    ]


def test_the_case_page_costs_the_same_queries_whatever_the_length_of_the_timeline(client):
    short, long = _case(), _case()
    for case, n in ((short, 1), (long, 30)):
        for i in range(n):
            CaseEvent.objects.create(
                case=case, type="note", occurred_at=clock.now(), actor_label="user:x", data={"text": str(i)}
            )
    client.force_login(user_with_role("manager"))
    client.get(f"/cases/{short.pk}/")

    with CaptureQueriesContext(connection) as few:
        client.get(f"/cases/{short.pk}/")
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/cases/{long.pk}/")

    assert response.status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize("role", ["operator", "tech_oncall"])
def test_roles_that_may_not_reveal_are_refused_and_nothing_is_logged(client, role):
    case = _case()
    client.force_login(user_with_role(role))

    response = client.post(f"/cases/{case.pk}/reveal", **HX)

    assert response.status_code == 403
    assert "13800138000" not in response.content.decode()
    assert CaseEvent.objects.count() == 0


def test_the_countdown_shows_time_left_and_an_overdue_case_in_red(client):
    soon = _case(due_in=timedelta(minutes=90, seconds=30))
    late = ExceptionCaseFactory(due_in=timedelta(minutes=-5))
    client.force_login(user_with_role("operator"))

    soon_html = client.get(f"/cases/{soon.pk}/").content.decode()
    late_html = client.get(f"/cases/{late.pk}/").content.decode()

    assert re.search(r'<span class="countdown ms-2"[^>]*>还剩 1:(\d\d):\d\d</span>', soon_html).group(1) in (
        "29",
        "30",
    )
    assert re.search(
        r'<span class="countdown ms-2 overdue text-danger"[^>]*>已超时 0:0[45]:\d\d</span>', late_html
    )


def test_the_queue_links_each_case_to_its_page(client):
    case = _case()
    client.force_login(user_with_role("operator"))

    html = client.get("/queue/").content.decode()

    assert f'<a href="/cases/{case.pk}/" class="case-link">{case.pk}</a>' in html


def test_a_closed_cases_button_in_english_says_reopen(client):
    case = _case(status="resolved", outcome="succeeded", closed_at=datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    client.force_login(user_with_role("manager", username="mia"))
    client.post("/language/", {"language": "en", "next": "/queue/"})

    html = client.get(f"/cases/{case.pk}/").content.decode()

    assert _buttons(html) == ["reopen"]
    # the action is named as an action ("Reopened" is the event)
    assert re.search(r'name="action" value="reopen"[^>]*>\s*([^<]*?)\s*<', html).group(1) == "Reopen"
