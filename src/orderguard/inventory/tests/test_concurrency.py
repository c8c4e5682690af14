"""Two importers and a receipt at once (T1): stock is never oversold, never allocated twice, and
the ledger agrees with the stock row afterwards. Run on PostgreSQL (row locks) and SQLite
(IMMEDIATE transactions serialise the writers)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connections, transaction

from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.inventory.models import StockLevel
from orderguard.inventory.selectors import stock_ledger_mismatches
from orderguard.inventory.services import MoveIn, StockIn, stock_levels_set, stock_moves_apply
from orderguard.orders.models import Channel, Order, OrderLine
from orderguard.orders.tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_two_importers_and_a_receipt_at_once_never_oversell(channel, settings):
    settings.IMPORT_CHUNK_SIZE = 20
    skus_upsert(merchant_id=channel.merchant_id, skus=[SkuIn(code="A")])
    sku_id = channel.merchant.skus.get().pk
    second = ChannelFactory(merchant=channel.merchant, warehouse=channel.warehouse, code="second")
    with transaction.atomic():
        stock_levels_set(
            merchant_id=channel.merchant_id,
            lines=[StockIn(warehouse_id=channel.warehouse_id, sku_id=sku_id, on_hand=60)],
            now=NOW,
            actor_label="test",
        )
    exports = {
        ch.code: taobao_export(
            [
                TbOrder(f"{ch.code}-{i}", [TbItem("A", 1 + i % 2)], paid=f"2026-11-25 09:{i % 60:02d}:00")
                for i in range(80)
            ]
        )
        for ch in (channel, second)
    }
    failures: list[BaseException] = []
    start = threading.Barrier(3)

    def run(work) -> None:  # type: ignore[no-untyped-def]
        try:
            start.wait()
            work()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    def importer(code: str):  # type: ignore[no-untyped-def]
        return lambda: orders_import(files=exports[code], channel=Channel.objects.get(code=code), now=NOW)

    def receipt() -> None:
        for _ in range(4):
            stock_moves_apply(
                merchant_id=channel.merchant_id,
                moves=[MoveIn("receipt", channel.warehouse.code, "A", 10)],
                now=NOW,
                actor_label="user:op",
            )

    threads = [
        threading.Thread(target=run, args=(w,)) for w in (importer(channel.code), importer("second"), receipt)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)

    assert failures == []
    level = StockLevel.objects.get()
    held = sum(OrderLine.objects.values_list("allocated_quantity", flat=True))
    assert (level.on_hand, level.allocated, held) == (100, held, held)
    assert level.allocated <= level.on_hand
    assert stock_ledger_mismatches() == []
    # nothing left over while an order waits: what is free is less than the smallest wait
    waits = OrderLine.objects.filter(order__status="on_hold").values_list("quantity", flat=True)
    assert level.on_hand - level.allocated < min(waits, default=10**9)
    assert Order.objects.count() == 160
