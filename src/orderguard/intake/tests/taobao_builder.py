"""Builds a Taobao/Tmall seller export (order report + item report) for tests, in GBK with the
real column names, the ="..." order ids and apostrophe-prefixed phones of the real files."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.adapters.taobao import ITEM_REPORT_COLUMNS, ORDER_REPORT_COLUMNS

PAID = "买家已付款,等待卖家发货"


@dataclass
class TbItem:
    sku: str
    qty: int = 1
    attrs: str = ""
    title: str = "商品"


@dataclass
class TbOrder:
    id: str
    items: list[TbItem]
    name: str = "张三"
    phone: str = "13800138000"
    address: str = "浙江省 杭州市 西湖区 文三路90号东部软件园3号楼501室(310012)"
    status: str = PAID
    note: str = ""
    created: str = "2026-11-25 09:00:00"
    paid: str = "2026-11-25 09:05:00"
    extra: dict[str, str] = field(default_factory=dict)


def taobao_export(orders: list[TbOrder], *, encoding: str = "gbk") -> list[SourceFile]:
    order_out, item_out = io.StringIO(), io.StringIO()
    ow = csv.writer(order_out, quoting=csv.QUOTE_MINIMAL)
    iw = csv.writer(item_out, quoting=csv.QUOTE_MINIMAL)
    ow.writerow(ORDER_REPORT_COLUMNS)
    iw.writerow(ITEM_REPORT_COLUMNS)
    for o in orders:
        row = dict.fromkeys(ORDER_REPORT_COLUMNS, "")
        row.update(
            {
                "订单编号": f'="{o.id}"',
                "订单状态": o.status,
                "买家留言": o.note,
                "收货人姓名": o.name,
                "收货地址 ": o.address,
                "联系手机": f"'{o.phone}" if o.phone else "",
                "订单创建时间": o.created,
                "订单付款时间 ": o.paid,
                "宝贝总数量": str(sum(i.qty for i in o.items)),
                "运送方式": "快递",
                **o.extra,
            }
        )
        ow.writerow(row.values())
        for item in o.items:
            irow = dict.fromkeys(ITEM_REPORT_COLUMNS, "")
            irow.update(
                {
                    "订单编号": f'="{o.id}"',
                    "标题": item.title,
                    "价格": "99.00",
                    "购买数量": str(item.qty),
                    "商品属性": item.attrs,
                    "订单状态": o.status,
                    "商家编码": item.sku,
                }
            )
            iw.writerow(irow.values())
    return [
        SourceFile("ExportOrderList202611251000.csv", order_out.getvalue().encode(encoding)),
        SourceFile("ExportOrderDetailList202611251000.csv", item_out.getvalue().encode(encoding)),
    ]
