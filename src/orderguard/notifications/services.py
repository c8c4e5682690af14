"""The outbox: rows written in the caller's transaction, delivered by `outbox_dispatch`."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Min, Q

from orderguard.core import clock
from orderguard.core.errors import DomainError
from orderguard.notifications.channels.base import (
    Attachment,
    Channel,
    ConfigError,
    Outgoing,
    SendResult,
    channel_for,
)
from orderguard.notifications.channels.email import message_id_for_key
from orderguard.notifications.endpoints import default_email_endpoint
from orderguard.notifications.models import (
    NotificationChannel,
    OutboxAttachment,
    OutboxAttempt,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
)
from orderguard.notifications.rendering import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Rendered,
    TemplateFailed,
    Words,
    render_digest,
    render_words,
    words_for,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxIn:
    """A message to queue. With `context`, the topic's template renders subject and body when
    sent (in `language`); without, `subject` and `body` are sent as written. `endpoint_id`
    None is the default email. A `digest_key` folds the messages of one key queued within
    OUTBOX_DIGEST_WINDOW_SECONDS into one. `attachments` are stored with the row (email sends
    them; a retry sends the same bytes)."""

    topic: str
    recipient: str
    idempotency_key: str
    subject: str = ""
    body: str = ""
    merchant_id: int | None = None
    channel: str = OutboxChannel.EMAIL
    endpoint_id: int | None = None
    language: str = "zh-hans"
    context: Mapping[str, Any] | None = None
    digest_key: str = ""
    attachments: tuple[Attachment, ...] = ()


def user_languages(user_ids: Iterable[int]) -> dict[int, str]:
    """The language each of these users reads (the pages' choice, `web.UserPreference`; one
    query), for messages to warehouse people; a user without a choice reads the default
    zh-Hans. Read through the app registry: the preference is kept by the pages' app, which
    the domain apps do not import."""
    from django.apps import apps

    wanted = set(user_ids)
    if not wanted:
        return {}
    preference = apps.get_model("web", "UserPreference")
    chosen = dict(preference.objects.filter(user_id__in=wanted).values_list("user_id", "language"))
    return {pk: chosen[pk] if chosen.get(pk) in LANGUAGES else DEFAULT_LANGUAGE for pk in wanted}


def _quiet_hours() -> tuple[dtime, dtime] | None:
    text = settings.OUTBOX_SMS_QUIET_HOURS.strip()
    if not text:
        return None
    start, _, end = text.partition("-")
    return dtime.fromisoformat(start.strip()), dtime.fromisoformat(end.strip())


def sms_send_time(moment: datetime) -> datetime:
    """When an SMS due at `moment` may go: at once outside the quiet hours
    (OUTBOX_SMS_QUIET_HOURS, local time), else at their end (queued to the morning, not
    dropped)."""
    hours = _quiet_hours()
    if hours is None:
        return moment
    start, end = hours
    zone = ZoneInfo(settings.TIME_ZONE)
    local = moment.astimezone(zone)
    t = local.time()
    if start > end:  # over midnight, e.g. 21:00-08:00
        if t >= start:
            return datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
        if t < end:
            return datetime.combine(local.date(), end, tzinfo=zone)
        return moment
    if start <= t < end:
        return datetime.combine(local.date(), end, tzinfo=zone)
    return moment


def _is_sms(kind: str) -> bool:
    return kind.startswith("sms")


def outbox_enqueue(*, messages: Iterable[OutboxIn], now: datetime | None = None) -> int:
    """Write messages in the caller's transaction. A key already written is skipped, so the same
    notice caused twice is sent once. A message with a context is rendered now for the record
    (a template that fails leaves subject and body empty: the send fails with the reason). An
    SMS due in the quiet hours waits for their end; a digest message waits for its window
    (the first of a key opens it). Returns how many rows were new."""
    moment = now or clock.now()
    wanted = [m for m in messages if m.recipient or m.endpoint_id is not None]
    if not wanted:
        return 0
    kinds = dict(
        NotificationChannel.objects.filter(
            pk__in={m.endpoint_id for m in wanted if m.endpoint_id}
        ).values_list("pk", "kind")
    )
    digest_keys = {m.digest_key for m in wanted if m.digest_key}
    windows: dict[str, datetime] = {}
    if digest_keys:
        windows = {
            key: due
            for key, due in OutboxMessage.objects.filter(
                status=OutboxStatus.PENDING, digest_key__in=digest_keys
            )
            .values("digest_key")
            .annotate(due=Min("next_attempt_at"))
            .values_list("digest_key", "due")
        }
    words: dict[tuple[str, str], Words] = {}
    rows = []
    for m in wanted:
        subject, body = m.subject, m.body
        if m.context is not None:
            pair = (m.topic, m.language)
            if pair not in words:
                words[pair] = words_for(topic=m.topic, language=m.language)
            try:
                shown = render_words(words[pair], m.context)
                subject, body = shown.subject, shown.text
            except TemplateFailed:
                subject, body = "", ""
        due = moment
        if m.digest_key:
            due = windows.setdefault(
                m.digest_key, moment + timedelta(seconds=settings.OUTBOX_DIGEST_WINDOW_SECONDS)
            )
        if m.endpoint_id and _is_sms(kinds.get(m.endpoint_id, "")):
            due = sms_send_time(due)
        rows.append(
            OutboxMessage(
                merchant_id=m.merchant_id,
                channel=m.channel,
                endpoint_id=m.endpoint_id,
                topic=m.topic,
                recipient=m.recipient,
                subject=subject[:300],
                body=body,
                language=m.language,
                context=dict(m.context) if m.context is not None else None,
                digest_key=m.digest_key,
                idempotency_key=m.idempotency_key,
                next_attempt_at=due,
            )
        )
    keys = [r.idempotency_key for r in rows]
    existing = set(
        OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    fresh = [r for r in rows if r.idempotency_key not in existing]
    OutboxMessage.objects.bulk_create(fresh, ignore_conflicts=True)
    _attachments_store(wanted, {r.idempotency_key for r in fresh})
    return len(fresh)


def _attachments_store(messages: list[OutboxIn], fresh: set[str]) -> None:
    """The attachments of the rows just written. Keyed by (message, filename): a writer that
    lost the race for a key adds nothing to the winner's row."""
    files = {
        m.idempotency_key: m.attachments for m in messages if m.attachments and m.idempotency_key in fresh
    }
    if not files:
        return
    ids = dict(
        OutboxMessage.objects.filter(idempotency_key__in=list(files)).values_list("idempotency_key", "pk")
    )
    OutboxAttachment.objects.bulk_create(
        [
            OutboxAttachment(message_id=ids[key], filename=a.filename, mimetype=a.mimetype, content=a.content)
            for key, attached in files.items()
            if key in ids
            for a in attached
        ],
        ignore_conflicts=True,
    )


