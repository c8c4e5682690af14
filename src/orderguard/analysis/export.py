"""The report (S3) as tables for the downloads and the scheduled emails: CSV (one section per
table) and XLSX (a sheet per table), in the active language.

Each table is a tuple of `Column`s, each naming its header and how a row's cell is read; a new
column is one more entry. Every text a spreadsheet could take for a formula (a merchant's,
a SKU's or a person's name, a label) is neutralised.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orderguard.analysis.wording import breakdown_titles

Row = Mapping[str, Any]
ExportTable = tuple[str, list[str], list[list[Any]]]  # title, header, rows

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A text a spreadsheet would take for a formula, made plain with a leading apostrophe: the
    report's names and labels, and the import error downloads' file names and messages, quote
    what merchants, platforms and uploaders wrote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an export table: its header, and the row's key (or a function of the row)
    its cells hold. `text`: the cell is written as text, neutralised."""

    header: str | Promise
    value: str | Callable[[Row], Any]
    text: bool = False

    def cell(self, row: Row) -> Any:
        value = self.value(row) if callable(self.value) else row[self.value]
        return neutralise(str(value)) if self.text else value


def _at(*path: str) -> Callable[[Row], Any]:
    """The value under `path` in a row's nested dicts: `_at("handling", "mean")`."""

    def read(row: Row) -> Any:
        value: Any = row
        for key in path:
            value = value[key]
        return value

    return read


def _scope_name(report: Row) -> str:
    return report["merchant"]["name"] if report["merchant"] else _("全仓")


# the period and scope: one row, read from the report itself
SCOPE_COLUMNS: tuple[Column, ...] = (
    Column(gettext_lazy("开始日期"), _at("period", "from")),
    Column(gettext_lazy("结束日期"), _at("period", "to")),
    Column(gettext_lazy("商家"), _scope_name, text=True),
)
# a type's or a detection source's new cases, against the period before
OPENED_COLUMNS: tuple[Column, ...] = (
    Column(gettext_lazy("名称"), "label", text=True),
    Column(gettext_lazy("新增"), "opened"),
    Column(gettext_lazy("占比%"), "share"),
    Column(gettext_lazy("上一时段新增"), "previous_opened"),
    Column(gettext_lazy("变化%"), "change"),
)
# how the closed cases of a type or a breakdown's row ended
CLOSED_COLUMNS: tuple[Column, ...] = (
    Column(gettext_lazy("关闭"), "closed"),
    Column(gettext_lazy("成功"), "succeeded"),
    Column(gettext_lazy("失败"), "failed"),
    Column(gettext_lazy("取消"), "cancelled"),
    Column(gettext_lazy("成功率%"), "success_rate"),
)
# how long it took: a type's handling time, or the time spent in a step
TIME_COLUMNS: tuple[Column, ...] = (
    Column(gettext_lazy("平均用时(秒)"), _at("handling", "mean")),
    Column(gettext_lazy("用时中位数(秒)"), _at("handling", "median")),
    Column(gettext_lazy("用时90%分位(秒)"), _at("handling", "p90")),
    Column(gettext_lazy("平均工作用时(秒)"), _at("working", "mean")),
    Column(gettext_lazy("工作用时中位数(秒)"), _at("working", "median")),
    Column(gettext_lazy("工作用时90%分位(秒)"), _at("working", "p90")),
)
TYPE_COLUMNS: tuple[Column, ...] = (
    Column(gettext_lazy("类型"), "type"),
    *OPENED_COLUMNS,
    *CLOSED_COLUMNS,
    *TIME_COLUMNS,
)
SOURCE_COLUMNS: tuple[Column, ...] = (Column(gettext_lazy("发现方式"), "source"), *OPENED_COLUMNS)
STEP_COLUMNS: tuple[Column, ...] = (
    Column(gettext_lazy("类型"), "type"),
    Column(gettext_lazy("环节"), "step", text=True),
    Column(gettext_lazy("完成环节"), "closed"),
    Column(gettext_lazy("按时"), "on_time"),
    Column(gettext_lazy("超时"), "late"),
    Column(gettext_lazy("按时率%"), "on_time_share"),
    Column(gettext_lazy("超时提醒"), "overdue_alerts"),
    Column(gettext_lazy("超时升级"), "escalations"),
    Column(gettext_lazy("计时的环节"), "timed"),
    *TIME_COLUMNS,
)
# every breakdown (merchant, platform, shop, SKU, province, person) has these columns
BREAKDOWN_COLUMNS: tuple[Column, ...] = (
    Column(gettext_lazy("编码"), "key", text=True),
    Column(gettext_lazy("名称"), "name", text=True),
    Column(gettext_lazy("新增"), "opened"),
    *CLOSED_COLUMNS,
    Column(gettext_lazy("平均用时(秒)"), "handling_mean"),
)


def _table(title: str, columns: tuple[Column, ...], rows: list[Row]) -> ExportTable:
    return title, [str(c.header) for c in columns], [[c.cell(r) for c in columns] for r in rows]


def export_tables(report: dict[str, Any]) -> list[ExportTable]:
    """The report as tables (title, header, rows) for the downloads: the period, the types, the
    detection sources, the steps' timeliness, then each breakdown that has rows."""
    tables = [
        _table(_("时段"), SCOPE_COLUMNS, [report]),
        _table(_("按类型"), TYPE_COLUMNS, report["types"]),
        _table(_("按发现方式"), SOURCE_COLUMNS, report["sources"]),
        _table(_("各环节时效与用时"), STEP_COLUMNS, report["steps"]),
    ]
    titles = breakdown_titles()
    tables += [
        _table(titles[name], BREAKDOWN_COLUMNS, rows) for name, rows in report["breakdowns"].items() if rows
    ]
    return tables


def _csv_rows(tables: list[ExportTable]) -> Iterator[list[Any]]:
    for title, header, rows in tables:
        yield [title]
        yield header
        yield from ([("" if v is None else v) for v in row] for row in rows)
        yield []


def report_csv(report: dict[str, Any]) -> bytes:
    """The report as CSV: UTF-8 with a BOM (spreadsheets then read it as UTF-8), one section
    per table (its title, its header, its rows, a blank line)."""
    out = io.StringIO()
    csv.writer(out).writerows(_csv_rows(export_tables(report)))
    return ("\ufeff" + out.getvalue()).encode()


def sheet_title(title: str) -> str:
    """A table's title as Excel takes it for a sheet: without the characters it refuses
    (``[ ] : * ? / \\``) and at most 31 characters."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31]


def report_xlsx(report: dict[str, Any]) -> bytes:
    """The report as XLSX: a sheet per table (the title cut to Excel's 31 characters), its
    header in the first row."""
    from openpyxl import Workbook  # imported here: only the downloads and the emails pay for it

    book = Workbook(write_only=True)
    for title, header, rows in export_tables(report):
        sheet = book.create_sheet(sheet_title(title))
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
