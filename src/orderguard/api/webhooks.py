"""Order webhooks: ``POST /api/v1/webhooks/{channel_code}/orders`` (see docs/webhooks.md).

No user authentication: each delivery is verified by its signature in `webhook_receive`. The
view reads the raw body itself (the signature covers those exact bytes), at most one byte past
the limit, so an oversized body is refused without being held in memory.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import Path, Router, Schema

from orderguard.api.errors import ApiError, ErrorOut
from orderguard.core import clock
from orderguard.intake.webhooks import (
    GENERIC_DELIVERY,
    GENERIC_SIGNATURE,
    GENERIC_TIMESTAMP,
    SHOPIFY_DELIVERY,
    SHOPIFY_SIGNATURE,
    SHOPIFY_TOPIC,
    UNVERIFIED,
    Refusal,
    WebhookRefused,
    webhook_max_body_bytes,
    webhook_receive,
)

log = logging.getLogger(__name__)
router = Router(tags=["webhooks"])

CHANNEL_CODE = re.compile(r"[-a-zA-Z0-9_]{1,50}")
STATUS: dict[Refusal, int] = {
    Refusal.BODY_TOO_LARGE: 413,
    Refusal.TIMESTAMP_STALE: 401,
    Refusal.DELIVERY_ID_INVALID: 400,
    Refusal.DELIVERY_CONFLICT: 409,
    Refusal.JSON_INVALID: 400,
    Refusal.BODY_REJECTED: 400,
}


class WebhookRowErrorOut(Schema):
    file: str
    row: int
    field: str
    code: str
    message: str
    value: str


class WebhookOut(Schema):
    ok: bool
    delivery: str
    duplicate: bool
    ignored: bool
    batch: int | None
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[WebhookRowErrorOut]


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


# The view reads the headers and the raw body itself (the signature covers the exact bytes), so
# Ninja does not know them: they are documented here. Which headers are required depends on the
# channel's platform (docs/webhooks.md), hence all optional in the document.
OPENAPI_EXTRA: dict[str, Any] = {
    "parameters": [
        _header(SHOPIFY_SIGNATURE, "Shopify channels: base64(HMAC-SHA256(secret, raw body))"),
        _header(
            SHOPIFY_TOPIC, "Shopify channels: orders/create, orders/updated, orders/paid, orders/cancelled"
        ),
        _header(SHOPIFY_DELIVERY, "Shopify channels: the delivery id"),
        _header(GENERIC_TIMESTAMP, "Other channels: the time of sending, Unix seconds"),
        _header(GENERIC_SIGNATURE, "Other channels: hex(HMAC-SHA256(secret, timestamp + '.' + raw body))"),
        _header(GENERIC_DELIVERY, "Other channels: the delivery id (at most 100 characters)"),
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": ["object", "array"]}}},
    },
}


@router.post(
    "/{channel_code}/orders",
    response={200: WebhookOut, frozenset({400, 401, 409, 413}): ErrorOut},
    auth=None,
    url_name="webhook_orders",
    openapi_extra=OPENAPI_EXTRA,
)
@csrf_exempt
def webhook_orders(
    request: HttpRequest, channel_code: str = Path(..., description="The channel's code")
) -> dict[str, Any]:
    """Import the orders of one signed delivery from a channel's platform, once per delivery id.

    Until the signature is verified every refusal is the same answer (401 ``SIGNATURE_INVALID``,
    no field): an unknown channel, one without a secret and a wrong or missing signature look
    alike from outside. The log says which it was."""
    if not CHANNEL_CODE.fullmatch(channel_code):
        # not a slug (orders.Channel.code), so no channel: not looked up (NUL breaks PostgreSQL)
        log.info("webhook refused: %s is not a channel code", ascii(channel_code[:100]))
        raise _unverified()
    body = request.read(webhook_max_body_bytes() + 1)
    try:
        result = webhook_receive(
            channel_code=channel_code, headers=request.headers, body=body, now=clock.now()
        )
    except WebhookRefused as refused:
        if refused.code in UNVERIFIED:
            log.info("webhook for %s refused: %s %s", channel_code, refused.code, refused.field)
            raise _unverified() from None
        raise ApiError(STATUS[refused.code], refused.code, refused.message, refused.field) from None
    return result.as_dict()


def _unverified() -> ApiError:
    return ApiError(
        401,
        Refusal.SIGNATURE_INVALID,
        _("签名验证失败：请检查渠道编码、签名密钥以及签名和时间戳请求头（见 Webhook 文档）"),
    )
