"""An agent works an address case through the whole contact ladder in a real browser (H2, B2,
H2.4; Debian's chromium through Playwright): two unanswered calls recorded on the case page, the
SMS the system sends by itself (to a real JSON SMS gateway on 127.0.0.1), the merchant asked when
the buyer stays silent, and the correction that resolves the case."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.cases.contacts import LADDER_ACTOR, contacts_advance
from orderguard.cases.models import CaseEvent, ContactAttempt, ExceptionCase
from orderguard.core import clock
from orderguard.intake.tests.correction_world import block_suggestions, order_without_province
from orderguard.notifications.models import NotificationChannel, OutboxMessage
from orderguard.notifications.services import outbox_dispatch
from orderguard.notifications.testing.servers import RobotServer
from orderguard.orders.models import Order
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _contacts(tab) -> list[str]:  # type: ignore[no-untyped-def]
    rows = tab.locator("#contacts tr[data-contact]")
    return [rows.nth(i).get_attribute("data-contact") or "" for i in range(rows.count())]


def _record_call(tab, outcome_label: str, note: str, rows: int) -> None:  # type: ignore[no-untyped-def]
    tab.select_option("#contact-channel", "call")
    tab.select_option("#contact-outcome", label=outcome_label)
    tab.fill("#contact-note", note)
    tab.click("#contact-form button[type=submit]")
    tab.wait_for_function(
        "n => document.querySelectorAll('#contacts tr[data-contact]').length === n", arg=rows
    )


def test_an_agent_climbs_the_whole_ladder_and_the_correction_resolves_the_case(
    page,  # noqa: F811
    live_server,
    channel,
):
    order = order_without_province(block_suggestions(channel), "6001")
    case = ExceptionCase.objects.get(order=order)
    assert (case.type, order.recipient_phone) == ("T2", "13800138000")  # a plain mobile
    user_with_role("cs_agent", username="ann")
    with RobotServer() as gateway:
        NotificationChannel.objects.create(
            kind="sms_json", name="短信网关", config=gateway.config_for("sms_json"), topics=["buyer_sms"]
        )

        sign_in(page, live_server, "ann")
        page.goto(live_server.url + f"/cases/{case.pk}/")
        assert page.locator("#case-status").get_attribute("data-status") == "open"
        assert "先打电话给买家" in page.locator("#next-contact").inner_text()

        # H2.1: the first call, nobody answers; the ladder proposes calling again
        _record_call(page, "无人接听", "响铃无人接", rows=1)
        assert _contacts(page) == ["call:no_answer"]
        assert "再打一次" in page.locator("#next-contact").inner_text()
        assert page.locator("#next-contact").inner_text().startswith("下一步 电话")

        # the second call, nobody again: the SMS is next, sent by the system (H2.2)
        _record_call(page, "无人接听", "", rows=2)
        assert _contacts(page) == ["call:no_answer", "call:no_answer"]
        assert "系统将发短信" in page.locator("#next-contact").inner_text()
        case.refresh_from_db()
        assert (case.status, case.contact_next, case.contact_auto_at is not None) == ("open", "sms", True)

        sms_at = clock.now()
        assert contacts_advance(now=sms_at).sms == 1
        assert outbox_dispatch(now=sms_at).sent == 1
        [text] = gateway.received("sms_json")
        assert (text.body["to"], text.body["key"]) == ("13800138000", f"ladder:{case.pk}:sms")
        assert "收货信息有误或不完整" in text.body["text"]

        page.reload()
        assert _contacts(page) == ["call:no_answer", "call:no_answer", "sms:sent"]
        assert page.locator("#contacts tr[data-contact='sms:sent'] td").nth(1).inner_text() == "短信"
        status = page.locator("#case-status")
        assert (status.get_attribute("data-status"), status.inner_text()) == ("waiting", "等待回复（买家）")
        assert "短信未获回复" in page.locator("#next-contact").inner_text()

        # the buyer stays silent: nothing before the two hours are up, then the merchant (H2.3)
        assert contacts_advance(now=sms_at + timedelta(minutes=119)).merchant == 0
        assert contacts_advance(now=sms_at + timedelta(minutes=120)).merchant == 1
        assert contacts_advance(now=sms_at + timedelta(minutes=121)).merchant == 0  # once only

    page.reload()
    assert _contacts(page) == ["call:no_answer", "call:no_answer", "sms:sent", "merchant:asked"]
    assert page.locator("#case-status").inner_text() == "等待回复（商家）"
    assert page.locator("#next-contact").inner_text().startswith("联系流程已结束")
    assert OutboxMessage.objects.filter(topic="case_merchant").count() >= 1

    # H2.4: the merchant gives the province; the agent corrects the order and the checks pass
    page.fill("#correct-province", "浙江省")
    page.fill("#correct-reason", "商家提供省份")
    page.click("#correct-form button[type=submit]")
    page.wait_for_selector("#case-status[data-status='resolved']")

    assert page.locator("#order-findings-none").inner_text() == "订单现在没有问题。"
    assert page.locator("#recipient-region").inner_text() == "浙江省 杭州市 西湖区"
    assert page.locator("#contact-form").count() == 0
    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution, case.waiting_on) == (
        "resolved",
        "succeeded",
        "recheck_passed",
        "",
    )
    assert (case.contact_next, case.contact_auto_at, case.sla_next_at) == ("", None, None)
    assert Order.objects.get(pk=order.pk).status == "ready"
    assert list(
        ContactAttempt.objects.filter(case=case)
        .order_by("occurred_at", "pk")
        .values_list("type", "outcome", "actor_label")
    ) == [
        ("call", "no_answer", "user:ann"),
        ("call", "no_answer", "user:ann"),
        ("sms", "sent", LADDER_ACTOR),
        ("merchant", "asked", LADDER_ACTOR),
    ]
    assert list(CaseEvent.objects.filter(case=case).order_by("pk").values_list("type", flat=True)) == [
        "opened",
        "contacted",
        "contacted",
        "contacted",
        "status_changed",
        "contacted",
        "status_changed",
        "resolved",
    ]
