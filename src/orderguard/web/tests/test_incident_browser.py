"""Handling an incident in a real browser (Debian's chromium through Playwright): acknowledge,
post an update, record a platform contact, resolve (T4, H4.1, H4.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.core import clock
from orderguard.incidents.models import Incident, PlatformContact
from orderguard.incidents.services import Signal, incident_signal
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.tests.test_dashboard_browser import page, sign_in  # noqa: F401  (the page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_oncall_acknowledges_updates_contacts_the_platform_and_resolves(page, live_server):  # noqa: F811
    channel = ChannelFactory(code="tb-yoyo")
    channel.merchant.contact_email = "ops@yoyo.example"
    channel.merchant.save()
    channel.warehouse.alert_email = "team@wh.example"
    channel.warehouse.save()
    incident, _opened = incident_signal(
        signal=Signal(
            kind="channel_silent",
            title="渠道 tb-yoyo 停止来单",
            detail="已 6 分钟没有新订单",
            channel_id=channel.pk,
            started_at=clock.now() - timedelta(minutes=6),
        ),
        now=clock.now(),
    )
    user_with_role("tech_oncall", username="oncall")
    sign_in(page, live_server, "oncall")

    page.goto(f"{live_server.url}/incidents/")
    page.click(f"tr[data-incident='{incident.pk}'] a >> nth=1")
    page.wait_for_url(f"{live_server.url}/incidents/{incident.pk}/")
    assert page.locator("#incident-title").inner_text() == "渠道 tb-yoyo 停止来单"
    assert page.locator("#incident-status").inner_text() == "未确认"

    page.click("#ack-form button")
    assert page.locator(".messages li").inner_text() == "已确认故障，开始处理"
    assert page.locator("#incident-status").inner_text() == "处理中"
    assert page.locator("#incident-assignee").inner_text() == "oncall"

    page.fill("#update-form textarea[name=note]", "平台推送接口限流，已联系平台技术支持")
    page.click("#update-form button")
    assert page.locator(".messages li").inner_text() == "进展已发布，已通知 2 个收件方"

    page.fill("#contact-form input[name=contact]", "淘宝开放平台 张工")
    page.fill("#contact-form input[name=via]", "工单系统")
    page.fill("#contact-form input[name=ticket_ref]", "TOP-88")
    page.fill("#contact-form input[name=notes]", "确认为平台故障")
    page.click("#contact-form button")
    assert page.locator(".messages li").inner_text() == "已记录平台技术支持联系"
    assert page.locator("#contacts tbody tr td").all_inner_texts()[1:] == [
        "淘宝开放平台 张工",
        "工单系统",
        "TOP-88",
        "确认为平台故障",
    ]

    page.fill("#resolve-form textarea[name=resolution]", "平台恢复推送")
    page.click("#resolve-form button")
    assert page.locator(".messages li").inner_text() == "故障已恢复"
    assert page.locator("#incident-status").inner_text() == "已恢复"
    assert page.locator("#ack-form").count() == 0
    assert page.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.type)") == [
        "opened",
        "acknowledged",
        "update",
        "contact",
        "resolved",
    ]

    incident = Incident.objects.get(pk=incident.pk)
    assert (
        incident.status,
        incident.resolution,
        incident.resolved_by.username,
        incident.acknowledged_by.username,
    ) == (
        "resolved",
        "平台恢复推送",
        "oncall",
        "oncall",
    )
    assert list(PlatformContact.objects.values_list("contact", "via", "ticket_ref")) == [
        ("淘宝开放平台 张工", "工单系统", "TOP-88")
    ]
    assert sorted(
        OutboxMessage.objects.filter(topic="outage").values_list("idempotency_key", "recipient")
    ) == [
        (f"incident:{incident.pk}:resolved:m{channel.merchant_id}:default", "ops@yoyo.example"),
        (f"incident:{incident.pk}:resolved:w:default", "team@wh.example"),
        (f"incident:{incident.pk}:update:1:m{channel.merchant_id}:default", "ops@yoyo.example"),
        (f"incident:{incident.pk}:update:1:w:default", "team@wh.example"),
    ]
