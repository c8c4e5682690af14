"""Taobao / Tmall seller-centre export: the order report and the item report, read together.

The seller centre ("已卖出的宝贝" -> 批量导出) gives two CSV files, GBK or UTF-8:

- the order report (ExportOrderList, 订单报表): one row per order, 46 columns, several header
  names with trailing spaces ("收货地址 ");
- the item report (ExportOrderDetailList, 宝贝报表): one row per line, 10 columns (11 in newer
  exports, with 创建时间).

The files are told apart by their headers, whatever their names or the order they are given
in; several of each (e.g. one per month) are read as one export. Without an item report the
upload is refused (``ITEM_FILE_MISSING``): an order without its lines cannot be checked.
Without an order report: ``ORDER_FILE_MISSING``.

Mapping
-------
- 订单编号 (``="35153131473293579"`` formula text unwrapped) -> platform_order_id.
- 订单状态 verbatim -> platform_status, and state: 买家已付款,等待卖家发货 / 等待卖家发货 ->
  READY; 等待买家付款 -> UNPAID; 交易关闭 and 交易关闭(...) -> CLOSED; any status with 退款
  (退款中...) -> REFUNDING; 卖家已发货,等待买家确认 / 等待买家确认收货 / 交易成功 -> SHIPPED;
  the API codes (WAIT_SELLER_SEND_GOODS...) too. Anything else is ``STATUS_UNKNOWN``
  (e.g. 卖家部分发货: which lines are still to ship is not in the export).
- 订单创建时间 / 订单付款时间 "YYYY-MM-DD HH:MM:SS" in Asia/Shanghai -> created_at / paid_at.
- 收货人姓名 -> recipient_name; 联系手机 (leading apostrophe removed), or 联系电话 (landline)
  when the mobile is empty -> recipient_phone.
- 收货地址 "省 市 区 [街道] 详细地址(邮编)" is split on spaces: province, city, district, then
  the town when a fourth part ends in 街道/镇/乡 and more follows, the rest is the detail.
  "(000000)" means no postcode. 其它区 stays as the district text: checks decide. Fewer than
  three parts: the text stays in ``raw`` only. ``raw`` is the text without the postcode.
  A non-empty 修改后的收货地址 replaces it (extra["address_modified"] = True).
- 买家留言 -> buyer_note; 订单备注 -> seller_note.
- 运送方式 (快递 / EMS / 平邮...) -> extra["shipping_method"], and requested_courier when it
  names a carrier (EMS, 顺丰...). 物流公司 / 物流单号 are the carrier and tracking number of the
  shipment already made, so they go to extra["logistics_company"] / extra["tracking_no"], never
  to requested_courier.
- 修改后的sku -> extra["modified_sku"]; 异常信息 -> extra["platform_anomaly"]; 店铺Id / 店铺名称
  -> extra["shop_id"] / extra["shop_name"]; 订单关闭原因 -> extra["close_reason"].
- Items: 商家编码, else 外部系统编号 -> sku_code (may be empty: the SKU check flags it);
  购买数量 -> quantity; 商品属性 "颜色分类:红色;尺码:XL" -> attributes; 标题 -> title.
  An item whose own 订单状态 is closed (a refunded line) is left out of an otherwise open order
  and listed in extra["closed_lines"]; an item whose status says 退款 makes the order
  REFUNDING. 套餐信息 and 价格 are not kept.
- When 宝贝总数量 differs from the sum of the items' 购买数量 (the two reports were exported
  with different filters), extra["item_count_mismatch"] = {"expected": n, "found": m}.

Errors
------
An item row whose 订单编号 has no order row is ``ORDER_NOT_FOUND`` (on the item row); an order
without item rows is ``NO_LINES``; a bad item row (quantity) rejects its whole order with the
error naming the item file and row. A row repeated exactly is ``DUPLICATE_ROW``; a second order
row with the same 订单编号 and other values is ``DUPLICATE_ORDER`` (the first one is kept).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter

from django.utils.translation import gettext as _

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.errors import FileRejected, RowError
from orderguard.intake.tabular import (
    BadRow,
    Table,
    clean_text,
    courier_named_in,
    gc_paused,
    parse_attributes,
    parse_datetime,
    parse_quantity,
    read_table,
    row_error,
    sniff_kind,
)
from orderguard.orders.schema import AddressIn, LineIn, OrderIn, PlatformState
from orderguard.validation.address import names_province

# The export's columns as written, trailing spaces included (read_table strips them).
ORDER_REPORT_COLUMNS: tuple[str, ...] = (
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分", "总金额",
    "返点积分", "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言", "收货人姓名", "收货地址 ",
    "运送方式", "联系电话 ", "联系手机", "订单创建时间", "订单付款时间 ", "宝贝标题 ", "宝贝种类 ",
    "物流单号 ", "物流公司", "订单备注", "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费",
    "买家服务费", "发票抬头", "是否手机订单", "分阶段订单信息", "特权订金订单id", "是否上传合同照片",
    "是否上传小票", "是否代付", "定金排名", "修改后的sku", "修改后的收货地址", "异常信息", "天猫卡券抵扣",
    "集分宝抵扣", "是否是O2O交易", "退款金额", "预约门店",
)  # fmt: skip
ITEM_REPORT_COLUMNS: tuple[str, ...] = (
    "订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注", "订单状态", "商家编码",
)  # fmt: skip

# Header sets that tell the two reports apart (and from a generic file with Chinese headers).
ORDER_FILE_MARKERS = frozenset({"订单编号", "收货地址", "宝贝标题", "联系手机"})
ITEM_FILE_MARKERS = frozenset({"订单编号", "标题", "购买数量", "商品属性", "套餐信息"})
ORDER_FILE_REQUIRED = ("订单编号", "订单状态", "收货人姓名", "收货地址", "联系手机")
ITEM_FILE_REQUIRED = ("订单编号", "标题", "购买数量", "商品属性")

STATUS_EXACT: dict[str, PlatformState] = {
    "买家已付款,等待卖家发货": PlatformState.READY,
    "等待卖家发货": PlatformState.READY,
    "等待卖家发货,即:买家已付款": PlatformState.READY,
    "WAIT_SELLER_SEND_GOODS": PlatformState.READY,
    "等待买家付款": PlatformState.UNPAID,
    "WAIT_BUYER_PAY": PlatformState.UNPAID,
    "卖家已发货,等待买家确认": PlatformState.SHIPPED,
    "等待买家确认收货": PlatformState.SHIPPED,
    "交易成功": PlatformState.SHIPPED,
    "WAIT_BUYER_CONFIRM_GOODS": PlatformState.SHIPPED,
    "TRADE_FINISHED": PlatformState.SHIPPED,
    "交易关闭": PlatformState.CLOSED,
    "TRADE_CLOSED": PlatformState.CLOSED,
    "TRADE_CLOSED_BY_TAOBAO": PlatformState.CLOSED,
    "退款中": PlatformState.REFUNDING,
}
_TOWN_SUFFIXES = ("街道", "镇", "乡", "街道办事处")
_SMALL_INTS: dict[str, int] = {str(n): n for n in range(1, 1001)}
_UNSEEN: object = object()
_NO_POSTCODE = "000000"


def taobao_state(status: str) -> PlatformState | None:
    """The state a 订单状态 text means, or None when it is not one we know."""
    state = STATUS_EXACT.get(status)
    if state is not None:
        return state
    text = status.replace("，", ",").replace("：", ":").strip()
    state = STATUS_EXACT.get(text)
    if state is not None:
        return state
    # "交易关闭(买家取消)", "付款以后用户退款成功，交易自动关闭": closed wins over the refund
    if text.startswith("交易关闭") or "关闭" in text:
        return PlatformState.CLOSED
    if "退款" in text:
        return PlatformState.REFUNDING
    return None


def split_address(text: str) -> AddressIn:
    """Split a Taobao 收货地址 "省 市 区 [街道] 详细地址(邮编)" into its parts (see module doc)."""
    value = clean_text(text)
    postcode = ""
    if value.endswith((")", "）")):
        open_at = max(value.rfind("("), value.rfind("（"))
        inside = value[open_at + 1 : -1].strip() if open_at >= 0 else ""
        if len(inside) == 6 and inside.isascii() and inside.isdigit():
            postcode = "" if inside == _NO_POSTCODE else inside
            value = value[:open_at].rstrip()
    parts = value.split()
    address = AddressIn(raw=" ".join(parts), postcode=postcode)
    if len(parts) < 3 or not names_province(parts[0]):
        # without the province first ("杭州市 西湖区 文三路…") the positions say nothing: the
        # text is parsed as written, and the province it leaves out is suggested
        return address
    address.province, address.city, address.district = parts[0], parts[1], parts[2]
    rest = parts[3:]
    if len(rest) >= 2 and rest[0].endswith(_TOWN_SUFFIXES):
        address.town = rest[0]
        rest = rest[1:]
    address.detail = " ".join(rest)
    return address


@dataclass(slots=True)
class _Lines:
    lines: list[LineIn] = field(default_factory=list)
    closed: list[LineIn] = field(default_factory=list)
    refunding: bool = False
    bad: bool = False


def _classify(file: SourceFile) -> tuple[str, Table | None]:
    kind = sniff_kind(file)
    if kind not in ("text", "zip", "html"):
        return "other", None
    table = read_table(file)
    headers = set(table.headers)
    if headers >= ORDER_FILE_MARKERS:
        return "orders", table
    if headers >= ITEM_FILE_MARKERS:
        return "items", table
    return "other", table


class TaobaoAdapter:
    """Reads a Taobao/Tmall order report with its item report (see module docstring)."""

    format = "taobao"

    def detect(self, files: list[SourceFile]) -> bool:
        """True when every file is a Taobao order or item report (at least one of them)."""
        if not files:
            return False
        return all(_classify(file)[0] != "other" for file in files)

    def read(self, files: list[SourceFile]) -> Iterator[OrderIn | RowError]:
        """Reads the item reports first (they are the smaller), then streams the order report,
        yielding each order as soon as its row is read."""
        order_tables: list[Table] = []
        item_tables: list[Table] = []
        for file in files:
            kind, table = _classify(file)
            if kind == "orders":
                order_tables.append(table)  # type: ignore[arg-type]
            elif kind == "items":
                item_tables.append(table)  # type: ignore[arg-type]
            else:
                raise FileRejected(
                    file=file.name,
                    code="FORMAT_UNKNOWN",
                    message=_("文件 %(file)s 不是淘宝/天猫的订单报表或宝贝报表") % {"file": file.name},
                )
        if not order_tables:
            names = "、".join(t.file for t in item_tables)
            raise FileRejected(
                file=names,
                code="ORDER_FILE_MISSING",
                message=_("只上传了宝贝报表 %(file)s：请同时上传同一批导出的订单报表（ExportOrderList）")
                % {"file": names},
            )
        if not item_tables:
            names = "、".join(t.file for t in order_tables)
            raise FileRejected(
                file=names,
                code="ITEM_FILE_MISSING",
                message=_(
                    "只上传了订单报表 %(file)s：请同时上传同一批导出的宝贝报表（ExportOrderDetailList），否则无法知道订单里的商品"
                )
                % {"file": names},
            )
        for table in order_tables:
            _require(table, ORDER_FILE_REQUIRED)
        for table in item_tables:
            _require(table, ITEM_FILE_REQUIRED)
            if "商家编码" not in table.headers and "外部系统编号" not in table.headers:
                _require(table, ("商家编码",))

        by_order: dict[str, _Lines] = {}
        seen_items: dict[int, tuple[str, int]] = {}
        item_errors: list[RowError] = []
        with gc_paused():  # the item reports are gathered whole before the first order is yielded
            for table in item_tables:
                _read_items(table, by_order, seen_items, item_errors)
        yield from item_errors

        seen_orders: dict[str, tuple[str, int, int]] = {}
        for table in order_tables:
            yield from _read_orders(table, by_order, seen_orders)

        # Items left over belong to no order row of this export.
        for order_id, group in by_order.items():
            for line in (*group.lines, *group.closed):
                yield row_error(
                    file=line.source_file,
                    row=line.source_row,
                    field="订单编号",
                    code="ORDER_NOT_FOUND",
                    template=_("%(file)s 第 %(row)d 行：订单报表中没有订单 %(order)s，该商品行未导入"),
                    value=order_id,
                    order=order_id,
                )


def _require(table: Table, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in table.headers]
    if missing:
        raise FileRejected(
            file=table.file,
            code="HEADER_MISSING",
            message=_("文件 %(file)s 缺少必需的列：%(columns)s")
            % {"file": table.file, "columns": "、".join(missing)},
        )


def _duplicate_row(file: str, row: int, other_file: str, other_row: int) -> RowError:
    if other_file == file:
        template = _("%(file)s 第 %(row)d 行与第 %(other_row)d 行重复，已跳过")
    else:
        template = _("%(file)s 第 %(row)d 行与 %(other_file)s 第 %(other_row)d 行重复，已跳过")
    return row_error(
        file=file,
        row=row,
        field="",
        code="DUPLICATE_ROW",
        template=template,
        other_file=other_file,
        other_row=other_row,
    )


class _Columns:
    """Positions of the columns a report has; a missing column reads as ""."""

    __slots__ = ("position",)

    def __init__(self, headers: list[str]) -> None:
        self.position = {header: i for i, header in enumerate(headers) if header}

    def getter(self, names: tuple[str, ...]) -> Callable[[list[str]], tuple[str, ...]]:
        """One C-speed call giving the cells of `names` for a row, "" for absent columns."""
        present = [self.position[n] for n in names if n in self.position]
        if len(present) == len(names):
            return itemgetter(*present) if len(present) > 1 else (lambda row: (row[present[0]],))
        at = [self.position.get(n) for n in names]
        return lambda row: tuple("" if i is None else row[i] for i in at)


_ITEM_FIELDS = ("订单编号", "标题", "购买数量", "商品属性", "订单状态", "商家编码", "外部系统编号")


def _read_items(
    table: Table, by_order: dict[str, _Lines], seen: dict[int, tuple[str, int]], errors: list[RowError]
) -> None:
    name = table.file
    cells = _Columns(table.headers).getter(_ITEM_FIELDS)
    clean = clean_text
    small_ints = _SMALL_INTS
    attribute_cache: dict[str, dict[str, str]] = {}
    state_cache: dict[str, PlatformState | None] = {}
    for item in table.records:
        if type(item) is BadRow:
            errors.append(item.error)
            order_id = clean(item.cells.get("订单编号", ""))
            if order_id:
                by_order.setdefault(order_id, _Lines()).bad = True
            continue
        row_no, row = item  # type: ignore[misc]
        # hash, not the row: keeping every item row alive would cost more than the lines
        fingerprint = hash(tuple(row))
        earlier = seen.get(fingerprint)
        if earlier is not None:
            errors.append(_duplicate_row(name, row_no, *earlier))
            continue
        seen[fingerprint] = (name, row_no)

        raw_id, title, raw_quantity, attribute_text, status, code, external = cells(row)
        order_id = clean(raw_id)
        if not order_id:
            errors.append(
                row_error(
                    file=name,
                    row=row_no,
                    field="订单编号",
                    code="FIELD_MISSING",
                    template=_("%(file)s 第 %(row)d 行：缺少必填字段 %(field)s，该行未导入"),
                )
            )
            continue
        group = by_order.get(order_id)
        if group is None:
            group = by_order[order_id] = _Lines()
        quantity = small_ints.get(raw_quantity)
        if quantity is None:
            quantity = parse_quantity(raw_quantity)
        if quantity is None:
            group.bad = True
            errors.append(
                row_error(
                    file=name,
                    row=row_no,
                    field="购买数量",
                    code="QUANTITY_INVALID",
                    template=_(
                        "%(file)s 第 %(row)d 行：%(field)s 应为 1 到 100000 之间的整数，实际是“%(value)s”，订单 %(order)s 未导入"
                    ),
                    value=raw_quantity,
                    order=order_id,
                )
            )
            continue
        attributes: dict[str, str] = {}
        if attribute_text:
            parsed = attribute_cache.get(attribute_text)
            if parsed is None:
                parsed = attribute_cache[attribute_text] = parse_attributes(attribute_text)
            attributes = dict(parsed)
        line = LineIn(
            sku_code=clean(code) or clean(external),
            quantity=quantity,
            title=title,
            attributes=attributes,
            source_file=name,
            source_row=row_no,
        )
        state = None
        if status:
            state = state_cache.get(status, _UNSEEN)
            if state is _UNSEEN:
                state = state_cache[status] = taobao_state(status)
        if state is PlatformState.CLOSED:
            group.closed.append(line)
        else:
            if state is PlatformState.REFUNDING:
                group.refunding = True
            group.lines.append(line)


# The order report's columns this adapter reads, in the order `_order_from_row` unpacks them.
_ORDER_FIELDS = (
    "订单编号", "订单状态", "收货人姓名", "收货地址", "联系手机", "联系电话", "订单创建时间", "订单付款时间",
    "买家留言", "订单备注", "运送方式", "宝贝总数量", "修改后的收货地址",
)  # fmt: skip
# Columns kept in `extra` when not empty.
_EXTRA_FIELDS = (
    ("运送方式", "shipping_method"),
    ("物流公司", "logistics_company"),
    ("物流单号", "tracking_no"),
    ("修改后的sku", "modified_sku"),
    ("异常信息", "platform_anomaly"),
    ("店铺Id", "shop_id"),
    ("店铺名称", "shop_name"),
    ("订单关闭原因", "close_reason"),
)


def _read_orders(
    table: Table, by_order: dict[str, _Lines], seen: dict[str, tuple[str, int, int]]
) -> Iterator[OrderIn | RowError]:
    name = table.file
    columns = _Columns(table.headers)
    cells = columns.getter(_ORDER_FIELDS)
    extra_cells = columns.getter(tuple(column for column, _key in _EXTRA_FIELDS))
    extra_keys = tuple(key for _column, key in _EXTRA_FIELDS)
    caches = _Caches()
    for item in table.records:
        if type(item) is BadRow:
            yield item.error
            order_id = clean_text(item.cells.get("订单编号", ""))
            if order_id:
                # its items must not be reported as orphans: the order row is the problem
                by_order.pop(order_id, None)
                seen.setdefault(order_id, (name, item.row, 0))
            continue
        row_no, row = item  # type: ignore[misc]
        values = cells(row)
        order_id = clean_text(values[0])
        if not order_id:
            yield row_error(
                file=name,
                row=row_no,
                field="订单编号",
                code="FIELD_MISSING",
                template=_("%(file)s 第 %(row)d 行：缺少必填字段 %(field)s，该行未导入"),
            )
            continue
        fingerprint = hash(tuple(row))
        earlier = seen.get(order_id)
        if earlier is not None:
            earlier_file, earlier_row, earlier_fingerprint = earlier
            if earlier_fingerprint == fingerprint:
                yield _duplicate_row(name, row_no, earlier_file, earlier_row)
            else:
                yield row_error(
                    file=name,
                    row=row_no,
                    field="订单编号",
                    code="DUPLICATE_ORDER",
                    template=_(
                        "%(file)s 第 %(row)d 行：订单 %(order)s 已在 %(other_file)s 第 %(other_row)d 行出现且内容不同，本行已跳过"
                    ),
                    value=order_id,
                    order=order_id,
                    other_file=earlier_file,
                    other_row=earlier_row,
                )
            continue
        seen[order_id] = (name, row_no, fingerprint)

        group = by_order.pop(order_id, None)
        if group is not None and group.bad:
            continue  # the item row's error already says the order was not imported
        if group is None or not (group.lines or group.closed):
            yield row_error(
                file=name,
                row=row_no,
                field="订单编号",
                code="NO_LINES",
                template=_("%(file)s 第 %(row)d 行：宝贝报表中没有订单 %(order)s 的商品，订单未导入"),
                value=order_id,
                order=order_id,
            )
            continue
        extra: dict[str, object] = {
            key: clean_text(value) for key, value in zip(extra_keys, extra_cells(row), strict=True) if value
        }
        errors: list[RowError] = []
        order = _order_from_row(name, row_no, order_id, values, extra, group, errors, caches)
        yield from errors
        if order is not None:
            yield order


class _Caches:
    """Per-report memo of values that repeat across orders (statuses, times, shipping methods)."""

    __slots__ = ("courier", "state", "times")

    def __init__(self) -> None:
        self.state: dict[str, PlatformState | None] = {}
        self.times: dict[str, datetime | None] = {}
        self.courier: dict[str, str] = {}


def _order_from_row(
    file: str,
    row_no: int,
    order_id: str,
    values: tuple[str, ...],
    extra: dict[str, object],
    group: _Lines,
    errors: list[RowError],
    caches: _Caches,
) -> OrderIn | None:
    (
        _id,
        status,
        name,
        address_text,
        mobile,
        landline,
        created_text,
        paid_text,
        buyer_note,
        seller_note,
        shipping_method,
        item_count,
        modified_address,
    ) = values
    state = caches.state.get(status, _UNSEEN)
    if state is _UNSEEN:
        state = caches.state[status] = taobao_state(status)
    if state is None:
        errors.append(
            row_error(
                file=file,
                row=row_no,
                field="订单状态",
                code="STATUS_UNKNOWN",
                template=_(
                    "%(file)s 第 %(row)d 行：%(field)s 的值“%(value)s”无法识别，订单 %(order)s 未导入"
                ),
                value=status,
                order=order_id,
            )
        )
    times: list[datetime | None] = []
    for column, text in (("订单创建时间", created_text), ("订单付款时间", paid_text)):
        moment = caches.times.get(text, _UNSEEN)
        if moment is _UNSEEN:
            try:
                moment = caches.times[text] = parse_datetime(text)
            except ValueError:
                moment = None
                errors.append(
                    row_error(
                        file=file,
                        row=row_no,
                        field=column,
                        code="DATETIME_INVALID",
                        template=_(
                            "%(file)s 第 %(row)d 行：%(field)s 不是有效的时间（应为 YYYY-MM-DD HH:MM:SS），实际是“%(value)s”，订单 %(order)s 未导入"
                        ),
                        value=text,
                        order=order_id,
                    )
                )
        times.append(moment)  # type: ignore[arg-type]
    if errors:
        return None

    if modified_address:
        address = split_address(modified_address)
        extra["address_modified"] = True
    else:
        address = split_address(address_text)

    lines = group.lines
    if group.closed:
        if lines and state in (PlatformState.READY, PlatformState.REFUNDING, PlatformState.UNPAID):
            extra["closed_lines"] = [
                {"sku_code": line.sku_code, "quantity": line.quantity, "source_row": line.source_row}
                for line in group.closed
            ]
        else:
            # every line closed: keep the lines as ordered; an order whose every line is closed
            # has nothing left to ship, whatever its own row says
            lines = sorted(lines + group.closed, key=lambda line: line.source_row)
            if state is PlatformState.READY:
                state = PlatformState.CLOSED
    if group.refunding and state is PlatformState.READY:
        state = PlatformState.REFUNDING
    expected = _SMALL_INTS.get(item_count) or parse_quantity(item_count)
    found = sum(line.quantity for line in group.lines) + sum(line.quantity for line in group.closed)
    if expected is not None and expected != found:
        extra["item_count_mismatch"] = {"expected": expected, "found": found}

    courier = caches.courier.get(shipping_method)
    if courier is None:
        courier = caches.courier[shipping_method] = courier_named_in(clean_text(shipping_method))

    return OrderIn(
        platform_order_id=order_id,
        platform_status=status,
        state=state,  # type: ignore[arg-type]
        created_at=times[0],
        paid_at=times[1],
        recipient_name=clean_text(name),
        recipient_phone=clean_text(mobile) or clean_text(landline),
        address=address,
        buyer_note=buyer_note,
        seller_note=seller_note,
        requested_courier=courier,
        lines=lines,
        source_file=file,
        source_row=row_no,
        extra=extra,
    )
