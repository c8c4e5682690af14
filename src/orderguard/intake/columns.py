"""Column specs for the catalog, stock and master-data layouts: header aliases (English and
Chinese), required columns, and value parsers that raise `ValueError` with a plain message."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from orderguard.intake.errors import FileRejected, RowError


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    parse: Callable[[str], Any] = str


def text(value: str) -> str:
    return value.strip()


def integer(value: str) -> int:
    raw = value.strip().replace(",", "")
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(_("不是整数")) from None
    if number != int(number):
        raise ValueError(_("不是整数"))
    return int(number)


def non_negative(value: str) -> int:
    number = integer(value)
    if number < 0:
        raise ValueError(_("不能为负数"))
    return number


TRUE_WORDS = {"1", "true", "yes", "y", "是", "启用", "有效", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "停用", "无效", "off"}


def boolean(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(_("应为 是/否"))


def moment(value: str) -> datetime:
    raw = value.strip().replace("/", "-")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(_("日期格式应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM:SS")) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return parsed


def resolve_headers(headers: Iterable[str], columns: Iterable[Column], *, file: str) -> dict[str, str]:
    """Map each column key to the header that holds it; a missing required column rejects the
    file, naming the column and the accepted header names."""
    present = {h.strip().lower(): h for h in headers}
    found: dict[str, str] = {}
    for col in columns:
        for name in (col.key, *col.aliases):
            if name.lower() in present:
                found[col.key] = present[name.lower()]
                break
        else:
            if col.required:
                names = " / ".join((col.key, *col.aliases))
                raise FileRejected(
                    file=file,
                    code="HEADER_MISSING",
                    message=_("文件 %(file)s 缺少必需列 %(column)s") % {"file": file, "column": names},
                )
    return found


def parse_row(
    raw: Mapping[str, str], *, columns: Iterable[Column], headers: Mapping[str, str], file: str, row: int
) -> tuple[dict[str, Any], list[RowError]]:
    """Parse one row; returns (values, errors). A blank optional cell is left out of values, so
    an update does not overwrite what the file does not say."""
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for col in columns:
        header = headers.get(col.key)
        cell = (raw.get(header) or "").strip() if header else ""
        if not cell:
            if col.required:
                errors.append(
                    RowError(
                        file=file,
                        row=row,
                        field=col.key,
                        code="FIELD_MISSING",
                        message=_("%(file)s 第 %(row)d 行：字段 %(field)s 不能为空")
                        % {"file": file, "row": row, "field": col.key},
                    )
                )
            continue
        try:
            values[col.key] = col.parse(cell)
        except ValueError as exc:
            errors.append(
                RowError(
                    file=file,
                    row=row,
                    field=col.key,
                    code="FIELD_INVALID",
                    message=_("%(file)s 第 %(row)d 行：字段 %(field)s 的值 “%(value)s” 无效：%(reason)s")
                    % {"file": file, "row": row, "field": col.key, "value": cell[:50], "reason": exc},
                    value=cell[:300],
                )
            )
    return values, errors
