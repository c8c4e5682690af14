"""Order webhooks, service level: signatures, rotation, replay window, redelivery, refusals."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connections, transaction

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.intake.models import ImportBatch, ImportRowError, WebhookDelivery
from orderguard.intake.webhooks import (
    WebhookRefused,
    WebhookResult,
    generic_signature,
    shopify_signature,
    webhook_receive,
)
from orderguard.inventory.models import StockLevel, StockMovement
from orderguard.inventory.services import StockIn, stock_levels_set
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.models import Channel, Order, OrderEvent
from orderguard.orders.tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SECRET = "shpss_current_0123456789"
OLD_SECRET = "shpss_previous_9876543210"
DOUYIN_SAMPLE = Path(__file__).parent / "data" / "douyin_order_detail.json"


def stock(channel: Channel, **on_hand: int) -> None:
    skus_upsert(merchant_id=channel.merchant_id, skus=[SkuIn(code=code, name=code) for code in on_hand])
    ids = dict(channel.merchant.skus.values_list("code", "pk"))
    with transaction.atomic():
        stock_levels_set(
            merchant_id=channel.merchant_id,
            lines=[
                StockIn(warehouse_id=channel.warehouse_id, sku_id=ids[code], on_hand=n)
                for code, n in on_hand.items()
            ],
            now=NOW,
            actor_label="test",
        )


@pytest.fixture
def shopify(channel: Channel) -> Channel:
    """A Shopify shop with 10 mugs in stock."""
    channel.platform = "shopify"
    channel.signing_secret = SECRET
    channel.save()
    stock(channel, **{"MUG-1": 10})
    return channel


@pytest.fixture
def erp() -> Channel:
    """A JD shop whose ERP pushes the generic JSON layout, with 10 mugs in stock."""
    channel = ChannelFactory(platform="jd", signing_secret=SECRET)
    stock(channel, **{"MUG-1": 10})
    return channel


def shopify_order(**fields: Any) -> dict[str, Any]:
    """A paid order (the orders/create body): one mug in stock and one SKU the shop never had."""
    body: dict[str, Any] = {
        "id": 820982911946154508,
        "name": "#9999",
        "created_at": "2026-11-25T17:00:00+08:00",
        "processed_at": "2026-11-25T17:01:00+08:00",
        "financial_status": "paid",
        "fulfillment_status": None,
        "cancelled_at": None,
        "line_items": [
            {"id": 1, "sku": "MUG-1", "quantity": 2, "title": "Mug", "variant_title": None},
            {"id": 2, "sku": "GHOST-9", "quantity": 1, "title": "Ghost", "variant_title": None},
        ],
        "shipping_address": {
            "name": "Bob Norman",
            "address1": "Chestnut Street 92",
            "city": "Louisville",
            "province": "Kentucky",
            "zip": "40202",
            "country_code": "US",
            "phone": "+1 502-555-0123",
        },
    }
    body.update(fields)
    return body


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def shopify_headers(
    body: bytes, *, secret: str = SECRET, topic: str = "orders/create", delivery: str = "b54557e4-d1fd"
) -> dict[str, str]:
    return {
        "X-Shopify-Hmac-SHA256": shopify_signature(secret=secret, body=body),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": delivery,
        "Content-Type": "application/json",
    }


def generic_body(order_id: str = "JD-1001", quantity: int = 1) -> bytes:
    return encode(
        {
            "orders": [
                {
                    "order_id": order_id,
                    "paid_at": "2026-11-25 17:00:00",
                    "recipient_name": "李四",
                    "recipient_phone": "13900139000",
                    "province": "浙江省",
                    "city": "杭州市",
                    "district": "西湖区",
                    "address": "文三路 100 号",
                    "lines": [{"sku": "MUG-1", "quantity": quantity}],
                }
            ]
        }
    )


def generic_headers(
    body: bytes, *, at: datetime = NOW, secret: str = SECRET, delivery: str = "evt-1"
) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    headers = {
        "X-OrderGuard-Timestamp": timestamp,
        "X-OrderGuard-Signature": generic_signature(secret=secret, timestamp=timestamp, body=body),
    }
    if delivery:
        headers["X-OrderGuard-Delivery"] = delivery
    return headers


def state() -> dict[str, int]:
    """How many rows every table an import writes holds."""
    return {
        "batches": ImportBatch.objects.count(),
        "row_errors": ImportRowError.objects.count(),
        "deliveries": WebhookDelivery.objects.count(),
        "orders": Order.objects.count(),
        "order_events": OrderEvent.objects.count(),
        "cases": ExceptionCase.objects.count(),
        "case_events": CaseEvent.objects.count(),
        "stock_movements": StockMovement.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


NOTHING = {
    "batches": 0,
    "row_errors": 0,
    "deliveries": 0,
    "orders": 0,
    "order_events": 0,
    "cases": 0,
    "case_events": 0,
    "stock_movements": 1,  # the stock count of the fixture
    "outbox": 0,
}


def refusal(
    channel_code: str, headers: dict[str, str], body: bytes, now: datetime = NOW
) -> tuple[str, str, str]:
    with pytest.raises(WebhookRefused) as caught:
        webhook_receive(channel_code=channel_code, headers=headers, body=body, now=now)
    return caught.value.code, caught.value.field, caught.value.message


def test_a_signed_shopify_order_webhook_imports_the_order_and_opens_its_cases(shopify):
    body = encode(shopify_order())

    result = webhook_receive(channel_code=shopify.code, headers=shopify_headers(body), body=body, now=NOW)

    batch = ImportBatch.objects.get()
    assert result == WebhookResult(
        delivery="b54557e4-d1fd", batch=batch.pk, created=1, updated=0, unchanged=0, failed=0, errors=[]
    )
    assert (batch.format, batch.status, batch.actor_label, batch.file_names) == (
        "shopify",
        "done",
        "system:webhook",
        ["webhook-b54557e4-d1fd.json"],
    )
    order = Order.objects.get()
    assert (order.platform_order_id, order.status, [f["code"] for f in order.findings]) == (
        "820982911946154508",
        "on_hold",
        ["SKU_UNKNOWN"],
    )
    assert list(ExceptionCase.objects.values_list("order_id", "type", "status")) == [(order.pk, "T3", "open")]
    assert list(OrderEvent.objects.values_list("type", "actor_label", "data")) == [
        ("imported", "system:webhook", {"batch": batch.pk, "status": "on_hold", "codes": ["SKU_UNKNOWN"]})
    ]
    assert StockLevel.objects.get().allocated == 0  # an order on hold for an unknown SKU holds nothing
    delivery = WebhookDelivery.objects.get()
    assert (
        delivery.channel_id,
        delivery.delivery_id,
        delivery.topic,
        delivery.received_at,
        delivery.status,
        delivery.batch_id,
        delivery.body_sha256,
    ) == (
        shopify.pk,
        "b54557e4-d1fd",
        "orders/create",
        NOW,
        "processed",
        batch.pk,
        hashlib.sha256(body).hexdigest(),
    )


def test_a_complete_shopify_order_is_ready_and_takes_its_stock(shopify):
    body = encode(shopify_order(line_items=[{"id": 1, "sku": "MUG-1", "quantity": 2, "title": "Mug"}]))

    result = webhook_receive(channel_code=shopify.code, headers=shopify_headers(body), body=body, now=NOW)

    assert (result.created, result.failed) == (1, 0)
    assert (Order.objects.get().status, ExceptionCase.objects.count()) == ("ready", 0)
    assert StockLevel.objects.get().allocated == 2


def test_orders_updated_then_cancelled_updates_the_order_and_gives_its_stock_back(shopify):
    first = encode(shopify_order(line_items=[{"id": 1, "sku": "MUG-1", "quantity": 2, "title": "Mug"}]))
    webhook_receive(
        channel_code=shopify.code, headers=shopify_headers(first, delivery="d1"), body=first, now=NOW
    )
    moved = shopify_order(line_items=[{"id": 1, "sku": "MUG-1", "quantity": 3, "title": "Mug"}])
    second = encode(moved)
    cancelled = encode({**moved, "cancelled_at": "2026-11-25T18:00:00+08:00"})

    updated = webhook_receive(
        channel_code=shopify.code,
        headers=shopify_headers(second, topic="orders/updated", delivery="d2"),
        body=second,
        now=NOW + timedelta(minutes=5),
    )
    assert (updated.created, updated.updated, updated.unchanged) == (0, 1, 0)
    assert StockLevel.objects.get().allocated == 3
    closed = webhook_receive(
        channel_code=shopify.code,
        headers=shopify_headers(cancelled, topic="orders/cancelled", delivery="d3"),
        body=cancelled,
        now=NOW + timedelta(minutes=10),
    )

    assert (closed.created, closed.updated) == (0, 1)
    order = Order.objects.get()
    assert (order.status, order.platform_state) == ("not_ready", "closed")
    assert StockLevel.objects.get().allocated == 0
    assert list(OrderEvent.objects.order_by("pk").values_list("type", flat=True)) == [
        "imported",
        "updated",
        "updated",
    ]
    assert list(WebhookDelivery.objects.order_by("pk").values_list("delivery_id", "topic")) == [
        ("d1", "orders/create"),
        ("d2", "orders/updated"),
        ("d3", "orders/cancelled"),
    ]


def test_during_a_rotation_the_previous_secret_is_accepted_and_after_it_is_not(shopify):
    shopify.signing_secret, shopify.previous_signing_secret = "shpss_new_secret", OLD_SECRET
    shopify.save()
    old = encode(shopify_order(id=1))
    new = encode(shopify_order(id=2))

    by_old = webhook_receive(
        channel_code=shopify.code,
        headers=shopify_headers(old, secret=OLD_SECRET, delivery="o"),
        body=old,
        now=NOW,
    )
    by_new = webhook_receive(
        channel_code=shopify.code,
        headers=shopify_headers(new, secret="shpss_new_secret", delivery="n"),
        body=new,
        now=NOW,
    )
    assert (by_old.created, by_new.created) == (1, 1)

    shopify.previous_signing_secret = ""
    shopify.save()
    late = encode(shopify_order(id=3))
    before = state()
    assert refusal(shopify.code, shopify_headers(late, secret=OLD_SECRET, delivery="late"), late)[:2] == (
        "SIGNATURE_INVALID",
        "X-Shopify-Hmac-SHA256",
    )
    assert state() == before


def test_a_wrong_shopify_signature_is_refused_and_nothing_is_written(shopify):
    body = encode(shopify_order())
    headers = shopify_headers(body, secret="not-the-secret")

    assert refusal(shopify.code, headers, body) == (
        "SIGNATURE_INVALID",
        "X-Shopify-Hmac-SHA256",
        "请求头 X-Shopify-Hmac-SHA256 的签名不正确：应以渠道的签名密钥对原始请求体计算 HMAC-SHA256",
    )
    assert state() == NOTHING


def test_a_signature_of_another_body_is_refused(shopify):
    signed = encode(shopify_order())
    tampered = encode(shopify_order(financial_status="refunded"))

    assert refusal(shopify.code, shopify_headers(signed), tampered)[0] == "SIGNATURE_INVALID"
    assert state() == NOTHING


def test_a_missing_or_non_ascii_signature_header_is_refused(shopify):
    body = encode(shopify_order())
    headers = shopify_headers(body)
    del headers["X-Shopify-Hmac-SHA256"]

    assert refusal(shopify.code, headers, body) == (
        "SIGNATURE_MISSING",
        "X-Shopify-Hmac-SHA256",
        "缺少请求头 X-Shopify-Hmac-SHA256",
    )
    headers["X-Shopify-Hmac-SHA256"] = "签名"
    assert refusal(shopify.code, headers, body)[0] == "SIGNATURE_INVALID"
    assert state() == NOTHING


def test_header_names_are_matched_in_any_case(shopify):
    body = encode(shopify_order())
    headers = {name.lower(): value for name, value in shopify_headers(body).items()}

    assert webhook_receive(channel_code=shopify.code, headers=headers, body=body, now=NOW).created == 1


def test_a_generic_webhook_imports_the_generic_json_layout(erp):
    body = generic_body()

    result = webhook_receive(channel_code=erp.code, headers=generic_headers(body), body=body, now=NOW)

    batch = ImportBatch.objects.get()
    assert result == WebhookResult(delivery="evt-1", batch=batch.pk, created=1)
    assert batch.format == "generic"
    order = Order.objects.get()
    assert (order.platform_order_id, order.status, order.findings) == ("JD-1001", "ready", [])
    assert StockLevel.objects.get().allocated == 1


def test_a_generic_webhook_is_accepted_up_to_300_seconds_either_side_of_now(erp):
    early, late = generic_body("A"), generic_body("B")

    webhook_receive(
        channel_code=erp.code,
        headers=generic_headers(early, at=NOW - timedelta(seconds=300), delivery="a"),
        body=early,
        now=NOW,
    )
    webhook_receive(
        channel_code=erp.code,
        headers=generic_headers(late, at=NOW + timedelta(seconds=300), delivery="b"),
        body=late,
        now=NOW,
    )

    assert sorted(Order.objects.values_list("platform_order_id", flat=True)) == ["A", "B"]


def test_a_generic_webhook_outside_300_seconds_is_refused_as_stale(erp):
    body = generic_body()

    for at, skew in ((NOW - timedelta(seconds=301), 301), (NOW + timedelta(hours=1), 3600)):
        assert refusal(erp.code, generic_headers(body, at=at), body) == (
            "TIMESTAMP_STALE",
            "X-OrderGuard-Timestamp",
            f"时间戳与服务器时间相差 {skew} 秒，超过允许的 300 秒：请求已过期或被重放",
        )
    assert state() == NOTHING


def test_a_captured_generic_webhook_replayed_later_is_refused(erp):
    body = generic_body()
    headers = generic_headers(body, delivery="")
    webhook_receive(channel_code=erp.code, headers=headers, body=body, now=NOW)
    before = state()

    assert refusal(erp.code, headers, body, now=NOW + timedelta(minutes=6))[0] == "TIMESTAMP_STALE"
    assert state() == before


def test_a_generic_signature_binds_the_timestamp(erp):
    body = generic_body()
    headers = generic_headers(body, at=NOW - timedelta(hours=1))
    headers["X-OrderGuard-Timestamp"] = str(int(NOW.timestamp()))  # fresh time, old signature

    assert refusal(erp.code, headers, body)[:2] == ("SIGNATURE_INVALID", "X-OrderGuard-Signature")
    assert state() == NOTHING


def test_a_generic_webhook_without_timestamp_or_with_a_bad_one_is_refused(erp):
    body = generic_body()
    headers = generic_headers(body)
    del headers["X-OrderGuard-Timestamp"]
    assert refusal(erp.code, headers, body)[:2] == ("SIGNATURE_MISSING", "X-OrderGuard-Timestamp")
    headers["X-OrderGuard-Timestamp"] = "1764064800.5"
    assert refusal(erp.code, headers, body) == (
        "TIMESTAMP_INVALID",
        "X-OrderGuard-Timestamp",
        "请求头 X-OrderGuard-Timestamp 应为 Unix 秒数，实际是“1764064800.5”",
    )
    headers = generic_headers(body)
    del headers["X-OrderGuard-Signature"]
    assert refusal(erp.code, headers, body)[:2] == ("SIGNATURE_MISSING", "X-OrderGuard-Signature")
    assert state() == NOTHING


def test_a_redelivery_returns_the_first_result_and_writes_nothing(shopify):
    body = encode(shopify_order())
    first = webhook_receive(channel_code=shopify.code, headers=shopify_headers(body), body=body, now=NOW)
    before = state()

    again = webhook_receive(
        channel_code=shopify.code, headers=shopify_headers(body), body=body, now=NOW + timedelta(hours=1)
    )

    assert again == WebhookResult(
        delivery="b54557e4-d1fd",
        duplicate=True,
        batch=first.batch,
        created=1,
        updated=0,
        unchanged=0,
        failed=0,
    )
    assert state() == before
    assert WebhookDelivery.objects.get().received_at == NOW


def test_without_a_delivery_id_the_body_names_the_delivery(erp):
    body = generic_body()
    digest = hashlib.sha256(body).hexdigest()

    first = webhook_receive(
        channel_code=erp.code, headers=generic_headers(body, delivery=""), body=body, now=NOW
    )
    again = webhook_receive(
        channel_code=erp.code,
        headers=generic_headers(body, at=NOW + timedelta(seconds=60), delivery=""),
        body=body,
        now=NOW + timedelta(seconds=60),
    )

    assert (first.delivery, first.duplicate, again.delivery, again.duplicate) == (
        f"sha256:{digest}",
        False,
        f"sha256:{digest}",
        True,
    )
    assert (ImportBatch.objects.count(), WebhookDelivery.objects.count()) == (1, 1)


def test_the_same_delivery_id_with_another_body_is_a_conflict(erp):
    body = generic_body()
    webhook_receive(channel_code=erp.code, headers=generic_headers(body), body=body, now=NOW)
    before = state()
    other = generic_body(quantity=2)

    assert refusal(erp.code, generic_headers(other), other) == (
        "DELIVERY_CONFLICT",
        "body",
        "推送 evt-1 已经收到过，但这次的请求体不同：同一推送编号只能对应同一内容",
    )
    assert state() == before


def test_the_same_delivery_id_on_two_channels_is_two_deliveries(erp):
    other = ChannelFactory(
        platform="other", merchant=erp.merchant, warehouse=erp.warehouse, signing_secret=SECRET
    )
    body = generic_body()

    webhook_receive(channel_code=erp.code, headers=generic_headers(body), body=body, now=NOW)
    second = webhook_receive(channel_code=other.code, headers=generic_headers(body), body=body, now=NOW)

    assert (second.duplicate, second.created) == (False, 1)
    assert Order.objects.count() == 2


def test_a_delivery_id_over_100_characters_is_refused(erp):
    body = generic_body()

    assert refusal(erp.code, generic_headers(body, delivery="x" * 101), body) == (
        "DELIVERY_ID_INVALID",
        "X-OrderGuard-Delivery",
        "请求头 X-OrderGuard-Delivery 超过 100 个字符",
    )
    assert state() == NOTHING


def test_an_oversized_body_is_refused_before_anything_else(shopify, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1024
    body = encode(shopify_order(note="x" * 1024))

    assert refusal(shopify.code, shopify_headers(body), body) == (
        "BODY_TOO_LARGE",
        "body",
        "请求体超过 1024 字节的上限",
    )
    assert refusal("no-such-channel", {}, body)[0] == "BODY_TOO_LARGE"
    assert state() == NOTHING


def test_the_body_limit_is_2_mib_by_default(settings):
    assert settings.WEBHOOK_MAX_BODY_BYTES == 2 * 1024 * 1024


def test_an_unknown_or_inactive_channel_is_not_found(shopify):
    body = encode(shopify_order())
    assert refusal("no-such-channel", shopify_headers(body), body) == (
        "CHANNEL_NOT_FOUND",
        "channel_code",
        "没有编码为 no-such-channel 的启用渠道",
    )
    Channel.objects.filter(pk=shopify.pk).update(active=False)

    assert refusal(shopify.code, shopify_headers(body), body)[0] == "CHANNEL_NOT_FOUND"
    assert state() == NOTHING


def test_a_channel_without_a_secret_refuses_webhooks(shopify):
    Channel.objects.filter(pk=shopify.pk).update(signing_secret="", previous_signing_secret=OLD_SECRET)
    body = encode(shopify_order())

    assert refusal(shopify.code, shopify_headers(body, secret=OLD_SECRET), body) == (
        "WEBHOOKS_DISABLED",
        "channel_code",
        f"渠道 {shopify.code} 没有设置签名密钥，不接收 Webhook",
    )
    assert state() == NOTHING


def test_malformed_json_is_refused_naming_line_and_column(shopify):
    body = b'{"id": 1,\n "line_items": [}'

    assert refusal(shopify.code, shopify_headers(body), body) == (
        "JSON_INVALID",
        "body",
        "请求体不是有效的 JSON：第 2 行第 17 列，Expecting value",
    )
    assert refusal(shopify.code, shopify_headers(b"  "), b"  ")[2] == "请求体是空的"
    latin = '{"note": "café"}'.encode("latin-1")
    assert refusal(shopify.code, shopify_headers(latin), latin)[2] == "请求体不是 UTF-8 编码的 JSON"
    assert state() == NOTHING


def test_json_that_is_not_an_order_document_is_refused_and_rolled_back(shopify):
    body = encode({"hello": "world"})

    assert refusal(shopify.code, shopify_headers(body), body) == (
        "BODY_REJECTED",
        "body",
        "文件 webhook-b54557e4-d1fd.json 不是 Shopify 订单 JSON（应有 order、orders 或 line_items）",
    )
    assert state() == NOTHING


def test_an_ignored_topic_is_acknowledged_and_changes_nothing(shopify):
    body = encode({"id": 1, "name": "Ghost shop"})

    result = webhook_receive(
        channel_code=shopify.code, headers=shopify_headers(body, topic="shop/update"), body=body, now=NOW
    )
    headers = shopify_headers(body)
    del headers["X-Shopify-Topic"]
    no_topic = webhook_receive(channel_code=shopify.code, headers=headers, body=body, now=NOW)

    assert result == no_topic == WebhookResult(delivery="b54557e4-d1fd", ignored=True)
    assert state() == NOTHING


def test_bad_orders_in_a_delivery_are_row_errors_and_the_good_ones_import(erp):
    document = json.loads(generic_body("GOOD"))
    document["orders"].append(
        {**document["orders"][0], "order_id": "BAD", "lines": [{"sku": "MUG-1", "quantity": 0}]}
    )
    body = encode(document)

    result = webhook_receive(channel_code=erp.code, headers=generic_headers(body), body=body, now=NOW)

    assert (result.created, result.failed) == (1, 1)
    assert result.errors == [
        {
            "file": "webhook-evt-1.json",
            "row": 2,
            "field": "lines[0].quantity",
            "code": "QUANTITY_INVALID",
            "message": "webhook-evt-1.json 第 2 个订单：lines[0].quantity 应为 1 到 100000 之间的整数，实际是“0”，订单 BAD 未导入",
            "value": "0",
        }
    ]
    assert WebhookDelivery.objects.get().status == "with_errors"
    again = webhook_receive(channel_code=erp.code, headers=generic_headers(body), body=body, now=NOW)
    assert (again.duplicate, again.failed, again.errors) == (True, 1, result.errors)


def test_a_douyin_channel_reads_the_douyin_order_detail(channel):
    channel.platform, channel.signing_secret = "douyin", SECRET
    channel.save()
    body = DOUYIN_SAMPLE.read_bytes()

    result = webhook_receive(channel_code=channel.code, headers=generic_headers(body), body=body, now=NOW)

    assert (result.created, result.failed, ImportBatch.objects.get().format) == (1, 0, "douyin")
    assert Order.objects.get().platform_order_id == "6900000000000000001"


@pytest.mark.django_db(transaction=True)
def test_identical_deliveries_at_once_import_once_and_the_others_answer_as_duplicates(shopify):
    body = encode(shopify_order(line_items=[{"id": 1, "sku": "MUG-1", "quantity": 2, "title": "Mug"}]))
    results: list[WebhookResult] = []
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def deliver() -> None:
        try:
            start.wait()
            results.append(
                webhook_receive(channel_code=shopify.code, headers=shopify_headers(body), body=body, now=NOW)
            )
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert failures == []
    batch = ImportBatch.objects.get()
    assert sorted((r.duplicate, r.batch, r.created) for r in results) == [
        (False, batch.pk, 1),
        (True, batch.pk, 1),
        (True, batch.pk, 1),
        (True, batch.pk, 1),
    ]
    assert (WebhookDelivery.objects.count(), Order.objects.count(), OrderEvent.objects.count()) == (1, 1, 1)
    assert StockLevel.objects.get().allocated == 2


def test_a_replayed_body_under_a_new_or_no_delivery_id_cannot_roll_a_cancelled_order_back(shopify):
    first = encode(shopify_order(line_items=[{"id": 1, "sku": "MUG-1", "quantity": 2, "title": "Mug"}]))
    cancelled = encode({**json.loads(first), "cancelled_at": "2026-11-25T18:00:00+08:00"})
    webhook_receive(
        channel_code=shopify.code, headers=shopify_headers(first, delivery="d1"), body=first, now=NOW
    )
    webhook_receive(
        channel_code=shopify.code,
        headers=shopify_headers(cancelled, topic="orders/cancelled", delivery="d2"),
        body=cancelled,
        now=NOW + timedelta(minutes=10),
    )
    before = state()

    renamed = webhook_receive(
        channel_code=shopify.code,
        headers=shopify_headers(first, delivery="forged-new-id"),
        body=first,
        now=NOW + timedelta(days=7),
    )
    headers = shopify_headers(first)
    del headers["X-Shopify-Webhook-Id"]
    unnamed = webhook_receive(
        channel_code=shopify.code, headers=headers, body=first, now=NOW + timedelta(days=7)
    )

    assert (renamed.duplicate, renamed.delivery, unnamed.duplicate, unnamed.delivery) == (
        True,
        "d1",
        True,
        "d1",
    )
    order = Order.objects.get()
    assert (order.status, order.platform_state) == ("not_ready", "closed")
    assert StockLevel.objects.get().allocated == 0
    assert state() == before


def test_an_older_snapshot_never_reopens_a_closed_order(erp):
    ready = encode({"orders": [{**json.loads(generic_body("JD-7"))["orders"][0], "status": "ready"}]})
    closed = encode({"orders": [{**json.loads(generic_body("JD-7"))["orders"][0], "status": "closed"}]})
    older_ready = encode(
        {"orders": [{**json.loads(generic_body("JD-7"))["orders"][0], "status": "ready", "buyer_note": "旧"}]}
    )
    for i, body in enumerate((ready, closed)):
        webhook_receive(
            channel_code=erp.code, headers=generic_headers(body, delivery=f"e{i}"), body=body, now=NOW
        )

    result = webhook_receive(
        channel_code=erp.code, headers=generic_headers(older_ready, delivery="e9"), body=older_ready, now=NOW
    )

    assert [(e["code"], e["field"]) for e in result.errors] == [("STATE_REGRESSION", "status")]
    order = Order.objects.get()
    assert (order.status, order.platform_state, order.buyer_note) == ("not_ready", "closed", "")
    assert StockLevel.objects.get().allocated == 0


@pytest.mark.parametrize("delivery", ["d\x00-1", "d\x1b[31m"])
def test_a_signed_delivery_whose_id_has_control_characters_is_refused(erp, delivery):
    body = generic_body()
    assert refusal(erp.code, generic_headers(body, delivery=delivery), body) == (
        "DELIVERY_ID_INVALID",
        "X-OrderGuard-Delivery",
        "请求头 X-OrderGuard-Delivery 只能包含可打印字符",
    )
    assert state() == NOTHING
