"""Catalog, stock and master-data imports: upsert by code, errors naming row and field."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from django.utils import timezone

from orderguard.catalog.models import BundleItem, Courier, Sku, Warehouse
from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.masterdata import catalog_import, masterdata_import, stock_import
from orderguard.intake.models import ImportRowError
from orderguard.inventory.models import MovementKind, StockAlert, StockLevel, StockMovement
from orderguard.orders.models import Channel
from orderguard.tenancy.models import Merchant
from orderguard.tenancy.tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db


def errors(batch):  # type: ignore[no-untyped-def]
    return list(ImportRowError.objects.filter(batch=batch).values_list("row", "field", "code"))


def test_a_catalog_file_creates_skus_with_normalised_attributes_and_bundles():
    merchant = MerchantFactory(code="yoyo")
    data = (
        "SKU编码,名称,款号,颜色,尺码,条码,组合明细\n"
        "TS-RED-M,T恤 红 M,TS,红色,M,6901234567890,\n"
        "TS-RED-L,T恤 红 L,TS,红色,L,,\n"
        "GIFT,礼盒,,,,,TS-RED-M*2;TS-RED-L\n"
    ).encode("gbk")

    batch = catalog_import(file=SourceFile("catalog.csv", data), merchant=merchant)

    assert (batch.status, batch.created, batch.updated, batch.rows_failed) == ("done", 3, 0, 0)
    shirt = Sku.objects.get(code="TS-RED-M")
    assert (shirt.style_code, shirt.colour, shirt.size, shirt.barcode) == ("TS", "红", "m", "6901234567890")
    assert shirt.attributes == {"colour": "红", "size": "m"}
    assert sorted(BundleItem.objects.values_list("bundle__code", "component__code", "quantity")) == [
        ("GIFT", "TS-RED-L", 1),
        ("GIFT", "TS-RED-M", 2),
    ]
    again = catalog_import(file=SourceFile("catalog.csv", data), merchant=merchant)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_catalog_rows_with_errors_are_named_and_skipped():
    merchant = MerchantFactory()
    data = "sku,name,active,components\n,无编码,,\nA,甲,也许,\nA,甲二,,\nB,乙,,NOPE*2\nC,丙,否,\nC,丙二,,\n".encode()

    batch = catalog_import(file=SourceFile("catalog.csv", data), merchant=merchant)

    # row 4 is the first valid row for A (row 3 was refused), so it is not a duplicate
    assert errors(batch) == [
        (2, "sku", "FIELD_MISSING"),
        (3, "active", "FIELD_INVALID"),
        (5, "components", "COMPONENT_UNKNOWN"),
        (7, "sku", "DUPLICATE_ROW"),
    ]
    assert sorted(Sku.objects.values_list("code", "name", "active")) == [
        ("A", "甲二", True),
        ("C", "丙", False),
    ]


def test_a_catalog_file_without_the_sku_column_is_rejected_whole():
    merchant = MerchantFactory()
    batch = catalog_import(file=SourceFile("catalog.csv", b"name,size\nx,M\n"), merchant=merchant)
    assert (batch.status, errors(batch)) == ("failed", [(0, "", "HEADER_MISSING")])
    assert Sku.objects.count() == 0


def test_a_stock_file_counts_stock_and_opens_alerts_below_safety_stock(channel):
    merchant = channel.merchant
    Sku.objects.create(merchant=merchant, code="A")
    Sku.objects.create(merchant=merchant, code="B")
    wh = channel.warehouse.code
    data = (
        f"warehouse,sku,on_hand,safety_stock,inbound_quantity,inbound_eta\n"
        f"{wh},A,100,10,,\n{wh},B,3,5,20,2026-12-01\n{wh},NOPE,1,,,\nNOWH,A,1,,,\n{wh},A,-1,,,\n{wh},B,x,,,\n"
    ).encode()

    batch = stock_import(file=SourceFile("stock.csv", data), merchant=merchant)

    assert errors(batch) == [
        (4, "sku", "UNKNOWN_REFERENCE"),
        (5, "warehouse", "UNKNOWN_REFERENCE"),
        (6, "on_hand", "FIELD_INVALID"),
        (7, "on_hand", "FIELD_INVALID"),
    ]
    levels = {lv.sku.code: lv for lv in StockLevel.objects.select_related("sku")}
    assert (levels["A"].on_hand, levels["A"].safety_stock) == (100, 10)
    assert (
        levels["B"].on_hand,
        levels["B"].inbound_quantity,
        timezone.localtime(levels["B"].inbound_eta).isoformat(),
    ) == (3, 20, "2026-12-01T00:00:00+08:00")
    assert sorted(StockMovement.objects.values_list("sku__code", "type", "quantity")) == [
        ("A", MovementKind.COUNT, 100),
        ("B", MovementKind.COUNT, 3),
    ]
    assert list(StockAlert.objects.values_list("stock__sku__code", "available", "safety_stock")) == [
        ("B", 3, 5)
    ]


def test_a_count_below_what_orders_hold_is_refused(channel):
    sku = Sku.objects.create(merchant=channel.merchant, code="A")
    StockLevel.objects.create(
        merchant=channel.merchant, warehouse=channel.warehouse, sku=sku, on_hand=10, allocated=6
    )
    data = f"warehouse,sku,on_hand\n{channel.warehouse.code},A,5\n".encode()

    batch = stock_import(file=SourceFile("stock.csv", data), merchant=channel.merchant)

    assert errors(batch) == [(2, "on_hand", "BELOW_ALLOCATED")]
    level = StockLevel.objects.get()
    assert (level.on_hand, level.allocated) == (10, 6)
    assert StockMovement.objects.count() == 0


MASTERDATA = {
    "warehouses": [{"code": "HZ01", "name": "杭州一号仓", "alert_email": "a@wh.example"}],
    "merchants": [
        {"code": "yoyo", "name": "悠悠服饰", "contact_email": "ops@yoyo.example"},
        {"name": "无编码"},
    ],
    "channels": [
        {
            "code": "yoyo-tmall",
            "name": "天猫店",
            "platform": "taobao",
            "merchant": "yoyo",
            "warehouse": "HZ01",
        },
        {"code": "bad", "name": "x", "platform": "ebay", "merchant": "yoyo", "warehouse": "HZ01"},
        {"code": "bad2", "name": "x", "platform": "jd", "merchant": "nobody", "warehouse": "HZ01"},
    ],
    "couriers": [{"code": "sf", "name": "顺丰速运", "aliases": ["顺丰", "SF"]}],
}


def test_master_data_from_json_in_dependency_order_with_named_errors():
    batch = masterdata_import(file=SourceFile("md.json", json.dumps(MASTERDATA, ensure_ascii=False).encode()))

    assert errors(batch) == [
        (2, "merchants.code", "FIELD_MISSING"),
        (2, "channels.platform", "FIELD_INVALID"),
        (3, "channels.merchant", "UNKNOWN_REFERENCE"),
    ]
    channel = Channel.objects.select_related("merchant", "warehouse").get()
    assert (channel.code, channel.platform, channel.merchant.code, channel.warehouse.code) == (
        "yoyo-tmall",
        "taobao",
        "yoyo",
        "HZ01",
    )
    assert Courier.objects.get().aliases == ["顺丰", "SF"]
    again = masterdata_import(file=SourceFile("md.json", json.dumps(MASTERDATA, ensure_ascii=False).encode()))
    assert (again.created, again.updated) == (0, 0)
    assert (Merchant.objects.count(), Warehouse.objects.count(), Channel.objects.count()) == (1, 1, 1)


def test_master_data_from_a_workbook_with_chinese_sheet_names():
    book = openpyxl.Workbook()
    book.active.title = "仓库"
    book.active.append(["编码", "名称"])
    book.active.append(["SH01", "上海仓"])
    merchants = book.create_sheet("商家")
    merchants.append(["code", "name", "contact_email"])
    merchants.append(["chuju", "厨具工坊", "s@chuju.example"])
    out = io.BytesIO()
    book.save(out)

    batch = masterdata_import(file=SourceFile("md.xlsx", out.getvalue()))

    assert (batch.status, batch.created, batch.rows_failed) == ("done", 2, 0)
    assert Warehouse.objects.get().name == "上海仓"
    assert Merchant.objects.get().contact_email == "s@chuju.example"


def test_master_data_that_is_not_json_is_rejected_whole():
    batch = masterdata_import(file=SourceFile("md.json", b"{not json"))
    assert (batch.status, errors(batch)) == ("failed", [(0, "", "FILE_JSON_INVALID")])


def test_master_data_rows_are_checked_like_the_admin_would():
    doc = {
        "warehouses": 5,
        "merchants": [
            {"code": "ok-1", "name": "甲", "contact_email": "a@b.example"},
            {"code": "ok-1", "name": "甲again"},
            {"code": "A B/../c", "name": "乙"},
            {"code": "m3", "name": "丙", "contact_email": "not-an-email"},
            {"code": "m" * 80, "name": "丁"},
            "just text",
        ],
    }

    batch = masterdata_import(file=SourceFile("md.json", json.dumps(doc).encode()))

    assert errors(batch) == [
        (0, "warehouses", "SECTION_NOT_LIST"),
        (2, "merchants.code", "DUPLICATE_ROW"),
        (3, "merchants.code", "FIELD_INVALID"),
        (4, "merchants.contact_email", "FIELD_INVALID"),
        (5, "merchants.code", "FIELD_INVALID"),
        (6, "merchants", "ROW_NOT_OBJECT"),
    ]
    assert list(Merchant.objects.values_list("code", "name")) == [("ok-1", "甲")]


def test_a_channel_with_orders_cannot_move_to_another_merchant(channel):
    from orderguard.orders.tests.factories import OrderFactory

    OrderFactory(channel=channel)
    other = MerchantFactory(code="other")
    doc = {
        "channels": [
            {
                "code": channel.code,
                "name": "x",
                "platform": "jd",
                "merchant": other.code,
                "warehouse": channel.warehouse.code,
            }
        ]
    }

    batch = masterdata_import(file=SourceFile("md.json", json.dumps(doc).encode()))

    assert errors(batch) == [(1, "channels.merchant", "CHANNEL_IN_USE")]
    before = (channel.merchant_id, channel.platform, channel.name)
    channel.refresh_from_db()
    assert (channel.merchant_id, channel.platform, channel.name) == before
