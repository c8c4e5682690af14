"""Django's email backend as a channel, used for the default email (no endpoint, EMAIL_*
settings) while the `email` kind of channels.base.REGISTRY is not installed."""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
from collections.abc import Mapping
from typing import Any, ClassVar

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from orderguard.notifications.channels.base import Outgoing, SendResult


def message_id_for_key(key: str) -> str:
    """RFC 5322 Message-ID derived from the idempotency key: a resend carries the same id."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "orderguard.local"
    return f"<{digest}@{domain}>"


class DjangoMailChannel:
    kind: ClassVar[str] = "email"
    max_concurrency: ClassVar[int] = 1  # one SMTP session, one message at a time

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._conn: Any = None

    def send(self, message: Outgoing) -> SendResult:
        if self._conn is None:
            self._conn = get_connection(fail_silently=False)
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            headers={"Message-ID": message_id_for_key(message.key), "X-OrderGuard-Key": message.key},
            connection=self._conn,
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0] if exc.recipients else None
            self.close()
            return SendResult(
                ok=False, status_code=code, error=f"SMTPRecipientsRefused: {exc}", retryable=False
            )
        except smtplib.SMTPResponseException as exc:
            self.close()
            return SendResult(ok=False, status_code=exc.smtp_code, error=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # any transport error is a failed attempt, never a crash
            self.close()
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        return SendResult(ok=True, status_code=250)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
