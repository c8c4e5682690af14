"""The in-app inbox as a channel, and endpoint configuration: validated, secrets masked."""

from __future__ import annotations

import pytest

from orderguard.notifications.channels.base import ConfigError
from orderguard.notifications.endpoints import (
    ChannelIn,
    channel_create,
    channel_update,
    config_masked,
    config_merge,
    recipients_for,
)
from orderguard.notifications.inbox import inbox_item_mark_read, inbox_mark_all_read, inbox_unread_count
from orderguard.notifications.models import InboxItem, MerchantContact, NotificationChannel, OutboxMessage
from orderguard.notifications.services import OutboxIn, outbox_dispatch, outbox_enqueue
from orderguard.notifications.tests.channels import TEST_KIND
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role

pytestmark = pytest.mark.django_db


def test_a_message_to_the_inbox_becomes_one_item_for_the_user_even_when_sent_twice(now):
    user = user_with_role("manager")
    inbox = NotificationChannel.objects.create(kind="inbox", name="inbox")
    outbox_enqueue(
        messages=[
            OutboxIn(
                topic="escalation",
                recipient=str(user.pk),
                endpoint_id=inbox.pk,
                context={
                    "case": "#7",
                    "type": "T2",
                    "due": "11-20 18:00",
                    "state": "超时升级至组长",
                    "link": "/cases/7/",
                },
                idempotency_key="esc:7",
            )
        ],
        now=now,
    )

    assert outbox_dispatch(now=now).sent == 1
    [item] = InboxItem.objects.all()
    assert (item.user_id, item.title, item.link, item.read_at) == (
        user.pk,
        "【超时升级至组长】异常单 #7",
        "/cases/7/",
        None,
    )
    # a resend (a crash after the send, before the record) adds nothing
    OutboxMessage.objects.update(status="pending")
    assert outbox_dispatch(now=now).sent == 1
    assert InboxItem.objects.count() == 1

    actor = actor_for(user)
    assert inbox_unread_count(actor=actor) == 1
    inbox_item_mark_read(actor=actor, item_id=item.pk, now=now)
    assert inbox_unread_count(actor=actor) == 0
    assert inbox_mark_all_read(actor=actor, now=now) == 0


def test_an_inbox_message_to_a_user_who_does_not_exist_fails_with_the_reason(now):
    inbox = NotificationChannel.objects.create(kind="inbox", name="inbox")
    outbox_enqueue(
        messages=[
            OutboxIn(
                topic="report", recipient="999999", endpoint_id=inbox.pk, subject="s", idempotency_key="k"
            )
        ],
        now=now,
    )
    outbox_dispatch(now=now)
    message = OutboxMessage.objects.get()
    assert (message.status, message.last_error) == ("failed", "no active user '999999'")


def test_a_merchant_user_marks_only_its_own_items_read(now):
    merchant = MerchantFactory()
    mine, theirs = (
        user_with_role("merchant", merchant=merchant),
        user_with_role("merchant", merchant=merchant),
    )
    item = InboxItem.objects.create(user=theirs, merchant=merchant, key="k", title="t", created_at=now)
    from orderguard.core.errors import NotFound

    with pytest.raises(NotFound):
        inbox_item_mark_read(actor=actor_for(mine), item_id=item.pk, now=now)
    item.refresh_from_db()
    assert item.read_at is None


def test_secrets_and_webhook_tokens_are_masked_and_a_masked_value_sent_back_keeps_the_secret():
    config = {
        "webhook": "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123",
        "secret": "SEC0123456789abcdefXYZW",
        "keyword": "订单",
    }
    shown = config_masked(config)
    assert shown == {
        "webhook": "https://oapi.dingtalk.com/robot/send?access_token=****0123",
        "secret": "****XYZW",
        "keyword": "订单",
    }
    assert config_merge(config, {**shown, "keyword": "异常"}) == {**config, "keyword": "异常"}
    assert config_merge(config, {**shown, "secret": "SECnew"})["secret"] == "SECnew"


def test_an_endpoint_with_a_wrong_address_or_an_unknown_kind_is_refused_naming_the_field(recording):
    with pytest.raises(ConfigError) as wrong:
        channel_create(data=ChannelIn(kind=TEST_KIND, name="r", config={"url": "not-a-url"}))
    assert list(wrong.value.errors) == ["url"]
    with pytest.raises(ConfigError) as unknown:
        channel_create(data=ChannelIn(kind="pager", name="r", config={}))
    assert list(unknown.value.errors) == ["kind"]
    assert NotificationChannel.objects.count() == 0

    robot = channel_create(
        data=ChannelIn(kind=TEST_KIND, name="r", config={"url": "http://h/x", "secret": "s" * 20})
    )
    with pytest.raises(ConfigError):
        channel_update(channel_id=robot.pk, changes={"config": {"url": "bad", "secret": "****ssss"}})
    robot.refresh_from_db()
    assert robot.config == {"url": "http://h/x", "secret": "s" * 20}


def test_a_merchant_contact_for_a_topic_replaces_the_contact_email(recording):
    merchant = MerchantFactory(contact_email="ops@m.example")
    robot = NotificationChannel.objects.create(
        kind=TEST_KIND, name="r", merchant=merchant, config={"url": "http://h"}
    )
    assert [
        (r.endpoint_id, r.address, r.suffix)
        for r in recipients_for(
            topic="stockout_notice", merchant_id=merchant.pk, fallback_email=merchant.contact_email
        )
    ] == [(None, "ops@m.example", "")]

    contact = MerchantContact.objects.create(
        merchant=merchant, topic="stockout_notice", channel=robot, language="en"
    )
    assert [
        (r.endpoint_id, r.language, r.suffix)
        for r in recipients_for(
            topic="stockout_notice", merchant_id=merchant.pk, fallback_email=merchant.contact_email
        )
    ] == [(robot.pk, "en", f"c{contact.pk}")]
