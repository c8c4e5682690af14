"""The OrderGuard generic layout (CSV, XLSX, JSON) and the adapter registry."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from orderguard.intake.adapters import ADAPTERS, detect_format, get_adapter
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.adapters.generic import GenericAdapter
from orderguard.intake.errors import FileRejected, RowError
from orderguard.intake.tabular import SHANGHAI
from orderguard.orders.schema import AddressIn, LineIn, OrderIn, PlatformState

DATA = Path(__file__).parent / "data"
HEADER = "order_id,status,created_at,recipient_name,recipient_phone,address,sku,quantity,attributes,line_id"


def read(name: str, text: str | bytes) -> list[OrderIn | RowError]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return list(GenericAdapter().read([SourceFile(name=name, data=data)]))


def csv_of(*rows: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def errors_of(items: list[OrderIn | RowError]) -> list[tuple[str, int, str, str]]:
    return [(e.file, e.row, e.field, e.code) for e in items if isinstance(e, RowError)]


def orders_of(items: list[OrderIn | RowError]) -> list[OrderIn]:
    return [o for o in items if isinstance(o, OrderIn)]


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# --- the sample file ---------------------------------------------------------------------------


def test_sample_csv_reads_to_exact_orders():
    sample = SourceFile(name="generic_orders.csv", data=(DATA / "generic_orders.csv").read_bytes())

    assert detect_format([sample]) == "generic"
    items = list(get_adapter("generic").read([sample]))

    assert items == [
        OrderIn(
            platform_order_id="G-1001",
            platform_status="ready",
            state=PlatformState.READY,
            created_at=sh(2024, 5, 1, 10, 0),
            paid_at=sh(2024, 5, 1, 10, 5),
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
                country="CN",
            ),
            buyer_note="请尽快发货",
            requested_courier="顺丰",
            service_level="express",
            lines=[
                LineIn(
                    sku_code="TSHIRT-RED-XL",
                    quantity=2,
                    title="纯棉T恤",
                    attributes={"颜色": "红", "尺码": "XL"},
                    platform_line_id="1",
                    source_file="generic_orders.csv",
                    source_row=2,
                ),
                LineIn(
                    sku_code="TSHIRT-BLUE-M",
                    quantity=1,
                    title="纯棉T恤",
                    attributes={"颜色": "蓝", "尺码": "M"},
                    platform_line_id="2",
                    source_file="generic_orders.csv",
                    source_row=4,
                ),
            ],
            source_file="generic_orders.csv",
            source_row=2,
        ),
        OrderIn(
            platform_order_id="G-1002",
            platform_status="unpaid",
            state=PlatformState.UNPAID,
            created_at=sh(2024, 5, 2, 9, 30),
            recipient_name="李四",
            recipient_phone="13900000002",
            address=AddressIn(raw="浙江省杭州市临平区某某路8号"),
            lines=[
                LineIn(
                    sku_code="MUG-01",
                    quantity=1,
                    title="马克杯",
                    source_file="generic_orders.csv",
                    source_row=3,
                )
            ],
            source_file="generic_orders.csv",
            source_row=3,
        ),
    ]
    assert items[0].created_at.tzinfo is SHANGHAI  # type: ignore[union-attr]


def test_xlsx_with_chinese_headers_and_typed_cells_reads_like_csv():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "订单号",
            "状态",
            "下单时间",
            "收货人",
            "手机",
            "省",
            "市",
            "区",
            "详细地址",
            "商品编码",
            "数量",
            "规格",
        ]
    )
    sheet.append(["X1", "待发货", datetime(2024, 5, 1, 10, 0), "张三", 13900000001, "广东省", "广州市", "越秀区", "某路1号", "SKU-1", 2.0, "颜色:红"])  # fmt: skip
    sheet.append([None] * 12)
    sheet.append(["X1", None, None, None, None, None, None, None, None, "SKU-2", 1, None])
    out = io.BytesIO()
    workbook.save(out)

    items = read("订单.xlsx", out.getvalue())

    assert items == [
        OrderIn(
            platform_order_id="X1",
            platform_status="待发货",
            created_at=sh(2024, 5, 1, 10, 0),
            recipient_name="张三",
            recipient_phone="13900000001",
            address=AddressIn(
                raw="广东省 广州市 越秀区 某路1号",
                province="广东省",
                city="广州市",
                district="越秀区",
                detail="某路1号",
            ),
            lines=[
                LineIn(
                    sku_code="SKU-1",
                    quantity=2,
                    attributes={"颜色": "红"},
                    source_file="订单.xlsx",
                    source_row=2,
                ),
                LineIn(sku_code="SKU-2", quantity=1, source_file="订单.xlsx", source_row=4),
            ],
            source_file="订单.xlsx",
            source_row=2,
        )
    ]


def test_excel_text_tricks_are_removed_from_cells():
    items = read("t.csv", csv_of("=\"007\",,,张三,'13900000001,某路1号,'00123,1,,"))

    order = orders_of(items)[0]
    assert (order.platform_order_id, order.recipient_phone, order.lines[0].sku_code) == (
        "007",
        "13900000001",
        "00123",
    )


def test_offset_times_are_converted_to_shanghai():
    items = read("t.csv", csv_of("A1,,2024-05-01T02:00:00Z,,,,S1,1,,"))

    created = orders_of(items)[0].created_at
    assert (created, created.tzinfo) == (sh(2024, 5, 1, 10, 0), SHANGHAI)  # type: ignore[union-attr]


# --- grouping -----------------------------------------------------------------------------------


def test_rows_of_one_order_group_in_first_seen_order_even_when_apart():
    items = read("g.csv", csv_of("B,,,,,,S1,1,,", "A,,,,,,S2,1,,", "B,,,,,,S3,3,,"))

    assert [(o.platform_order_id, [(ln.sku_code, ln.source_row) for ln in o.lines]) for o in items] == [  # type: ignore[union-attr]
        ("B", [("S1", 2), ("S3", 4)]),
        ("A", [("S2", 3)]),
    ]


def test_later_rows_may_leave_order_fields_empty_or_fill_them():
    items = read("g.csv", csv_of("A,,,张三,,,S1,1,,", "A,,,,13900000001,,S2,1,,"))

    order = orders_of(items)[0]
    assert (order.recipient_name, order.recipient_phone, len(order.lines)) == ("张三", "13900000001", 2)


def test_conflicting_order_fields_reject_the_whole_order():
    items = read(
        "c.csv",
        csv_of("A,ready,,张三,,,S1,1,,", "B,,,,,,S9,1,,", "A,unpaid,,李四,,,S2,1,,"),
    )

    assert errors_of(items) == [
        ("c.csv", 4, "status", "ORDER_FIELD_CONFLICT"),
        ("c.csv", 4, "recipient_name", "ORDER_FIELD_CONFLICT"),
    ]
    first = items[0]
    assert isinstance(first, RowError)
    assert first.message == "c.csv 第 4 行：订单 A 的 status 与第 2 行不一致，整个订单未导入"
    assert first.value == "unpaid"
    assert items[1].value == ""  # type: ignore[union-attr]  # personal data stays out of error records
    assert [o.platform_order_id for o in orders_of(items)] == ["B"]


def test_duplicate_row_is_reported_and_the_order_imported_once():
    items = read("d.csv", csv_of("A,,,,,,S1,2,颜色:红,", "A,,,,,,S2,1,,", "A,,,,,,S1,2,颜色:红,"))

    duplicate = items[0]
    assert isinstance(duplicate, RowError)
    assert (duplicate.row, duplicate.code, duplicate.message) == (
        4,
        "DUPLICATE_ROW",
        "d.csv 第 4 行与第 2 行重复，已跳过",
    )
    orders = orders_of(items)
    assert len(orders) == 1
    assert [(ln.sku_code, ln.quantity) for ln in orders[0].lines] == [("S1", 2), ("S2", 1)]


def test_same_sku_twice_with_line_ids_is_two_lines():
    items = read("d.csv", csv_of("A,,,,,,S1,1,,1", "A,,,,,,S1,1,,2"))

    assert [ln.platform_line_id for ln in orders_of(items)[0].lines] == ["1", "2"]


# --- bad values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", ["abc", "0", "-1", "2.5", "100001", ""])
def test_bad_quantity_rejects_the_order_naming_row_and_field(quantity):
    items = read("q.csv", csv_of("A,,,,,,S1,1,,", "B,,,,,,S1,1,,", f"A,,,,,,S2,{quantity},,"))

    assert errors_of(items) == [("q.csv", 4, "quantity", "QUANTITY_INVALID")]
    assert items[0].message == (  # type: ignore[union-attr]
        f"q.csv 第 4 行：quantity 应为 1 到 100000 之间的整数，实际是“{quantity}”，订单 A 未导入"
    )
    assert [o.platform_order_id for o in orders_of(items)] == ["B"]


def test_quantity_written_as_decimal_whole_number_is_accepted():
    assert orders_of(read("q.csv", csv_of("A,,,,,,S1,2.0,,")))[0].lines[0].quantity == 2


@pytest.mark.parametrize(("field", "row"), [("created_at", "A,,2024-02-30 10:00:00,,,,S1,1,,")])
def test_malformed_time_names_the_field(field, row):
    items = read("t.csv", csv_of(row))

    assert errors_of(items) == [("t.csv", 2, field, "DATETIME_INVALID")]
    assert items[0].value == "2024-02-30 10:00:00"  # type: ignore[union-attr]
    assert orders_of(items) == []


def test_malformed_time_on_a_later_row_names_that_row():
    header = "order_id,paid_at,sku,quantity"
    items = read("t.csv", csv_of("A,,S1,1", "A,soon,S2,1", header=header))

    assert errors_of(items) == [("t.csv", 3, "paid_at", "DATETIME_INVALID")]


def test_unknown_status_and_service_level_are_rejected():
    header = "order_id,status,service_level,sku,quantity"
    items = read(
        "s.csv", csv_of("A,shipping soon,,S1,1", "B,,overnight,S1,1", "C,已发货,加急,S1,1", header=header)
    )

    assert errors_of(items) == [
        ("s.csv", 2, "status", "STATUS_UNKNOWN"),
        ("s.csv", 3, "service_level", "VALUE_INVALID"),
    ]
    order = orders_of(items)[0]
    assert (order.platform_order_id, order.state, order.service_level) == (
        "C",
        PlatformState.SHIPPED,
        "express",
    )


def test_row_without_order_id_or_sku_is_reported():
    items = read("m.csv", csv_of(",,,,,,S1,1,,", "A,,,,,,,1,,", "A,,,,,,S2,1,,"))

    assert errors_of(items) == [
        ("m.csv", 2, "order_id", "FIELD_MISSING"),
        ("m.csv", 3, "sku", "FIELD_MISSING"),
    ]
    assert items[1].message == "m.csv 第 3 行：缺少必填字段 sku，订单 A 未导入"  # type: ignore[union-attr]
    assert orders_of(items) == []


def test_truncated_last_row_rejects_its_order():
    data = csv_of("A,,,,,,S1,1,,", "B,,,,,,S1,1,,") + 'A,,,,,,S2,1,"颜色:红'

    items = read("cut.csv", data)

    assert errors_of(items) == [("cut.csv", 4, "", "ROW_TRUNCATED")]
    assert [o.platform_order_id for o in orders_of(items)] == ["B"]


def test_missing_required_header_rejects_the_file():
    with pytest.raises(FileRejected) as info:
        read("h.csv", "order_id,sku\nA,S1\n")

    assert (info.value.error.code, info.value.error.file) == ("HEADER_MISSING", "h.csv")
    assert info.value.error.message == "文件 h.csv 缺少必需的列：quantity（数量）"


def test_two_columns_for_one_field_reject_the_file():
    with pytest.raises(FileRejected) as info:
        read("h.csv", "order_id,sku,quantity,数量\nA,S1,1,1\n")

    assert info.value.error.code == "HEADER_DUPLICATE"


def test_headers_only_gives_no_orders_and_empty_file_is_rejected():
    assert read("h.csv", HEADER + "\r\n") == []
    with pytest.raises(FileRejected) as info:
        read("e.csv", b"")
    assert info.value.error.code == "FILE_EMPTY"


# --- JSON ---------------------------------------------------------------------------------------


def test_json_orders_with_object_and_text_attributes():
    document = {
        "orders": [
            {
                "order_id": 1001,
                "status": "ready",
                "paid_at": "2024-05-01 10:00:00",
                "recipient_name": "张三",
                "province": "广东省",
                "city": "广州市",
                "address": "某路1号",
                "lines": [
                    {"sku": "S1", "quantity": 2, "attributes": {"颜色": "红", "尺码": 42}},
                    {"sku": "S2", "quantity": "1", "attributes": "颜色：蓝", "line_id": 7},
                ],
            }
        ]
    }

    items = read("o.json", json.dumps(document, ensure_ascii=False))

    assert items == [
        OrderIn(
            platform_order_id="1001",
            platform_status="ready",
            paid_at=sh(2024, 5, 1, 10, 0),
            recipient_name="张三",
            address=AddressIn(
                raw="广东省 广州市 某路1号", province="广东省", city="广州市", detail="某路1号"
            ),
            lines=[
                LineIn(
                    sku_code="S1",
                    quantity=2,
                    attributes={"颜色": "红", "尺码": "42"},
                    source_file="o.json",
                    source_row=1,
                ),
                LineIn(
                    sku_code="S2",
                    quantity=1,
                    attributes={"颜色": "蓝"},
                    platform_line_id="7",
                    source_file="o.json",
                    source_row=1,
                ),
            ],
            source_file="o.json",
            source_row=1,
        )
    ]


def test_json_bare_list_duplicate_order_and_bad_lines():
    document = [
        {"order_id": "A", "lines": [{"sku": "S1", "quantity": 1}]},
        {"order_id": "A", "lines": [{"sku": "S9", "quantity": 1}]},
        {"order_id": "B", "lines": []},
        {"order_id": "C", "lines": [{"sku": "S1", "quantity": 0}, {"sku": "", "quantity": 1}]},
        {"order_id": "D", "recipient_name": {"first": "x"}, "lines": [{"sku": "S1", "quantity": 1}]},
        "not an order",
    ]

    items = read("l.json", json.dumps(document))

    assert errors_of(items) == [
        ("l.json", 2, "order_id", "DUPLICATE_ORDER"),
        ("l.json", 3, "lines", "NO_LINES"),
        ("l.json", 4, "lines[0].quantity", "QUANTITY_INVALID"),
        ("l.json", 4, "lines[1].sku", "FIELD_MISSING"),
        ("l.json", 5, "recipient_name", "VALUE_INVALID"),
        ("l.json", 6, "", "ORDER_NOT_OBJECT"),
    ]
    assert items[1].message == "l.json 第 2 个订单：订单号 A 与第 1 个订单重复，已跳过"  # type: ignore[union-attr]
    assert [(o.platform_order_id, o.lines[0].sku_code) for o in orders_of(items)] == [("A", "S1")]


def test_json_syntax_error_rejects_the_file_with_line_and_column():
    with pytest.raises(FileRejected) as info:
        read("bad.json", '{"orders": [\n{"order_id": "A" "lines": []}]}')

    assert info.value.error.code == "FILE_JSON_INVALID"
    assert (
        info.value.error.message == "文件 bad.json 不是有效的 JSON：第 2 行第 18 列，Expecting ',' delimiter"
    )


def test_json_of_the_wrong_shape_is_rejected():
    with pytest.raises(FileRejected) as info:
        read("x.json", '{"lines": [], "order_id": "A"}')

    assert info.value.error.code == "FILE_JSON_SHAPE"


# --- registry -----------------------------------------------------------------------------------


def test_registry_has_the_four_formats():
    assert sorted(ADAPTERS) == ["douyin", "generic", "shopify", "taobao"]
    assert [ADAPTERS[name].format for name in sorted(ADAPTERS)] == ["douyin", "generic", "shopify", "taobao"]


def test_detect_format_recognises_each_sample():
    def files(*names: str) -> list[SourceFile]:
        return [SourceFile(name=n, data=(DATA / n).read_bytes()) for n in names]

    assert (
        detect_format(files("ExportOrderDetailList201705081000.csv", "ExportOrderList201705081000.csv"))
        == "taobao"
    )
    assert detect_format(files("shopify_order_fixture_excerpt.json")) == "shopify"
    assert detect_format(files("douyin_order_detail.json")) == "douyin"
    assert detect_format(files("generic_orders.csv")) == "generic"


def test_unknown_files_are_format_unknown():
    with pytest.raises(FileRejected) as info:
        detect_format([SourceFile(name="x.csv", data=b"foo,bar\n1,2\n")])

    assert (info.value.error.code, info.value.error.file) == ("FORMAT_UNKNOWN", "x.csv")
    with pytest.raises(FileRejected):
        detect_format([])
    with pytest.raises(FileRejected) as info:
        get_adapter("jd")
    assert info.value.error.code == "FORMAT_UNKNOWN"


def test_detection_lets_an_unreadable_file_say_why():
    with pytest.raises(FileRejected) as info:
        detect_format([SourceFile(name="x.xls", data=bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 64)])

    assert info.value.error.code == "FILE_XLS_UNSUPPORTED"


def test_virtual_number_expiry_column_is_read_in_shanghai_time():
    header = "订单号,收货人电话,虚拟号到期时间,商品编码,数量"
    items = read("v.csv", csv_of("A,13800138000-1234,2026-12-01 20:00:00,S1,1", header=header))

    [order] = orders_of(items)
    assert (order.recipient_phone, order.phone_expires_at) == (
        "13800138000-1234",
        datetime(2026, 12, 1, 20, 0, tzinfo=SHANGHAI),
    )


def test_virtual_number_expiry_in_json_and_a_bad_one_rejects_the_order():
    document = {
        "orders": [
            {
                "order_id": "A",
                "recipient_phone": "13800138000-1234",
                "phone_expires_at": "2026-12-01T12:00:00Z",
                "lines": [{"sku": "S1", "quantity": 1}],
            },
            {"order_id": "B", "phone_expires_at": "next week", "lines": [{"sku": "S1", "quantity": 1}]},
        ]
    }
    items = read("v.json", json.dumps(document))

    assert [(o.platform_order_id, o.phone_expires_at) for o in orders_of(items)] == [
        ("A", datetime(2026, 12, 1, 20, 0, tzinfo=SHANGHAI))
    ]
    assert errors_of(items) == [("v.json", 2, "phone_expires_at", "DATETIME_INVALID")]
