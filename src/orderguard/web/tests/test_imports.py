"""The imports page: upload, the job, the batch page, the error downloads, and who may do what."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY

from orderguard.cases.models import ExceptionCase
from orderguard.catalog.models import Sku
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.core import clock
from orderguard.intake.models import ImportBatch, ImportRowError
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.inventory.services import StockIn, stock_levels_set
from orderguard.orders.models import Order
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db

GENERIC_HEADER = (
    "order_id,status,created_at,recipient_name,recipient_phone,address,sku,quantity,attributes,line_id"
)
ADDRESS = "浙江省杭州市西湖区文三路90号东部软件园3号楼501室"


@pytest.fixture(autouse=True)
def immediate_huey():  # type: ignore[no-untyped-def]
    """The import job runs inline, inside the request that starts it."""
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


@pytest.fixture
def shop(channel):  # type: ignore[no-untyped-def]
    """A Taobao shop: red T-shirts in M (50 on hand), a 20 cm pan with only 2."""
    skus_upsert(
        merchant_id=channel.merchant_id,
        skus=[
            SkuIn(code="TS-RED-M", style_code="TS", attributes={"颜色": "红色", "尺码": "M"}),
            SkuIn(code="PAN-20", attributes={"规格": "20cm"}),
        ],
    )
    ids = dict(Sku.objects.filter(merchant_id=channel.merchant_id).values_list("code", "pk"))
    stock_levels_set(
        merchant_id=channel.merchant_id,
        lines=[
            StockIn(warehouse_id=channel.warehouse_id, sku_id=ids["TS-RED-M"], on_hand=50),
            StockIn(warehouse_id=channel.warehouse_id, sku_id=ids["PAN-20"], on_hand=2),
        ],
        now=clock.now(),
        actor_label="test",
    )
    return channel


def taobao_pair() -> list[tuple[str, bytes]]:
    shirt = [TbItem("TS-RED-M", 1, "颜色分类:红色;尺码:M")]
    orders = [
        TbOrder("1001", shirt),
        TbOrder("1002", shirt, address="浙江省 杭州市 西湖区 西溪湿地附近(000000)"),
        TbOrder("1005", [TbItem("NOPE-1")]),
        TbOrder("1007", [TbItem("PAN-20", 3, "规格:20cm")]),
    ]
    return [(f.name, f.data) for f in taobao_export(orders)]


def generic_with_bad_rows() -> bytes:
    rows = [
        GENERIC_HEADER,
        f"G-1,ready,2026-11-25 09:00,张三,13800138000,{ADDRESS},TS-RED-M,1,,",
        f"G-2,ready,2026-11-25 09:00,李四,13800138000,{ADDRESS},TS-RED-M,=cmd,,",
        f"G-3,ready,notadate,王五,13800138000,{ADDRESS},TS-RED-M,1,,",
    ]
    return ("\r\n".join(rows) + "\r\n").encode()


def upload(client: Client, files: list[tuple[str, bytes]], **fields: object):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {"kind": "orders", "format": "auto", **fields}
    data["uploads"] = [_named(name, content) for name, content in files]
    return client.post("/imports/", data)


def _named(name: str, content: bytes) -> io.BytesIO:
    f = io.BytesIO(content)
    f.name = name
    return f


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_staff_upload_a_taobao_pair_and_the_batch_imports_it_with_its_cases(shop, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    client = signed_in(user_with_role("operator", username="op"))

    response = upload(client, taobao_pair(), channel=shop.pk)

    batch = ImportBatch.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/imports/{batch.pk}/")
    assert (
        batch.status,
        batch.kind,
        batch.format,
        batch.channel_id,
        batch.merchant_id,
        batch.actor_label,
        batch.file_names,
    ) == (
        "done",
        "orders",
        "taobao",
        shop.pk,
        shop.merchant_id,
        "user:op",
        ["ExportOrderList202611251000.csv", "ExportOrderDetailList202611251000.csv"],
    )
    assert (batch.created, batch.updated, batch.unchanged, batch.rows_failed, batch.cases_opened) == (
        4,
        0,
        0,
        0,
        3,
    )
    assert sorted(ExceptionCase.objects.values_list("order__platform_order_id", "type")) == [
        ("1002", "T2"),
        ("1005", "T3"),
        ("1007", "T1"),
    ]
    # the stored uploads (personal data) are gone once the batch has finished
    assert list((tmp_path / "uploads").iterdir()) == []

    page = client.get(f"/imports/{batch.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert 'data-status="done"' in html
    assert '<meta http-equiv="refresh"' not in html
    assert (
        '<tbody><tr><td class="num">4</td><td class="num">0</td><td class="num">0</td>'
        '<td class="num">0</td><td class="num">3</td></tr></tbody>'
    ) in html
    assert "没有错误行。" in html


def test_a_running_batch_page_refreshes_itself(shop):
    batch = ImportBatch.objects.create(
        kind="orders", merchant=shop.merchant, channel=shop, started_at=shop.created_at
    )
    client = signed_in(user_with_role("operator"))

    html = client.get(f"/imports/{batch.pk}/").content.decode()

    assert '<meta http-equiv="refresh" content="2">' in html
    assert 'data-status="running"' in html


def test_a_merchant_user_cannot_import_into_another_merchants_channel(shop, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    other = ChannelFactory()
    client = signed_in(user_with_role("merchant", merchant=other.merchant))

    response = upload(client, taobao_pair(), channel=shop.pk)

    assert response.status_code == 404
    assert (ImportBatch.objects.count(), Order.objects.count(), ExceptionCase.objects.count()) == (0, 0, 0)
    assert not (tmp_path / "uploads").exists()


def test_a_merchant_user_imports_into_its_own_channel(shop):
    client = signed_in(user_with_role("merchant", merchant=shop.merchant))

    response = upload(client, taobao_pair(), channel=shop.pk)

    assert response.status_code == 302
    assert list(ImportBatch.objects.values_list("status", "created")) == [("done", 4)]


def test_a_merchant_user_cannot_load_another_merchants_catalog(shop):
    other = ChannelFactory()
    client = signed_in(user_with_role("merchant", merchant=other.merchant))

    response = upload(
        client, [("skus.csv", b"sku_code\r\nX-1\r\n")], kind="catalog", merchant=shop.merchant_id
    )

    assert response.status_code == 404
    assert (ImportBatch.objects.count(), Sku.objects.filter(code="X-1").count()) == (0, 0)


def test_a_merchant_user_loads_its_own_catalog_without_naming_the_merchant(shop):
    client = signed_in(user_with_role("merchant", merchant=shop.merchant))

    response = upload(client, [("skus.csv", b"sku_code\r\nX-1\r\n")], kind="catalog")

    assert response.status_code == 302
    assert list(ImportBatch.objects.values_list("kind", "status", "merchant_id", "created")) == [
        ("catalog", "done", shop.merchant_id, 1)
    ]
    assert list(Sku.objects.filter(code="X-1").values_list("merchant_id", flat=True)) == [shop.merchant_id]


def test_an_oversized_upload_is_refused_and_nothing_is_written(shop, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024 * 1024
    client = signed_in(user_with_role("operator"))
    half = generic_with_bad_rows() + b"G-9" * (512 * 1024 // 3)

    response = upload(client, [("a.csv", half), ("b.csv", half)], channel=shop.pk)

    assert response.status_code == 413
    assert '<p class="error" role="alert" id="refused">上传的文件合计超过 1 MiB，未导入任何内容</p>' in (
        response.content.decode()
    )
    assert (ImportBatch.objects.count(), Order.objects.count()) == (0, 0)


def test_an_upload_without_the_csrf_token_is_refused(shop):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("operator"))

    response = upload(client, taobao_pair(), channel=shop.pk)

    assert response.status_code == 403
    assert (ImportBatch.objects.count(), Order.objects.count()) == (0, 0)


def test_bad_rows_are_shown_and_both_downloads_hold_them_exactly(shop):
    client = signed_in(user_with_role("operator"))

    upload(client, [("=cmd", generic_with_bad_rows())], channel=shop.pk)

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.created, batch.rows_failed) == ("done", 1, 2)
    quantity = "=cmd 第 3 行：quantity 应为 1 到 100000 之间的整数，实际是“=cmd”，订单 G-2 未导入"
    created = (
        "=cmd 第 4 行：created_at 不是有效的时间（应为 YYYY-MM-DD HH:MM:SS 或 ISO 8601），"
        "实际是“notadate”，订单 G-3 未导入"
    )
    assert list(ImportRowError.objects.values_list("file", "row", "field", "code", "message")) == [
        ("=cmd", 3, "quantity", "QUANTITY_INVALID", quantity),
        ("=cmd", 4, "created_at", "DATETIME_INVALID", created),
    ]

    html = client.get(f"/imports/{batch.pk}/").content.decode()
    assert (
        f'<tr><td>=cmd</td><td class="num">3</td><td>quantity</td><td>QUANTITY_INVALID</td><td>{quantity}</td></tr>'
        in html
    )

    xlsx = client.get(f"/imports/{batch.pk}/errors.xlsx")
    assert xlsx["Content-Disposition"] == f'attachment; filename="import-{batch.pk}-errors.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["文件", "行号", "字段", "错误代码", "说明"],
        ["'=cmd", 3, "quantity", "QUANTITY_INVALID", "'" + quantity],
        ["'=cmd", 4, "created_at", "DATETIME_INVALID", "'" + created],
    ]
    assert [cell.data_type for cell in next(sheet.iter_rows(min_row=2))] == ["s", "n", "s", "s", "s"]

    csv_response = client.get(f"/imports/{batch.pk}/errors.csv")
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig")))) == [
        ["文件", "行号", "字段", "错误代码", "说明"],
        ["'=cmd", "3", "quantity", "QUANTITY_INVALID", "'" + quantity],
        ["'=cmd", "4", "created_at", "DATETIME_INVALID", "'" + created],
    ]


def test_another_merchants_batch_and_its_errors_are_not_found(shop):
    batch = ImportBatch.objects.create(
        kind="orders", merchant=shop.merchant, channel=shop, started_at=shop.created_at
    )
    other = ChannelFactory()
    client = signed_in(user_with_role("merchant", merchant=other.merchant))

    codes = [
        client.get(f"/imports/{batch.pk}/{tail}").status_code for tail in ("", "errors.xlsx", "errors.csv")
    ]

    assert codes == [404, 404, 404]


def test_the_list_shows_only_the_users_merchants_batches(shop):
    other = ChannelFactory()
    mine = ImportBatch.objects.create(
        kind="orders", merchant=shop.merchant, channel=shop, started_at=shop.created_at
    )
    ImportBatch.objects.create(
        kind="orders", merchant=other.merchant, channel=other, started_at=shop.created_at
    )
    client = signed_in(user_with_role("merchant", merchant=shop.merchant))

    html = client.get("/imports/").content.decode()

    assert html.count("<tr data-batch=") == 1
    assert f'<tr data-batch="{mine.pk}">' in html
    # its own channel only in the form, and no merchant picker
    assert f'<option value="{shop.pk}"' in html
    assert f'<option value="{other.pk}"' not in html
    assert 'name="merchant"' not in html


def test_the_list_says_when_there_are_no_imports(db):
    client = signed_in(user_with_role("operator"))

    html = client.get("/imports/").content.decode()

    assert '<p class="empty" id="no-batches">还没有导入记录。</p>' in html
