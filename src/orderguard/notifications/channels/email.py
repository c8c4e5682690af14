"""Email through SMTP with Django's SMTP backend: a text part, an HTML alternative when there is
one, the message's attachments, a `Message-ID` derived from the outbox key (sha256, as `services.message_id_for`) and an
`X-OrderGuard-Key` header, so a resend is recognisable by the receiver.

Config (see `CONFIG_FIELDS`): host*, port (default 25), username, password (secret), use_tls
(STARTTLS), use_ssl (implicit TLS, usually port 465; not both), from_email (default
DEFAULT_FROM_EMAIL), timeout (seconds, default 10). An empty config ({}) sends through Django's
configured email backend and EMAIL_* settings, the path the outbox used before channels.

One SMTP session is kept open across sends and reopened after any failure; a session the server
closed while idle is noticed on the next send, which reconnects and tries once more at once.
Replies map to results as SMTP means them: a 5xx (recipient or sender refused, message
rejected, authentication failed) is final, a 4xx, a refused connection, a timeout or a dropped
session may pass later.
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
import socket
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend
from django.utils.translation import gettext as _

from orderguard.notifications.channels.base import Outgoing, SendResult
from orderguard.notifications.channels.fields import ConfigChecker, ConfigField


def message_id_for_key(key: str, from_email: str) -> str:
    """RFC 5322 Message-ID from the idempotency key, on the sender's domain (as
    `notifications.services.message_id_for` does for an outbox row)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = from_email.rpartition("@")[2].strip(">").strip() or "orderguard.local"
    return f"<{digest}@{domain}>"


def smtp_result(exc: BaseException) -> SendResult:
    """What an exception raised while sending means for the message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, said = next(iter(exc.recipients.values()), (0, b""))
        return _reply(code, said, "recipient refused")
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, TimeoutError):
        return SendResult(
            ok=False, error=f"SMTP timeout: {exc}"[:500]
        )  # a read timeout, as smtplib reraises it
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendResult(ok=False, error=f"SMTP session dropped: {exc}"[:500])
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, auth failed
        return _reply(exc.smtp_code, exc.smtp_error, type(exc).__name__)
    if isinstance(exc, TimeoutError | socket.timeout):
        return SendResult(ok=False, error=f"SMTP timeout: {exc}"[:500])
    if isinstance(exc, OSError | smtplib.SMTPException):  # refused connection, reset, TLS
        return SendResult(ok=False, error=f"SMTP connection failed: {type(exc).__name__}: {exc}"[:500])
    return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])


def _reply(code: int, said: bytes | str, what: str) -> SendResult:
    text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
    return SendResult(
        ok=False,
        status_code=code or None,
        error=f"{what}: {code} {text}".strip()[:500],
        retryable=not 500 <= code < 600,
    )


class EmailChannel:
    kind: ClassVar[str] = "email"
    fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("host", required=True),
        ConfigField("port", value="int", default=25),
        ConfigField("username"),
        ConfigField("password", secret=True),
        ConfigField("use_tls", value="bool", default=False),
        ConfigField("use_ssl", value="bool", default=False),
        ConfigField("from_email", value="email"),
        ConfigField("timeout", value="float", default=10.0),
    )

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.backend: Any
        self._lock = threading.Lock()
        if not config:
            self.from_email = settings.DEFAULT_FROM_EMAIL
            self.backend = get_connection(fail_silently=False)
            return
        check = ConfigChecker(config, self.fields)
        host = check.text("host")
        port = check.integer("port", minimum=1, maximum=65535)
        username = check.text("username")
        password = check.text("password")
        use_tls = check.flag("use_tls")
        use_ssl = check.flag("use_ssl")
        self.from_email = check.text("from_email") or settings.DEFAULT_FROM_EMAIL
        timeout = check.number("timeout", minimum=0.05, maximum=300)
        if use_tls and use_ssl:
            check.fail("use_ssl", _("use_tls 与 use_ssl 只能选一个"))
        if self.from_email and "@" not in self.from_email:
            check.fail("from_email", _("不是邮件地址"))
        if password and not username:
            check.fail("username", _("必填"))
        check.done()
        self.backend = EmailBackend(
            host=host,
            port=port,
            username=username or None,
            password=password or None,
            use_tls=use_tls,
            use_ssl=use_ssl,
            timeout=timeout,
            fail_silently=False,
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a session that is already gone
            self.backend.close()

    def _email(self, message: Outgoing) -> EmailMultiAlternatives:
        email = EmailMultiAlternatives(
            subject=message.subject.replace("\n", " ").replace("\r", " "),
            body=message.text,
            from_email=self.from_email,
            to=[message.recipient],
            headers={
                "Message-ID": message_id_for_key(message.key, self.from_email),
                "X-OrderGuard-Key": message.key,
            },
            connection=self.backend,
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        for a in message.attachments:
            email.attach(a.filename, a.content, a.mimetype)
        return email

    def send(self, message: Outgoing) -> SendResult:
        if not message.recipient or "@" not in message.recipient:
            return SendResult(ok=False, error=f"not an email address: {message.recipient!r}", retryable=False)
        try:
            email = self._email(message)
        except Exception as exc:  # a header that cannot be encoded, for one
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500], retryable=False)
        message_id = email.extra_headers["Message-ID"]
        with self._lock:  # one SMTP session: threads sharing the channel take turns
            return self._send(email, message_id)

    def _send(self, email: EmailMultiAlternatives, message_id: str) -> SendResult:
        reused = bool(getattr(self.backend, "connection", None))
        for attempt in (1, 2):
            try:
                if hasattr(self.backend, "open"):
                    self.backend.open()  # an open session stays open: send_messages keeps it
                self.backend.send_messages([email])
                return SendResult(ok=True, status_code=250, provider_id=message_id)
            except Exception as exc:
                self.close()
                dropped = (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)
                stale = isinstance(exc, dropped) and reused and attempt == 1
                if not stale:
                    return smtp_result(exc)
                # the server closed the idle session: nothing of this message was taken
        return SendResult(ok=False, error="unreachable")  # pragma: no cover


CONFIG_FIELDS: dict[str, tuple[ConfigField, ...]] = {EmailChannel.kind: EmailChannel.fields}
