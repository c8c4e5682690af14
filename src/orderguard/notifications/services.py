"""The outbox: rows written in the caller's transaction, delivered by `outbox_dispatch`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Q

from orderguard.core import clock
from orderguard.notifications.models import OutboxAttempt, OutboxChannel, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

# A claimed message is someone's for this long; a worker that dies mid-send frees it then.
CLAIM_SECONDS = 300
# A run stops taking new sends this long before its claim ends.
CLAIM_MARGIN_SECONDS = 30


@dataclass(frozen=True, slots=True)
class OutboxIn:
    topic: str
    recipient: str
    subject: str
    body: str
    idempotency_key: str
    merchant_id: int | None = None
    channel: str = OutboxChannel.EMAIL


def outbox_enqueue(*, messages: Iterable[OutboxIn], now: datetime | None = None) -> int:
    """Write messages in the caller's transaction. A key already written is skipped, so the same
    notice caused twice is sent once. Returns how many rows were new."""
    moment = now or clock.now()
    rows = [
        OutboxMessage(
            merchant_id=m.merchant_id,
            channel=m.channel,
            topic=m.topic,
            recipient=m.recipient,
            subject=m.subject[:300],
            body=m.body,
            idempotency_key=m.idempotency_key,
            next_attempt_at=moment,
        )
        for m in messages
        if m.recipient
    ]
    if not rows:
        return 0
    keys = [r.idempotency_key for r in rows]
    existing = set(
        OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    fresh = [r for r in rows if r.idempotency_key not in existing]
    OutboxMessage.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def message_id_for(message: OutboxMessage) -> str:
    """RFC 5322 Message-ID derived from the idempotency key: a resend carries the same id."""
    import hashlib

    digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "orderguard.local"
    return f"<{digest}@{domain}>"


def _claim(*, now: datetime, limit: int) -> tuple[list[OutboxMessage], datetime]:
    """Take due messages for this run until `now + CLAIM_SECONDS`. PostgreSQL: SKIP LOCKED lets
    two workers share the queue; SQLite: the IMMEDIATE transaction serialises claims. The
    conditional stamp of `claimed_until` is what makes a message one run's alone: every later
    write of the run is conditional on it."""
    due = Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.SENDING, claimed_until__lt=now
    )
    until = now + timedelta(seconds=CLAIM_SECONDS)
    with transaction.atomic():
        qs = OutboxMessage.objects.filter(due).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:limit])
        OutboxMessage.objects.filter(pk__in=ids).update(status=OutboxStatus.SENDING, claimed_until=until)
    return list(OutboxMessage.objects.filter(pk__in=ids).order_by("next_attempt_at", "pk")), until


def _send_email(message: OutboxMessage, conn: object) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
        headers={"Message-ID": message_id_for(message), "X-OrderGuard-Key": message.idempotency_key},
        connection=conn,
    )
    email.send(fail_silently=False)


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def outbox_dispatch(*, now: datetime | None = None, limit: int = 200) -> DispatchResult:
    """Send due messages; safe to run twice at once or on two workers (idempotent job).

    A failed send is retried with exponential back-off (OUTBOX_BACKOFF_SECONDS x 2^n); after
    OUTBOX_MAX_ATTEMPTS it is marked failed. Every attempt is logged in OutboxAttempt. A run
    stops sending before its claim runs out (slow SMTP) and hands the rest back, and every
    status write is conditional on its own claim, so a message whose claim expired and was
    taken by another run is never written over (at worst sent twice, never lost; the
    Message-ID lets the receiver tell).
    """
    moment = now or clock.now()
    result = DispatchResult()
    claimed, until = _claim(now=moment, limit=limit)
    if not claimed:
        return result
    deadline = time.monotonic() + CLAIM_SECONDS - CLAIM_MARGIN_SECONDS
    conn = get_connection(fail_silently=False)
    try:
        for index, message in enumerate(claimed):
            if time.monotonic() > deadline:
                leftover = [m.pk for m in claimed[index:]]
                OutboxMessage.objects.filter(pk__in=leftover, claimed_until=until).update(
                    status=OutboxStatus.PENDING, claimed_until=None
                )
                break
            started = time.monotonic()
            error = ""
            try:
                _send_email(message, conn)
            except Exception as exc:  # any transport error is a failed attempt, never a crash
                error = f"{type(exc).__name__}: {exc}"[:2000]
                log.warning("outbox message %s failed: %s", message.pk, error)
                # the session may be broken; the next send opens a fresh one
                _close_quietly(conn)
            duration = int((time.monotonic() - started) * 1000)
            attempts = message.attempts + 1
            mine = OutboxMessage.objects.filter(pk=message.pk, claimed_until=until)
            with transaction.atomic():
                OutboxAttempt.objects.create(
                    message=message, attempted_at=moment, ok=not error, duration_ms=duration, error=error
                )
                if not error:
                    mine.update(
                        status=OutboxStatus.SENT,
                        attempts=attempts,
                        sent_at=moment,
                        claimed_until=None,
                        last_error="",
                    )
                    result.sent += 1
                elif attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                    mine.update(
                        status=OutboxStatus.FAILED, attempts=attempts, claimed_until=None, last_error=error
                    )
                    result.failed += 1
                else:
                    backoff = settings.OUTBOX_BACKOFF_SECONDS * (2 ** (attempts - 1))
                    mine.update(
                        status=OutboxStatus.PENDING,
                        attempts=attempts,
                        claimed_until=None,
                        last_error=error,
                        next_attempt_at=moment + timedelta(seconds=backoff),
                    )
                    result.retried += 1
    finally:
        _close_quietly(conn)
    return result


def _close_quietly(conn: object) -> None:
    try:
        conn.close()  # type: ignore[attr-defined]
    except Exception:
        log.debug("closing the SMTP connection failed", exc_info=True)
