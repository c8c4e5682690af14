"""Order webhooks: ``POST /api/v1/webhooks/{channel_code}/orders`` (see docs/webhooks.md).

No user authentication: each delivery is verified by its signature in `webhook_receive`. The
view reads the raw body itself (the signature covers those exact bytes), at most one byte past
the limit, so an oversized body is refused without being held in memory.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.views.decorators.csrf import csrf_exempt
from ninja import Router, Schema

from orderguard.api.errors import ApiError, ErrorOut
from orderguard.core import clock
from orderguard.intake.webhooks import Refusal, WebhookRefused, webhook_max_body_bytes, webhook_receive

router = Router(tags=["webhooks"])

STATUS: dict[Refusal, int] = {
    Refusal.BODY_TOO_LARGE: 413,
    Refusal.CHANNEL_NOT_FOUND: 404,
    Refusal.WEBHOOKS_DISABLED: 403,
    Refusal.SIGNATURE_MISSING: 401,
    Refusal.SIGNATURE_INVALID: 401,
    Refusal.TIMESTAMP_INVALID: 401,
    Refusal.TIMESTAMP_STALE: 401,
    Refusal.DELIVERY_ID_INVALID: 400,
    Refusal.DELIVERY_CONFLICT: 409,
    Refusal.JSON_INVALID: 400,
    Refusal.BODY_REJECTED: 400,
}


class RowErrorOut(Schema):
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
    errors: list[RowErrorOut]


@router.post(
    "/{channel_code}/orders",
    response={200: WebhookOut, frozenset({400, 401, 403, 404, 409, 413}): ErrorOut},
    auth=None,
    url_name="webhook_orders",
)
@csrf_exempt
def webhook_orders(request: HttpRequest, channel_code: str) -> dict[str, Any]:
    """Import the orders of one signed delivery from a channel's platform, once per delivery id."""
    body = request.read(webhook_max_body_bytes() + 1)
    try:
        result = webhook_receive(
            channel_code=channel_code, headers=request.headers, body=body, now=clock.now()
        )
    except WebhookRefused as refused:
        raise ApiError(STATUS[refused.code], refused.code, refused.message, refused.field) from None
    return result.as_dict()
