"""A merchant selling a T-shirt in sizes S and M (XL not stocked) and an order for the XL, whose
product case (T3) is open: for the tests of H3 (lines changed, SKU disputed) on the service, the
API and the pages."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from orderguard.cases.models import ExceptionCase
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.inventory.services import StockIn, stock_levels_set
from orderguard.orders.models import Channel, Order

IMPORTED_AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Wednesday


def tee_shop(channel: Channel, *, stock: dict[str, int] | None = None) -> Channel:
    """SKUs TEE-S, TEE-M (style TEE) and MUG (inactive: no longer sold), stock as given
    (default: 5 of each size)."""
    merchant = channel.merchant
    skus_upsert(
        merchant_id=merchant.pk,
        skus=[
            SkuIn(code="TEE-S", name="白色T恤 S", style_code="TEE", attributes={"尺码": "S"}),
            SkuIn(code="TEE-M", name="白色T恤 M", style_code="TEE", attributes={"尺码": "M"}),
            SkuIn(code="MUG", name="马克杯", active=False),
        ],
    )
    levels = stock if stock is not None else {"TEE-S": 5, "TEE-M": 5}
    with transaction.atomic():
        stock_levels_set(
            merchant_id=merchant.pk,
            lines=[
                StockIn(
                    warehouse_id=channel.warehouse_id,
                    sku_id=merchant.skus.get(code=code).pk,
                    on_hand=on_hand,
                )
                for code, on_hand in levels.items()
            ],
            now=IMPORTED_AT,
            actor_label="test",
        )
    return channel


def order_for_xl(
    channel: Channel, platform_order_id: str, *, code: str = "TEE-XL"
) -> tuple[Order, ExceptionCase]:
    """An order of one T-shirt in a size the merchant does not stock; its open T3 case."""
    orders_import(
        files=taobao_export([TbOrder(platform_order_id, [TbItem(code, 1, title="白色T恤")])]),
        channel=channel,
        now=IMPORTED_AT,
    )
    order = Order.objects.get(channel=channel, platform_order_id=platform_order_id)
    return order, ExceptionCase.objects.get(order=order, type="T3")
