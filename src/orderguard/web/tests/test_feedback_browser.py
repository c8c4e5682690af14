"""A customer-service report in a real browser (Debian's chromium through Playwright): an
agent finds the order, reports a special request with a picture, sees the case it opened, and
is told in the inbox when the case is resolved (D5)."""

from __future__ import annotations

import pytest

from orderguard.cases.models import ExceptionCase
from orderguard.cases.services import case_transition
from orderguard.core import clock
from orderguard.feedback.models import ServiceReport
from orderguard.feedback.services import reports_notify_resolved
from orderguard.notifications.models import NotificationChannel
from orderguard.notifications.services import outbox_dispatch
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_an_agent_reports_a_special_request_and_hears_when_it_is_resolved(
    page,  # noqa: F811
    live_server,
    settings,
    tmp_path,
):
    settings.VAR_DIR = tmp_path
    NotificationChannel.objects.create(kind="inbox", name="站内消息")
    channel = ChannelFactory(code="mine")
    order = OrderFactory(channel=channel, platform_order_id="TB777")
    user_with_role("cs_agent", username="xiaomei")

    sign_in(page, live_server, "xiaomei")
    page.click("a.nav-link[href='/feedback/']")
    assert page.locator("#no-reports").inner_text() == "还没有客服反馈。"
    page.click("a[href='/feedback/new/']")
    page.fill("input[name=platform_order_id]", "TB778")
    page.fill("textarea[name=text]", "买家要礼品包装")
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")
    assert page.locator("#report-error").inner_text() == "找不到该订单，没有提交任何内容"
    assert ServiceReport.objects.count() == 0

    page.fill("input[name=platform_order_id]", "TB777")
    page.select_option("select[name=kind]", "special")
    page.select_option("select[name=special_kind]", "gift_packing")
    page.set_input_files(
        "input[name=attachments]", files=[{"name": "wrap.png", "mimeType": "image/png", "buffer": PNG}]
    )
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")

    case = ExceptionCase.objects.get()
    assert (case.type, case.source, case.order_id) == ("T5", "D5", order.pk)
    assert page.locator("#report-outcome").inner_text() == f"已创建异常单 #{case.pk} · 查看异常单"
    assert page.locator("#report-kind").inner_text() == "特殊需求：礼品包装"
    href = page.locator("a[href^='/feedback/attachments/']").get_attribute("href")
    picture = page.request.get(f"{live_server.url}{href}")
    assert (picture.status, picture.headers["content-type"], picture.body()) == (200, "image/png", PNG)
    page.goto(live_server.url + "/feedback/?kind=special")
    row = page.locator("#reports tr[data-report]")
    assert row.count() == 1
    assert row.locator(".case-status").inner_text() == "待处理"

    case_transition(
        case_id=case.pk,
        action="resolve",
        actor=actor_for(user_with_role("manager")),
        now=clock.now(),
        note="已安排礼品包装",
        outcome="succeeded",
    )
    assert reports_notify_resolved(now=clock.now()) == 1
    outbox_dispatch(now=clock.now())

    page.goto(live_server.url + "/inbox/")
    item = page.locator("li[data-item]").first
    assert item.locator("strong").inner_text() == f"您反馈的订单 TB777：异常单 #{case.pk} 已处理"
    assert item.locator(".small").inner_text() == "结果：成功。已安排礼品包装"
