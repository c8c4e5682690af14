"""The dashboard in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest
from django.db import connections

from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.conftest import IN_CI
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def page():  # type: ignore[no-untyped-def]
    if not shutil.which(CHROMIUM):
        if IN_CI:
            pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are
    # still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(locale="zh-CN")
        yield context.new_page()
        browser.close()
        # Connections opened while Playwright's greenlet is active belong to its context, not
        # to the one pytest-django closes at the end of the run.
        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def sign_in(page, live_server, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/")
    assert page.url.startswith(live_server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct horse battery")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(live_server.url + "/")


def test_signing_in_with_a_wrong_password_says_so_and_shows_nothing(page, live_server):
    user_with_role("operator", username="op")
    page.goto(live_server.url + "/")
    page.fill("#id_username", "op")
    page.fill("#id_password", "wrong")
    page.click("#login-form button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "用户名或密码不正确。"
    assert page.locator("#open-cases").count() == 0


def test_the_dashboard_says_when_there_is_nothing_open(page, live_server):
    user_with_role("operator", username="op")
    sign_in(page, live_server, "op")
    assert page.locator("h1").inner_text() == "OrderGuard 异常订单"
    assert page.locator("#no-open-cases").inner_text() == "目前没有未结的异常单。"


def _open_cases(channel):  # type: ignore[no-untyped-def]
    """Two open T2 cases: one a minute overdue, one due in two hours."""
    ExceptionCaseFactory(order=OrderFactory(channel=channel), due_in=timedelta(minutes=-1))
    ExceptionCaseFactory(order=OrderFactory(channel=channel))


def test_the_dashboard_counts_open_cases_by_type_and_deadline(page, live_server, channel):
    _open_cases(channel)
    user_with_role("manager", username="boss")

    sign_in(page, live_server, "boss")

    row = page.locator("tr[data-type='T2'] td")
    assert row.all_inner_texts() == ["收货信息错误", "1", "0", "1", "2"]
    assert page.locator("tr[data-type='T1'] td").all_inner_texts() == ["缺货", "0", "0", "0", "0"]


def test_a_merchant_user_sees_only_its_own_cases(page, live_server, channel):
    _open_cases(channel)
    other = ChannelFactory()
    user_with_role("merchant", merchant=other.merchant, username="shop")

    sign_in(page, live_server, "shop")

    assert page.locator("#no-open-cases").inner_text() == "目前没有未结的异常单。"


def test_the_dashboard_updates_itself_and_draws_its_chart(page, live_server, channel, settings):
    settings.OG_DASHBOARD_REFRESH_SECONDS = 1
    _open_cases(channel)
    user_with_role("manager", username="boss")
    sign_in(page, live_server, "boss")
    # the chart is drawn by the ECharts served from this site
    page.wait_for_selector("#cases-chart svg")
    assert page.locator("#open-total").inner_text() == "2"

    # a new overdue case appears without reloading the page
    ExceptionCaseFactory(order=OrderFactory(channel=channel), due_in=timedelta(minutes=-3))
    page.wait_for_function("document.querySelector('#open-total').innerText === '3'", timeout=10_000)
    assert page.locator("tr[data-type='T2'] td").all_inner_texts() == ["收货信息错误", "1", "0", "2", "3"]
    page.wait_for_selector("#cases-chart svg")


def test_a_user_switches_the_pages_to_english(page, live_server):
    user_with_role("operator", username="op")
    sign_in(page, live_server, "op")
    page.select_option("#language-select", "en")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("h1").inner_text() == "OrderGuard exception orders"
    assert page.locator("#no-open-cases").inner_text() == "There are no open cases."
