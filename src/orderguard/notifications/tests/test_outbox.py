"""Outbox: written with the change, sent once, retried with back-off, every attempt logged."""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from orderguard.notifications.models import OutboxAttempt, OutboxMessage, OutboxStatus
from orderguard.notifications.services import OutboxIn, message_id_for, outbox_dispatch, outbox_enqueue

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp(settings):  # type: ignore[no-untyped-def]
    """A real SMTP server on 127.0.0.1, and settings pointing the email backend at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "orderguard@warehouse.example"
    yield inbox
    controller.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _notice(key: str = "stockout:1:abc") -> OutboxIn:
    return OutboxIn(
        topic="stockout_notice",
        recipient="ops@m.example",
        subject="缺货通知",
        body="TS-RED-M：3 个订单缺货",
        idempotency_key=key,
    )


def test_the_same_notice_enqueued_twice_is_one_message(now):
    assert outbox_enqueue(messages=[_notice()], now=now) == 1
    assert outbox_enqueue(messages=[_notice()], now=now) == 0
    assert OutboxMessage.objects.count() == 1


def test_a_rolled_back_change_leaves_nothing_to_send(now):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(messages=[_notice()], now=now)
        raise RuntimeError("the business change failed")
    assert OutboxMessage.objects.count() == 0


def test_dispatch_sends_through_smtp_with_a_message_id_derived_from_the_key(smtp, now):
    outbox_enqueue(messages=[_notice()], now=now)

    result = outbox_dispatch(now=now)

    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    [(sender, rcpt, raw)] = smtp.messages
    mail = message_from_bytes(raw)
    message = OutboxMessage.objects.get()
    assert (sender, rcpt) == ("orderguard@warehouse.example", ["ops@m.example"])
    assert mail["Message-ID"] == message_id_for(message)
    assert mail["X-OrderGuard-Key"] == "stockout:1:abc"
    assert (message.status, message.attempts, message.sent_at) == (OutboxStatus.SENT, 1, now)
    assert list(OutboxAttempt.objects.values_list("ok", "error")) == [(True, "")]
    # a second run finds nothing due and sends nothing more
    assert outbox_dispatch(now=now + timedelta(minutes=5)).sent == 0
    assert len(smtp.messages) == 1


def test_a_failed_send_backs_off_exponentially_then_fails(settings, now):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nobody listens there
    settings.OUTBOX_MAX_ATTEMPTS, settings.OUTBOX_BACKOFF_SECONDS = 3, 60
    outbox_enqueue(messages=[_notice()], now=now)

    first = outbox_dispatch(now=now)
    message = OutboxMessage.objects.get()
    assert (first.retried, message.status, message.attempts) == (1, OutboxStatus.PENDING, 1)
    assert message.next_attempt_at == now + timedelta(seconds=60)
    assert outbox_dispatch(now=now + timedelta(seconds=59)).retried == 0  # not due yet

    outbox_dispatch(now=now + timedelta(seconds=60))
    message.refresh_from_db()
    assert (message.attempts, message.next_attempt_at) == (2, now + timedelta(seconds=180))

    last = outbox_dispatch(now=now + timedelta(seconds=180))
    message.refresh_from_db()
    assert (last.failed, message.status, message.attempts) == (1, OutboxStatus.FAILED, 3)
    assert "ConnectionRefusedError" in message.last_error
    assert list(OutboxAttempt.objects.values_list("ok", flat=True)) == [False, False, False]


def test_a_message_claimed_by_a_dead_worker_is_taken_again_after_its_claim_expires(smtp, now):
    outbox_enqueue(messages=[_notice()], now=now)
    OutboxMessage.objects.update(status=OutboxStatus.SENDING, claimed_until=now + timedelta(minutes=5))

    assert outbox_dispatch(now=now + timedelta(minutes=1)).sent == 0
    assert outbox_dispatch(now=now + timedelta(minutes=6)).sent == 1
    assert len(smtp.messages) == 1


def test_a_committed_change_has_its_messages_with_their_context(now):
    with transaction.atomic():
        outbox_enqueue(
            messages=[
                OutboxIn(
                    topic="outage",
                    recipient="ops@m.example",
                    context={"title": "淘宝接口中断", "detail": "d", "state": "处理中"},
                    idempotency_key="outage:1",
                )
            ],
            now=now,
        )
    message = OutboxMessage.objects.get()
    assert (message.status, message.subject, message.context["title"], message.next_attempt_at) == (
        OutboxStatus.PENDING,
        "故障通知：淘宝接口中断",
        "淘宝接口中断",
        now,
    )


def test_the_periodic_job_drains_batch_after_batch(smtp, now, monkeypatch):
    from orderguard.notifications import services, tasks

    outbox_enqueue(messages=[_notice(f"k{i}") for i in range(5)], now=now)
    calls = []
    real = services.outbox_dispatch

    def small_batches(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(limit=2, now=now)

    monkeypatch.setattr(tasks, "outbox_dispatch", small_batches)
    tasks.outbox_dispatch_periodic.call_local()

    assert (len(calls), len(smtp.messages)) == (4, 5)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
