"""Attachments of outbox messages: stored with the row, sent by email, and the same bytes
again on a retry after a failure and on a second enqueue of the same key."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderguard.notifications.channels.base import Attachment
from orderguard.notifications.models import NotificationChannel, OutboxAttachment, OutboxMessage, OutboxStatus
from orderguard.notifications.services import OutboxIn, outbox_dispatch, outbox_enqueue
from orderguard.notifications.testing.servers import SmtpServer

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PDF = Attachment(filename="report.pdf", content=b"%PDF-1.4 \x00\xff binary", mimetype="application/pdf")
XLSX = Attachment(
    filename="report.xlsx",
    content=b"PK\x03\x04 workbook \x00\x01",
    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


def _message(endpoint: NotificationChannel, key: str = "report:k1") -> OutboxIn:
    return OutboxIn(
        topic="report",
        recipient="ops@yoyo.example",
        endpoint_id=endpoint.pk,
        idempotency_key=key,
        subject="周报",
        body="异常单 5 件",
        attachments=(PDF, XLSX),
    )


def _files(mail) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return {part.get_filename(): part.get_content() for part in mail.message.iter_attachments()}


def test_an_email_carries_its_attachments_and_a_retry_the_same_bytes(smtp_server: SmtpServer):
    endpoint = NotificationChannel.objects.create(kind="email", name="smtp", config=smtp_server.config())
    outbox_enqueue(messages=[_message(endpoint)], now=NOW)
    smtp_server.fail("tempfail")

    first = outbox_dispatch(now=NOW)
    second = outbox_dispatch(now=NOW + timedelta(hours=1))

    assert (first.retried, second.sent) == (1, 1)
    [mail] = smtp_server.messages
    assert mail.message["Subject"] == "周报"
    assert mail.message.get_body(preferencelist=("plain",)).get_content().strip() == "异常单 5 件"
    assert _files(mail) == {"report.pdf": PDF.content, "report.xlsx": XLSX.content}
    assert OutboxMessage.objects.get().status == OutboxStatus.SENT


def test_the_same_key_queued_twice_keeps_one_set_of_files():
    endpoint = NotificationChannel.objects.create(kind="email", name="smtp", config={"host": "127.0.0.1"})

    assert outbox_enqueue(messages=[_message(endpoint)], now=NOW) == 1
    assert outbox_enqueue(messages=[_message(endpoint)], now=NOW) == 0

    assert sorted(OutboxAttachment.objects.values_list("filename", flat=True)) == [
        "report.pdf",
        "report.xlsx",
    ]
    assert bytes(OutboxAttachment.objects.get(filename="report.pdf").content) == PDF.content
