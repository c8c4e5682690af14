"""The case page in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.core import clock
from orderguard.intake.tests.correction_world import block_suggestions, order_without_province
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _timeline(tab) -> list[str]:  # type: ignore[no-untyped-def]
    items = tab.locator("#timeline li")
    return [items.nth(i).get_attribute("data-event") for i in range(items.count())]


def _recipient_order(channel):  # type: ignore[no-untyped-def]
    return OrderFactory(
        channel=channel,
        recipient_name="张三丰",
        recipient_phone="13800138000",
        address_detail="文三路90号501室",
    )


def test_an_agent_takes_handles_notes_and_resolves_an_overdue_case(page, live_server, channel):  # noqa: F811
    ExceptionCaseFactory(order=OrderFactory(channel=channel))
    overdue = ExceptionCaseFactory(order=_recipient_order(channel), due_in=timedelta(minutes=-3))
    CaseEvent.objects.create(
        case=overdue, type="opened", occurred_at=clock.now(), actor_label="system:intake"
    )
    user_with_role("cs_agent", username="ann")

    sign_in(page, live_server, "ann")
    page.goto(live_server.url + "/queue/")
    row = page.locator(f"tr[data-case='{overdue.pk}']")
    assert row.locator(".badge").inner_text() == "已超时"
    row.locator("a.case-link").click()
    page.wait_for_url(live_server.url + f"/cases/{overdue.pk}/")

    assert page.locator(".countdown").get_attribute("class") == "countdown ms-2 overdue text-danger"
    assert page.locator(".countdown").inner_text().startswith("已超时 0:0")
    assert page.locator("#recipient-phone").inner_text() == "138****8000"
    assert _timeline(page) == ["opened"]

    page.click("#take")
    page.wait_for_selector("#case-message:has-text('已领取异常单')")
    assert page.locator("#case-assignee").inner_text() == "ann"

    page.click("button.action-start")
    page.wait_for_selector("#case-status[data-status='in_progress']")

    page.fill("#note-text", "已致电买家，约定下午回电")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector("#case-message:has-text('已添加备注')")

    page.fill("#action-note", "买家确认了地址")
    page.select_option("#action-outcome", "succeeded")
    page.click("button.action-resolve")
    page.wait_for_selector("#case-status[data-status='resolved']")

    assert _timeline(page) == ["opened", "assigned", "status_changed", "note", "resolved"]
    assert [page.locator("#timeline li .what").nth(i).inner_text() for i in range(5)] == [
        "创建异常单",
        "指派给 ann",
        "开始处理",
        "备注",
        "已解决：成功",
    ]
    assert page.locator("#case-actions").count() == 0
    case = ExceptionCase.objects.get(pk=overdue.pk)
    assert (case.status, case.outcome, case.resolution) == ("resolved", "succeeded", "买家确认了地址")
    assert list(CaseEvent.objects.filter(case=case).order_by("pk").values_list("type", flat=True)) == [
        "opened",
        "assigned",
        "status_changed",
        "note",
        "resolved",
    ]


def test_an_agent_reveals_the_recipient_and_the_reveal_is_logged(page, live_server, channel):  # noqa: F811
    case = ExceptionCaseFactory(order=_recipient_order(channel))
    user_with_role("cs_agent", username="ann")

    sign_in(page, live_server, "ann")
    page.goto(live_server.url + f"/cases/{case.pk}/")
    page.click("#reveal")
    page.wait_for_selector("#recipient-clear")

    assert page.locator("#recipient-phone").inner_text() == "13800138000"
    assert page.locator("#recipient-detail").inner_text() == "文三路90号501室"
    assert "13800138000" not in page.url
    assert list(CaseEvent.objects.values_list("type", "data")) == [
        ("revealed", {"fields": ["name", "phone", "address"]})
    ]


def test_a_merchant_reads_its_case_masked_without_buttons_and_not_another_merchants(
    page,  # noqa: F811
    live_server,
    channel,
):
    mine = ExceptionCaseFactory(order=_recipient_order(channel))
    theirs = ExceptionCaseFactory(order=OrderFactory(channel=ChannelFactory()))
    user_with_role("merchant", merchant=channel.merchant, username="shop")

    sign_in(page, live_server, "shop")
    page.goto(live_server.url + f"/cases/{mine.pk}/")

    assert page.locator("#recipient-phone").inner_text() == "138****8000"
    assert page.locator("#recipient-name").inner_text() == "张**"
    assert page.locator("#case-actions button").count() == 0
    assert (
        page.locator("#take").count(),
        page.locator("#reveal").count(),
        page.locator("#assign").count(),
    ) == (
        0,
        0,
        0,
    )
    assert page.locator("#note-form").count() == 1

    response = page.goto(live_server.url + f"/cases/{theirs.pk}/")
    assert response is not None and response.status == 404


def test_an_agent_accepts_an_address_suggestion_with_one_click_and_sees_the_case_resolved(
    page,  # noqa: F811
    live_server,
    channel,
):
    order = order_without_province(block_suggestions(channel), "5001")
    case = ExceptionCase.objects.get(order=order)
    user_with_role("cs_agent", username="ann")

    sign_in(page, live_server, "ann")
    page.goto(live_server.url + f"/cases/{case.pk}/")
    assert page.locator("#case-status").get_attribute("data-status") == "open"
    suggestion = page.locator("#order-findings li[data-code='ADDRESS_LEVEL_SUGGESTED'] .suggestion")
    assert suggestion.inner_text().startswith("建议：省份 浙江省")

    suggestion.locator("button.accept-suggestion").click()
    page.wait_for_selector("#case-status[data-status='resolved']")

    assert page.locator("#order-findings-none").inner_text() == "订单现在没有问题。"
    assert page.locator("#recipient-region").inner_text() == "浙江省 杭州市 西湖区"
    assert _timeline(page) == ["opened", "resolved"]
    assert page.locator("#timeline li .what").nth(1).inner_text() == "复核已通过，自动解决"
    case.refresh_from_db()
    assert (case.status, case.resolution) == ("resolved", "recheck_passed")
