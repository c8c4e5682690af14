"""The OrderGuard generic layout: one CSV/XLSX row per order line, or one JSON object per order.

This is the layout a merchant or ERP without a platform adapter fills in; the same rules are
written for merchants in ``docs/formats/generic.md``.

Tabular files (CSV in UTF-8 or GBK, XLSX; first sheet; header row first)
--------------------------------------------------------------------------
One row per order line. Header names are matched case-insensitively, spaces and hyphens read
as ``_``; each column also accepts the Chinese names listed in `ALIASES`. Unknown columns are
ignored. Required columns: ``order_id``, ``sku``, ``quantity`` (``HEADER_MISSING`` otherwise);
two columns meaning the same field are ``HEADER_DUPLICATE``.

==================  ===================================================================
column              rule
==================  ===================================================================
order_id            required; ``="..."`` and a leading apostrophe are removed
status              ready | unpaid | refunding | closed | shipped (or 待发货, 未付款, 退款中,
                    已关闭, 已发货 ...); empty = ready; anything else ``STATUS_UNKNOWN``
created_at          ISO 8601 or "YYYY-MM-DD HH:MM:SS" ("/" and no zero padding accepted);
paid_at             without an offset it is Asia/Shanghai time; else ``DATETIME_INVALID``
recipient_name,     as written
recipient_phone
phone_expires_at    when a virtual number (13800000000-1234) stops answering: a time as for
                    paid_at; else ``DATETIME_INVALID``
country             ISO code, default CN
province, city,     the address parts when the file has them; then ``address`` is the
district, town      detail (street, number, room)
address             the detail, or with no part columns filled the full address text
postcode            as written
buyer_note,         as written
seller_note
courier             the courier the buyer asked for (becomes ``requested_courier``)
service_level       standard | express (or 标准 / 加急, 特快, 快速); empty = standard
sku                 required
quantity            required whole number 1..100000; "2.0" is 2; else ``QUANTITY_INVALID``
attributes          "颜色:红;尺码:XL" (full-width ：and ； too) -> {"颜色": "红", "尺码": "XL"}
title, line_id      as written
==================  ===================================================================

Rows with the same ``order_id`` form one order, in the order of their first row (they need
not be adjacent). Order-level columns may be left empty on an order's later rows; the first
non-empty value of each column counts, and a later row with a different non-empty value is
``ORDER_FIELD_CONFLICT`` (naming the field and the earlier row): the whole order is rejected.
A row that repeats an earlier row of the same order in all line columns (sku, quantity,
attributes, title, line_id) is ``DUPLICATE_ROW`` and skipped; the order is still imported once.
Give lines a ``line_id`` when an order really has the same SKU twice. Any rejected row
(missing sku, bad quantity, truncated row...) rejects its whole order: nothing half-imported.

JSON
----
``{"orders": [order, ...]}`` or a bare list of orders. An order object has the order-level
keys above (English names only) and ``"lines": [{"sku", "quantity", "attributes", "title",
"line_id"}]``; ``attributes`` is an object or the same text as in tabular files. Numbers are
accepted where text is expected (``"order_id": 123``). ``RowError.row`` is the 1-based position
of the order in the list; field names are JSON paths with 0-based indexes
(``lines[0].quantity``). A repeated ``order_id`` is ``DUPLICATE_ORDER`` for the later object;
a syntax error rejects the file (``FILE_JSON_INVALID``, with line and column).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any

from django.utils.translation import gettext as _

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.errors import FileRejected, RowError
from orderguard.intake.tabular import (
    BadRow,
    Table,
    cell_text,
    clean_text,
    gc_paused,
    json_order_id,
    parse_attributes,
    parse_datetime,
    parse_quantity,
    read_json,
    read_table,
    row_error,
    sniff_kind,
)
from orderguard.orders.schema import AddressIn, LineIn, OrderIn, PlatformState

ORDER_FIELDS: tuple[str, ...] = (
    "status",
    "created_at",
    "paid_at",
    "recipient_name",
    "recipient_phone",
    "phone_expires_at",
    "country",
    "province",
    "city",
    "district",
    "town",
    "address",
    "postcode",
    "buyer_note",
    "seller_note",
    "courier",
    "service_level",
)
LINE_FIELDS: tuple[str, ...] = ("sku", "quantity", "attributes", "title", "line_id")
REQUIRED_COLUMNS: tuple[str, ...] = ("order_id", "sku", "quantity")

ALIASES: dict[str, tuple[str, ...]] = {
    "order_id": ("订单号", "订单编号", "平台订单号"),
    "status": ("状态", "订单状态"),
    "created_at": ("下单时间", "创建时间", "订单创建时间"),
    "paid_at": ("付款时间", "支付时间", "订单付款时间"),
    "recipient_name": ("收货人", "收件人", "收货人姓名", "收件人姓名"),
    "recipient_phone": ("收货人电话", "收货人手机", "收件人电话", "收件人手机", "手机", "手机号", "联系电话"),
    "phone_expires_at": ("虚拟号到期时间", "虚拟号有效期", "隐私号到期时间", "virtual_phone_expires_at"),
    "country": ("国家", "国家代码"),
    "province": ("省", "省份"),
    "city": ("市", "城市"),
    "district": ("区", "区县", "县区"),
    "town": ("街道", "乡镇", "乡镇街道"),
    "address": ("地址", "详细地址", "收货地址"),
    "postcode": ("邮编", "邮政编码"),
    "buyer_note": ("买家留言", "买家备注"),
    "seller_note": ("卖家备注", "商家备注"),
    "courier": ("指定快递", "快递公司", "快递"),
    "service_level": ("时效", "配送时效", "服务类型"),
    "sku": ("商品编码", "商家编码", "sku编码", "sku_code"),
    "quantity": ("数量", "购买数量"),
    "attributes": ("规格", "商品属性", "销售属性"),
    "title": ("商品名称", "商品标题"),
    "line_id": ("行号", "子订单号", "明细编号"),
}

STATUS_WORDS: dict[str, PlatformState] = {
    "ready": PlatformState.READY,
    "paid": PlatformState.READY,
    "待发货": PlatformState.READY,
    "已付款": PlatformState.READY,
    "已支付": PlatformState.READY,
    "unpaid": PlatformState.UNPAID,
    "未付款": PlatformState.UNPAID,
    "待付款": PlatformState.UNPAID,
    "待支付": PlatformState.UNPAID,
    "refunding": PlatformState.REFUNDING,
    "退款中": PlatformState.REFUNDING,
    "closed": PlatformState.CLOSED,
    "cancelled": PlatformState.CLOSED,
    "canceled": PlatformState.CLOSED,
    "已关闭": PlatformState.CLOSED,
    "已取消": PlatformState.CLOSED,
    "交易关闭": PlatformState.CLOSED,
    "shipped": PlatformState.SHIPPED,
    "已发货": PlatformState.SHIPPED,
    "交易成功": PlatformState.SHIPPED,
}
SERVICE_LEVEL_WORDS: dict[str, str] = {
    "standard": "",
    "标准": "",
    "普通": "",
    "express": "express",
    "加急": "express",
    "特快": "express",
    "快速": "express",
}
# Quantities as usually written, looked up instead of parsed.
_SMALL_INTS: dict[str, int] = {str(n): n for n in range(1, 1001)}
# Fields that hold personal data: their values stay out of error records.
_PERSONAL = frozenset(
    {"recipient_name", "recipient_phone", "province", "city", "district", "town", "address"}
)


def _normalise_header(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")


_HEADER_TO_FIELD: dict[str, str] = {}
for _field, _aliases in ALIASES.items():
    _HEADER_TO_FIELD[_field] = _field
    for _alias in _aliases:
        _HEADER_TO_FIELD[_normalise_header(_alias)] = _field


def columns_for(headers: list[str]) -> dict[str, list[str]]:
    """Map each generic field to the headers that mean it (normally one)."""
    found: dict[str, list[str]] = {}
    for header in headers:
        name = _HEADER_TO_FIELD.get(_normalise_header(header))
        if name is not None:
            found.setdefault(name, []).append(header)
    return found


def _tuple_getter(keys: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """A C-speed getter returning the row's cells at `keys` as a tuple (whatever their number)."""
    if not keys:
        return lambda row: ()
    if len(keys) == 1:
        only = keys[0]
        return lambda row: (row[only],)
    return itemgetter(*keys)


