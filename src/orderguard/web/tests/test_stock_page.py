"""The stock page (T1, D1): one move by form, a file of moves all or none, the ledger shown."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from orderguard.catalog.tests.factories import SkuFactory, WarehouseFactory
from orderguard.inventory.models import StockLevel, StockMovement
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    channel = ChannelFactory(code="mine")
    WarehouseFactory(code="east")
    SkuFactory(merchant=channel.merchant, code="MUG")
    return channel


@pytest.fixture
def operator_client():  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user_with_role("operator"))
    return client


def _state() -> tuple[list[tuple[str, int]], int]:
    return list(
        StockLevel.objects.order_by("pk").values_list("warehouse__code", "on_hand")
    ), StockMovement.objects.count()


def _texts(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def test_a_receipt_by_form_is_in_the_ledger_with_who_and_why(shop, operator_client):
    response = operator_client.post(
        "/stock/move",
        {
            "merchant": shop.merchant_id,
            "type": "receipt",
            "warehouse": shop.warehouse.code,
            "sku": "MUG",
            "quantity": "4",
            "reason": "PO-7",
        },
        follow=True,
    )

    assert _texts(response) == ["库存已更新；0 个等待中的订单已分配到库存"]
    assert list(StockMovement.objects.values_list("type", "quantity", "reason", "actor_label")) == [
        (
            "receipt",
            4,
            "PO-7",
            response.context["user"].get_username() and f"user:{response.context['user'].get_username()}",
        )
    ]
    page = operator_client.get("/stock/").content.decode()
    assert "PO-7" in page


def test_a_fractional_quantity_by_form_is_refused_and_nothing_changes(shop, operator_client):
    response = operator_client.post(
        "/stock/move",
        {
            "merchant": shop.merchant_id,
            "type": "receipt",
            "warehouse": shop.warehouse.code,
            "sku": "MUG",
            "quantity": "1.5",
        },
        follow=True,
    )

    assert _texts(response) == ["quantity: 数量必须是整数"]
    assert _state() == ([], 0)


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("moves.csv", text.encode("utf-8"), content_type="text/csv")


def test_a_file_with_bad_rows_is_refused_whole_naming_row_and_field(shop, operator_client):
    wh = shop.warehouse.code
    body = (
        "类型,仓库,SKU编码,数量,调入仓库,原因\n"
        f"入库,{wh},MUG,10,,PO-1\n"
        f"入库,{wh},MUG,-1,,\n"
        f"入库,nowhere,MUG,1,,\n"
        f"调拨,{wh},MUG,50,east,\n"
        f"入库,{wh},GHOST,2.5,,\n"
    )

    response = operator_client.post(
        "/stock/upload", {"merchant": shop.merchant_id, "upload": _csv(body)}, follow=True
    )

    assert _texts(response) == [
        "文件未导入，没有任何库存变化：4 处错误",
        "moves.csv 第 3 行：数量无效：入库和调拨须大于 0，盘点不能为负，调整不能为 0 [quantity]",
        "moves.csv 第 4 行：仓库“nowhere”不存在 [warehouse]",
        "moves.csv 第 6 行：数量必须是整数 [quantity]",
        "moves.csv 第 6 行：该商家没有 SKU“GHOST” [sku]",
    ]
    assert _state() == ([], 0)


def test_a_transfer_beyond_the_free_stock_in_a_file_is_refused_whole(shop, operator_client):
    wh = shop.warehouse.code
    body = f"type,warehouse,sku,quantity,to_warehouse\nreceipt,{wh},MUG,10,\ntransfer,{wh},MUG,11,east\n"

    response = operator_client.post(
        "/stock/upload", {"merchant": shop.merchant_id, "upload": _csv(body)}, follow=True
    )

    assert _texts(response)[1:] == ["moves.csv 第 3 行：可用库存不足：只有 10 [quantity]"]
    assert _state() == ([], 0)


def test_a_good_xlsx_file_is_applied_whole(shop, operator_client):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["类型", "仓库", "SKU编码", "数量", "调入仓库", "原因"])
    sheet.append(["入库", shop.warehouse.code, "MUG", 10, None, "PO-2"])
    sheet.append(["调拨", shop.warehouse.code, "MUG", 3, "east", "rebalance"])
    sheet.append(["盘点", "east", "MUG", 2, None, "count"])
    buffer = io.BytesIO()
    book.save(buffer)
    upload = SimpleUploadedFile("moves.xlsx", buffer.getvalue())

    response = operator_client.post(
        "/stock/upload", {"merchant": shop.merchant_id, "upload": upload}, follow=True
    )

    assert _texts(response) == ["已导入 4 条库存变动；0 个等待中的订单已分配到库存"]
    assert _state() == ([(shop.warehouse.code, 7), ("east", 2)], 4)
