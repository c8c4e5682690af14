"""The email channel against a real SMTP server on 127.0.0.1 (email through SMTP,
HTML and text parts, a Message-ID derived from the outbox row; SMTP down, then back)."""

from __future__ import annotations

import socket
import time

import pytest
from django.core import mail

from orderguard.notifications.channels.base import Outgoing, SendResult, channel_for
from orderguard.notifications.channels.email import EmailChannel, message_id_for_key
from orderguard.notifications.models import OutboxMessage
from orderguard.notifications.services import message_id_for
from orderguard.notifications.testing.servers import SmtpServer

NOTICE = Outgoing(
    key="stockout:7:abc",
    recipient="ops@m.example",
    subject="缺货通知：TS-RED-M",
    text="TS-RED-M：3 个订单缺货",
    html="<p><b>TS-RED-M</b>：3 个订单缺货</p>",
)


def test_email_has_text_and_html_parts_and_a_message_id_from_the_key(smtp_server: SmtpServer):
    channel = channel_for("email", smtp_server.config())

    result = channel.send(NOTICE)

    message_id = message_id_for_key("stockout:7:abc", "orderguard@warehouse.example")
    assert result == SendResult(ok=True, status_code=250, provider_id=message_id)
    [got] = smtp_server.messages
    assert (got.mail_from, got.rcpt_tos) == ("orderguard@warehouse.example", ["ops@m.example"])
    assert got.message["Message-ID"] == message_id
    assert got.message["X-OrderGuard-Key"] == "stockout:7:abc"
    assert got.message["Subject"] == "缺货通知：TS-RED-M"
    assert got.message.get_content_type() == "multipart/alternative"
    text, html = got.message.iter_parts()
    assert (text.get_content_type(), text.get_content().strip()) == ("text/plain", "TS-RED-M：3 个订单缺货")
    assert (html.get_content_type(), html.get_content().strip()) == ("text/html", NOTICE.html)
    channel.close()


def test_a_message_without_html_is_plain_text(smtp_server: SmtpServer):
    channel = channel_for("email", smtp_server.config())

    assert channel.send(Outgoing(key="k", recipient="a@m.example", subject="s", text="正文")).ok
    assert smtp_server.messages[0].message.get_content_type() == "text/plain"
    channel.close()


def test_the_message_id_is_the_one_the_outbox_derives_for_the_same_key(settings):
    settings.DEFAULT_FROM_EMAIL = "orderguard@warehouse.example"
    row = OutboxMessage(idempotency_key="stockout:7:abc")

    assert message_id_for_key("stockout:7:abc", settings.DEFAULT_FROM_EMAIL) == message_id_for(row)


def test_a_resend_carries_the_same_message_id(smtp_server: SmtpServer):
    channel = channel_for("email", smtp_server.config())

    sent = [channel.send(NOTICE), channel.send(NOTICE)]

    assert [r.ok for r in sent] == [True, True], sent
    first, second = smtp_server.messages
    assert first.message["Message-ID"] == second.message["Message-ID"]
    channel.close()


def test_one_smtp_session_serves_many_sends(smtp_server: SmtpServer):
    channel = channel_for("email", smtp_server.config())

    results = [channel.send(NOTICE) for _ in range(5)]

    assert [r.ok for r in results] == [True] * 5
    assert len(smtp_server.messages) == 5
    assert smtp_server.connections == 1
    channel.close()


def test_a_refused_recipient_fails_for_good_with_the_reply_code(smtp_server: SmtpServer):
    channel = channel_for("email", smtp_server.config())
    smtp_server.fail("reject_rcpt")

    result = channel.send(NOTICE)

    assert result == SendResult(
        ok=False, status_code=550, error="recipient refused: 550 5.1.1 mailbox unavailable", retryable=False
    )
    assert smtp_server.messages == []
    assert channel.send(NOTICE).ok  # the session was reopened
    channel.close()


@pytest.mark.parametrize(
    ("mode", "code", "retryable"),
    [("tempfail", 451, True), ("reject_data", 554, False)],
)
def test_a_refused_message_maps_its_reply_code(smtp_server: SmtpServer, mode, code, retryable):
    channel = channel_for("email", smtp_server.config())
    smtp_server.fail(mode)

    result = channel.send(NOTICE)

    assert (result.ok, result.status_code, result.retryable) == (False, code, retryable)
    assert result.error.startswith(f"SMTPDataError: {code} ")
    assert smtp_server.messages == []
    channel.close()