def _has_quirk(text: str) -> bool:
    """Whether `clean_text` could change any part of `text` (one scan of a joined row instead of
    a function call per cell: most rows have no quirk at all)."""
    return "'" in text or '="' in text or "\u3000" in text or "\xa0" in text


class _Group:
    """Rows of one order gathered so far."""

    __slots__ = ("bad", "first_row", "lines", "order_id", "value_rows", "values")

    def __init__(self, order_id: str, first_row: int, values: tuple[str, ...]) -> None:
        self.order_id = order_id
        self.first_row = first_row
        self.values = values
        self.value_rows: list[int] | None = None  # row each value came from, once they differ
        self.lines: list[LineIn] = []
        self.bad = False


class GenericAdapter:
    """Reads the generic layout described in this module's docstring."""

    format = "generic"

    def detect(self, files: list[SourceFile]) -> bool:
        """True when every file is a generic table (has order_id, sku and quantity columns) or
        generic JSON. Raises `FileRejected` for a file that cannot be read at all."""
        if not files:
            return False
        for file in files:
            kind = sniff_kind(file)
            if kind == "json":
                data = file.data
                if b'"sku_order_list"' in data or b'"line_items"' in data:
                    return False
                if b'"order_id"' not in data or b'"lines"' not in data:
                    return False
            elif kind in ("text", "zip", "html"):
                columns = columns_for(read_table(file).headers)
                if any(name not in columns for name in REQUIRED_COLUMNS):
                    return False
            else:
                return False
        return True

    def read(self, files: list[SourceFile]) -> Iterator[OrderIn | RowError]:
        """Orders and row errors of each file in turn (orders are not merged across files: the
        same order in two files is an upsert later, not a conflict here)."""
        for file in files:
            if sniff_kind(file) == "json":
                yield from _read_json_file(file)
            else:
                yield from _read_table_file(file)


