"""The orders pages in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderguard.orders.models import OrderLine
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _order(channel, platform_id: str, phone: str):  # type: ignore[no-untyped-def]
    order = OrderFactory(
        channel=channel,
        platform_order_id=platform_id,
        recipient_name="张三丰",
        recipient_phone=phone,
        phone_normalised=phone,
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address_detail="文三路90号501室",
        status="on_hold",
        paid_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        findings=[
            {
                "code": "PHONE_BAD_LENGTH",
                "type": "T2",
                "field": "recipient_phone",
                "severity": "blocking",
                "source": "D2",
                "data": {"digits": 10},
            }
        ],
    )
    OrderLine.objects.create(
        order=order, line_no=1, sku_code="SKU-1", title="T恤", quantity=2, allocated_quantity=2
    )
    return order


def _search(browser_page, text: str) -> None:  # type: ignore[no-untyped-def]
    browser_page.fill("#id_q", text)
    # the search posts and is redirected to the results: wait for the whole navigation
    with browser_page.expect_navigation():
        browser_page.click("#order-search button[type=submit]")


def test_a_merchant_finds_its_order_by_id_and_phone_tail_and_sees_it_masked(page, live_server):  # noqa: F811
    mine = _order(ChannelFactory(code="mine"), "TB5001", "13800138000")
    theirs = _order(ChannelFactory(code="theirs"), "TB5002", "13900138000")
    user_with_role("merchant", merchant=mine.merchant, username="shop")

    sign_in(page, live_server, "shop")
    page.click("a[href='/orders/']")
    page.wait_for_url(live_server.url + "/orders/")

    _search(page, "TB5001")
    rows = page.locator("#orders tbody tr")
    assert [rows.nth(i).get_attribute("data-order") for i in range(rows.count())] == [str(mine.pk)]
    assert "TB5001" not in page.url

    _search(page, "8000")
    rows = page.locator("#orders tbody tr")
    assert [rows.nth(i).get_attribute("data-order") for i in range(rows.count())] == [str(mine.pk)]
    assert rows.locator("td.recipient-phone").inner_text() == "138****8000"
    assert "8000" not in page.url

    _search(page, "TB5002")
    assert page.locator("#orders").count() == 0
    assert page.locator("#no-orders").inner_text().startswith("没有符合条件的订单。")

    _search(page, "8000")
    page.click(f"tr[data-order='{mine.pk}'] a")
    page.wait_for_url(live_server.url + f"/orders/{mine.pk}/")
    assert page.locator("h1").inner_text() == "订单 TB5001"
    assert page.locator("#recipient-name").inner_text() == "张**"
    assert page.locator("#recipient-phone").inner_text() == "138****8000"
    assert page.locator("#recipient-address").inner_text() == "浙江省 杭州市 西湖区 ****"
    assert page.locator("#findings li").all_inner_texts() == ["需处理 手机号位数不对：10 位"]
    assert "张三丰" not in page.content() and "13800138000" not in page.content()

    response = page.goto(live_server.url + f"/orders/{theirs.pk}/")
    assert response is not None and response.status == 404
    assert "TB5002" not in page.content()
