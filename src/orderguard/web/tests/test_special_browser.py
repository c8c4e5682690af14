"""An owner takes a designated-courier request ("请发顺丰") from feasibility to dispatch in a real
browser (H5.1-H5.3; Debian's chromium through Playwright): the SF contract serves the
province, the fee is quoted, the buyer's confirmation recorded, the owner named, the checklist
ticked in order, and the case resolves succeeded."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest

from orderguard.cases.models import ExceptionCase
from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.core import clock
from orderguard.specials.feasibility import dispatch_time
from orderguard.specials.models import ChecklistTick, SpecialRequest
from orderguard.specials.services import warehouse_calendar
from orderguard.specials.tests.factories import CourierContractFactory, special_case
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _submit_and_wait(tab, button: str, selector: str) -> None:  # type: ignore[no-untyped-def]
    tab.click(button)
    tab.wait_for_selector(selector)


def test_an_owner_takes_a_courier_request_from_feasibility_to_dispatch(page, live_server):  # noqa: F811
    warehouse = WarehouseFactory(code="sz", name="深圳仓")
    CourierContractFactory(
        warehouse=warehouse,
        courier="SF",
        regions=["广东省"],
        designated_fee=Decimal("12.00"),
        cutoff=time(16, 0),
    )
    CourierContractFactory(
        warehouse=warehouse, courier="JD", regions=["北京市"], designated_fee=Decimal("10.00")
    )
    case = special_case(
        note="请发顺丰", province="广东省", city="深圳市", warehouse=warehouse, opened_at=clock.now()
    )
    ann = user_with_role("cs_agent", username="ann")

    sign_in(page, live_server, "ann")
    page.goto(live_server.url + f"/cases/{case.pk}/")
    assert page.locator("#special-kinds").inner_text() == "指定快递：顺丰"
    assert page.locator("#special-feasible").inner_text().strip() == "未评估"

    # H5.1: feasibility from the contracts: SF serves Guangdong, JD does not
    _submit_and_wait(page, "#special-check", "#special-feasible[data-feasible='yes']")
    rows = page.locator("#special-contracts tbody tr")
    assert [
        (rows.nth(i).get_attribute("data-courier"), rows.nth(i).get_attribute("data-serves"))
        for i in range(rows.count())
    ] == [("JD", "no"), ("SF", "yes")]
    assert page.locator("#case-step").inner_text() == "向买家报价"
    assert page.locator("#quote-fee").input_value() == "12.00"

    # H5.2: the fee quoted, the case waits on the buyer; the buyer accepts on the platform chat
    page.fill("#quote-fee", "12")
    _submit_and_wait(page, "#special-quote", "#special-fee")
    assert page.locator("#special-fee").inner_text() == "12.00 元"
    assert page.locator("#case-status").inner_text() == "等待回复（买家）"
    page.select_option("#answer-answer", "accepted")
    page.select_option("#answer-channel", "chat")
    _submit_and_wait(page, "#special-record-answer", "#special-answer[data-answer='accepted']")
    assert page.locator("#special-answer").inner_text().startswith("同意 · 平台聊天 · ")
    assert page.locator("#special-answer").inner_text().endswith(" · user:ann")

    # H5.3: the owner named, then the checklist ticked in order with what was verified
    page.select_option("#owner-select", label="ann")
    _submit_and_wait(page, "#special-set-owner", ".special-tick-form")
    assert page.locator("#special-owner").inner_text() == "ann"
    assert page.locator("#case-step").inner_text() == "拣货、打包、发货"
    for step, verified in (
        ("picking", "拣货 1 件，SKU 与订单一致"),
        ("packing", "已装箱，使用顺丰面单"),
        ("dispatch", "顺丰运单 SF1234567890 已贴在包裹上"),
    ):
        assert page.locator(".special-tick-form").count() == 1
        page.fill(f"#verified-{step}", verified)
        _submit_and_wait(page, f"#tick-{step}", f"#special-checklist li[data-step='{step}'][data-done='yes']")

    page.wait_for_selector("#case-status[data-status='resolved']")
    assert page.locator("#case-status").inner_text() == "已解决 · 成功"
    assert page.locator("#case-resolution").inner_text() == "已发货：顺丰运单 SF1234567890 已贴在包裹上"
    assert page.locator(".special-tick-form").count() == 0
    assert page.locator("#special-check").count() == 0
    timeline = page.locator("#timeline li")
    assert [timeline.nth(i).get_attribute("data-event") for i in range(timeline.count())] == [
        "feasibility",
        "status_changed",
        "step_started",
        "quoted",
        "status_changed",
        "step_started",
        "confirmed",
        "status_changed",
        "step_started",
        "assigned",
        "step_started",
        "checklist",
        "checklist",
        "checklist",
        "resolved",
    ]
    # each step the request entered is on its timeline in words (the time per step, S3)
    entered = page.locator("#timeline li[data-event='step_started'] .what")
    assert entered.first.inner_text().startswith("进入环节：向买家报价，截止 ")
    assert entered.last.inner_text().startswith("进入环节：拣货、打包、发货，截止 ")

    case = ExceptionCase.objects.get(pk=case.pk)
    assert (case.status, case.outcome, case.assignee_id, case.sla_next_at) == (
        "resolved",
        "succeeded",
        ann.pk,
        None,
    )
    request = SpecialRequest.objects.get(case=case)
    expected_dispatch, _after = dispatch_time(
        now=request.checked_at, cutoff=time(16, 0), calendar=warehouse_calendar(warehouse.pk)
    )
    assert (request.feasible, request.courier, request.fee, request.dispatch_at) == (
        True,
        "SF",
        Decimal("12.00"),
        expected_dispatch,
    )
    assert (request.answer, request.answer_channel, request.answer_by_label) == (
        "accepted",
        "chat",
        "user:ann",
    )
    assert list(
        ChecklistTick.objects.filter(request=request).order_by("pk").values_list("step", "ticked_by_label")
    ) == [
        ("picking", "user:ann"),
        ("packing", "user:ann"),
        ("dispatch", "user:ann"),
    ]
    assert case.events.get(type="quoted").data["fee"] == "12.00"