# --- tabular --------------------------------------------------------------------------------


def _columns(file: SourceFile, headers: list[str]) -> dict[str, str]:
    found = columns_for(headers)
    missing = [name for name in REQUIRED_COLUMNS if name not in found]
    if missing:
        raise FileRejected(
            file=file.name,
            code="HEADER_MISSING",
            message=_("文件 %(file)s 缺少必需的列：%(columns)s")
            % {
                "file": file.name,
                "columns": "、".join(f"{name}（{ALIASES[name][0]}）" for name in missing),
            },
        )
    for name, names in found.items():
        if len(names) > 1:
            raise FileRejected(
                file=file.name,
                code="HEADER_DUPLICATE",
                message=_("文件 %(file)s 中 %(columns)s 都表示 %(field)s，只能保留一列")
                % {"file": file.name, "columns": "、".join(names), "field": name},
            )
    return {name: names[0] for name, names in found.items()}


def _read_table_file(file: SourceFile) -> Iterator[OrderIn | RowError]:
    """Group the rows by order, then build the orders: grouping needs the whole file."""
    table = read_table(file)
    column = _columns(file, table.headers)
    with gc_paused():  # nothing is yielded until the whole file is grouped
        errors, orders = _gather(name=file.name, table=table, column=column)
    errors.sort(key=lambda e: e.row)
    yield from errors
    yield from orders