def _attachments_of(messages: list[OutboxMessage]) -> dict[int, tuple[Attachment, ...]]:
    """The stored attachments of claimed messages, in one query (none: one cheap query)."""
    out: dict[int, list[Attachment]] = defaultdict(list)
    for message_id, filename, mimetype, content in (
        OutboxAttachment.objects.filter(message_id__in=[m.pk for m in messages])
        .order_by("pk")
        .values_list("message_id", "filename", "mimetype", "content")
    ):
        out[message_id].append(Attachment(filename=filename, content=bytes(content), mimetype=mimetype))
    return {k: tuple(v) for k, v in out.items()}


def message_id_for(message: OutboxMessage) -> str:
    """RFC 5322 Message-ID derived from the idempotency key: a resend carries the same id."""
    return message_id_for_key(message.idempotency_key, settings.DEFAULT_FROM_EMAIL)


def _claim(*, now: datetime, limit: int) -> tuple[list[OutboxMessage], datetime]:
    """Take due messages for this run until `now + OUTBOX_CLAIM_SECONDS`. PostgreSQL: SKIP
    LOCKED lets workers share the queue without waiting on each other; SQLite: the IMMEDIATE
    transaction serialises claims, and the stamp is conditional on the row still being due.
    The stamp of `claimed_until` is what makes a message one run's alone: every later write of
    the run is conditional on it."""
    due = Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.SENDING, claimed_until__lt=now
    )
    until = now + timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS)
    with transaction.atomic():
        qs = OutboxMessage.objects.filter(due).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:limit])
        if ids:
            OutboxMessage.objects.filter(due, pk__in=ids).update(
                status=OutboxStatus.SENDING, claimed_until=until
            )
    if not ids:
        return [], until
    claimed = OutboxMessage.objects.filter(pk__in=ids, claimed_until=until).order_by("next_attempt_at", "pk")
    return list(claimed), until


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # handed back unsent: rate limit or the run's time ran out


@dataclass
class _Unit:
    """One send: a message, or the messages of one digest folded into one."""

    endpoint: NotificationChannel
    messages: list[OutboxMessage]
    outgoing: Outgoing | None = None
    result: SendResult | None = None
    duration_ms: int = 0
    render_error: str = ""


