"""The outbox loses nothing: an SMTP server down for a while, then back (H4.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from orderguard.notifications.models import NotificationChannel, OutboxMessage, OutboxStatus
from orderguard.notifications.services import OutboxIn, outbox_dispatch, outbox_enqueue
from orderguard.notifications.tests.test_outbox import Inbox, _free_port

pytestmark = pytest.mark.django_db


def test_smtp_down_then_back_loses_nothing_and_the_channel_goes_unhealthy_then_healthy(settings, now):
    port = _free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.OUTBOX_BACKOFF_SECONDS, settings.OUTBOX_MAX_ATTEMPTS, settings.OUTBOX_UNHEALTHY_AFTER = 10, 20, 3
    outbox_enqueue(
        messages=[
            OutboxIn(
                topic="report", recipient=f"m{i}@m.example", subject="s", body="b", idempotency_key=f"r{i}"
            )
            for i in range(5)
        ],
        now=now,
    )

    # the server is down: every send fails, each message waits for its next try
    moment = now
    for _ in range(3):
        outbox_dispatch(now=moment)
        moment += timedelta(minutes=10)
    default = NotificationChannel.objects.get(is_default=True)
    assert (default.healthy, default.consecutive_failures >= 3) == (False, True)
    assert "ConnectionRefusedError" in default.last_error
    assert OutboxMessage.objects.filter(status=OutboxStatus.FAILED).count() == 0

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = outbox_dispatch(now=moment)
    finally:
        controller.stop()

    assert result.sent == 5
    assert sorted(rcpt[0] for _f, rcpt, _raw in inbox.messages) == sorted(f"m{i}@m.example" for i in range(5))
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    default.refresh_from_db()
    assert (default.healthy, default.consecutive_failures, default.last_ok_at) == (True, 0, moment)
