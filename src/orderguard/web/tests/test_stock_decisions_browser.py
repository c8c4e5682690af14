"""The stock-out decision page in a real browser (Debian's chromium through Playwright): the
merchant chooses a transfer for its short SKU and sees its orders served (H1.2, B4)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from orderguard.cases.models import ExceptionCase
from orderguard.inventory.models import StockLevel, Transfer
from orderguard.inventory.tests.test_decisions import _setup
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_merchant_chooses_a_transfer_and_its_orders_are_served_when_it_arrives(page, live_server):  # noqa: F811
    channel = ChannelFactory(code="mine")
    with transaction.atomic():  # the setup's writers lock rows, as they do in a request
        _setup(channel, far_a=10)
    user_with_role("merchant", merchant=channel.merchant, username="shop")
    user_with_role("operator", username="op")

    sign_in(page, live_server, "shop")
    page.click("a[href='/stock/decisions/']")
    page.wait_for_url(live_server.url + "/stock/decisions/")
    card = page.locator("section.short-sku[data-sku='A']")
    assert card.locator(".affected").inner_text() == "3"
    assert card.locator(".source").inner_text() == "far: 10"

    card.locator("select[name=kind]").select_option("transfer")
    card.locator("select[name=from_warehouse]").select_option("far")
    with page.expect_navigation():
        card.locator("button[type=submit]").click()

    transfer = Transfer.objects.get()
    expected = timezone.localtime(transfer.expected_at).strftime("%Y-%m-%d %H:%M")
    assert (
        page.locator(".alert-success, .alert")
        .first.inner_text()
        .startswith(f"已处理 3 个订单：调拨 5 件已发出，预计 {expected} 到货")
    )
    assert page.locator("#decisions tbody tr").first.inner_text().split("\t")[2:4] == ["A", "从其他仓调拨"]
    # the goods left the source; the orders wait for them
    assert set(ExceptionCase.objects.values_list("status", "step")) == {("open", "in_transit")}
    assert StockLevel.objects.get(sku__code="A", warehouse__code="far").on_hand == 5

    # the warehouse receives the transfer on the stock page
    page.context.clear_cookies()
    sign_in(page, live_server, "op")
    page.goto(live_server.url + "/stock/")
    row = page.locator(f"#transfers tr[data-transfer='{transfer.pk}']")
    assert row.locator("td").nth(5).inner_text() == "5"
    with page.expect_navigation():
        row.locator(".receive-form button").click()

    assert (
        page.locator(".alert")
        .first.inner_text()
        .startswith(f"调拨 {transfer.pk} 已到货；3 个等待中的订单已分配到库存")
    )
    assert page.locator("#transfers tr[data-transfer]").count() == 0
    assert set(ExceptionCase.objects.values_list("status", "resolution")) == {
        ("resolved", "transfer_arrived")
    }
    assert StockLevel.objects.get(sku__code="A", warehouse=channel.warehouse).allocated == 5