def _rendered(message: OutboxMessage, cache: dict[tuple[str, str], Words]) -> Rendered:
    if message.context is None:
        return Rendered(subject=message.subject, text=message.body)
    pair = (message.topic, message.language)
    if pair not in cache:
        cache[pair] = words_for(topic=message.topic, language=message.language)
    return render_words(cache[pair], message.context)


def _prepare(
    unit: _Unit, cache: dict[tuple[str, str], Words], files: Mapping[int, tuple[Attachment, ...]]
) -> None:
    try:
        parts = [_rendered(m, cache) for m in unit.messages]
    except TemplateFailed as exc:
        unit.render_error = exc.reason
        return
    first = unit.messages[0]
    shown = parts[0] if len(parts) == 1 else render_digest(language=first.language, events=parts)
    key = first.idempotency_key if len(parts) == 1 else f"digest:{first.idempotency_key}"
    params = {k: str(v) for k, v in (first.context or {}).items() if isinstance(v, str | int | float)}
    unit.outgoing = Outgoing(
        key=key,
        recipient=first.recipient,
        subject=shown.subject,
        text=shown.text,
        html=shown.html,
        markdown=shown.text,
        sms_template=shown.sms_template,
        sms_params=params,
        # a digest lists its events; only a message sent alone carries its files
        attachments=files.get(first.pk, ()) if len(parts) == 1 else (),
    )


def _send(adapter: Channel, unit: _Unit, deadline: float) -> None:
    if time.monotonic() > deadline or unit.outgoing is None:
        return
    started = time.monotonic()
    try:
        unit.result = adapter.send(unit.outgoing)
    except Exception as exc:  # adapters report failures as results; a bug must not stop the run
        log.exception("channel %s raised", unit.endpoint.kind)
        unit.result = SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:2000])
    unit.duration_ms = int((time.monotonic() - started) * 1000)


def _send_all(adapter: Channel, units: list[_Unit], deadline: float) -> None:
    for unit in units:
        _send(adapter, unit, deadline)


def _adapter(endpoint: NotificationChannel) -> Channel:
    return channel_for(endpoint.kind, endpoint.config)


def _concurrency(adapter: Channel) -> int:
    declared = getattr(adapter, "max_concurrency", None)
    if declared is None:
        declared = 1 if getattr(adapter, "kind", "") == "email" else settings.OUTBOX_SEND_THREADS
    return max(1, int(declared))


def _allowance(endpoint: NotificationChannel, moment: datetime) -> int | None:
    if not endpoint.rate_per_minute:
        return None
    recent = OutboxAttempt.objects.filter(
        endpoint=endpoint, attempted_at__gt=moment - timedelta(minutes=1)
    ).count()
    return max(0, endpoint.rate_per_minute - recent)


def _units(claimed: list[OutboxMessage]) -> dict[int, list[_Unit]]:
    """Claimed messages by endpoint (None: the default email), a digest's rows in one unit."""
    endpoint_ids = {m.endpoint_id for m in claimed if m.endpoint_id is not None}
    endpoints = {e.pk: e for e in NotificationChannel.objects.filter(pk__in=endpoint_ids)}
    default = default_email_endpoint() if any(m.endpoint_id is None for m in claimed) else None
    per_endpoint: dict[int, list[_Unit]] = defaultdict(list)
    digests: dict[tuple[int, str, str], _Unit] = {}
    for m in claimed:
        endpoint = endpoints[m.endpoint_id] if m.endpoint_id is not None else default
        assert endpoint is not None
        if m.digest_key:
            group = (endpoint.pk, m.recipient, m.digest_key)
            if group in digests:
                digests[group].messages.append(m)
                continue
            unit = digests[group] = _Unit(endpoint=endpoint, messages=[m])
        else:
            unit = _Unit(endpoint=endpoint, messages=[m])
        per_endpoint[endpoint.pk].append(unit)
    return per_endpoint


def _run_sends(groups: list[tuple[Channel, list[_Unit]]], deadline: float, threads: int) -> None:
    """Send every unit. An adapter that writes to the database (the inbox) sends in this
    thread, inside the caller's connection; one limited to one send at a time (an SMTP
    session) sends its units in order on one pool thread; the others send side by side."""
    local: list[Callable[[], None]] = []
    jobs: list[Callable[[], None]] = []
    for adapter, units in groups:
        if getattr(adapter, "uses_database", False):
            local.append(functools.partial(_send_all, adapter, units, deadline))
        elif _concurrency(adapter) == 1:
            jobs.append(functools.partial(_send_all, adapter, units, deadline))
        else:
            jobs.extend(functools.partial(_send, adapter, u, deadline) for u in units)
    for job in local:
        job()
    if not jobs:
        return
    if threads <= 1 or len(jobs) == 1:
        for job in jobs:
            job()
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(jobs)), thread_name_prefix="outbox") as pool:
        for future in [pool.submit(_in_thread, job) for job in jobs]:
            future.result()