def _gather(*, name: str, table: Table, column: dict[str, str]) -> tuple[list[RowError], list[OrderIn]]:
    """One pass over the rows. This loop is the hot path of a 100k-order import: cells are
    read by index from row lists, order-level cells are compared as one tuple in C, and
    cleaning happens only for rows (or files) that can need it."""
    position = {header: i for i, header in enumerate(table.headers)}
    at = {field: position[header] for field, header in column.items()}
    # Only the columns the file has take part.
    order_fields = tuple(f for f in ORDER_FIELDS if f in at)
    order_values = _tuple_getter([at[f] for f in order_fields])
    line_values = _tuple_getter([at[f] for f in LINE_FIELDS if f in at])
    h_order = column["order_id"]
    i_order, i_sku, i_qty = at["order_id"], at["sku"], at["quantity"]
    i_attr, i_title, i_line = at.get("attributes"), at.get("title"), at.get("line_id")
    check_quirks = table.needs_cleaning
    clean = clean_text
    small_ints = _SMALL_INTS
    attribute_cache: dict[str, dict[str, str]] = {}
    groups: dict[str, _Group] = {}
    seen_lines: dict[tuple[str, tuple[str, ...]], int] = {}
    errors: list[RowError] = []

    for item in table.records:
        if type(item) is BadRow:
            errors.append(item.error)
            broken_id = clean(item.cells.get(h_order, ""))
            if broken_id:
                group = groups.get(broken_id)
                if group is None:
                    group = groups[broken_id] = _Group(broken_id, item.row, ("",) * len(order_fields))
                group.bad = True
            continue
        row_no, row = item  # type: ignore[misc]
        if check_quirks:
            joined = "\x1f".join(row)
            # _has_quirk inlined: this runs once per row
            if "'" in joined or '="' in joined or "\u3000" in joined or "\xa0" in joined:
                row = [clean(value) for value in row]
        order_id = row[i_order]
        if not order_id:
            errors.append(
                row_error(
                    file=name,
                    row=row_no,
                    field="order_id",
                    code="FIELD_MISSING",
                    template=_("%(file)s 第 %(row)d 行：缺少必填字段 %(field)s，该行未导入"),
                )
            )
            continue
        values = order_values(row)
        group = groups.get(order_id)
        if group is None:
            group = groups[order_id] = _Group(order_id, row_no, values)
        elif values != group.values:
            _merge_order_values(name, group, order_fields, values, row_no, errors)

        line_key = (order_id, line_values(row))
        earlier = seen_lines.get(line_key)
        if earlier is not None:
            errors.append(
                row_error(
                    file=name,
                    row=row_no,
                    field="",
                    code="DUPLICATE_ROW",
                    template=_("%(file)s 第 %(row)d 行与第 %(other_row)d 行重复，已跳过"),
                    other_row=earlier,
                )
            )
            continue
        seen_lines[line_key] = row_no

        sku = row[i_sku]
        raw_quantity = row[i_qty]
        quantity = small_ints.get(raw_quantity)
        if quantity is None:
            quantity = parse_quantity(raw_quantity)
        if not sku:
            group.bad = True
            errors.append(_missing(name, row_no, "sku", order_id))
        if quantity is None:
            group.bad = True
            errors.append(_bad_quantity(name, row_no, "quantity", raw_quantity, order_id))
        if group.bad:
            continue
        attributes: dict[str, str] = {}
        if i_attr is not None:
            text = row[i_attr]
            if text:
                parsed = attribute_cache.get(text)
                if parsed is None:
                    parsed = attribute_cache[text] = parse_attributes(text)
                attributes = dict(parsed)  # a line's dict is its own: callers may edit it
        group.lines.append(
            LineIn(
                sku_code=sku,
                quantity=quantity,  # type: ignore[arg-type]
                title=row[i_title] if i_title is not None else "",
                attributes=attributes,
                platform_line_id=row[i_line] if i_line is not None else "",
                source_file=name,
                source_row=row_no,
            )
        )

    orders: list[OrderIn] = []
    blank = dict.fromkeys(ORDER_FIELDS, "")
    times: dict[str, datetime | None] = {}
    for group in groups.values():
        if group.bad:
            continue
        fields = blank.copy()
        fields.update(zip(order_fields, group.values, strict=True))
        order = _build_order(
            file=name,
            order_id=group.order_id,
            fields=fields,
            first_row=group.first_row,
            rows_by_field=None
            if group.value_rows is None
            else dict(zip(order_fields, group.value_rows, strict=True)),
            lines=group.lines,
            errors=errors,
            times=times,
        )
        if order is not None:
            orders.append(order)
    return errors, orders


