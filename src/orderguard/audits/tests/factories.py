"""Orders for audits: a tidy one (every check passes) and one with a vague address."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orderguard.catalog.models import Sku
from orderguard.catalog.tests.factories import SkuFactory
from orderguard.orders.models import Channel, Order
from orderguard.orders.tests.factories import OrderFactory, OrderLineFactory

GOOD_ADDRESS = {
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "detail": "文三路90号东部软件园1号楼",
    "country": "CN",
}


def audit_order(channel: Channel, *, paid_at: datetime, vague: bool = False, **kw: Any) -> Order:
    address = dict(GOOD_ADDRESS, detail="西湖边") if vague else dict(GOOD_ADDRESS)
    order = OrderFactory(
        channel=channel,
        paid_at=paid_at,
        recipient_name="张三",
        recipient_phone="13812345678",
        phone_normalised="13812345678",
        address_received=address,
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address_detail=address["detail"],
        **kw,
    )
    sku = Sku.objects.filter(merchant=channel.merchant, code="MUG-1").first() or SkuFactory(
        merchant=channel.merchant, code="MUG-1"
    )
    OrderLineFactory(order=order, line_no=1, sku=sku, sku_code="MUG-1", quantity=1, allocated_quantity=1)
    return order
