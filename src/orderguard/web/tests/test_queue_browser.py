"""The work queue in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.cases.models import ExceptionCase
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_finds_the_overdue_case_first_and_takes_it(page, live_server, channel):  # noqa: F811
    later = ExceptionCaseFactory(order=OrderFactory(channel=channel))
    overdue = ExceptionCaseFactory(order=OrderFactory(channel=channel), due_in=timedelta(minutes=-1))
    user_with_role("cs_agent", username="ann")

    sign_in(page, live_server, "ann")
    page.click("a[href='/queue/']")
    page.wait_for_url(live_server.url + "/queue/")

    rows = page.locator("#queue tbody tr")
    assert [rows.nth(i).get_attribute("data-case") for i in range(rows.count())] == [
        str(overdue.pk),
        str(later.pk),
    ]
    first = page.locator(f"tr[data-case='{overdue.pk}']")
    assert first.locator(".badge").inner_text() == "已超时"
    assert first.locator("td.assignee").inner_text() == "未指派"

    first.locator("button.take").click()
    page.wait_for_url(live_server.url + "/queue/")

    assert page.locator(".messages li").inner_text() == f"已领取异常单 {overdue.pk}"
    assert page.locator(f"tr[data-case='{overdue.pk}'] td.assignee").inner_text() == "ann"
    assert ExceptionCase.objects.get(pk=overdue.pk).assignee.username == "ann"


def test_a_merchant_user_sees_only_its_cases_and_no_take_button(page, live_server, channel):  # noqa: F811
    mine = ExceptionCaseFactory(order=OrderFactory(channel=channel))
    ExceptionCaseFactory(order=OrderFactory(channel=ChannelFactory()))
    user_with_role("merchant", merchant=channel.merchant, username="shop")

    sign_in(page, live_server, "shop")
    page.goto(live_server.url + "/queue/")

    rows = page.locator("#queue tbody tr")
    assert [rows.nth(i).get_attribute("data-case") for i in range(rows.count())] == [str(mine.pk)]
    assert page.locator("button.take").count() == 0
    assert page.locator("#bulk-assign").count() == 0
