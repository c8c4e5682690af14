"""The whole order flow (intake → checks → allocation → triage → outbox) on real files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.models import ImportRowError
from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.inventory.models import StockLevel, StockMovement
from orderguard.inventory.services import StockIn, stock_levels_set
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.models import Order, OrderEvent, OrderLine

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def shop(channel):  # type: ignore[no-untyped-def]
    """A Taobao shop: red T-shirts in S and M, a 20 cm pan with only 2 on hand."""
    merchant = channel.merchant
    skus_upsert(
        merchant_id=merchant.pk,
        skus=[
            SkuIn(
                code="TS-RED-S", style_code="TS", name="T恤 红 S", attributes={"颜色": "红色", "尺码": "S"}
            ),
            SkuIn(
                code="TS-RED-M", style_code="TS", name="T恤 红 M", attributes={"颜色": "红色", "尺码": "M"}
            ),
            SkuIn(code="PAN-20", name="煎锅 20cm", attributes={"规格": "20cm"}),
        ],
    )
    ids = dict(merchant.skus.values_list("code", "pk"))
    stock_levels_set(
        merchant_id=merchant.pk,
        lines=[
            StockIn(warehouse_id=channel.warehouse_id, sku_id=ids["TS-RED-S"], on_hand=50),
            StockIn(warehouse_id=channel.warehouse_id, sku_id=ids["TS-RED-M"], on_hand=50),
            StockIn(warehouse_id=channel.warehouse_id, sku_id=ids["PAN-20"], on_hand=2),
        ],
        now=NOW,
        actor_label="test",
    )
    return channel


def day_of_orders() -> list[TbOrder]:
    shirt = [TbItem("TS-RED-M", 1, "颜色分类:红色;尺码:M")]
    return [
        TbOrder("1001", shirt),
        TbOrder("1002", shirt, address="浙江省 杭州市 西湖区 西溪湿地附近(000000)"),
        TbOrder("1003", shirt, phone="1380013800"),
        TbOrder("1004", shirt, phone="138****0000"),
        TbOrder("1005", [TbItem("NOPE-1")]),
        TbOrder("1006", [TbItem("TS", 1, "颜色分类:红色;尺码:XL")]),
        TbOrder("1007", [TbItem("PAN-20", 3, "规格:20cm")]),
        TbOrder("1008", shirt, note="请发顺丰，谢谢"),
        TbOrder("1009", shirt, status="等待买家付款", paid=""),
        TbOrder("1010", shirt, phone="13800138000-1234"),
        TbOrder("1011", shirt, name=""),
    ]


def outcome() -> dict[str, tuple[str, list[str], list[str]]]:
    """order id → (status, open case types, finding codes)"""
    cases: dict[int, list[str]] = {}
    for order_id, case_type in ExceptionCase.objects.filter(status="open").values_list("order_id", "type"):
        cases.setdefault(order_id, []).append(case_type)
    return {
        o.platform_order_id: (o.status, sorted(cases.get(o.pk, [])), [f["code"] for f in o.findings])
        for o in Order.objects.order_by("platform_order_id")
    }


def test_a_day_of_taobao_orders_runs_through_the_whole_flow(shop):
    batch = orders_import(files=taobao_export(day_of_orders()), channel=shop, now=NOW)

    assert (batch.status, batch.format, batch.created, batch.updated, batch.unchanged, batch.rows_failed) == (
        "done",
        "taobao",
        11,
        0,
        0,
        0,
    )
    assert outcome() == {
        "1001": ("ready", [], []),
        "1002": ("on_hold", ["T2"], ["ADDRESS_NO_ROAD_OR_NUMBER"]),
        "1003": ("on_hold", ["T2"], ["PHONE_BAD_LENGTH"]),
        "1004": ("ready", [], ["PHONE_MASKED"]),
        "1005": ("on_hold", ["T3"], ["SKU_UNKNOWN"]),
        "1006": ("on_hold", ["T3"], ["SKU_VARIANT_NOT_STOCKED"]),
        "1007": ("on_hold", ["T1"], ["STOCK_SHORT"]),
        "1008": ("on_hold", ["T5"], ["SPECIAL_COURIER_REQUESTED"]),
        "1009": ("not_ready", [], []),
        "1010": ("ready", [], ["PHONE_VIRTUAL"]),
        "1011": ("ready", [], ["NAME_MISSING"]),
    }
    assert batch.cases_opened == 6
    # stock: every order that could ship holds its shirt; the unpaid one and the short pan do not
    shirts = StockLevel.objects.get(sku__code="TS-RED-M")
    pan = StockLevel.objects.get(sku__code="PAN-20")
    assert (shirts.allocated, pan.allocated) == (7, 0)
    assert set(
        OrderLine.objects.filter(allocated_quantity__gt=0).values_list("order__platform_order_id", flat=True)
    ) == {"1001", "1002", "1003", "1004", "1008", "1010", "1011"}
    # the merchant is told of its stock-out, once, with the SKU and the number of orders (H1.1)
    notice = OutboxMessage.objects.get(topic="stockout_notice")
    assert notice.recipient == shop.merchant.contact_email
    assert notice.subject == "缺货通知：1 个SKU，1 个订单"
    assert notice.body.startswith("PAN-20：1 个订单缺货，可用 2")
    t1 = ExceptionCase.objects.get(type="T1")
    assert list(CaseEvent.objects.filter(case=t1).values_list("type", flat=True)) == [
        "opened",
        "notified",
        "step_started",
    ]
    assert list(OrderEvent.objects.filter(order__platform_order_id="1002").values_list("type", "data")) == [
        ("imported", {"batch": batch.pk, "status": "on_hold", "codes": ["ADDRESS_NO_ROAD_OR_NUMBER"]})
    ]


def test_importing_the_same_taobao_export_twice_changes_nothing(shop):
    files = taobao_export(day_of_orders())
    orders_import(files=files, channel=shop, now=NOW)
    before = (
        list(Order.objects.order_by("pk").values_list("pk", "status", "fingerprint")),
        list(ExceptionCase.objects.order_by("pk").values_list("pk", "type", "status")),
        CaseEvent.objects.count(),
        OrderEvent.objects.count(),
        StockMovement.objects.count(),
        OutboxMessage.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("on_hand", "allocated")),
    )

    again = orders_import(files=files, channel=shop, now=NOW + timedelta(minutes=30))

    assert (again.created, again.updated, again.unchanged, again.cases_opened) == (0, 0, 11, 0)
    after = (
        list(Order.objects.order_by("pk").values_list("pk", "status", "fingerprint")),
        list(ExceptionCase.objects.order_by("pk").values_list("pk", "type", "status")),
        CaseEvent.objects.count(),
        OrderEvent.objects.count(),
        StockMovement.objects.count(),
        OutboxMessage.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("on_hand", "allocated")),
    )
    assert after == before


def test_an_order_corrected_on_the_platform_is_updated_rechecked_and_logged(shop):
    orders = day_of_orders()
    orders_import(files=taobao_export(orders), channel=shop, now=NOW)
    orders[1].address = "浙江省 杭州市 西湖区 文一西路588号(310012)"

    batch = orders_import(files=taobao_export(orders), channel=shop, now=NOW + timedelta(minutes=20))

    assert (batch.created, batch.updated, batch.unchanged) == (0, 1, 10)
    order = Order.objects.get(platform_order_id="1002")
    assert (order.status, order.findings, order.address_detail) == ("ready", [], "文一西路588号")
    case = ExceptionCase.objects.get(order=order)
    assert (case.status, case.outcome, case.resolution) == ("resolved", "succeeded", "recheck_passed")
    assert list(OrderEvent.objects.filter(order=order).values_list("type", "data")) == [
        ("imported", {"batch": batch.pk - 1, "status": "on_hold", "codes": ["ADDRESS_NO_ROAD_OR_NUMBER"]}),
        ("updated", {"batch": batch.pk, "changed": ["address_received"], "status": "ready", "codes": []}),
    ]
    # its stock was released and taken again: still one shirt held for it
    assert OrderLine.objects.get(order=order).allocated_quantity == 1
    assert StockLevel.objects.get(sku__code="TS-RED-M").allocated == 7


def test_an_order_that_goes_into_refund_gives_back_its_stock_and_cancels_its_cases(shop):
    orders = day_of_orders()
    orders_import(files=taobao_export(orders), channel=shop, now=NOW)
    orders[2].status = "退款中"

    orders_import(files=taobao_export(orders), channel=shop, now=NOW + timedelta(minutes=20))

    order = Order.objects.get(platform_order_id="1003")
    assert (order.status, order.platform_state) == ("not_ready", "refunding")
    assert OrderLine.objects.get(order=order).allocated_quantity == 0
    assert StockLevel.objects.get(sku__code="TS-RED-M").allocated == 6
    assert list(ExceptionCase.objects.filter(order=order).values_list("status", "outcome", "resolution")) == [
        ("cancelled", "cancelled", "order_not_ready")
    ]


def test_stock_goes_to_the_earliest_payment_across_the_file(shop):
    orders = [
        TbOrder("2001", [TbItem("PAN-20", 2)], paid="2026-11-25 11:00:00"),
        TbOrder("2002", [TbItem("PAN-20", 2)], paid="2026-11-25 08:00:00"),
    ]
    orders_import(files=taobao_export(orders), channel=shop, now=NOW)
    assert outcome() == {
        "2001": ("on_hold", ["T1"], ["STOCK_SHORT"]),
        "2002": ("ready", [], []),
    }


GENERIC_HEADER = (
    "order_id,paid_at,recipient_name,recipient_phone,province,city,district,address,sku,quantity\n"
)


def test_bad_rows_are_named_and_the_good_rows_still_import(shop):
    rows = (
        GENERIC_HEADER
        + "3001,2026-11-25 09:00:00,李四,13900139000,浙江省,杭州市,西湖区,文三路1号,TS-RED-S,1\n"
        + "3002,2026-11-25 09:00:00,王五,13900139001,浙江省,杭州市,西湖区,文三路2号,TS-RED-S,abc\n"
        + ",2026-11-25 09:00:00,赵六,13900139002,浙江省,杭州市,西湖区,文三路3号,TS-RED-S,1\n"
        + "3004,2026-11-25 9点,钱七,13900139003,浙江省,杭州市,西湖区,文三路4号,TS-RED-S,1\n"
        + "3001,2026-11-25 09:00:00,李四,13900139000,浙江省,杭州市,西湖区,文三路1号,TS-RED-S,1\n"
    )
    batch = orders_import(files=[SourceFile("orders.csv", rows.encode())], channel=shop, now=NOW)

    assert (batch.status, batch.created, batch.rows_failed) == ("done", 1, 4)
    assert list(ImportRowError.objects.filter(batch=batch).values_list("file", "row", "field", "code")) == [
        ("orders.csv", 3, "quantity", "QUANTITY_INVALID"),
        ("orders.csv", 4, "order_id", "FIELD_MISSING"),
        ("orders.csv", 5, "paid_at", "DATETIME_INVALID"),
        ("orders.csv", 6, "", "DUPLICATE_ROW"),
    ]
    assert ImportRowError.objects.get(batch=batch, row=3).message == (
        "orders.csv 第 3 行：quantity 应为 1 到 100000 之间的整数，实际是“abc”，订单 3002 未导入"
    )
    assert list(Order.objects.values_list("platform_order_id", flat=True)) == ["3001"]
    assert OrderLine.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "data", "code", "message"),
    [
        ("empty.csv", b"", "FILE_EMPTY", "文件 empty.csv 是空的"),
        (
            "orders.xlsx",
            b"this is not a spreadsheet at all",
            "FILE_NOT_SPREADSHEET",
            "文件 orders.xlsx 不是可读取的电子表格（.xlsx）或 CSV 文件",
        ),
        (
            "orders.csv",
            "订单号;金额\n1;2\n".encode("utf-32"),
            "FORMAT_UNKNOWN",
            "无法识别文件 orders.csv 的格式：支持淘宝/天猫订单报表加宝贝报表、抖店订单 JSON、Shopify 订单 JSON 和 OrderGuard 通用格式",
        ),
        (
            "orders.csv",
            b"order_id,sku,quantity\n\x80\xff\x80\xff,1,1\n",
            "FILE_ENCODING",
            "文件 orders.csv 的编码无法识别：请保存为 UTF-8 或 GBK 编码的 CSV",
        ),
    ],
)
def test_a_file_that_cannot_be_read_fails_the_batch_with_one_error_and_writes_nothing(
    shop, name, data, code, message
):
    batch = orders_import(files=[SourceFile(name, data)], channel=shop, now=NOW)

    assert (batch.status, batch.rows_failed) == ("failed", 1)
    error = ImportRowError.objects.get(batch=batch)
    assert (error.file, error.row, error.code, error.message) == (name, 0, code, message)
    assert (Order.objects.count(), ExceptionCase.objects.count(), OutboxMessage.objects.count()) == (0, 0, 0)


def test_the_same_order_in_two_files_of_one_import_is_imported_once_and_reported(shop):
    first = (
        GENERIC_HEADER
        + "4001,2026-11-25 09:00:00,李四,13900139000,浙江省,杭州市,西湖区,文三路1号,TS-RED-S,1\n"
    )
    second = (
        GENERIC_HEADER
        + "4001,2026-11-25 09:00:00,李四,13900139000,浙江省,杭州市,西湖区,文三路9号,TS-RED-S,2\n"
    )

    batch = orders_import(
        files=[SourceFile("a.csv", first.encode()), SourceFile("b.csv", second.encode())],
        channel=shop,
        now=NOW,
    )

    assert (batch.created, batch.updated, batch.rows_failed) == (1, 0, 1)
    error = ImportRowError.objects.get(batch=batch)
    assert (error.file, error.row, error.field, error.code) == ("b.csv", 2, "order_id", "DUPLICATE_ORDER")
    assert error.message == "b.csv 第 2 行：订单 4001 已在 a.csv 第 2 行出现，以先出现的为准"
    assert list(OrderLine.objects.values_list("quantity", "allocated_quantity")) == [(1, 1)]
    assert StockLevel.objects.get(sku__code="TS-RED-S").allocated == 1


def test_stock_goes_by_payment_time_across_chunks_whatever_the_file_order(shop, settings):
    settings.IMPORT_CHUNK_SIZE = 1
    newest_first = [
        TbOrder("5003", [TbItem("PAN-20", 1)], paid="2026-11-25 12:00:00"),
        TbOrder("5002", [TbItem("PAN-20", 1)], paid="2026-11-25 10:00:00"),
        TbOrder("5001", [TbItem("PAN-20", 1)], paid="2026-11-25 08:00:00"),
    ]

    orders_import(files=taobao_export(newest_first), channel=shop, now=NOW)

    assert {k: v[0] for k, v in outcome().items()} == {"5001": "ready", "5002": "ready", "5003": "on_hold"}


def test_an_order_shipped_on_the_platform_takes_its_stock_out_of_the_warehouse(shop):
    orders = [TbOrder("6001", [TbItem("TS-RED-M", 3)])]
    orders_import(files=taobao_export(orders), channel=shop, now=NOW)
    orders[0].status = "卖家已发货,等待买家确认"

    orders_import(files=taobao_export(orders), channel=shop, now=NOW + timedelta(hours=2))

    level = StockLevel.objects.get(sku__code="TS-RED-M")
    assert (level.on_hand, level.allocated) == (47, 0)
    assert list(
        StockMovement.objects.filter(order__platform_order_id="6001")
        .order_by("pk")
        .values_list("type", "quantity")
    ) == [("allocation", 3), ("dispatch", -3)]
    assert Order.objects.get(platform_order_id="6001").status == "shipped"


def test_a_release_gives_back_what_was_taken_even_after_the_bundle_changed(shop):
    merchant_id = shop.merchant_id
    skus_upsert(
        merchant_id=merchant_id, skus=[SkuIn(code="SET", components=[("TS-RED-S", 1), ("PAN-20", 1)])]
    )
    orders = [TbOrder("7001", [TbItem("SET", 1)])]
    orders_import(files=taobao_export(orders), channel=shop, now=NOW)
    assert dict(StockLevel.objects.values_list("sku__code", "allocated")) == {
        "TS-RED-S": 1,
        "TS-RED-M": 0,
        "PAN-20": 1,
    }
    skus_upsert(merchant_id=merchant_id, skus=[SkuIn(code="SET", components=[("TS-RED-M", 2)])])
    orders[0].note = "改一下备注"

    orders_import(files=taobao_export(orders), channel=shop, now=NOW + timedelta(hours=1))

    # the old components came back, the new ones are taken
    assert dict(StockLevel.objects.values_list("sku__code", "allocated")) == {
        "TS-RED-S": 0,
        "TS-RED-M": 2,
        "PAN-20": 0,
    }


def test_a_release_takes_stock_back_in_the_warehouse_it_was_allocated_in(shop):
    from orderguard.catalog.tests.factories import WarehouseFactory

    orders = [TbOrder("8001", [TbItem("TS-RED-M", 2)])]
    orders_import(files=taobao_export(orders), channel=shop, now=NOW)
    old_warehouse = shop.warehouse
    shop.warehouse = WarehouseFactory()
    shop.save()
    orders[0].status = "退款中"

    orders_import(files=taobao_export(orders), channel=shop, now=NOW + timedelta(hours=1))

    assert StockLevel.objects.get(sku__code="TS-RED-M", warehouse=old_warehouse).allocated == 0


def test_nul_characters_are_dropped_and_over_long_order_ids_are_refused(shop):
    def order(order_id, name):  # type: ignore[no-untyped-def]
        return {
            "order_id": order_id,
            "paid_at": "2026-11-25 09:00:00",
            "recipient_name": name,
            "recipient_phone": "13900139000",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "address": "文三路1号",
            "lines": [{"sku": "TS-RED-S", "quantity": 1}],
        }

    doc = {"orders": [order("9001", "李\u0000四"), order("9" * 65, "王五")]}
    data = json.dumps(doc, ensure_ascii=False).encode()
    assert b"\\u0000" in data  # JSON carries the NUL as an escape

    batch = orders_import(files=[SourceFile("orders.json", data)], channel=shop, now=NOW)

    assert list(ImportRowError.objects.filter(batch=batch).values_list("file", "row", "field", "code")) == [
        ("orders.json", 2, "order_id", "FIELD_TOO_LONG")
    ]
    assert list(Order.objects.values_list("platform_order_id", "recipient_name")) == [("9001", "李四")]


class ListAdapter:
    """An adapter that yields prepared orders, or raises: a seam to reach database refusals
    that no real file can cause any more."""

    format = "list"

    def __init__(self, items):  # type: ignore[no-untyped-def]
        self.items = items

    def detect(self, files):  # type: ignore[no-untyped-def]
        return False

    def read(self, files):  # type: ignore[no-untyped-def]
        for item in self.items:
            if isinstance(item, Exception):
                raise item
            yield item


def _order_in(order_id, qty=1):  # type: ignore[no-untyped-def]
    from orderguard.orders.schema import AddressIn, LineIn, OrderIn

    return OrderIn(
        platform_order_id=order_id,
        paid_at=NOW,
        recipient_name="李四",
        recipient_phone="13900139000",
        address=AddressIn(province="浙江省", city="杭州市", district="西湖区", detail="文三路1号"),
        lines=[LineIn(sku_code="TS-RED-S", quantity=qty)],
        source_file="list",
        source_row=int(order_id[-1]) + 1,
    )


def test_an_order_the_database_refuses_is_reported_alone_and_the_others_import(shop, monkeypatch):
    from orderguard.intake import adapters

    items = [_order_in("A1"), _order_in("A2", qty=0), _order_in("A3")]  # quantity 0 breaks a constraint
    monkeypatch.setitem(adapters.ADAPTERS, "list", ListAdapter(items))

    batch = orders_import(files=[SourceFile("x", b"")], channel=shop, format="list", now=NOW)

    assert (batch.status, batch.created) == ("done", 2)
    assert list(ImportRowError.objects.filter(batch=batch).values_list("file", "row", "code", "value")) == [
        ("list", 3, "ORDER_REFUSED", "A2")
    ]
    assert sorted(Order.objects.values_list("platform_order_id", flat=True)) == ["A1", "A3"]
    assert StockLevel.objects.get(sku__code="TS-RED-S").allocated == 2


def test_a_batch_that_breaks_off_is_marked_failed_and_says_so(shop, monkeypatch):
    from orderguard.intake import adapters
    from orderguard.intake.models import ImportBatch

    monkeypatch.setitem(adapters.ADAPTERS, "list", ListAdapter([_order_in("B1"), RuntimeError("disk gone")]))

    with pytest.raises(RuntimeError):
        orders_import(files=[SourceFile("x", b"")], channel=shop, format="list", now=NOW)

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.created) == ("failed", 0)
    assert list(ImportRowError.objects.filter(batch=batch).values_list("code", flat=True)) == [
        "IMPORT_INTERRUPTED"
    ]
    assert Order.objects.count() == 0


def test_an_order_the_platform_flags_is_held_with_a_case(shop):
    shirt = [TbItem("TS-RED-M", 1)]
    orders = [
        TbOrder("10001", shirt, extra={"异常信息": "买家申请修改收货地址"}),
        TbOrder("10002", shirt, extra={"宝贝总数量": "3"}),
        TbOrder("10003", [TbItem("TS-RED-M", 1)], status="买家已付款,等待卖家发货"),
    ]

    orders_import(files=taobao_export(orders), channel=shop, now=NOW)

    assert outcome() == {
        "10001": ("on_hold", ["T5"], ["PLATFORM_ANOMALY"]),
        "10002": ("on_hold", ["T3"], ["ITEMS_INCOMPLETE"]),
        "10003": ("ready", [], []),
    }
