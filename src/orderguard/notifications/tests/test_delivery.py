"""Delivery through the channel interface: per endpoint, every attempt recorded, templates
rendered when sent, rate limits, digests, quiet hours, health, retry by hand (H1.1, H2.2, H4.3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderguard.notifications.models import (
    NotificationChannel,
    NotificationTemplate,
    OutboxAttempt,
    OutboxMessage,
    OutboxStatus,
)
from orderguard.notifications.rendering import SAMPLES, render_message
from orderguard.notifications.services import (
    OutboxIn,
    RetryRefused,
    outbox_dispatch,
    outbox_enqueue,
    outbox_message_retry,
    sms_send_time,
)
from orderguard.notifications.tests.channels import TEST_KIND

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _endpoint(**extra) -> NotificationChannel:  # type: ignore[no-untyped-def]
    config = {"url": "http://127.0.0.1:9/hook", **extra.pop("config", {})}
    return NotificationChannel.objects.create(kind=TEST_KIND, name="robot", config=config, **extra)


def _stockout(key: str, endpoint: NotificationChannel, **extra) -> OutboxIn:  # type: ignore[no-untyped-def]
    return OutboxIn(
        topic="stockout_notice",
        recipient="",
        endpoint_id=endpoint.pk,
        context=SAMPLES["stockout_notice"],
        idempotency_key=key,
        **extra,
    )


def test_a_message_to_an_endpoint_is_rendered_sent_with_its_key_and_its_attempt_recorded(recording, now):
    robot = _endpoint()
    outbox_enqueue(messages=[_stockout("stockout:1:a", robot)], now=now)

    result = outbox_dispatch(now=now)

    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    [sent] = recording.sent
    assert sent.key == "stockout:1:a"
    assert sent.subject == "缺货通知：2 个SKU，3 个订单"
    assert sent.text.splitlines() == [
        "TS-RED-M：2 个订单缺货，可用 0，在库 4，安全库存 10，预计补货 2026-12-01",
        "PAN-20：1 个订单缺货，可用 1，在库 1，安全库存 5，预计补货 未知",
    ]
    assert recording.closed == 1  # one adapter for the endpoint, closed at the end of the run
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.sent_at) == (OutboxStatus.SENT, 1, now)
    assert list(OutboxAttempt.objects.values_list("endpoint_id", "ok", "status_code", "error")) == [
        (robot.pk, True, 200, "")
    ]


def test_the_stockout_template_in_english_carries_skus_orders_stock_and_eta():
    shown = render_message(topic="stockout_notice", language="en", context=SAMPLES["stockout_notice"])
    assert shown.subject == "Stock-out: 2 SKU(s), 3 order(s)"
    assert shown.text.splitlines()[0] == (
        "TS-RED-M: 2 order(s) short, available 0, on hand 4, safety stock 10, restock 2026-12-01"
    )


def test_a_template_with_a_missing_variable_fails_its_message_with_the_reason_and_others_go(recording, now):
    robot = _endpoint()
    NotificationTemplate.objects.create(
        topic="outage", language="zh-hans", subject="故障：{{ title }}", body="{{ detial }}"
    )
    outbox_enqueue(
        messages=[
            OutboxIn(
                topic="outage",
                recipient="",
                endpoint_id=robot.pk,
                context={"title": "x"},
                idempotency_key="o1",
            ),
            _stockout("s1", robot),
        ],
        now=now,
    )

    result = outbox_dispatch(now=now)

    assert (result.sent, result.failed) == (1, 1)
    assert [m.key for m in recording.sent] == ["s1"]
    broken = OutboxMessage.objects.get(idempotency_key="o1")
    assert (broken.status, broken.last_error, broken.attempts) == (
        OutboxStatus.FAILED,
        "missing variable detial",
        1,
    )
    # a template failure is not the channel's: it stays healthy
    robot.refresh_from_db()
    assert (robot.healthy, robot.consecutive_failures) == (True, 0)


def test_a_result_that_cannot_be_retried_fails_the_message_at_once(recording, now):
    robot = _endpoint(config={"fail": "errcode 310000: sign not match", "status": 200, "retryable": False})
    outbox_enqueue(messages=[_stockout("s1", robot)], now=now)

    result = outbox_dispatch(now=now)

    message = OutboxMessage.objects.get()
    assert (result.failed, message.status, message.last_error) == (
        1,
        OutboxStatus.FAILED,
        "errcode 310000: sign not match",
    )
    assert list(OutboxAttempt.objects.values_list("ok", "status_code", "error")) == [
        (False, 200, "errcode 310000: sign not match")
    ]


def test_a_wrong_endpoint_configuration_fails_its_messages_with_the_field_named(recording, now):
    robot = NotificationChannel.objects.create(kind=TEST_KIND, name="robot", config={"url": "ftp://x"})
    outbox_enqueue(messages=[_stockout("s1", robot)], now=now)

    outbox_dispatch(now=now)

    message = OutboxMessage.objects.get()
    assert message.status == OutboxStatus.FAILED
    assert message.last_error == "config: url: a webhook address starting with http:// or https://"
    assert recording.sent == []


def test_an_endpoint_over_its_rate_limit_holds_the_rest_back_without_failing_them(recording, now):
    robot = _endpoint(rate_per_minute=3)
    outbox_enqueue(messages=[_stockout(f"s{i}", robot) for i in range(5)], now=now)

    first = outbox_dispatch(now=now)

    assert (first.sent, first.deferred) == (3, 2)
    waiting = OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
    assert sorted(waiting.values_list("idempotency_key", "attempts")) == [("s3", 0), ("s4", 0)]
    assert outbox_dispatch(now=now + timedelta(seconds=30)).sent == 0  # the minute is not over
    assert outbox_dispatch(now=now + timedelta(seconds=61)).sent == 2
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 5


def test_events_of_one_digest_key_fold_into_one_message_listing_each(recording, now, settings):
    settings.OUTBOX_DIGEST_WINDOW_SECONDS = 600
    robot = _endpoint()
    for minute in range(3):
        outbox_enqueue(
            messages=[
                OutboxIn(
                    topic="outage",
                    recipient="",
                    endpoint_id=robot.pk,
                    context={"title": f"接口中断 {minute}", "detail": "d", "state": "处理中"},
                    idempotency_key=f"outage:{minute}",
                    digest_key="outage:robot",
                )
            ],
            now=now + timedelta(minutes=minute),
        )

    assert outbox_dispatch(now=now + timedelta(minutes=5)).sent == 0  # the window is open
    result = outbox_dispatch(now=now + timedelta(minutes=10))

    assert result.sent == 3
    [digest] = recording.sent
    assert digest.key == "digest:outage:0"
    assert digest.subject == "3 条通知：故障通知：接口中断 0 等"
    assert [line for line in digest.text.splitlines() if line.startswith("■")] == [
        "■ 故障通知：接口中断 0",
        "■ 故障通知：接口中断 1",
        "■ 故障通知：接口中断 2",
    ]
    assert OutboxAttempt.objects.filter(ok=True).count() == 3


def test_an_endpoint_failing_in_a_row_is_unhealthy_until_a_send_succeeds(recording, now, settings):
    settings.OUTBOX_UNHEALTHY_AFTER, settings.OUTBOX_BACKOFF_SECONDS = 3, 1
    robot = _endpoint()
    recording.behaviour["fail"] = "HTTP 502"
    outbox_enqueue(messages=[_stockout(f"s{i}", robot) for i in range(2)], now=now)
    outbox_dispatch(now=now)
    robot.refresh_from_db()
    assert (robot.healthy, robot.consecutive_failures, robot.last_error) == (True, 2, "HTTP 502")

    outbox_dispatch(now=now + timedelta(seconds=1))
    robot.refresh_from_db()
    assert (robot.healthy, robot.consecutive_failures, robot.last_failure_at) == (
        False,
        4,
        now + timedelta(seconds=1),
    )

    recording.behaviour.clear()
    result = outbox_dispatch(now=now + timedelta(seconds=3))
    robot.refresh_from_db()
    assert result.sent == 2
    assert (robot.healthy, robot.consecutive_failures, robot.last_ok_at) == (
        True,
        0,
        now + timedelta(seconds=3),
    )


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 11, 20, 20, 59, tzinfo=SHANGHAI), datetime(2026, 11, 20, 20, 59, tzinfo=SHANGHAI)),
        (datetime(2026, 11, 20, 21, 0, tzinfo=SHANGHAI), datetime(2026, 11, 21, 8, 0, tzinfo=SHANGHAI)),
        (datetime(2026, 11, 21, 3, 30, tzinfo=SHANGHAI), datetime(2026, 11, 21, 8, 0, tzinfo=SHANGHAI)),
        (datetime(2026, 11, 21, 8, 0, tzinfo=SHANGHAI), datetime(2026, 11, 21, 8, 0, tzinfo=SHANGHAI)),
    ],
)
def test_an_sms_in_the_quiet_hours_waits_for_the_morning(local, expected, settings):
    settings.OUTBOX_SMS_QUIET_HOURS = "21:00-08:00"
    assert sms_send_time(local) == expected


def test_a_buyer_sms_queued_at_night_is_deferred_to_the_morning_not_dropped(recording, monkeypatch, settings):
    from orderguard.notifications.channels.base import REGISTRY
    from orderguard.notifications.tests.channels import TEST_TARGET

    settings.OUTBOX_SMS_QUIET_HOURS = "21:00-08:00"
    monkeypatch.setitem(REGISTRY, "sms_test", TEST_TARGET)
    gateway = NotificationChannel.objects.create(
        kind="sms_test", name="sms", config={"url": "http://127.0.0.1:9/"}
    )
    night = datetime(2026, 11, 20, 23, 15, tzinfo=SHANGHAI)
    outbox_enqueue(
        messages=[
            OutboxIn(
                topic="buyer_sms",
                recipient="13800138000",
                endpoint_id=gateway.pk,
                context={"order": "TB1", "text": "请确认地址"},
                idempotency_key="sms:1",
            )
        ],
        now=night,
    )

    assert outbox_dispatch(now=night + timedelta(hours=1)).sent == 0
    morning = datetime(2026, 11, 21, 8, 0, tzinfo=SHANGHAI)
    assert OutboxMessage.objects.get().next_attempt_at == morning
    assert outbox_dispatch(now=morning).sent == 1
    assert [(m.recipient, m.text) for m in recording.sent] == [("13800138000", "您的订单 TB1：请确认地址")]

    # sent again by hand at night, it too waits for the morning
    OutboxMessage.objects.update(status=OutboxStatus.FAILED)
    retried = outbox_message_retry(
        message_id=OutboxMessage.objects.get().pk, now=morning + timedelta(hours=14)
    )
    assert retried.next_attempt_at == morning + timedelta(days=1)


def test_a_failed_message_is_retried_by_hand_and_a_pending_one_is_refused(recording, now, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    robot = _endpoint()
    recording.behaviour["fail"] = "HTTP 500"
    outbox_enqueue(messages=[_stockout("s1", robot), _stockout("s2", robot)], now=now)
    outbox_dispatch(now=now)
    failed = OutboxMessage.objects.get(idempotency_key="s1")
    assert failed.status == OutboxStatus.FAILED

    recording.behaviour.clear()
    outbox_message_retry(message_id=failed.pk, now=now + timedelta(minutes=1))
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (
        OutboxStatus.PENDING,
        0,
        now + timedelta(minutes=1),
    )
    assert outbox_dispatch(now=now + timedelta(minutes=1)).sent == 1
    failed.refresh_from_db()
    assert failed.status == OutboxStatus.SENT
    assert list(failed.attempt_log.values_list("ok", flat=True)) == [False, True]

    with pytest.raises(RetryRefused):
        outbox_message_retry(message_id=failed.pk)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutboxStatus.SENT, 1)


def test_many_messages_go_side_by_side_each_once(recording, now):
    robot = _endpoint()
    outbox_enqueue(messages=[_stockout(f"s{i}", robot) for i in range(300)], now=now)

    result = outbox_dispatch(now=now, threads=8)

    assert result.sent == 300
    assert sorted(m.key for m in recording.sent) == sorted(f"s{i}" for i in range(300))
    assert OutboxAttempt.objects.count() == 300
    assert recording.closed == 1


def test_a_message_to_a_disabled_endpoint_fails_with_the_reason(recording, now):
    robot = _endpoint(enabled=False)
    outbox_enqueue(messages=[_stockout("s1", robot)], now=now)

    outbox_dispatch(now=now)

    message = OutboxMessage.objects.get()
    assert (message.status, message.last_error, recording.sent) == (
        OutboxStatus.FAILED,
        "channel disabled",
        [],
    )