def test_a_session_dropped_mid_send_is_retryable(smtp_server: SmtpServer):
    channel = channel_for("email", smtp_server.config())
    smtp_server.fail("drop", times=2)

    result = channel.send(NOTICE)

    assert (result.ok, result.status_code, result.retryable) == (False, None, True)
    assert result.error.startswith("SMTP session dropped")
    assert smtp_server.messages == []
    channel.close()


def test_a_kept_session_the_server_closed_is_reopened_and_the_send_goes_through(smtp_server: SmtpServer):
    channel = channel_for("email", smtp_server.config())
    assert channel.send(NOTICE).ok
    smtp_server.fail("drop", times=1)

    result = channel.send(NOTICE)

    assert result.ok
    assert len(smtp_server.messages) == 2
    assert smtp_server.connections == 2
    channel.close()


def test_smtp_down_is_retryable_and_back_up_sends_again(smtp_server: SmtpServer):
    """Reliability: an SMTP server down for a while, then back."""
    channel = channel_for("email", smtp_server.config())
    assert channel.send(NOTICE).ok
    smtp_server.down()

    while_down = [channel.send(NOTICE) for _ in range(2)]
    smtp_server.up()
    after = channel.send(NOTICE)

    assert [(r.ok, r.retryable) for r in while_down] == [(False, True), (False, True)]
    assert while_down[-1].error.startswith("SMTP connection failed: ConnectionRefusedError")
    assert after.ok
    assert len(smtp_server.messages) == 2
    channel.close()


def test_a_server_that_never_greets_is_a_retryable_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts connections in the kernel, never answers
        port = silent.getsockname()[1]
        channel = channel_for("email", {"host": "127.0.0.1", "port": port, "timeout": 0.3})

        started = time.monotonic()
        result = channel.send(NOTICE)

    assert (result.ok, result.retryable) == (False, True)
    assert result.error.startswith("SMTP timeout")
    assert time.monotonic() - started < 3
    channel.close()


def test_login_with_the_configured_account(smtp_auth_server: SmtpServer):
    channel = channel_for("email", smtp_auth_server.config())

    assert channel.send(NOTICE).ok
    assert len(smtp_auth_server.messages) == 1
    channel.close()


def test_a_wrong_password_fails_for_good(smtp_auth_server: SmtpServer):
    channel = channel_for("email", smtp_auth_server.config(password="wrong"))

    result = channel.send(NOTICE)

    assert (result.ok, result.status_code, result.retryable) == (False, 535, False)
    assert result.error.startswith("SMTPAuthenticationError: 535 ")
    assert smtp_auth_server.messages == []
    channel.close()


def test_an_address_that_is_not_one_fails_for_good_without_a_session(smtp_server: SmtpServer):
    channel = channel_for("email", smtp_server.config())

    result = channel.send(Outgoing(key="k", recipient="13800138000", subject="s", text="t"))

    assert result == SendResult(ok=False, error="not an email address: '13800138000'", retryable=False)
    assert smtp_server.connections == 0
    channel.close()


def test_an_empty_config_uses_djangos_email_settings(settings):
    """The path the outbox used before channels: EMAIL_BACKEND and DEFAULT_FROM_EMAIL."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "orderguard@warehouse.example"
    channel = channel_for("email", {})

    result = channel.send(NOTICE)

    assert result.ok
    [sent] = mail.outbox
    assert sent.from_email == "orderguard@warehouse.example"
    assert sent.extra_headers["Message-ID"] == message_id_for_key(NOTICE.key, "orderguard@warehouse.example")
    assert sent.alternatives[0][1] == "text/html"
    channel.close()


def test_an_empty_config_reaches_the_configured_smtp_server(settings, smtp_server: SmtpServer):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", smtp_server.port, False
    settings.DEFAULT_FROM_EMAIL = "orderguard@warehouse.example"
    channel = EmailChannel({})

    assert channel.send(NOTICE).ok
    assert channel.send(NOTICE).ok
    assert len(smtp_server.messages) == 2
    assert smtp_server.connections == 1
    channel.close()
