"""Flags the platform puts on an order become findings (D2): nothing ships as if all were well."""

from __future__ import annotations

from orderguard.orders.schema import LineIn, OrderIn
from orderguard.validation.checks import explain
from orderguard.validation.platform import check_platform_flags


def _order(**extra: object) -> OrderIn:
    return OrderIn(platform_order_id="1", lines=[LineIn(sku_code="A", quantity=1)], extra=dict(extra))


def test_an_order_without_flags_has_no_platform_findings():
    assert check_platform_flags(_order(shop_name="旗舰店", shipping_method="快递")) == []


def test_each_platform_flag_is_a_blocking_finding_in_plain_words():
    findings = check_platform_flags(
        _order(
            item_count_mismatch={"expected": 3, "found": 2},
            modified_sku="颜色分类:蓝色",
            platform_anomaly="买家申请修改地址",
        )
    )

    assert [(f.code, f.type, f.severity, f.data) for f in findings] == [
        ("ITEMS_INCOMPLETE", "T3", "blocking", {"expected": 3, "found": 2}),
        ("SKU_CHANGED_ON_PLATFORM", "T3", "blocking", {"modified": "颜色分类:蓝色"}),
        ("PLATFORM_ANOMALY", "T5", "blocking", {"text": "买家申请修改地址"}),
    ]
    assert [explain(f, language="zh-hans") for f in findings] == [
        "平台订单商品总数 3 与明细 2 不符，可能缺少商品行",
        "买家在平台上修改了商品：颜色分类:蓝色",
        "平台标记了异常：买家申请修改地址",
    ]


def test_long_platform_texts_are_shortened():
    [finding] = check_platform_flags(_order(platform_anomaly="异" * 300))
    assert len(finding.data["text"]) == 100
    assert finding.data["text"].endswith("…")