def _in_thread(job: Callable[[], None]) -> None:
    try:
        job()
    finally:
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()


def _backoff(
    message: OutboxMessage, attempts: int, moment: datetime, endpoint: NotificationChannel
) -> datetime:
    due = moment + timedelta(seconds=settings.OUTBOX_BACKOFF_SECONDS * (2 ** (attempts - 1)))
    return sms_send_time(due) if _is_sms(endpoint.kind) else due


def outbox_dispatch(
    *, now: datetime | None = None, limit: int = 500, threads: int | None = None
) -> DispatchResult:
    """Send due messages; safe to run twice at once or on many workers (idempotent job).

    Claims up to `limit` due rows, groups them by endpoint (one adapter per endpoint per run,
    closed at the end) and sends them, side by side up to `threads` (OUTBOX_SEND_THREADS).
    Every attempt is recorded (time, status code, duration, error). A failed send is retried
    with exponential back-off (OUTBOX_BACKOFF_SECONDS x 2^n); after OUTBOX_MAX_ATTEMPTS, or at
    once when the channel says a retry cannot help (a bad secret, a rejected phone) or the
    template lacks a variable, the message is failed with the reason. An endpoint over its
    rate limit, or a run whose claim is about to end, hands the rest back unsent (they wait,
    they do not fail). Every status write is conditional on the run's own claim, so a message
    whose claim expired and was taken by another run is never written over (at worst sent
    twice, never lost; its key lets the receiver tell).
    """
    moment = now or clock.now()
    result = DispatchResult()
    claimed, until = _claim(now=moment, limit=limit)
    if not claimed:
        return result
    claim_seconds = settings.OUTBOX_CLAIM_SECONDS
    deadline = time.monotonic() + claim_seconds - min(30, claim_seconds / 5)
    cache: dict[tuple[str, str], Words] = {}
    files = _attachments_of(claimed)
    released: list[tuple[OutboxMessage, datetime]] = []
    done: list[_Unit] = []
    groups: list[tuple[Channel, list[_Unit]]] = []
    adapters: list[Channel] = []
    try:
        for units in _units(claimed).values():
            endpoint = units[0].endpoint
            if not endpoint.enabled:
                for u in units:
                    u.render_error = "channel disabled"
                done.extend(units)
                continue
            allowance = _allowance(endpoint, moment)
            if allowance is not None and allowance < len(units):
                wait = moment + timedelta(seconds=max(1, 60 // max(1, endpoint.rate_per_minute or 1)))
                released.extend((m, wait) for u in units[allowance:] for m in u.messages)
                units = units[:allowance]
            for u in units:
                _prepare(u, cache, files)
            done.extend(units)
            sendable = [u for u in units if u.outgoing is not None]
            if not sendable:
                continue
            try:
                adapter = _adapter(endpoint)
            except (ConfigError, ImportError) as exc:
                for u in sendable:
                    u.result = SendResult(ok=False, error=f"config: {exc}", retryable=False)
                continue
            adapters.append(adapter)
            groups.append((adapter, sendable))
        _run_sends(groups, deadline, threads or settings.OUTBOX_SEND_THREADS)
    finally:
        for adapter in adapters:
            try:
                adapter.close()
            except Exception:
                log.debug("closing a channel failed", exc_info=True)
    _record(done, released, moment=moment, until=until, result=result)
    return result


def _record(
    done: list[_Unit],
    released: list[tuple[OutboxMessage, datetime]],
    *,
    moment: datetime,
    until: datetime,
    result: DispatchResult,
) -> None:
    """Write the run's outcome in one transaction: attempts in bulk, the sent in one update,
    the rest row by row (few), then each endpoint's health."""
    attempts: list[OutboxAttempt] = []
    sent_ids: list[int] = []
    later: list[tuple[OutboxMessage, dict[str, Any]]] = []
    health: dict[int, list[SendResult]] = defaultdict(list)
    endpoints: dict[int, NotificationChannel] = {}
    for unit in done:
        if unit.render_error:
            outcome = SendResult(ok=False, error=unit.render_error, retryable=False)
        elif unit.result is None:  # the run's time ran out before this send
            released.extend((m, moment) for m in unit.messages)
            continue
        else:
            outcome = unit.result
            health[unit.endpoint.pk].append(outcome)
            endpoints[unit.endpoint.pk] = unit.endpoint
        for m in unit.messages:
            attempts.append(
                OutboxAttempt(
                    message=m,
                    endpoint=unit.endpoint,
                    attempted_at=moment,
                    ok=outcome.ok,
                    status_code=outcome.status_code,
                    duration_ms=unit.duration_ms,
                    error=outcome.error[:2000],
                )
            )
            tries = m.attempts + 1
            if outcome.ok:
                sent_ids.append(m.pk)
                result.sent += 1
            elif not outcome.retryable or tries >= settings.OUTBOX_MAX_ATTEMPTS:
                later.append((m, {"status": OutboxStatus.FAILED, "last_error": outcome.error[:2000]}))
                result.failed += 1
            else:
                later.append(
                    (
                        m,
                        {
                            "status": OutboxStatus.PENDING,
                            "last_error": outcome.error[:2000],
                            "next_attempt_at": _backoff(m, tries, moment, unit.endpoint),
                        },
                    )
                )
                result.retried += 1
    result.deferred += len(released)
    with transaction.atomic():
        OutboxAttempt.objects.bulk_create(attempts, batch_size=1000)
        for start in range(0, len(sent_ids), 1000):
            OutboxMessage.objects.filter(pk__in=sent_ids[start : start + 1000], claimed_until=until).update(
                status=OutboxStatus.SENT,
                attempts=F("attempts") + 1,
                sent_at=moment,
                claimed_until=None,
                last_error="",
            )
        for m, changes in later:
            OutboxMessage.objects.filter(pk=m.pk, claimed_until=until).update(
                attempts=F("attempts") + 1, claimed_until=None, **changes
            )
        for m, due in released:
            OutboxMessage.objects.filter(pk=m.pk, claimed_until=until).update(
                status=OutboxStatus.PENDING, claimed_until=None, next_attempt_at=due
            )
        for pk, outcomes in health.items():
            _health_record(endpoint=endpoints[pk], outcomes=outcomes, moment=moment)


def _health_record(*, endpoint: NotificationChannel, outcomes: list[SendResult], moment: datetime) -> None:
    """Failures in a row since the last success; unhealthy from OUTBOX_UNHEALTHY_AFTER on."""
    row = NotificationChannel.objects.select_for_update().get(pk=endpoint.pk)
    trailing = 0
    for outcome in outcomes:
        trailing = 0 if outcome.ok else trailing + 1
    failures = [o for o in outcomes if not o.ok]
    if any(o.ok for o in outcomes):
        row.consecutive_failures = trailing
        row.last_ok_at = moment
    else:
        row.consecutive_failures += trailing
    if failures:
        row.last_failure_at = moment
        row.last_error = failures[-1].error[:2000]
    row.healthy = row.consecutive_failures < settings.OUTBOX_UNHEALTHY_AFTER
    row.save(
        update_fields=[
            "consecutive_failures",
            "last_ok_at",
            "last_failure_at",
            "last_error",
            "healthy",
            "updated_at",
        ]
    )


class RetryRefused(DomainError):
    """Only a failed message can be retried by hand."""

    code = "OUTBOX_NOT_FAILED"

    def __init__(self, *, message_id: int, status: str) -> None:
        super().__init__(f"message {message_id} is {status}", message_id=message_id, status=status)
        self.message_id, self.status = message_id, status


def outbox_message_retry(*, message_id: int, now: datetime | None = None) -> OutboxMessage:
    """Queue a failed message again, due now (an SMS in the quiet hours: at their end), with its
    tries counted afresh (its attempt log stays). Raises RetryRefused for a message that is not
    failed."""
    moment = now or clock.now()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        if message.status != OutboxStatus.FAILED:
            raise RetryRefused(message_id=message.pk, status=message.status)
        message.status = OutboxStatus.PENDING
        message.attempts = 0
        endpoint_id = message.endpoint_id
        kind = (
            NotificationChannel.objects.filter(pk=endpoint_id).values_list("kind", flat=True).first()
            if endpoint_id is not None
            else None
        )
        message.next_attempt_at = sms_send_time(moment) if kind and _is_sms(kind) else moment
        message.claimed_until = None
        message.save(update_fields=["status", "attempts", "next_attempt_at", "claimed_until", "updated_at"])
    return message
