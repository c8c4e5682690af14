"""The daily audit pages in a real browser (Debian's chromium through Playwright): a manager
draws today's sample, confirms the checklists, fails an item and follows the D4 case it
opened (D4)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from orderguard.audits.models import AuditPlan
from orderguard.audits.services import day_bounds, local_day
from orderguard.audits.tests.factories import audit_order
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.core import clock
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_draws_todays_audit_confirms_lines_and_a_failed_item_opens_a_case(page, live_server):  # noqa: F811
    channel = ChannelFactory(code="mine")
    start, _end = day_bounds(local_day(clock.now()))
    tidy = [audit_order(channel, paid_at=start + timedelta(minutes=i)) for i in (1, 2)]
    vague = audit_order(channel, paid_at=start + timedelta(minutes=3), vague=True)
    AuditPlan.objects.create(warehouse=channel.warehouse, share_percent=Decimal("100"), risk_weighting=False)
    user_with_role("manager", username="boss")

    sign_in(page, live_server, "boss")
    page.goto(live_server.url + "/audits/")
    assert page.locator("#no-audits").inner_text() == "还没有抽检记录。每天凌晨会自动抽取前一天的订单。"
    with page.expect_navigation():
        page.click("#draw-now")

    assert page.locator(".messages li").inner_text() == "已抽取 3 笔（当天共 3 笔）"
    assert page.locator("#audit-summary .drawn").inner_text() == "3"
    assert page.locator("#audit-summary .pending").inner_text() == "3"
    assert page.locator("section.audit-line").count() == 3
    card = page.locator(f"section.audit-line[data-order='{vague.platform_order_id}']")
    assert card.locator("fieldset[data-item=address] .proposal").inner_text() == "系统建议：不通过"
    assert (
        card.locator("fieldset[data-item=address] .text-danger").nth(1).inner_text()
        == "详细地址中没有道路、街巷、村组，也没有门牌号"
    )

    # a tidy order passes as proposed
    first = page.locator(f"section.audit-line[data-order='{tidy[0].platform_order_id}']")
    with page.expect_navigation():
        first.locator("button.confirm").click()
    assert page.locator(".messages li").inner_text() == "已确认：全部通过"
    assert (
        page.locator(
            f"section.audit-line[data-order='{tidy[0].platform_order_id}'] .line-status"
        ).inner_text()
        == "通过"
    )

    # overriding a proposal without a note is refused and changes nothing
    second = page.locator(f"section.audit-line[data-order='{tidy[1].platform_order_id}']")
    second.locator("fieldset[data-item=items] input[value=fail]").check()
    with page.expect_navigation():
        second.locator("button.confirm").click()
    assert page.locator(".messages li").inner_text() == "商品与库存、平台一致：与系统建议不同的结果请填写说明"
    assert ExceptionCase.objects.count() == 0

    # the vague order fails its address as proposed, with a note: a D4 case opens and is linked
    card = page.locator(f"section.audit-line[data-order='{vague.platform_order_id}']")
    card.locator("input[name=address_note]").fill("只写了西湖边")
    with page.expect_navigation():
        card.locator("button.confirm").click()

    case = ExceptionCase.objects.get()
    assert (case.type, case.source, case.order_id, case.status) == ("T2", "D4", vague.pk, "open")
    assert page.locator(".messages li").inner_text() == f"已确认：已创建异常单 #{case.pk}"
    card = page.locator(f"section.audit-line[data-order='{vague.platform_order_id}']")
    assert card.locator(".line-status").inner_text() == "未通过"
    assert card.locator("li[data-item=address]").inner_text() == "地址详细: 不通过 — 只写了西湖边"
    assert card.locator("a.case-link").inner_text() == f"异常单 #{case.pk} (T2)"
    assert page.locator("#audit-summary .pending").inner_text() == "1"
    assert page.locator("#audit-summary .failed").inner_text() == "1"
    assert page.locator("#audit-summary .estimate").inner_text() == "50.0%"

    with page.expect_navigation():
        card.locator("a.case-link").click()
    assert page.url == f"{live_server.url}/cases/{case.pk}/"
    assert page.locator("#timeline li[data-event=audited] .what").inner_text() == (
        f"{local_day(clock.now()).isoformat()} 的抽检未通过：地址详细"
    )
    assert list(CaseEvent.objects.filter(case=case).values_list("type", flat=True)) == ["opened", "audited"]

    page.goto(live_server.url + "/audits/")
    row = page.locator("#audits tbody tr").first
    assert row.locator(".drawn").inner_text() == "3"
    assert row.locator(".failed").inner_text() == "1"
    assert row.locator(".estimate").inner_text() == "50.0%"
    assert row.locator(".interval").inner_text() == "9.5% – 90.5%"
    assert page.locator("#audit-trend svg").count() == 1
