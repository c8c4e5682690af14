"""The report's tables for the downloads and the emails (analysis.export), without a database."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import translation
from openpyxl import load_workbook

from orderguard.analysis.export import export_tables, neutralise, report_csv, report_xlsx, sheet_title


def _report(merchant: dict[str, str] | None) -> dict[str, Any]:
    durations = {"mean": 3600, "median": 1800, "p90": 7200}
    return {
        "period": {"from": "2026-11-16", "to": "2026-11-22"},
        "merchant": merchant,
        "types": [
            {
                "type": "out_of_stock",
                "label": "缺货",
                "opened": 4,
                "share": 80.0,
                "previous_opened": 2,
                "change": 100.0,
                "closed": 3,
                "succeeded": 2,
                "failed": 1,
                "cancelled": 0,
                "success_rate": 66.7,
                "handling": durations,
                "working": {"mean": None, "median": None, "p90": None},
            }
        ],
        "sources": [
            {
                "source": "import",
                "label": "+导入",
                "opened": 5,
                "share": 100.0,
                "previous_opened": 0,
                "change": None,
            }
        ],
        "steps": [
            {
                "type": "out_of_stock",
                "step": "-联系商家",
                "closed": 3,
                "on_time": 2,
                "late": 1,
                "on_time_share": 66.7,
                "overdue_alerts": 1,
                "escalations": 0,
                "timed": 2,
                "handling": {"mean": 5400, "median": 3521, "p90": 8375},
                "working": {"mean": 1800, "median": 1761, "p90": None},
            }
        ],
        "breakdowns": {
            "merchant": [],
            "sku": [
                {
                    "key": "=SUM(A1)",
                    "name": "@杯子",
                    "opened": 4,
                    "closed": 3,
                    "succeeded": 2,
                    "failed": 1,
                    "cancelled": 0,
                    "success_rate": 66.7,
                    "handling_mean": 3600,
                }
            ],
            "person": [
                {
                    "key": None,
                    "name": "未分配",
                    "opened": 1,
                    "closed": 0,
                    "succeeded": 0,
                    "failed": 0,
                    "cancelled": 0,
                    "success_rate": None,
                    "handling_mean": None,
                }
            ],
        },
    }


def test_the_tables_hold_every_figure_with_formulas_neutralised():
    tables = export_tables(_report({"code": "hand-a", "name": "=甲商家"}))

    assert tables == [
        ("时段", ["开始日期", "结束日期", "商家"], [["2026-11-16", "2026-11-22", "'=甲商家"]]),
        (
            "按类型",
            [
                "类型",
                "名称",
                "新增",
                "占比%",
                "上一时段新增",
                "变化%",
                "关闭",
                "成功",
                "失败",
                "取消",
                "成功率%",
                "平均用时(秒)",
                "用时中位数(秒)",
                "用时90%分位(秒)",
                "平均工作用时(秒)",
                "工作用时中位数(秒)",
                "工作用时90%分位(秒)",
            ],
            [
                [
                    "out_of_stock",
                    "缺货",
                    4,
                    80.0,
                    2,
                    100.0,
                    3,
                    2,
                    1,
                    0,
                    66.7,
                    3600,
                    1800,
                    7200,
                    None,
                    None,
                    None,
                ]
            ],
        ),
        (
            "按发现方式",
            ["发现方式", "名称", "新增", "占比%", "上一时段新增", "变化%"],
            [["import", "'+导入", 5, 100.0, 0, None]],
        ),
        (
            "各环节时效与用时",
            [
                "类型",
                "环节",
                "完成环节",
                "按时",
                "超时",
                "按时率%",
                "超时提醒",
                "超时升级",
                "计时的环节",
                "平均用时(秒)",
                "用时中位数(秒)",
                "用时90%分位(秒)",
                "平均工作用时(秒)",
                "工作用时中位数(秒)",
                "工作用时90%分位(秒)",
            ],
            [["out_of_stock", "'-联系商家", 3, 2, 1, 66.7, 1, 0, 2, 5400, 3521, 8375, 1800, 1761, None]],
        ),
        (
            "按商品（缺货）",
            ["编码", "名称", "新增", "关闭", "成功", "失败", "取消", "成功率%", "平均用时(秒)"],
            [["'=SUM(A1)", "'@杯子", 4, 3, 2, 1, 0, 66.7, 3600]],
        ),
        (
            "按处理人",
            ["编码", "名称", "新增", "关闭", "成功", "失败", "取消", "成功率%", "平均用时(秒)"],
            [["None", "未分配", 1, 0, 0, 0, 0, None, None]],
        ),
    ]


def test_the_tables_speak_the_active_language_and_name_the_whole_warehouse():
    with translation.override("en"):
        tables = export_tables(_report(None))

    assert tables[0] == (
        "Period",
        ["Start date", "End date", "Merchant"],
        [["2026-11-16", "2026-11-22", "Whole warehouse"]],
    )
    assert all(type(h) is str for _title, header, _rows in tables for h in header)
    # the closed cases' count, not a rule's "off" level (the same Chinese word)
    assert tables[1][1][6:8] == ["Closed", "Succeeded"]


def test_the_xlsx_has_a_sheet_per_table_and_the_csv_a_section_per_table():
    report = _report({"code": "hand-a", "name": "甲商家"})
    tables = export_tables(report)

    book = load_workbook(io.BytesIO(report_xlsx(report)))
    sections = list(csv.reader(io.StringIO(report_csv(report).decode("utf-8-sig"))))

    assert book.sheetnames == [title for title, _header, _rows in tables]
    for title, header, rows in tables:
        assert [list(r) for r in book[title].iter_rows(values_only=True)] == [header, *rows]
    expected: list[list[str]] = []
    for title, header, rows in tables:
        expected += [[title], header, *[["" if v is None else str(v) for v in row] for row in rows], []]
    assert sections == expected


def test_only_a_text_a_spreadsheet_would_run_is_neutralised():
    assert [neutralise(t) for t in ("=1+1", "+86", "-3", "@x", "\tx", "\rx", "a=b", "甲")] == [
        "'=1+1",
        "'+86",
        "'-3",
        "'@x",
        "'\tx",
        "'\rx",
        "a=b",
        "甲",
    ]


def test_a_sheet_title_drops_what_excel_refuses_and_keeps_31_characters():
    assert sheet_title("Steps: deadlines [and] times / per*step?") == "Steps  deadlines  and  times   "
    assert sheet_title("各环节时效与用时") == "各环节时效与用时"
    assert len(sheet_title("x" * 40)) == 31
