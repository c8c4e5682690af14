"""POST /api/v1/webhooks/{channel_code}/orders through Django's test client: the real HTTP path,
signatures computed here the way a platform computes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import Client

from orderguard.cases.models import ExceptionCase
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.intake.models import ImportBatch, WebhookDelivery
from orderguard.inventory.models import StockLevel
from orderguard.inventory.services import StockIn, stock_levels_set
from orderguard.orders.models import Channel, Order, OrderEvent
from orderguard.orders.tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
SECRET = "whsec_7d1e4b0c9a"
OLD_SECRET = "whsec_old_55aa"


def url(code: str) -> str:
    return f"/api/v1/webhooks/{code}/orders"


def shopify_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def generic_hmac(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@pytest.fixture
def shop(channel: Channel) -> Channel:
    """A Shopify shop with 10 mugs in stock."""
    channel.platform, channel.signing_secret = "shopify", SECRET
    channel.save()
    skus_upsert(merchant_id=channel.merchant_id, skus=[SkuIn(code="MUG-1", name="Mug")])
    with transaction.atomic():
        stock_levels_set(
            merchant_id=channel.merchant_id,
            lines=[
                StockIn(warehouse_id=channel.warehouse_id, sku_id=channel.merchant.skus.get().pk, on_hand=10)
            ],
            now=channel.created_at,
            actor_label="test",
        )
    return channel


def order_body(order_id: int = 1001, skus: tuple[str, ...] = ("MUG-1", "GHOST-9"), **extra: Any) -> bytes:
    return json.dumps(
        {
            "id": order_id,
            "created_at": "2026-11-25T17:00:00+08:00",
            "financial_status": "paid",
            "line_items": [{"id": n, "sku": sku, "quantity": 1, "title": sku} for n, sku in enumerate(skus)],
            "shipping_address": {
                "name": "Bob Norman",
                "address1": "Chestnut Street 92",
                "city": "Louisville",
                "province": "Kentucky",
                "zip": "40202",
                "country_code": "US",
                "phone": "+1 502-555-0123",
            },
            **extra,
        }
    ).encode()


def post_shopify(
    client: Client,
    code: str,
    body: bytes,
    *,
    secret: str = SECRET,
    topic: str = "orders/create",
    delivery: str = "0b5b1f7e-2c1a-4a8e",
    **headers: str,
) -> Any:
    return client.post(
        url(code),
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Hmac-SHA256": shopify_hmac(secret, body),
            "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": delivery,
            **headers,
        },
    )


def nothing_written() -> tuple[int, int, int, int, int]:
    return (
        ImportBatch.objects.count(),
        Order.objects.count(),
        WebhookDelivery.objects.count(),
        OrderEvent.objects.count(),
        ExceptionCase.objects.count(),
    )


def error(code: str, message: str, field: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "field": field}}


def test_a_signed_shopify_webhook_creates_the_order_and_its_case(client, shop):
    response = post_shopify(client, shop.code, order_body())

    assert response.status_code == 200
    batch = ImportBatch.objects.get()
    assert response.json() == {
        "ok": True,
        "delivery": "0b5b1f7e-2c1a-4a8e",
        "duplicate": False,
        "ignored": False,
        "batch": batch.pk,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "errors": [],
    }
    order = Order.objects.get()
    assert (order.platform_order_id, order.status, [f["code"] for f in order.findings]) == (
        "1001",
        "on_hold",
        ["SKU_UNKNOWN"],
    )
    assert list(ExceptionCase.objects.values_list("order__platform_order_id", "type", "status")) == [
        ("1001", "T3", "open")
    ]
    assert WebhookDelivery.objects.get().batch_id == batch.pk


def test_csrf_checks_do_not_apply_to_webhooks(shop):
    response = post_shopify(Client(enforce_csrf_checks=True), shop.code, order_body(skus=("MUG-1",)))

    assert response.status_code == 200
    assert Order.objects.get().status == "ready"
    assert StockLevel.objects.get().allocated == 1


def test_the_previous_secret_is_accepted_while_it_is_set(client, shop):
    shop.signing_secret, shop.previous_signing_secret = SECRET + "-new", OLD_SECRET
    shop.save()

    old = post_shopify(client, shop.code, order_body(1), secret=OLD_SECRET, delivery="a")
    new = post_shopify(client, shop.code, order_body(2), secret=SECRET + "-new", delivery="b")
    stale = post_shopify(client, shop.code, order_body(3), secret=SECRET, delivery="c")

    assert (old.status_code, new.status_code, stale.status_code) == (200, 200, 401)
    assert sorted(Order.objects.values_list("platform_order_id", flat=True)) == ["1", "2"]


UNVERIFIED = error(
    "SIGNATURE_INVALID", "签名验证失败：请检查渠道编码、签名密钥以及签名和时间戳请求头（见 Webhook 文档）", ""
)


def test_a_bad_signature_is_401_and_nothing_changes(client, shop):
    response = post_shopify(client, shop.code, order_body(), secret="guessed")

    assert (response.status_code, response.json()) == (401, UNVERIFIED)
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_a_missing_signature_header_is_401_and_nothing_changes(client, shop):
    response = client.post(
        url(shop.code),
        data=order_body(),
        content_type="application/json",
        headers={"X-Shopify-Topic": "orders/create"},
    )

    assert (response.status_code, response.json()) == (401, UNVERIFIED)
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_an_outsider_cannot_tell_which_channels_exist_or_have_a_secret(client, shop):
    """Unknown, inactive, without a secret, not a channel code at all, another platform's
    headers, a bad or missing signature: the same status and the same bytes."""
    generic = ChannelFactory(code="erp-x", platform="other", signing_secret=SECRET)
    ChannelFactory(code="no-secret", platform="other", signing_secret="")
    ChannelFactory(code="inactive", platform="shopify", signing_secret=SECRET, active=False)
    body = order_body()
    answers = {
        "unknown": post_shopify(client, "no-such-shop", body),
        "inactive": post_shopify(client, "inactive", body),
        "no secret": post_shopify(client, "no-secret", body, secret=""),
        "not a code": post_shopify(client, "no%20such", body),
        "bad signature": post_shopify(client, shop.code, body, secret="guessed"),
        "generic, unsigned": client.post(url(generic.code), data=body, content_type="application/json"),
        "generic, bad timestamp": client.post(
            url(generic.code),
            data=body,
            content_type="application/json",
            headers={"X-OrderGuard-Timestamp": "soon", "X-OrderGuard-Signature": "00"},
        ),
    }
    assert {name: (r.status_code, r.json()) for name, r in answers.items()} == dict.fromkeys(
        answers, (401, UNVERIFIED)
    )
    assert len({r.content for r in answers.values()}) == 1
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_a_generic_webhook_replayed_after_300_seconds_is_401_with_its_own_code(client):
    channel = ChannelFactory(platform="other", signing_secret=SECRET)
    body = json.dumps({"orders": [{"order_id": "E-1", "lines": [{"sku": "A", "quantity": 1}]}]}).encode()
    timestamp = str(int(time.time()) - 301)

    response = client.post(
        url(channel.code),
        data=body,
        content_type="application/json",
        headers={
            "X-OrderGuard-Timestamp": timestamp,
            "X-OrderGuard-Signature": generic_hmac(SECRET, timestamp, body),
            "X-OrderGuard-Delivery": "evt-1",
        },
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TIMESTAMP_STALE"
    assert response.json()["error"]["field"] == "X-OrderGuard-Timestamp"
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_a_fresh_generic_webhook_is_imported(client):
    channel = ChannelFactory(platform="pinduoduo", signing_secret=SECRET)
    body = json.dumps({"orders": [{"order_id": "P-1", "lines": [{"sku": "A", "quantity": 1}]}]}).encode()
    timestamp = str(int(time.time()))

    response = client.post(
        url(channel.code),
        data=body,
        content_type="application/json",
        headers={
            "X-OrderGuard-Timestamp": timestamp,
            "X-OrderGuard-Signature": generic_hmac(SECRET, timestamp, body),
        },
    )

    assert response.status_code == 200
    assert response.json()["delivery"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert (response.json()["created"], ImportBatch.objects.get().format) == (1, "generic")


def test_a_duplicate_delivery_returns_the_original_result_and_no_second_batch(client, shop):
    body = order_body()
    first = post_shopify(client, shop.code, body)

    again = post_shopify(client, shop.code, body)

    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert nothing_written() == (1, 1, 1, 1, 1)


def test_a_duplicate_id_with_another_body_is_409(client, shop):
    post_shopify(client, shop.code, order_body())

    response = post_shopify(client, shop.code, order_body(financial_status="refunded"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "DELIVERY_CONFLICT"
    assert nothing_written() == (1, 1, 1, 1, 1)


def test_an_oversized_body_is_413_and_nothing_changes(client, shop, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    body = order_body(note="x" * 2048)

    response = post_shopify(client, shop.code, body)

    assert response.status_code == 413
    assert response.json() == error("BODY_TOO_LARGE", "请求体超过 2048 字节的上限", "body")
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_the_body_limit_is_the_webhook_setting_not_djangos_upload_limit(client, shop, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = order_body(note="x" * 2048)

    response = post_shopify(client, shop.code, body)

    assert response.status_code == 200
    assert Order.objects.get().buyer_note == "x" * 2048


def test_an_unknown_channel_is_the_same_401(client, shop):
    response = post_shopify(client, "no-such-shop", order_body())

    assert (response.status_code, response.json()) == (401, UNVERIFIED)
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_an_inactive_channel_is_the_same_401(client, shop):
    Channel.objects.filter(pk=shop.pk).update(active=False)

    response = post_shopify(client, shop.code, order_body())

    assert (response.status_code, response.json()) == (401, UNVERIFIED)
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_a_channel_without_a_secret_is_the_same_401(client, shop):
    Channel.objects.filter(pk=shop.pk).update(signing_secret="")

    response = post_shopify(client, shop.code, order_body(), secret="")

    assert (response.status_code, response.json()) == (401, UNVERIFIED)
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_malformed_json_is_400_naming_the_problem(client, shop):
    response = post_shopify(client, shop.code, b'{"id": 1, "line_items": [')

    assert response.status_code == 400
    assert response.json() == error(
        "JSON_INVALID", "请求体不是有效的 JSON：第 1 行第 26 列，Expecting value", "body"
    )
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_an_ignored_topic_is_200_and_nothing_changes(client, shop):
    response = post_shopify(client, shop.code, b'{"id": 7, "domain": "shop.example"}', topic="shop/update")

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "delivery": "0b5b1f7e-2c1a-4a8e",
        "duplicate": False,
        "ignored": True,
        "batch": None,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "errors": [],
    }
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_the_error_message_follows_the_request_language(client, shop):
    response = post_shopify(client, shop.code, order_body(), secret="guessed", **{"Accept-Language": "en"})

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "SIGNATURE_INVALID",
        "message": (
            "Signature verification failed: check the channel code, the signing secret and the "
            "signature and timestamp headers (see the webhook documentation)"
        ),
        "field": "",
    }


def test_only_post_is_allowed(client, shop):
    assert client.get(url(shop.code)).status_code == 405


def test_the_openapi_document_lists_the_webhook_and_its_answers(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    operation = paths["/api/v1/webhooks/{channel_code}/orders"]["post"]
    assert sorted(operation["responses"]) == ["200", "400", "401", "409", "413"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_produce_one_batch(shop):
    body = order_body(skus=("MUG-1",))
    statuses: list[tuple[int, bool]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(3)

    def deliver() -> None:
        try:
            start.wait()
            response = post_shopify(Client(), shop.code, body)
            statuses.append((response.status_code, response.json()["duplicate"]))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert failures == []
    assert sorted(statuses) == [(200, False), (200, True), (200, True)]
    assert nothing_written() == (1, 1, 1, 1, 0)
    assert StockLevel.objects.get().allocated == 1
