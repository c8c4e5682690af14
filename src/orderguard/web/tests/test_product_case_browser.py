"""An agent works product-error cases (T3, H3) in a real browser (Debian's chromium through
Playwright): the buyer chose the wrong size, so the line becomes the right SKU and the case
resolves (H3.1); the buyer insists, so the merchant is asked, the SKU is marked disputed, the
merchant's user answers in its portal and the case resumes (H3.2)."""

from __future__ import annotations

import pytest

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.models import SkuDispute
from orderguard.intake.tests.product_world import order_for_xl, tee_shop
from orderguard.orders.models import Order, OrderLine
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _record_call(tab, outcome_label: str, note: str) -> None:  # type: ignore[no-untyped-def]
    tab.select_option("#contact-channel", "call")
    tab.select_option("#contact-outcome", label=outcome_label)
    tab.fill("#contact-note", note)
    tab.click("#contact-form button[type=submit]")
    tab.wait_for_selector("#contacts tr[data-contact='call:reached']")


def _event_types(case: ExceptionCase) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("pk").values_list("type", flat=True))


def test_the_buyer_chose_the_wrong_size_the_agent_changes_the_line_and_the_case_resolves(
    page,  # noqa: F811
    live_server,
    channel,
):
    order, case = order_for_xl(tee_shop(channel), "7001")
    user_with_role("cs_agent", username="ann")

    sign_in(page, live_server, "ann")
    page.goto(live_server.url + f"/cases/{case.pk}/")
    assert page.locator("#case-status").get_attribute("data-status") == "open"
    assert [page.locator("#lines-form input.line-sku").nth(i).input_value() for i in range(2)] == [
        "TEE-XL",
        "",
    ]

    # H3.1: the buyer is reached and says the XL was a mistake, M is what they want
    _record_call(page, "已接通", "买家说选错了尺码，要M码")
    page.locator("#lines-form input.line-sku").first.fill("TEE-M")
    page.locator("#lines-form input.line-quantity").first.fill("1")
    page.fill("#lines-reason", "买家选错尺码")
    page.click("#lines-save")
    page.wait_for_selector("#case-status[data-status='resolved']")

    assert "已修改商品并重新检查：检查通过，异常单已自动解决" in page.locator(".messages").inner_text()
    assert page.locator("#lines tbody td").nth(0).inner_text() == "TEE-M"
    assert page.locator("#order-findings-none").inner_text() == "订单现在没有问题。"
    assert page.locator("#lines-form").count() == 0
    timeline = page.locator("#timeline li[data-event='lines_changed'] .what").inner_text()
    assert timeline == "修改商品：TEE-XL × 1 → TEE-M × 1"
    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution) == ("resolved", "succeeded", "lines_changed")
    assert list(
        OrderLine.objects.filter(order=order).values_list("sku_code", "quantity", "allocated_quantity")
    ) == [("TEE-M", 1, 1)]
    assert Order.objects.get(pk=order.pk).status == "ready"
    assert _event_types(case) == ["opened", "contacted", "lines_changed", "resolved"]


def test_the_buyer_insists_the_merchant_checks_its_data_in_the_portal_and_the_case_resumes(
    page,  # noqa: F811
    live_server,
    channel,
):
    shop = tee_shop(channel)
    order, case = order_for_xl(shop, "7002")
    user_with_role("cs_agent", username="ann")
    user_with_role("merchant", merchant=shop.merchant, username="yoyo")

    sign_in(page, live_server, "ann")
    page.goto(live_server.url + f"/cases/{case.pk}/")
    _record_call(page, "已接通", "买家坚持要XL码")
    # H3.2: the button comes from the product machine; what the buyer says is the note
    page.fill("#action-note", "买家坚持要XL码，说商品页有XL")
    page.click("#case-actions .action-dispute_sku")
    page.wait_for_selector("#case-status[data-status='waiting']")
    assert page.locator("#case-status").inner_text() == "等待回复（商家）"
    assert page.locator("#case-step").inner_text() == "等待商家核实商品资料"
    page.reload()
    assert page.locator("#disputed-skus").inner_text() == "商品资料待商家核实：TEE-XL"
    dispute = SkuDispute.objects.get()
    assert (dispute.sku_code, dispute.buyer_says, dispute.answered_at) == (
        "TEE-XL",
        "买家坚持要XL码，说商品页有XL",
        None,
    )
    page.goto(live_server.url + f"/orders/{order.pk}/")
    assert page.locator("#disputed-skus").inner_text() == "商品资料待商家核实：TEE-XL"

    # the merchant's user finds it under 需要您处理 and answers
    page.context.clear_cookies()
    sign_in(page, live_server, "yoyo")
    page.wait_for_selector(f"#open-disputes tr[data-dispute='{dispute.pk}']")
    page.click(f"#open-disputes tr[data-dispute='{dispute.pk}'] a")
    page.wait_for_selector("#answer-form")
    assert page.locator("#dispute-buyer-says").inner_text() == "买家坚持要XL码，说商品页有XL"
    page.check("#answer-data_fixed")
    page.fill("#answer-text", "已补录XL码的商品资料")
    page.click("#answer-send")
    page.wait_for_selector("#dispute-state[data-open='0']")
    assert page.locator("#answer-form").count() == 0
    assert "商家已答复：商品资料已更正（已补录XL码的商品资料）" in page.locator("#dispute-state").inner_text()

    # the agent sees the case back in progress, the answer on the timeline, the marking gone
    page.context.clear_cookies()
    sign_in(page, live_server, "ann")
    page.goto(live_server.url + f"/cases/{case.pk}/")
    assert page.locator("#case-status").get_attribute("data-status") == "in_progress"
    assert page.locator("#disputed-skus").count() == 0
    answered = page.locator("#timeline li[data-event='sku_disputed']").last
    assert answered.locator(".what").inner_text() == "商家答复 SKU TEE-XL：商品资料已更正"
    case.refresh_from_db()
    assert (case.status, case.waiting_on, case.step) == ("in_progress", "", "confirm_with_buyer")
    assert _event_types(case) == [
        "opened",
        "contacted",
        "status_changed",
        "step_started",  # the merchant's answer is the step now
        "contacted",  # the dispute asked the merchant: the contact ladder ended
        "sku_disputed",
        "sku_disputed",
        "status_changed",
        "step_started",  # back to confirming with the buyer
    ]
