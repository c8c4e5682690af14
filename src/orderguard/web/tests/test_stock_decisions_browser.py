"""The stock-out decision page in a real browser (Debian's chromium through Playwright): the
merchant chooses a transfer for its short SKU and sees its orders served (H1.2, B4)."""

from __future__ import annotations

import pytest
from django.db import transaction

from orderguard.cases.models import ExceptionCase
from orderguard.inventory.models import StockLevel
from orderguard.inventory.tests.test_decisions import _setup
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_merchant_chooses_a_transfer_and_its_orders_are_served(page, live_server):  # noqa: F811
    channel = ChannelFactory(code="mine")
    with transaction.atomic():  # the setup's writers lock rows, as they do in a request
        _setup(channel, far_a=10)
    user_with_role("merchant", merchant=channel.merchant, username="shop")

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

    assert (
        page.locator(".alert-success, .alert")
        .first.inner_text()
        .startswith("已处理 3 个订单：3 个已分配到库存")
    )
    assert page.locator("section.short-sku").count() == 0
    assert page.locator("#decisions tbody tr").first.inner_text().split("\t")[2:4] == ["A", "从其他仓调拨"]
    assert set(ExceptionCase.objects.values_list("status", flat=True)) == {"resolved"}
    assert StockLevel.objects.get(sku__code="A", warehouse__code="far").on_hand == 5