def _merge_order_values(
    file: str,
    group: _Group,
    order_fields: tuple[str, ...],
    values: tuple[str, ...],
    row_no: int,
    errors: list[RowError],
) -> None:
    """Fill order fields an earlier row left empty; report fields that disagree."""
    current = list(group.values)
    if group.value_rows is None:
        group.value_rows = [group.first_row] * len(current)
    for i, value in enumerate(values):
        if not value or value == current[i]:
            continue
        if not current[i]:
            current[i] = value
            group.value_rows[i] = row_no
            continue
        field = order_fields[i]
        group.bad = True
        errors.append(
            row_error(
                file=file,
                row=row_no,
                field=field,
                code="ORDER_FIELD_CONFLICT",
                template=_(
                    "%(file)s 第 %(row)d 行：订单 %(order)s 的 %(field)s 与第 %(other_row)d 行不一致，整个订单未导入"
                ),
                value="" if field in _PERSONAL else value,
                order=group.order_id,
                other_row=group.value_rows[i],
            )
        )
    group.values = tuple(current)


# --- shared messages --------------------------------------------------------------------------


def _missing(file: str, row: int, field: str, order_id: str) -> RowError:
    return row_error(
        file=file,
        row=row,
        field=field,
        code="FIELD_MISSING",
        template=_("%(file)s 第 %(row)d 行：缺少必填字段 %(field)s，订单 %(order)s 未导入"),
        order=order_id,
    )


def _bad_quantity(file: str, row: int, field: str, value: object, order_id: str) -> RowError:
    return row_error(
        file=file,
        row=row,
        field=field,
        code="QUANTITY_INVALID",
        template=_(
            "%(file)s 第 %(row)d 行：%(field)s 应为 1 到 100000 之间的整数，实际是“%(value)s”，订单 %(order)s 未导入"
        ),
        value=value,
        order=order_id,
    )


# --- one order from its fields (tabular and JSON) -------------------------------------------------


def _field_error(
    *,
    file: str,
    order_id: str,
    fields: dict[str, str],
    field: str,
    row: int,
    code: str,
    errors: list[RowError],
) -> None:
    if code == "STATUS_UNKNOWN":
        template = _("%(file)s 第 %(row)d 行：%(field)s 的值“%(value)s”无法识别，订单 %(order)s 未导入")
    elif code == "DATETIME_INVALID":
        template = _(
            "%(file)s 第 %(row)d 行：%(field)s 不是有效的时间（应为 YYYY-MM-DD HH:MM:SS 或 ISO 8601），实际是“%(value)s”，订单 %(order)s 未导入"
        )
    else:
        template = _(
            "%(file)s 第 %(row)d 行：%(field)s 的值“%(value)s”无效（应为 standard 或 express），订单 %(order)s 未导入"
        )
    errors.append(
        row_error(
            file=file, row=row, field=field, code=code, template=template, value=fields[field], order=order_id
        )
    )


_NOT_PARSED = object()


def _cached_datetime(text: str, cache: dict[str, datetime | None]) -> datetime | None:
    """`parse_datetime` remembered per file: orders of one export share many timestamps."""
    value = cache.get(text, _NOT_PARSED)
    if value is _NOT_PARSED:
        value = cache[text] = parse_datetime(text)
    return value  # type: ignore[return-value]


