"""H1.1 end to end: an import that finds a stock-out tells the merchant's contact for the topic,
through its endpoint, in its language, with the SKU, the orders held up, on hand against safety
stock and the restock ETA."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import taobao_export
from orderguard.intake.tests.test_flow import NOW, day_of_orders, shop  # noqa: F401
from orderguard.inventory.models import StockLevel
from orderguard.notifications.models import MerchantContact, NotificationChannel, OutboxMessage
from orderguard.notifications.services import outbox_dispatch
from orderguard.notifications.tests.channels import TEST_KIND

pytestmark = pytest.mark.django_db


def test_a_stockout_reaches_the_merchants_contact_for_the_topic_in_its_language(shop, recording):  # noqa: F811
    robot = NotificationChannel.objects.create(
        kind=TEST_KIND, name="钉钉群", merchant=shop.merchant, config={"url": "http://127.0.0.1:9/robot"}
    )
    contact = MerchantContact.objects.create(
        merchant=shop.merchant, topic="stockout_notice", channel=robot, language="en"
    )

    StockLevel.objects.filter(sku__code="PAN-20").update(
        safety_stock=5, inbound_eta=datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    )

    orders_import(files=taobao_export(day_of_orders()), channel=shop, now=NOW)
    result = outbox_dispatch(now=NOW)

    notice = OutboxMessage.objects.get(topic="stockout_notice")
    assert (notice.endpoint_id, notice.language) == (robot.pk, "en")
    assert notice.idempotency_key.endswith(f":c{contact.pk}")
    assert result.sent >= 1
    [sent] = [m for m in recording.sent if m.key == notice.idempotency_key]
    assert sent.subject == "Stock-out: 1 SKU(s), 1 order(s)"
    assert sent.text == (
        "PAN-20: 1 order(s) short, available 2, on hand 2, safety stock 5, restock 2026-12-01\n  orders: 1007"
    )
