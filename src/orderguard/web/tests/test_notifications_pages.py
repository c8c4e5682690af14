"""The bell and the inbox, failed notifications with their resend button, the dashboard's
notification panel, and the notification admin pages (masked secrets, template preview)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderguard.notifications.channels.base import REGISTRY
from orderguard.notifications.models import (
    InboxItem,
    NotificationChannel,
    NotificationTemplate,
    OutboxMessage,
)
from orderguard.notifications.tests.channels import TEST_KIND, TEST_TARGET
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role
from orderguard.tenancy.tests.test_roles_admin import staff

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SECRET = "SECabcdefghijklmnop1234"


def _failed(**extra) -> OutboxMessage:  # type: ignore[no-untyped-def]
    return OutboxMessage.objects.create(
        topic="stock_alert",
        recipient="wh@w.example",
        subject="s",
        body="b",
        idempotency_key=extra.pop("key", "k1"),
        status="failed",
        attempts=6,
        last_error="SMTPRecipientsRefused: 550 no such user",
        next_attempt_at=NOW,
        **extra,
    )


def test_the_bell_counts_the_users_unread_items_and_the_inbox_marks_them_read(client):
    merchant = MerchantFactory()
    user = user_with_role("merchant", merchant=merchant)
    InboxItem.objects.create(
        user=user, merchant=merchant, key="a", title="缺货通知", link="/queue/", created_at=NOW
    )
    InboxItem.objects.create(user=user, merchant=merchant, key="b", title="库存预警", created_at=NOW)
    InboxItem.objects.create(user=user_with_role("manager"), key="c", title="别人的", created_at=NOW)
    client.force_login(user)

    assert 'id="inbox-unread">2<' in client.get("/inbox/bell").content.decode()
    page = client.get("/inbox/").content.decode()
    assert ("缺货通知" in page, "库存预警" in page, "别人的" in page) == (True, True, False)
    item = InboxItem.objects.get(key="a")
    response = client.post(f"/inbox/{item.pk}/read")
    assert (response.status_code, response["Location"]) == (302, "/queue/")
    client.post("/inbox/read-all")
    assert 'id="inbox-unread"' not in client.get("/inbox/bell").content.decode()
    assert InboxItem.objects.filter(key="c", read_at__isnull=True).exists()


def test_every_page_has_the_bell_loaded_by_htmx(client):
    client.force_login(user_with_role("operator"))
    assert 'hx-get="/inbox/bell"' in client.get("/").content.decode()


def test_on_call_sees_a_failed_message_with_its_reason_and_sends_it_again(client):
    message = _failed()
    robot = NotificationChannel.objects.create(
        kind="inbox", name="仓库群", healthy=False, last_error="HTTP 502"
    )
    client.force_login(user_with_role("tech_oncall"))

    page = client.get("/outbox/failed/").content.decode()
    assert "550 no such user" in page and f'data-channel="{robot.pk}"' in page and "HTTP 502" in page
    response = client.post(f"/outbox/{message.pk}/retry")

    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 0)


def test_an_operator_may_not_resend_and_nothing_changes(client):
    message = _failed()
    client.force_login(user_with_role("operator"))
    assert client.post(f"/outbox/{message.pk}/retry").status_code == 403
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 6)


def test_the_staff_dashboard_shows_failed_messages_and_unhealthy_channels_and_a_merchant_does_not_see_them(
    client,
):
    merchant = MerchantFactory()
    _failed(merchant=merchant)
    NotificationChannel.objects.create(kind="inbox", name="钉钉群", healthy=False)
    client.force_login(user_with_role("manager"))
    staff = client.get("/dashboard/panels").content.decode()
    assert 'id="outbox-failed-count">1 条通知发送失败<' in staff
    assert 'data-unhealthy="钉钉群"' in staff

    client.force_login(user_with_role("merchant", merchant=merchant))
    assert "outbox-panel" not in client.get("/dashboard/panels").content.decode()


def test_the_admin_shows_a_channels_secret_masked_and_saving_it_back_keeps_it(client, monkeypatch):
    monkeypatch.setitem(REGISTRY, TEST_KIND, TEST_TARGET)
    robot = NotificationChannel.objects.create(
        kind=TEST_KIND, name="r", config={"url": "http://h/x", "secret": SECRET}
    )
    client.force_login(staff("manager"))
    url = f"/admin/notifications/notificationchannel/{robot.pk}/change/"
    page = client.get(url).content.decode()
    assert SECRET not in page and "****1234" in page

    response = client.post(
        url,
        {
            "kind": TEST_KIND,
            "name": "r2",
            "config": '{"url": "http://h/y", "secret": "****1234"}',
            "topics": "[]",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    robot.refresh_from_db()
    assert (robot.name, robot.config) == ("r2", {"url": "http://h/y", "secret": SECRET})


def test_the_admin_previews_a_template_and_refuses_one_with_a_missing_variable(client):
    client.force_login(staff("manager"))
    refused = client.post(
        "/admin/notifications/notificationtemplate/add/",
        {"topic": "outage", "language": "en", "subject": "Outage {{ title }}", "body": "{{ detial }}"},
    )
    assert refused.status_code == 200 and "missing variable detial" in refused.content.decode()
    assert NotificationTemplate.objects.count() == 0

    saved = client.post(
        "/admin/notifications/notificationtemplate/add/",
        {
            "topic": "outage",
            "language": "en",
            "subject": "Outage {{ title }}",
            "body": "{{ detail }} ({{ state }})",
        },
    )
    assert saved.status_code == 302
    template = NotificationTemplate.objects.get()
    page = client.get(f"/admin/notifications/notificationtemplate/{template.pk}/change/").content.decode()
    assert "Outage 淘宝接口中断" in page and "14:05 起订单同步失败 (处理中)" in page


def test_the_admin_action_sends_failed_messages_again(client):
    message = _failed()
    client.force_login(staff("tech_oncall"))
    response = client.post(
        "/admin/notifications/outboxmessage/", {"action": "retry_failed", "_selected_action": [message.pk]}
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "pending"