def _build_order(
    *,
    file: str,
    order_id: str,
    fields: dict[str, str],
    first_row: int,
    rows_by_field: dict[str, int] | None,
    lines: list[LineIn],
    errors: list[RowError],
    times: dict[str, datetime | None],
) -> OrderIn | None:
    """Parse the order-level texts (already cleaned); append errors and return None when any
    is invalid. `rows_by_field` says which row each value came from when not all from the first."""
    bad: list[tuple[str, str]] = []
    status_text = fields["status"]
    state = STATUS_WORDS.get(status_text.lower()) if status_text else PlatformState.READY
    if state is None:
        bad.append(("status", "STATUS_UNKNOWN"))
    created_at = paid_at = None
    try:
        created_at = _cached_datetime(fields["created_at"], times)
    except ValueError:
        bad.append(("created_at", "DATETIME_INVALID"))
    try:
        paid_at = _cached_datetime(fields["paid_at"], times)
    except ValueError:
        bad.append(("paid_at", "DATETIME_INVALID"))
    phone_expires_at = None
    try:
        phone_expires_at = _cached_datetime(fields["phone_expires_at"], times)
    except ValueError:
        bad.append(("phone_expires_at", "DATETIME_INVALID"))
    level_text = fields["service_level"]
    service_level = SERVICE_LEVEL_WORDS.get(level_text.lower()) if level_text else ""
    if service_level is None:
        bad.append(("service_level", "VALUE_INVALID"))
    if bad:
        for field, code in bad:
            row = rows_by_field.get(field, first_row) if rows_by_field else first_row
            _field_error(
                file=file, order_id=order_id, fields=fields, field=field, row=row, code=code, errors=errors
            )
        return None

    province, city, district, town = fields["province"], fields["city"], fields["district"], fields["town"]
    address = fields["address"]
    country = fields["country"]
    country = (country.upper() if country.isascii() else country) or "CN"
    if province or city or district or town:
        address_in = AddressIn(
            raw=" ".join([p for p in (province, city, district, town, address) if p]),
            province=province,
            city=city,
            district=district,
            town=town,
            detail=address,
            postcode=fields["postcode"],
            country=country,
        )
    else:
        address_in = AddressIn(raw=address, postcode=fields["postcode"], country=country)

    return OrderIn(
        platform_order_id=order_id,
        platform_status=status_text,
        state=state,  # type: ignore[arg-type]
        created_at=created_at,
        paid_at=paid_at,
        recipient_name=fields["recipient_name"],
        recipient_phone=fields["recipient_phone"],
        phone_expires_at=phone_expires_at,
        address=address_in,
        buyer_note=fields["buyer_note"],
        seller_note=fields["seller_note"],
        requested_courier=fields["courier"],
        service_level=service_level,  # type: ignore[arg-type]
        lines=lines,
        source_file=file,
        source_row=first_row,
    )


# --- JSON -------------------------------------------------------------------------------------

_TEXT_TYPES = (str, int, float)


def _json_text(value: Any) -> str | None:
    """A scalar JSON value as text; None for objects, lists and booleans."""
    if value is None:
        return ""
    if type(value) is bool or not isinstance(value, _TEXT_TYPES):
        return None
    return clean_text(value) if isinstance(value, str) else cell_text(value)


def json_orders(file: SourceFile, document: Any, key: str = "orders") -> list[Any]:
    """The list of order objects of a JSON upload: ``{key: [...]}`` or a bare list."""
    if isinstance(document, dict) and isinstance(document.get(key), list):
        return document[key]
    if isinstance(document, list):
        return document
    raise FileRejected(
        file=file.name,
        code="FILE_JSON_SHAPE",
        message=_('文件 %(file)s 的 JSON 结构不对：应为 {"%(key)s": [...]} 或订单列表')
        % {"file": file.name, "key": key},
    )


def _read_json_file(file: SourceFile) -> Iterator[OrderIn | RowError]:
    name = file.name
    seen: dict[str, int] = {}
    times: dict[str, datetime | None] = {}
    for index, obj in enumerate(json_orders(file, read_json(file)), start=1):
        errors: list[RowError] = []
        order = _json_order(name, index, obj, seen, errors, times)
        yield from errors
        if order is not None:
            yield order


