"""A merchant with an order whose address leaves out the province, for the tests of corrections
(service, API, case page)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.inventory.services import StockIn, stock_levels_set
from orderguard.orders.models import Channel, Order
from orderguard.validation.rules import rules_set

IMPORTED_AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NO_PROVINCE = "杭州市西湖区文三路90号东部软件园3号楼501室(310012)"


def block_suggestions(channel: Channel) -> Channel:
    """A mug in stock, and the merchant's rule making a suggested address level blocking, so an
    address without its province opens a T2 case."""
    merchant = channel.merchant
    skus_upsert(merchant_id=merchant.pk, skus=[SkuIn(code="MUG", name="马克杯")])
    mug = StockIn(warehouse_id=channel.warehouse_id, sku_id=merchant.skus.get(code="MUG").pk, on_hand=10)
    # stock_levels_set runs in its caller's transaction (a browser test has none of its own)
    with transaction.atomic():
        stock_levels_set(merchant_id=merchant.pk, lines=[mug], now=IMPORTED_AT, actor_label="test")
    rules_set(merchant_id=merchant.pk, severities={"ADDRESS_LEVEL_SUGGESTED": "blocking"}, actor_label="test")
    return channel


def import_orders(channel: Channel, *orders: TbOrder) -> None:
    orders_import(files=taobao_export(list(orders)), channel=channel, now=IMPORTED_AT)


def order_without_province(channel: Channel, platform_order_id: str) -> Order:
    """An order of one mug whose address leaves out the province (its case is open)."""
    import_orders(channel, TbOrder(platform_order_id, [TbItem("MUG", 1)], address=NO_PROVINCE))
    return Order.objects.get(channel=channel, platform_order_id=platform_order_id)
