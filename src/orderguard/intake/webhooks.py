"""Order webhooks: verify a channel's signature, refuse replays and redeliveries, import the body.

No HTTP objects here: the caller passes the channel code, the request headers, the raw body
bytes and the time, and maps a `WebhookRefused` code to a status (``docs/webhooks.md``).

Two signing schemes, chosen by the channel's platform:

- **Shopify**: ``X-Shopify-Hmac-SHA256`` = base64(HMAC-SHA256(secret, body)). Delivery id
  ``X-Shopify-Webhook-Id``. ``X-Shopify-Topic`` orders/create, orders/updated, orders/paid and
  orders/cancelled are imported (the body is the order itself; a cancelled order has
  ``cancelled_at`` and is closed by the adapter); any other topic, or none, is acknowledged and
  ignored: nothing is written.
- **Every other platform**: ``X-OrderGuard-Timestamp`` (Unix seconds) and
  ``X-OrderGuard-Signature`` = hex(HMAC-SHA256(secret, "<timestamp>.<body>")); a timestamp
  more than `TIMESTAMP_TOLERANCE` seconds from now is refused (a replay or a badly wrong
  clock). Delivery id ``X-OrderGuard-Delivery``.

Both accept the channel's ``signing_secret`` and, during a rotation, its
``previous_signing_secret``. Every comparison is constant-time. Without a delivery id the
delivery is named by its body, ``sha256:<hex digest>``.

The body is read with the channel's adapter, named by platform rather than guessed (a buyer's
note could contain another format's marker): ``shopify``, ``douyin``, and the generic JSON
layout for the rest.

Checks run in this order, and nothing is written before the import: body size, channel (active),
secret configured, signature, timestamp, delivery id, topic, JSON syntax, redelivery. A
delivery is imported in one transaction together with its `WebhookDelivery` row; the unique
(channel, delivery id) decides which of two identical deliveries runs, and the other answers as
a duplicate with the result of the first. A body the adapter cannot read at all (not an order
document) rolls everything back and is refused; bad orders inside a good document are row
errors of the batch, as in a file import.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.models import ImportBatch, ImportStatus, WebhookDelivery, WebhookDeliveryStatus
from orderguard.intake.services import orders_import
from orderguard.orders.choices import Platform
from orderguard.orders.models import Channel

log = logging.getLogger(__name__)

TIMESTAMP_TOLERANCE = 300  # seconds either side of now
MAX_DELIVERY_ID = 100  # WebhookDelivery.delivery_id
ACTOR_LABEL = "system:webhook"

SHOPIFY_SIGNATURE = "X-Shopify-Hmac-SHA256"
SHOPIFY_TOPIC = "X-Shopify-Topic"
SHOPIFY_DELIVERY = "X-Shopify-Webhook-Id"
SHOPIFY_ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid", "orders/cancelled"})

GENERIC_TIMESTAMP = "X-OrderGuard-Timestamp"
GENERIC_SIGNATURE = "X-OrderGuard-Signature"
GENERIC_DELIVERY = "X-OrderGuard-Delivery"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Refusal(StrEnum):
    """Why a delivery was refused (stable codes; the API maps each to an HTTP status)."""

    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    CHANNEL_NOT_FOUND = "CHANNEL_NOT_FOUND"
    WEBHOOKS_DISABLED = "WEBHOOKS_DISABLED"
    SIGNATURE_MISSING = "SIGNATURE_MISSING"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    TIMESTAMP_INVALID = "TIMESTAMP_INVALID"
    TIMESTAMP_STALE = "TIMESTAMP_STALE"
    DELIVERY_ID_INVALID = "DELIVERY_ID_INVALID"
    DELIVERY_CONFLICT = "DELIVERY_CONFLICT"
    JSON_INVALID = "JSON_INVALID"
    BODY_REJECTED = "BODY_REJECTED"


# Refusals decided before the signature is verified. They tell who asks nothing about which
# channels exist, which have a secret, or which platform they are on: the API answers all of
# them alike, and only the log keeps which one it was.
UNVERIFIED = frozenset(
    {
        Refusal.CHANNEL_NOT_FOUND,
        Refusal.WEBHOOKS_DISABLED,
        Refusal.SIGNATURE_MISSING,
        Refusal.SIGNATURE_INVALID,
        Refusal.TIMESTAMP_INVALID,
    }
)
# Signs the body of a delivery for a channel that has no secret (or does not exist), so that
# such a refusal takes about as long as a wrong signature.
_DECOY_SECRET = "decoy-" + "0" * 58


class WebhookRefused(Exception):
    """A delivery refused before anything was kept: `code` says why, `field` names the header,
    path parameter or ``body`` at fault, `message` is for the integrator (translated)."""

    def __init__(self, *, code: Refusal, message: str, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class WebhookResult:
    """What a delivery did; a duplicate carries the result of the delivery it repeats."""

    delivery: str
    duplicate: bool = False
    ignored: bool = False
    batch: int | None = None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "delivery": self.delivery,
            "duplicate": self.duplicate,
            "ignored": self.ignored,
            "batch": self.batch,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "errors": self.errors,
        }


def webhook_max_body_bytes() -> int:
    return int(settings.WEBHOOK_MAX_BODY_BYTES)


def webhook_receive(
    *, channel_code: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> WebhookResult:
    """Verify one order webhook of channel `channel_code` and import its orders, once.

    `headers` is the request's headers (any case); `body` the raw bytes as received (the
    signature covers them exactly). Raises `WebhookRefused` for a delivery refused before
    anything is written (see the module docstring for the order of the checks). A repeated
    delivery returns the first one's result with ``duplicate`` set and writes nothing; a
    repeated delivery id with a different body is ``DELIVERY_CONFLICT``. Side effects of an
    accepted delivery are those of `orders_import` (orders, events, stock, cases, outbox), in
    the same transaction as its `WebhookDelivery` row.
    """
    limit = webhook_max_body_bytes()
    if len(body) > limit:
        raise WebhookRefused(
            code=Refusal.BODY_TOO_LARGE,
            message=_("请求体超过 %(limit)d 字节的上限") % {"limit": limit},
            field="body",
        )
    channel = Channel.objects.filter(code=channel_code, active=True).first()
    if channel is None or not channel.signing_secret:
        shopify_signature(secret=_DECOY_SECRET, body=body)
    if channel is None:
        raise WebhookRefused(
            code=Refusal.CHANNEL_NOT_FOUND,
            message=_("没有编码为 %(code)s 的启用渠道") % {"code": channel_code[:100]},
            field="channel_code",
        )
    if not channel.signing_secret:
        raise WebhookRefused(
            code=Refusal.WEBHOOKS_DISABLED,
            message=_("渠道 %(code)s 没有设置签名密钥，不接收 Webhook") % {"code": channel.code},
            field="channel_code",
        )
    lowered = {name.lower(): value for name, value in headers.items()}
    secrets = [s for s in (channel.signing_secret, channel.previous_signing_secret) if s]
    if channel.platform == Platform.SHOPIFY:
        matched = _verify_shopify(lowered, body, secrets)
        delivery_header = SHOPIFY_DELIVERY
        topic = lowered.get(SHOPIFY_TOPIC.lower(), "").strip()
    else:
        matched = _verify_generic(lowered, body, secrets, now)
        delivery_header = GENERIC_DELIVERY
        topic = ""
    if matched > 0:
        # the platform still signs with the old secret: the rotation is not finished
        log.info("webhook for channel %s verified with the previous signing secret", channel.code)

    digest = hashlib.sha256(body).hexdigest()
    delivery_id = lowered.get(delivery_header.lower(), "").strip() or f"sha256:{digest}"
    if len(delivery_id) > MAX_DELIVERY_ID:
        raise WebhookRefused(
            code=Refusal.DELIVERY_ID_INVALID,
            message=_("请求头 %(header)s 超过 %(max)d 个字符")
            % {"header": delivery_header, "max": MAX_DELIVERY_ID},
            field=delivery_header,
        )
    if not delivery_id.isprintable():
        # the id is stored and shown: no control characters (PostgreSQL cannot even store NUL)
        raise WebhookRefused(
            code=Refusal.DELIVERY_ID_INVALID,
            message=_("请求头 %(header)s 只能包含可打印字符") % {"header": delivery_header},
            field=delivery_header,
        )
    if channel.platform == Platform.SHOPIFY and topic not in SHOPIFY_ORDER_TOPICS:
        log.info("webhook for channel %s: topic %r ignored", channel.code, topic[:100])
        return WebhookResult(delivery=delivery_id, ignored=True)

    _check_json(body)
    earlier = WebhookDelivery.objects.filter(channel=channel, delivery_id=delivery_id).first()
    if earlier is not None:
        return _repeat(earlier, digest)
    # A body already imported is a replay whatever delivery id it now carries (the id header is
    # not signed): answering it as a duplicate keeps an old snapshot from rolling an order back.
    same_body = WebhookDelivery.objects.filter(channel=channel, body_sha256=digest).first()
    if same_body is not None:
        return _repeat(same_body, digest)

    with transaction.atomic():
        try:
            # the unique (channel, delivery_id) decides between two identical deliveries: the
            # loser waits here for the winner's transaction, then finds its row
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    channel=channel,
                    delivery_id=delivery_id,
                    topic=topic,
                    received_at=now,
                    status=WebhookDeliveryStatus.PROCESSED,
                    body_sha256=digest,
                )
        except IntegrityError:
            # the same id or the same body, delivered twice at once
            winner = WebhookDelivery.objects.filter(
                Q(delivery_id=delivery_id) | Q(body_sha256=digest), channel=channel
            ).first()
            assert winner is not None
            return _repeat(winner, digest)
        batch = orders_import(
            files=[SourceFile(name=f"webhook-{delivery_id}.json", data=body)],
            channel=channel,
            format=_format_for(channel.platform),
            actor_label=ACTOR_LABEL,
            now=now,
        )
        if batch.status == ImportStatus.FAILED:
            problem = batch.errors.filter(row=0).order_by("pk").first() or batch.errors.order_by("pk").first()
            # raising inside the atomic block takes back the batch and the delivery row
            raise WebhookRefused(
                code=Refusal.BODY_REJECTED,
                message=problem.message if problem is not None else _("请求体中的订单无法读取"),
                field="body",
            )
        delivery.batch = batch
        if batch.rows_failed:
            delivery.status = WebhookDeliveryStatus.WITH_ERRORS
        delivery.save(update_fields=["batch", "status"])
    log.info(
        "webhook %s for channel %s imported: batch %s, %d created, %d updated, %d failed",
        delivery_id,
        channel.code,
        batch.pk,
        batch.created,
        batch.updated,
        batch.rows_failed,
    )
    return _result(delivery_id, batch, duplicate=False)


def shopify_signature(*, secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-SHA256`` value of `body` signed with `secret`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def generic_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-OrderGuard-Signature`` value of `body` sent at `timestamp` (the header's text)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _matching_secret(given: str, expected: Sequence[str]) -> int:
    """The index of the expected value `given` equals, -1 for none. Every candidate is compared
    (constant-time each), so the time does not tell which secret matched or how much of it."""
    given_bytes = given.encode("utf-8", "replace")
    found = -1
    for index, value in enumerate(expected):
        if hmac.compare_digest(given_bytes, value.encode()) and found < 0:
            found = index
    return found


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise WebhookRefused(
            code=Refusal.SIGNATURE_MISSING,
            message=_("缺少请求头 %(header)s") % {"header": name},
            field=name,
        )
    return value


def _bad_signature(name: str) -> WebhookRefused:
    return WebhookRefused(
        code=Refusal.SIGNATURE_INVALID,
        message=_("请求头 %(header)s 的签名不正确：应以渠道的签名密钥对原始请求体计算 HMAC-SHA256")
        % {"header": name},
        field=name,
    )


def _verify_shopify(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> int:
    given = _header(headers, SHOPIFY_SIGNATURE)
    matched = _matching_secret(given, [shopify_signature(secret=s, body=body) for s in secrets])
    if matched < 0:
        raise _bad_signature(SHOPIFY_SIGNATURE)
    return matched


def _verify_generic(headers: Mapping[str, str], body: bytes, secrets: Sequence[str], now: datetime) -> int:
    timestamp = _header(headers, GENERIC_TIMESTAMP)
    given = _header(headers, GENERIC_SIGNATURE).lower()
    if not _TIMESTAMP.fullmatch(timestamp):
        raise WebhookRefused(
            code=Refusal.TIMESTAMP_INVALID,
            message=_("请求头 %(header)s 应为 Unix 秒数，实际是“%(value)s”")
            % {"header": GENERIC_TIMESTAMP, "value": timestamp[:40]},
            field=GENERIC_TIMESTAMP,
        )
    # the signature first: a stranger learns nothing about the clock from a forged request
    matched = _matching_secret(
        given, [generic_signature(secret=s, timestamp=timestamp, body=body) for s in secrets]
    )
    if matched < 0:
        raise _bad_signature(GENERIC_SIGNATURE)
    skew = abs(int(now.timestamp()) - int(timestamp))
    if skew > TIMESTAMP_TOLERANCE:
        raise WebhookRefused(
            code=Refusal.TIMESTAMP_STALE,
            message=_(
                "时间戳与服务器时间相差 %(seconds)d 秒，超过允许的 %(tolerance)d 秒：请求已过期或被重放"
            )
            % {"seconds": min(skew, 10**9), "tolerance": TIMESTAMP_TOLERANCE},
            field=GENERIC_TIMESTAMP,
        )
    return matched


def _check_json(body: bytes) -> None:
    """Refuse a body that is not JSON before anything is looked up or written."""

    def refuse(message: str) -> WebhookRefused:
        return WebhookRefused(code=Refusal.JSON_INVALID, message=message, field="body")

    if not body.strip():
        raise refuse(_("请求体是空的"))
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        raise refuse(
            _("请求体不是有效的 JSON：第 %(line)d 行第 %(column)d 列，%(reason)s")
            % {"line": exc.lineno, "column": exc.colno, "reason": exc.msg}
        ) from None
    except UnicodeDecodeError:
        raise refuse(_("请求体不是 UTF-8 编码的 JSON")) from None
    except (RecursionError, ValueError) as exc:
        # nesting too deep, or an integer longer than Python's 4300-digit limit
        raise refuse(_("请求体不是有效的 JSON：%(reason)s") % {"reason": type(exc).__name__}) from None


def _format_for(platform: str) -> str:
    if platform == Platform.SHOPIFY:
        return "shopify"
    if platform == Platform.DOUYIN:
        return "douyin"
    return "generic"


def _repeat(earlier: WebhookDelivery, digest: str) -> WebhookResult:
    if not hmac.compare_digest(earlier.body_sha256, digest):
        raise WebhookRefused(
            code=Refusal.DELIVERY_CONFLICT,
            message=_("推送 %(delivery)s 已经收到过，但这次的请求体不同：同一推送编号只能对应同一内容")
            % {"delivery": earlier.delivery_id},
            field="body",
        )
    log.info("webhook %s for channel %s is a redelivery", earlier.delivery_id, earlier.channel_id)
    batch = ImportBatch.objects.filter(pk=earlier.batch_id).first() if earlier.batch_id else None
    if batch is None:
        return WebhookResult(delivery=earlier.delivery_id, duplicate=True)
    return _result(earlier.delivery_id, batch, duplicate=True)


def _result(delivery_id: str, batch: ImportBatch, *, duplicate: bool) -> WebhookResult:
    return WebhookResult(
        delivery=delivery_id,
        duplicate=duplicate,
        batch=batch.pk,
        created=batch.created,
        updated=batch.updated,
        unchanged=batch.unchanged,
        failed=batch.rows_failed,
        errors=[
            {
                "file": e.file,
                "row": e.row,
                "field": e.field,
                "code": e.code,
                "message": e.message,
                "value": e.value,
            }
            for e in batch.errors.order_by("file", "row", "pk")
        ],
    )
