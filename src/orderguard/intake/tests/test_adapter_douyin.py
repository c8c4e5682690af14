"""Douyin Shop (抖店) order.orderDetail JSON."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.adapters.douyin import DouyinAdapter, douyin_state, looks_encrypted
from orderguard.intake.errors import FileRejected, RowError
from orderguard.intake.tabular import SHANGHAI
from orderguard.orders.schema import AddressIn, LineIn, OrderIn, PlatformState

SAMPLE = Path(__file__).parent / "data" / "douyin_order_detail.json"
NAME = "#Xk9vK2FiQ2RlRmdoSWprTA==#aGVsbG8gd29ybGQgZm9vYmFy#1##"
TEL = "$MTM5MDAwMDAwMDFhYmNkZWY=$Y2lwaGVydGV4dHNhbXBsZQ==$1$$"
DETAIL = "~ZGV0YWlsY2lwaGVydGV4dA==~YWRkcmVzc2NpcGhlcg==~1~~"


def detail() -> dict[str, Any]:
    return copy.deepcopy(json.loads(SAMPLE.read_bytes())["data"]["shop_order_detail"])


def read(document: Any, name: str = "douyin.json") -> list[OrderIn | RowError]:
    return list(
        DouyinAdapter().read([SourceFile(name=name, data=json.dumps(document, ensure_ascii=False).encode())])
    )


def only_order(items: list[OrderIn | RowError]) -> OrderIn:
    assert len(items) == 1 and isinstance(items[0], OrderIn), items
    return items[0]


def errors_of(items: list[OrderIn | RowError]) -> list[tuple[str, int, str, str]]:
    return [(e.file, e.row, e.field, e.code) for e in items if isinstance(e, RowError)]


def test_sample_response_reads_to_exact_order():
    sample = SourceFile(name=SAMPLE.name, data=SAMPLE.read_bytes())

    assert DouyinAdapter().detect([sample]) is True
    items = list(DouyinAdapter().read([sample]))

    def line(
        sku: str, qty: int, title: str, line_id: str, attributes: dict[str, str] | None = None
    ) -> LineIn:
        return LineIn(
            sku_code=sku,
            quantity=qty,
            title=title,
            attributes=attributes or {},
            platform_line_id=line_id,
            source_file=SAMPLE.name,
            source_row=1,
        )

    assert items == [
        OrderIn(
            platform_order_id="6900000000000000001",
            platform_status="备货中",
            state=PlatformState.READY,
            created_at=datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI),
            paid_at=datetime(2024, 5, 1, 10, 1, tzinfo=SHANGHAI),
            recipient_name=NAME,
            recipient_phone=TEL,
            address=AddressIn(
                raw=f"北京市 市辖区 海淀区 中关村街道 {DETAIL}",
                province="北京市",
                city="市辖区",
                district="海淀区",
                town="中关村街道",
                detail=DETAIL,
            ),
            buyer_note="要蓝色的，不要发错",
            seller_note="注意包装",
            lines=[
                line("SHOE-BLUE-42", 2, "运动鞋", "6900000000000000011", {"颜色": "蓝", "尺码": "42"}),
                line("CARE-BRUSH", 1, "鞋刷", "6900000000000000012#1"),
                line("CARE-SPRAY", 2, "防水喷雾", "6900000000000000012#2"),
                line("LACE-01", 1, "鞋带（赠品）", "6900000000000000013", {"颜色": "白"}),
            ],
            source_file=SAMPLE.name,
            source_row=1,
            extra={
                "bundles": [
                    {
                        "line_id": "6900000000000000012",
                        "sku_code": "CARE-KIT",
                        "quantity": 1,
                        "attributes": {},
                        "components": ["CARE-BRUSH", "CARE-SPRAY"],
                    }
                ],
                "free_lines": ["6900000000000000013"],
                "receiver_encrypted": True,
                "encrypted_fields": ["recipient_name", "recipient_phone", "address.detail"],
                "shop_id": "77977",
                "shop_name": "示例抖音小店",
                "seller_flag": "1",
                "order_type": "普通订单",
                "promised_ship_by": "2024-05-03T10:00:00+08:00",
                "tags": [{"key": "home_delivery", "text": "推荐音尊达"}],
            },
        )
    ]


def test_every_shape_is_accepted():
    body = detail()

    for document in (
        {"data": {"shop_order_detail": body}},
        body,
        [body],
        {"orders": [body]},
        [{"data": {"shop_order_detail": body}}],
        {"data": {"shop_order_list": [body]}},
    ):
        assert only_order(read(document)).platform_order_id == "6900000000000000001"


def test_plain_masked_receiver_is_kept_and_not_flagged():
    body = detail()
    body["encrypt_post_receiver"], body["encrypt_post_tel"] = "张*", "139****0001"
    body["post_addr"]["encrypt_detail"] = "丹棱街1号"

    result = only_order(read(body))

    assert (result.recipient_name, result.recipient_phone, result.address.detail) == (
        "张*",
        "139****0001",
        "丹棱街1号",
    )
    assert "receiver_encrypted" not in result.extra


@pytest.mark.parametrize(
    ("value", "encrypted"),
    [
        (NAME, True),
        (TEL, True),
        (DETAIL, True),
        (
            "#zuLyd4U4J3p+czzXkwg+ZQ673h7KTcrKOddb5iPGAAE0K3MYJmgXEXof9LDtoScAfMKvdVRqpAL4CEI3SrLwYATIzTF9Qw==",
            True,
        ),
        ("Enc.AAECAwQFBgcICQoLDA0ODw", True),
        ("13900000001", False),
        ("139****0001", False),
        ("13900000000-1234", False),
        ("北京市海淀区丹棱街1号", False),
    ],
)
def test_ciphertext_is_recognised(value, encrypted):
    assert looks_encrypted(value) is encrypted


@pytest.mark.parametrize(
    ("code", "text", "state"),
    [
        ("3", "待支付", PlatformState.UNPAID),  # the SDK sample: the text decides
        ("2", "备货中", PlatformState.READY),
        ("", "待发货", PlatformState.READY),
        ("101", "部分发货", PlatformState.READY),
        ("3", "已发货", PlatformState.SHIPPED),
        ("5", "已完成", PlatformState.SHIPPED),
        ("4", "已取消", PlatformState.CLOSED),
        ("", "退款中", PlatformState.REFUNDING),
        ("1", "", PlatformState.UNPAID),
        ("105", "", PlatformState.READY),
        ("2", "", PlatformState.READY),
        ("3", "", PlatformState.SHIPPED),
        ("4", "", PlatformState.CLOSED),
        ("99", "", None),
    ],
)
def test_status_mapping(code, text, state):
    assert douyin_state(code, text) == state


def test_refund_on_a_line_holds_the_order():
    body = detail()
    body["sku_order_list"][0]["after_sale_info"]["refund_status"] = "1"

    assert only_order(read(body)).state == PlatformState.REFUNDING


def test_cancelled_line_of_a_ready_order_is_left_out():
    body = detail()
    body["sku_order_list"][2]["order_status"], body["sku_order_list"][2]["order_status_desc"] = "4", "已取消"

    result = only_order(read(body))

    assert [ln.sku_code for ln in result.lines] == ["SHOE-BLUE-42", "CARE-BRUSH", "CARE-SPRAY"]
    assert result.extra["dropped_lines"] == [
        {"sku_code": "LACE-01", "quantity": 1, "line_id": "6900000000000000013"}
    ]


def test_bundle_component_quantity_is_multiplied_by_the_line_quantity():
    body = detail()
    body["sku_order_list"][1]["item_num"] = "3"

    result = only_order(read(body))

    assert [(ln.sku_code, ln.quantity) for ln in result.lines if ln.sku_code.startswith("CARE")] == [
        ("CARE-BRUSH", 3),
        ("CARE-SPRAY", 6),
    ]


def test_code_is_used_when_out_sku_id_is_empty():
    body = detail()
    body["sku_order_list"][0]["out_sku_id"] = ""

    assert only_order(read(body)).lines[0].sku_code == "shoe-b-42"


def test_bad_item_num_and_bad_time_reject_the_order():
    good, bad_qty, bad_time = detail(), detail(), detail()
    bad_qty["order_id"], bad_qty["sku_order_list"][0]["item_num"] = "2", "0"
    bad_time["order_id"], bad_time["create_time"] = "3", "2024-05-01"

    items = read([good, bad_qty, bad_time])

    assert errors_of(items) == [
        ("douyin.json", 2, "sku_order_list[0].item_num", "QUANTITY_INVALID"),
        ("douyin.json", 3, "create_time", "DATETIME_INVALID"),
    ]
    assert items[1].message == (  # type: ignore[union-attr]
        "douyin.json 第 2 个订单：sku_order_list[0].item_num 应为 1 到 100000 之间的整数，实际是“0”，订单 2 未导入"
    )
    assert [o.platform_order_id for o in items if isinstance(o, OrderIn)] == ["6900000000000000001"]


def test_duplicate_order_missing_id_no_lines_and_unknown_status():
    no_lines, unknown = detail(), detail()
    no_lines["order_id"], no_lines["sku_order_list"] = "2", []
    unknown["order_id"], unknown["order_status"], unknown["order_status_desc"] = "3", "77", ""

    items = read([detail(), detail(), {"order_id": ""}, no_lines, unknown])

    assert errors_of(items) == [
        ("douyin.json", 2, "order_id", "DUPLICATE_ORDER"),
        ("douyin.json", 3, "order_id", "FIELD_MISSING"),
        ("douyin.json", 4, "sku_order_list", "NO_LINES"),
        ("douyin.json", 5, "order_status", "STATUS_UNKNOWN"),
    ]


def test_pay_time_zero_means_not_paid_yet():
    body = detail()
    body["pay_time"], body["order_status"], body["order_status_desc"] = "0", "1", "待支付"

    result = only_order(read(body))

    assert (result.state, result.paid_at) == (PlatformState.UNPAID, None)


def test_logistics_info_goes_to_extra_not_requested_courier():
    body = detail()
    body["logistics_info"] = [
        {
            "company": "shunfeng",
            "company_name": "顺丰",
            "tracking_no": "SF0000000001",
            "added_services": [{"key": "VC-WBHOMEDELIVERY", "text": "音尊达"}],
        }
    ]

    result = only_order(read(body))

    assert result.requested_courier == ""
    assert result.extra["logistics"] == [
        {"company": "shunfeng", "company_name": "顺丰", "tracking_no": "SF0000000001"}
    ]
    assert result.extra["added_services"] == [{"key": "VC-WBHOMEDELIVERY", "text": "音尊达"}]


def test_json_that_is_not_doudian_is_rejected():
    with pytest.raises(FileRejected) as info:
        read([])

    assert info.value.error.code == "FILE_JSON_SHAPE"
