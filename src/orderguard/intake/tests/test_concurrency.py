"""Two imports of the same orders at once (two people uploading the same export, a retry
racing the first try): one order each, stock taken once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connections, transaction

from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.inventory.models import StockLevel, StockMovement
from orderguard.inventory.services import StockIn, stock_levels_set
from orderguard.orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_two_imports_of_the_same_export_at_once_store_each_order_once_and_take_stock_once(channel, settings):
    settings.IMPORT_CHUNK_SIZE = 25
    skus_upsert(merchant_id=channel.merchant_id, skus=[SkuIn(code="A")])
    sku_id = channel.merchant.skus.get().pk
    with transaction.atomic():
        stock_levels_set(
            merchant_id=channel.merchant_id,
            lines=[StockIn(warehouse_id=channel.warehouse_id, sku_id=sku_id, on_hand=1000)],
            now=NOW,
            actor_label="test",
        )
    files = taobao_export([TbOrder(str(20000 + i), [TbItem("A", 1)]) for i in range(200)])
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            orders_import(files=files, channel=channel, now=NOW)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert failures == []
    assert Order.objects.count() == 200
    assert OrderLine.objects.filter(allocated_quantity=1).count() == 200
    assert StockLevel.objects.get().allocated == 200
    assert StockMovement.objects.filter(type="allocation").count() == 200