def _json_order(
    file: str,
    index: int,
    obj: Any,
    seen: dict[str, int],
    errors: list[RowError],
    times: dict[str, datetime | None],
) -> OrderIn | None:
    def wrong(field: str, value: Any, order_id: str = "") -> None:
        errors.append(
            row_error(
                file=file,
                row=index,
                field=field,
                code="VALUE_INVALID",
                template=_(
                    "%(file)s 第 %(row)d 个订单：%(field)s 的值“%(value)s”类型不对，订单 %(order)s 未导入"
                ),
                value=value,
                order=order_id,
            )
        )

    order_id = json_order_id(
        file=file, index=index, obj=obj, key="order_id", text=_json_text, seen=seen, errors=errors
    )
    if order_id is None:
        return None

    fields: dict[str, str] = {}
    ok = True
    for field in ORDER_FIELDS:
        raw = obj.get(field)
        text = _json_text(raw)
        if text is None:
            wrong(field, raw, order_id)
            ok = False
            text = ""
        fields[field] = text

    raw_lines = obj.get("lines")
    lines: list[LineIn] = []
    if not isinstance(raw_lines, list) or not raw_lines:
        errors.append(
            row_error(
                file=file,
                row=index,
                field="lines",
                code="NO_LINES",
                template=_("%(file)s 第 %(row)d 个订单：订单 %(order)s 没有商品行（lines），未导入"),
                order=order_id,
            )
        )
        ok = False
        raw_lines = []
    for i, raw_line in enumerate(raw_lines):
        path = f"lines[{i}]"
        if not isinstance(raw_line, dict):
            wrong(path, raw_line, order_id)
            ok = False
            continue
        sku = _json_text(raw_line.get("sku"))
        if sku is None:
            wrong(f"{path}.sku", raw_line.get("sku"), order_id)
            ok = False
        elif not sku:
            errors.append(_missing_json(file, index, f"{path}.sku", order_id))
            ok = False
        quantity = parse_quantity(raw_line.get("quantity"))
        if quantity is None:
            errors.append(
                _bad_quantity_json(file, index, f"{path}.quantity", raw_line.get("quantity"), order_id)
            )
            ok = False
        attributes = _json_attributes(raw_line.get("attributes"))
        if attributes is None:
            wrong(f"{path}.attributes", raw_line.get("attributes"), order_id)
            ok = False
        title = _json_text(raw_line.get("title"))
        line_id = _json_text(raw_line.get("line_id"))
        for key, value in (("title", title), ("line_id", line_id)):
            if value is None:
                wrong(f"{path}.{key}", raw_line.get(key), order_id)
                ok = False
        if ok:
            lines.append(
                LineIn(
                    sku_code=sku,  # type: ignore[arg-type]
                    quantity=quantity,  # type: ignore[arg-type]
                    title=title or "",
                    attributes=attributes,  # type: ignore[arg-type]
                    platform_line_id=line_id or "",
                    source_file=file,
                    source_row=index,
                )
            )
    if not ok:
        return None
    return _build_order(
        file=file,
        order_id=order_id,
        fields=fields,
        first_row=index,
        rows_by_field=None,
        lines=lines,
        errors=errors,
        times=times,
    )


def _json_attributes(value: Any) -> dict[str, str] | None:
    if value is None:
        return {}
    if isinstance(value, str):
        return parse_attributes(value)
    if isinstance(value, dict):
        result: dict[str, str] = {}
        for key, item in value.items():
            text = _json_text(item)
            if text is None:
                return None
            result[str(key).strip()] = text
        return result
    return None


def _missing_json(file: str, index: int, field: str, order_id: str) -> RowError:
    return row_error(
        file=file,
        row=index,
        field=field,
        code="FIELD_MISSING",
        template=_("%(file)s 第 %(row)d 个订单：缺少必填字段 %(field)s，订单 %(order)s 未导入"),
        order=order_id,
    )


def _bad_quantity_json(file: str, index: int, field: str, value: Any, order_id: str) -> RowError:
    return row_error(
        file=file,
        row=index,
        field=field,
        code="QUANTITY_INVALID",
        template=_(
            "%(file)s 第 %(row)d 个订单：%(field)s 应为 1 到 100000 之间的整数，实际是“%(value)s”，订单 %(order)s 未导入"
        ),
        value=value,
        order=order_id,
    )
