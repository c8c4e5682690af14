"""The analysis page in a real browser (Debian's chromium through Playwright): the period
picker, the four charts drawn by the ECharts this site serves, and a finding turned into an
improvement action (S3, S4)."""

from __future__ import annotations

import pytest
from django.db import transaction

from orderguard.analysis.models import ImprovementAction
from orderguard.analysis.tests.handmade import make_history
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_picks_a_week_and_sees_its_charts_and_tables(page, live_server):  # noqa: F811
    with transaction.atomic():  # the services' batch writes run in their caller's transaction
        make_history()
    user_with_role("manager", username="boss")
    sign_in(page, live_server, "boss")

    page.goto(live_server.url + "/reports/")
    page.fill("#id_from", "2026-11-16")
    page.fill("#id_to", "2026-11-22")
    page.click("#report-form button[type=submit]")

    page.wait_for_selector("#chart-shares svg")
    page.wait_for_selector("#chart-trend svg")
    page.wait_for_selector("#chart-handling svg")
    # a bar per step the week's closings went through, named by type and step
    page.wait_for_selector("#chart-steps svg")
    steps_chart = page.locator("#chart-steps svg").text_content() or ""
    for label in ("缺货 · 等待商家决定", "缺货 · 通知商家", "收货信息错误 · 联系买家"):
        assert label in steps_chart
    assert page.locator("#report-scope").inner_text().startswith("全仓 · 2026-11-16 — 2026-11-22")
    assert page.locator("#report-types tr[data-type=T2] td").nth(1).inner_text() == "3"
    page.click("#report-types tr[data-type=T2] td a")
    page.wait_for_url(
        live_server.url + "/queue/?type=T2&status=all&opened_from=2026-11-16&opened_to=2026-11-22"
    )
    # the week's three new T2 cases, the two closed ones included
    assert page.locator("#queue tbody tr").count() == 3


def test_a_future_period_is_refused_on_the_page(page, live_server):  # noqa: F811
    user_with_role("manager", username="boss")
    sign_in(page, live_server, "boss")

    page.goto(live_server.url + "/reports/?from=2099-01-01&to=2099-01-02")

    assert page.locator("#report-error").inner_text() == "所选时段尚未开始：开始日期晚于今天"
    assert page.locator("#chart-shares").count() == 0
    assert ImprovementAction.objects.count() == 0
