"""Taobao / Tmall seller-centre export: order report + item report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from orderguard.intake.adapters import detect_format
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.adapters.taobao import (
    ITEM_REPORT_COLUMNS,
    ORDER_REPORT_COLUMNS,
    TaobaoAdapter,
    split_address,
    taobao_state,
)
from orderguard.intake.errors import FileRejected, RowError
from orderguard.intake.tabular import SHANGHAI
from orderguard.orders.schema import AddressIn, LineIn, OrderIn, PlatformState

DATA = Path(__file__).parent / "data"
ORDER_FILE = "ExportOrderList201705081000.csv"
ITEM_FILE = "ExportOrderDetailList201705081000.csv"
READY = "买家已付款,等待卖家发货"


def sample(name: str) -> SourceFile:
    return SourceFile(name=name, data=(DATA / name).read_bytes())


def cell(value: str) -> str:
    if value.startswith('="'):
        return value
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


def report(columns: tuple[str, ...], rows: list[dict[str, str]], *, encoding: str = "gbk") -> bytes:
    lines = [",".join(f'"{c}"' for c in columns)]
    lines += [",".join(cell(row.get(c.strip(), "")) for c in columns) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def order_row(order_id: str, **fields: str) -> dict[str, str]:
    row = {
        "订单编号": f'="{order_id}"',
        "订单状态": READY,
        "收货人姓名": "张三",
        "收货地址": "广东省 广州市 越秀区 某某路1号(510000)",
        "联系手机": "'13900000001",
        "订单创建时间": "2024-05-01 10:00:00",
        "订单付款时间": "2024-05-01 10:01:00",
        "宝贝总数量": "1",
    }
    row.update(fields)
    return row


def item_row(order_id: str, **fields: str) -> dict[str, str]:
    row = {
        "订单编号": f'="{order_id}"',
        "标题": "马克杯",
        "购买数量": "1",
        "商品属性": "",
        "订单状态": READY,
        "商家编码": "MUG-01",
    }
    row.update(fields)
    return row


def read(orders: list[dict[str, str]], items: list[dict[str, str]]) -> list[OrderIn | RowError]:
    files = [
        SourceFile(name="orders.csv", data=report(ORDER_REPORT_COLUMNS, orders)),
        SourceFile(name="items.csv", data=report(ITEM_REPORT_COLUMNS, items)),
    ]
    return list(TaobaoAdapter().read(files))


def errors_of(items: list[OrderIn | RowError]) -> list[tuple[str, int, str, str]]:
    return [(e.file, e.row, e.field, e.code) for e in items if isinstance(e, RowError)]


def orders_of(items: list[OrderIn | RowError]) -> list[OrderIn]:
    return [o for o in items if isinstance(o, OrderIn)]


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_sample_export_pair_reads_to_exact_orders():
    files = [sample(ITEM_FILE), sample(ORDER_FILE)]  # given in either order

    assert detect_format(files) == "taobao"
    items = list(TaobaoAdapter().read(files))

    assert items == [
        OrderIn(
            platform_order_id="3100000000000000001",
            platform_status=READY,
            state=PlatformState.READY,
            created_at=sh(2024, 5, 1, 10, 0),
            paid_at=sh(2024, 5, 1, 10, 1, 30),
            recipient_name="张三",
            recipient_phone="13900000001",
            address=AddressIn(
                raw="广东省 广州市 越秀区 北京街道 某某路1号101室",
                province="广东省",
                city="广州市",
                district="越秀区",
                town="北京街道",
                detail="某某路1号101室",
                postcode="510000",
            ),
            buyer_note="请尽快发货，谢谢",
            seller_note="老客户",
            lines=[
                LineIn(
                    sku_code="PAN-20-GLASS",
                    quantity=2,
                    title="不粘锅20厘米",
                    attributes={"颜色分类": "20厘米锅-玻璃盖", "尺码": "20cm"},
                    source_file=ITEM_FILE,
                    source_row=2,
                ),
                LineIn(
                    sku_code="POT-18",
                    quantity=1,
                    title="汤锅",
                    attributes={"颜色分类": "红色"},
                    source_file=ITEM_FILE,
                    source_row=3,
                ),
            ],
            source_file=ORDER_FILE,
            source_row=2,
            extra={"shipping_method": "快递", "shop_id": "100001", "shop_name": "示例旗舰店"},
        ),
        OrderIn(
            platform_order_id="3100000000000000002",
            platform_status="等待买家付款",
            state=PlatformState.UNPAID,
            created_at=sh(2024, 5, 2, 9, 30),
            recipient_name="李*",
            recipient_phone="138****0000",
            address=AddressIn(
                raw="浙江省 杭州市 临平区 某某路8号",
                province="浙江省",
                city="杭州市",
                district="临平区",
                detail="某某路8号",
                postcode="311100",
            ),
            requested_courier="EMS",
            lines=[
                LineIn(sku_code="MUG-01", quantity=1, title="马克杯", source_file=ITEM_FILE, source_row=4)
            ],
            source_file=ORDER_FILE,
            source_row=3,
            extra={
                "address_modified": True,
                "shipping_method": "EMS",
                "shop_id": "100001",
                "shop_name": "示例旗舰店",
            },
        ),
        OrderIn(
            platform_order_id="3100000000000000003",
            platform_status="卖家已发货,等待买家确认",
            state=PlatformState.SHIPPED,
            created_at=sh(2024, 4, 28, 20, 15),
            paid_at=sh(2024, 4, 28, 20, 16),
            recipient_name="王五",
            recipient_phone="13900000003",
            address=AddressIn(
                raw="北京 北京市 朝阳区 某某大街3号院",
                province="北京",
                city="北京市",
                district="朝阳区",
                detail="某某大街3号院",
                postcode="100020",
            ),
            lines=[
                LineIn(sku_code="MUG-01", quantity=1, title="马克杯", source_file=ITEM_FILE, source_row=5)
            ],
            source_file=ORDER_FILE,
            source_row=4,
            extra={
                "shipping_method": "快递",
                "logistics_company": "中通快递",
                "tracking_no": "ZT0000000000001",
                "shop_id": "100001",
                "shop_name": "示例旗舰店",
            },
        ),
    ]
    assert items[0].paid_at.tzinfo is SHANGHAI  # type: ignore[union-attr]


def test_sample_headers_keep_their_trailing_spaces_in_the_file():
    first_line = sample(ORDER_FILE).data.split(b"\r\n", 1)[0].decode("gbk")

    assert '"收货地址 "' in first_line and '"订单付款时间 "' in first_line
    assert len(first_line.split(",")) == 46


def test_utf8_export_with_newer_eleven_column_item_report_is_read():
    files = [
        SourceFile(name="o.csv", data=report(ORDER_REPORT_COLUMNS, [order_row("9")], encoding="utf-8-sig")),
        SourceFile(
            name="i.csv", data=report((*ITEM_REPORT_COLUMNS, "创建时间"), [item_row("9")], encoding="utf-8")
        ),
    ]

    orders = orders_of(list(TaobaoAdapter().read(files)))

    assert [(o.platform_order_id, o.lines[0].sku_code) for o in orders] == [("9", "MUG-01")]


def test_order_report_alone_asks_for_the_item_report():
    with pytest.raises(FileRejected) as info:
        list(TaobaoAdapter().read([sample(ORDER_FILE)]))

    assert (info.value.error.code, info.value.error.file) == ("ITEM_FILE_MISSING", ORDER_FILE)
    assert info.value.error.message == (
        f"只上传了订单报表 {ORDER_FILE}：请同时上传同一批导出的宝贝报表（ExportOrderDetailList），否则无法知道订单里的商品"
    )


def test_item_report_alone_asks_for_the_order_report():
    with pytest.raises(FileRejected) as info:
        list(TaobaoAdapter().read([sample(ITEM_FILE)]))

    assert info.value.error.code == "ORDER_FILE_MISSING"


def test_item_row_without_order_row_is_order_not_found():
    items = read([order_row("1")], [item_row("1"), item_row("2", 商家编码="X")])

    assert errors_of(items) == [("items.csv", 3, "订单编号", "ORDER_NOT_FOUND")]
    assert items[-1].message == "items.csv 第 3 行：订单报表中没有订单 2，该商品行未导入"  # type: ignore[union-attr]
    assert [o.platform_order_id for o in orders_of(items)] == ["1"]


def test_order_without_item_rows_is_no_lines():
    items = read([order_row("1"), order_row("2")], [item_row("1")])

    assert errors_of(items) == [("orders.csv", 3, "订单编号", "NO_LINES")]
    assert items[1].message == "orders.csv 第 3 行：宝贝报表中没有订单 2 的商品，订单未导入"  # type: ignore[union-attr]


def test_bad_item_quantity_rejects_the_whole_order_naming_the_item_row():
    items = read(
        [order_row("1", 宝贝总数量="2"), order_row("2")],
        [item_row("1"), item_row("1", 购买数量="两件", 商家编码="CUP-2"), item_row("2")],
    )

    assert errors_of(items) == [("items.csv", 3, "购买数量", "QUANTITY_INVALID")]
    assert (
        items[0].message
        == "items.csv 第 3 行：购买数量 应为 1 到 100000 之间的整数，实际是“两件”，订单 1 未导入"
    )  # type: ignore[union-attr]
    assert [o.platform_order_id for o in orders_of(items)] == ["2"]


def test_blank_merchant_code_falls_back_to_external_code_then_empty():
    items = read(
        [order_row("1", 宝贝总数量="2")],
        [item_row("1", 商家编码="", 外部系统编号="EXT-1"), item_row("1", 商家编码="", 标题="锅")],
    )

    assert [ln.sku_code for ln in orders_of(items)[0].lines] == ["EXT-1", ""]


def test_refunded_line_is_left_out_and_refund_in_progress_holds_the_order():
    items = read(
        [order_row("1", 宝贝总数量="3")],
        [
            item_row("1", 商家编码="A"),
            item_row("1", 商家编码="B", 订单状态="交易关闭"),
            item_row("1", 商家编码="C", 订单状态="退款中"),
        ],
    )

    order = orders_of(items)[0]
    assert [ln.sku_code for ln in order.lines] == ["A", "C"]
    assert order.state == PlatformState.REFUNDING
    assert order.extra["closed_lines"] == [{"sku_code": "B", "quantity": 1, "source_row": 3}]


def test_item_count_mismatch_is_flagged():
    order = orders_of(read([order_row("1", 宝贝总数量="3")], [item_row("1")]))[0]

    assert order.extra["item_count_mismatch"] == {"expected": 3, "found": 1}


def test_landline_is_used_when_there_is_no_mobile():
    order = orders_of(read([order_row("1", 联系手机="", 联系电话="'020-12345678")], [item_row("1")]))[0]

    assert order.recipient_phone == "020-12345678"


def test_unknown_status_and_bad_time_are_row_errors_on_the_order_file():
    items = read(
        [order_row("1", 订单状态="卖家部分发货"), order_row("2", 订单付款时间="2024-05-01 25:00:00")],
        [item_row("1"), item_row("2")],
    )

    assert errors_of(items) == [
        ("orders.csv", 2, "订单状态", "STATUS_UNKNOWN"),
        ("orders.csv", 3, "订单付款时间", "DATETIME_INVALID"),
    ]
    assert orders_of(items) == []


def test_repeated_order_row_is_duplicate_and_changed_one_is_duplicate_order():
    items = read(
        [order_row("1"), order_row("1"), order_row("1", 收货人姓名="李四")], [item_row("1"), item_row("1")]
    )

    assert errors_of(items) == [
        ("items.csv", 3, "", "DUPLICATE_ROW"),
        ("orders.csv", 3, "", "DUPLICATE_ROW"),
        ("orders.csv", 4, "订单编号", "DUPLICATE_ORDER"),
    ]
    assert items[0].message == "items.csv 第 3 行与第 2 行重复，已跳过"  # type: ignore[union-attr]
    order = orders_of(items)[0]
    assert (order.recipient_name, len(order.lines)) == ("张三", 1)


def test_truncated_order_report_rejects_the_cut_order_only():
    orders = report(ORDER_REPORT_COLUMNS, [order_row("1"), order_row("2")])
    cut = orders[: orders.rindex(b"\xb9\xe3\xb6\xab")]  # cut inside the last row (in 广东省)
    files = [
        SourceFile(name="orders.csv", data=cut),
        SourceFile(name="items.csv", data=report(ITEM_REPORT_COLUMNS, [item_row("1"), item_row("2")])),
    ]

    items = list(TaobaoAdapter().read(files))

    assert errors_of(items) == [("orders.csv", 3, "", "ROW_TRUNCATED")]
    assert [o.platform_order_id for o in orders_of(items)] == ["1"]


def test_export_in_an_unknown_encoding_is_rejected():
    data = report(ORDER_REPORT_COLUMNS, [order_row("1")]) + b"\xff\xff\r\n"

    with pytest.raises(FileRejected) as info:
        list(TaobaoAdapter().read([SourceFile(name="o.csv", data=data), sample(ITEM_FILE)]))

    assert (info.value.error.code, info.value.error.file) == ("FILE_ENCODING", "o.csv")


def test_generic_file_with_chinese_headers_is_not_taken_for_taobao():
    generic = SourceFile(
        name="g.csv", data="订单编号,收货地址,商家编码,购买数量\r\n1,某地,S1,1\r\n".encode("gbk")
    )

    assert TaobaoAdapter().detect([generic]) is False
    assert detect_format([generic]) == "generic"


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("买家已付款,等待卖家发货", PlatformState.READY),
        ("买家已付款，等待卖家发货", PlatformState.READY),
        ("WAIT_SELLER_SEND_GOODS", PlatformState.READY),
        ("等待买家付款", PlatformState.UNPAID),
        ("交易关闭", PlatformState.CLOSED),
        ("交易关闭(买家取消)", PlatformState.CLOSED),
        ("付款以后用户退款成功，交易自动关闭", PlatformState.CLOSED),
        ("退款中", PlatformState.REFUNDING),
        ("买家已申请退款,等待卖家同意", PlatformState.REFUNDING),
        ("卖家已发货,等待买家确认", PlatformState.SHIPPED),
        ("交易成功", PlatformState.SHIPPED),
        ("卖家部分发货", None),
    ],
)
def test_status_mapping(status, state):
    assert taobao_state(status) == state


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "广东省 广州市 越秀区 某某路1号(510000)",
            AddressIn(raw="广东省 广州市 越秀区 某某路1号", province="广东省", city="广州市", district="越秀区",
                      detail="某某路1号", postcode="510000"),
        ),
        (
            "浙江省 杭州市 其它区 某某路2号 3幢(000000)",
            AddressIn(raw="浙江省 杭州市 其它区 某某路2号 3幢", province="浙江省", city="杭州市", district="其它区",
                      detail="某某路2号 3幢"),
        ),
        (
            "浙江省\u3000杭州市\u3000余杭区 仓前街道 文一西路1号（311121）",
            AddressIn(raw="浙江省 杭州市 余杭区 仓前街道 文一西路1号", province="浙江省", city="杭州市",
                      district="余杭区", town="仓前街道", detail="文一西路1号", postcode="311121"),
        ),
        ("北京 北京市 朝阳区", AddressIn(raw="北京 北京市 朝阳区", province="北京", city="北京市", district="朝阳区")),
        ("上海市浦东新区某路1号", AddressIn(raw="上海市浦东新区某路1号")),
        # no province first: the positions say nothing, the text is parsed as written
        ("杭州市 西湖区 文三路90号(310000)", AddressIn(raw="杭州市 西湖区 文三路90号", postcode="310000")),
        ("广东省 深圳市 南山区 科技园(北区)1号", AddressIn(raw="广东省 深圳市 南山区 科技园(北区)1号", province="广东省",
                                                 city="深圳市", district="南山区", detail="科技园(北区)1号")),
    ],
)  # fmt: skip
def test_split_address(text, address):
    assert split_address(text) == address


def test_a_taobao_address_without_its_province_gets_the_province_suggested():
    from orderguard.validation.address import check_address, parse_address

    address = split_address("杭州市 西湖区 文三路90号501室(310000)")
    findings = check_address(address, parse_address(address))

    assert [(f.code, f.data.get("suggestion")) for f in findings] == [
        ("ADDRESS_LEVEL_SUGGESTED", {"province": "浙江省"})
    ]
