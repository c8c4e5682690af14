"""Douyin Shop (抖店 / Doudian) orders: the ``order.orderDetail`` response and its parts.

Accepted shapes: ``{"data": {"shop_order_detail": {...}}}`` (the API response), a bare
``shop_order_detail`` object, ``{"data": {"shop_order_list": [...]}}`` (order.searchList),
``{"orders": [...]}`` or a list of any of these. ``RowError.row`` is the 1-based position of
the order in the list.

State
-----
``order_status_desc`` decides when present, the code ``order_status`` otherwise (the SDK's own
sample pairs code "3" with "待支付", so the text is the safer of the two):

- text: 待确认, 待支付, 待付款 -> UNPAID; 已支付, 备货中, 待发货, 部分发货 -> READY; 已发货,
  全部发货, 已完成, 已收货 -> SHIPPED; 已取消, 已关闭 (or containing 取消/关闭) -> CLOSED;
  containing 退款 or 售后 -> REFUNDING;
- codes (Doudian's order_status): 1 -> UNPAID, 105 (已支付) / 2 (备货中) / 101 (部分发货) ->
  READY, 3 (已发货) / 5 (已完成) -> SHIPPED, 4 (已取消) -> CLOSED;
- anything else is ``STATUS_UNKNOWN``.

Then, for an order that is not shipped or closed, a line whose ``after_sale_info.refund_status``
is not 0 makes the order REFUNDING. For a READY order, lines whose own status is cancelled or
already shipped (部分发货) are left out (extra["dropped_lines"]) as long as one line remains.
``platform_status`` is the status text (or the code when there is no text).

Fields
------
- ``order_id`` -> platform_order_id; ``create_time`` / ``pay_time`` (unix seconds, as text or
  number; "0" or "" = none) -> created_at / paid_at in Asia/Shanghai.
- ``encrypt_post_receiver`` / ``encrypt_post_tel`` -> recipient_name / recipient_phone, and
  ``post_addr``: province.name, city.name, **town.name -> district** (Doudian's "town" is the
  county level), **street.name -> town**, ``encrypt_detail`` -> detail. In real data these are
  ciphertext (decrypted only through order.batchDecrypt): a value that looks like Doudian
  ciphertext (starts with ``#``, ``$`` or ``~`` and repeats that separator, or starts with
  ``Enc.``, or is 32+ characters of base64 alphabet, after one leading separator) is kept verbatim and named in extra["encrypted_fields"],
  with extra["receiver_encrypted"] = True, so checks do not judge ciphertext as a bad phone.
- ``buyer_words`` -> buyer_note; ``seller_words`` -> seller_note; ``seller_remark_stars`` ->
  extra["seller_flag"]; ``exp_ship_time`` -> extra["promised_ship_by"] (ISO 8601).
- ``logistics_info`` is the seller's shipment (carrier and tracking number once shipped, empty
  before), not a courier the buyer asked for: it goes to extra["logistics"], never to
  requested_courier. Its ``added_services`` (e.g. 音尊达 home delivery) and the order's
  ``shop_order_tag_ui`` go to extra["added_services"] / extra["tags"] as {key, text}.
- Lines (``sku_order_list``): ``out_sku_id`` (unless empty or "0"), else ``code`` -> sku_code;
  ``item_num`` -> quantity; ``spec`` [{name, value}] -> attributes; ``product_name`` -> title;
  ``sku_order_id`` -> platform_line_id. A combination product (``bundle_sku_info``) is exploded
  into its components: sku_code = component ``code``, quantity = component ``item_num`` x the
  line's ``item_num``, line id "<sku_order_id>#<n>"; the bundle is listed in extra["bundles"].
  A free gift (``given_product_type`` "FREE") stays a line; its line ids are listed in
  extra["free_lines"].
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.errors import FileRejected, RowError
from orderguard.intake.tabular import (
    MAX_QUANTITY,
    SHANGHAI,
    cell_text,
    clean_text,
    json_order_id,
    parse_quantity,
    read_json,
    row_error,
    sniff_kind,
)
from orderguard.orders.schema import AddressIn, LineIn, OrderIn, PlatformState

STATUS_TEXT: dict[str, PlatformState] = {
    "待确认": PlatformState.UNPAID,
    "待支付": PlatformState.UNPAID,
    "待付款": PlatformState.UNPAID,
    "待确认/待支付": PlatformState.UNPAID,
    "已支付": PlatformState.READY,
    "备货中": PlatformState.READY,
    "待发货": PlatformState.READY,
    "部分发货": PlatformState.READY,
    "已发货": PlatformState.SHIPPED,
    "全部发货": PlatformState.SHIPPED,
    "已完成": PlatformState.SHIPPED,
    "已收货": PlatformState.SHIPPED,
    "已取消": PlatformState.CLOSED,
    "已关闭": PlatformState.CLOSED,
}
STATUS_CODES: dict[str, PlatformState] = {
    "1": PlatformState.UNPAID,
    "105": PlatformState.READY,
    "2": PlatformState.READY,
    "101": PlatformState.READY,
    "3": PlatformState.SHIPPED,
    "5": PlatformState.SHIPPED,
    "4": PlatformState.CLOSED,
}
_CIPHER_SEPARATORS = "#$~"
_BASE64_ONLY = re.compile(r"[A-Za-z0-9+/=_*-]{32,}")


def douyin_state(code: str, text: str) -> PlatformState | None:
    """The state of a Doudian status: the text decides when there is one (see module doc)."""
    if text:
        state = STATUS_TEXT.get(text)
        if state is not None:
            return state
        if "退款" in text or "售后" in text:
            return PlatformState.REFUNDING
        if "取消" in text or "关闭" in text:
            return PlatformState.CLOSED
        return STATUS_CODES.get(code) if code else None
    return STATUS_CODES.get(code)


def looks_encrypted(value: str) -> bool:
    """Whether a Doudian receiver field holds ciphertext rather than (masked) plain text."""
    if len(value) < 16:
        return False
    if value.startswith("Enc."):
        return True
    first = value[0]
    if first in _CIPHER_SEPARATORS:
        if value.count(first) >= 3:
            return True
        value = value.strip(_CIPHER_SEPARATORS)  # "#<base64>" (doudian_open_id style)
    return _BASE64_ONLY.fullmatch(value) is not None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, (int, float)) and type(value) is not bool:
        return cell_text(value)
    return ""


def _unix_time(value: Any) -> datetime | None:
    """Unix seconds (text or number) to Shanghai time; "", "0", 0 and None are no time."""
    text = _text(value)
    if not text or text == "0":
        return None
    if not text.isdigit():
        raise ValueError(text)
    try:
        return datetime.fromtimestamp(int(text), tz=SHANGHAI)
    except (OverflowError, OSError, ValueError):
        raise ValueError(text) from None


def douyin_orders(file: SourceFile, document: Any) -> list[Any]:
    """The ``shop_order_detail`` objects of an upload in any of the accepted shapes."""
    items: list[Any]
    if isinstance(document, list):
        items = document
    elif isinstance(document, dict) and isinstance(document.get("orders"), list):
        items = document["orders"]
    elif isinstance(document, dict):
        items = [document]
    else:
        items = []
    orders: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            data = item.get("data")
            if isinstance(data, dict):
                if isinstance(data.get("shop_order_list"), list):
                    orders.extend(data["shop_order_list"])
                    continue
                item = data
            if isinstance(item.get("shop_order_detail"), dict):
                item = item["shop_order_detail"]
        orders.append(item)
    if not orders:
        raise FileRejected(
            file=file.name,
            code="FILE_JSON_SHAPE",
            message=_("文件 %(file)s 不是抖店订单 JSON（应有 shop_order_detail 或订单列表）")
            % {"file": file.name},
        )
    return orders


class DouyinAdapter:
    """Reads Douyin Shop order JSON (see module docstring)."""

    format = "douyin"

    def detect(self, files: list[SourceFile]) -> bool:
        """True when every file is JSON with Doudian ``sku_order_list``."""
        if not files:
            return False
        return all(sniff_kind(f) == "json" and b'"sku_order_list"' in f.data for f in files)

    def read(self, files: list[SourceFile]) -> Iterator[OrderIn | RowError]:
        for file in files:
            seen: dict[str, int] = {}
            for index, obj in enumerate(douyin_orders(file, read_json(file)), start=1):
                errors: list[RowError] = []
                order = _order(file.name, index, obj, seen, errors)
                yield from errors
                if order is not None:
                    yield order


def _error(
    file: str, row: int, field: str, code: str, template: str, value: Any = "", order: str = "", **params: Any
) -> RowError:
    return row_error(
        file=file, row=row, field=field, code=code, template=template, value=value, order=order, **params
    )


def _order(file: str, index: int, obj: Any, seen: dict[str, int], errors: list[RowError]) -> OrderIn | None:
    order_id = json_order_id(
        file=file, index=index, obj=obj, key="order_id", text=_text, seen=seen, errors=errors
    )
    if order_id is None:
        return None

    code, text = _text(obj.get("order_status")), _text(obj.get("order_status_desc"))
    state = douyin_state(code, text)
    if state is None:
        errors.append(
            _error(
                file,
                index,
                "order_status",
                "STATUS_UNKNOWN",
                _("%(file)s 第 %(row)d 个订单：%(field)s 的值“%(value)s”无法识别，订单 %(order)s 未导入"),
                f"{code} {text}".strip(),
                order_id,
            )
        )
    times: dict[str, datetime | None] = {}
    for key in ("create_time", "pay_time", "exp_ship_time"):
        try:
            times[key] = _unix_time(obj.get(key))
        except ValueError:
            times[key] = None
            errors.append(
                _error(
                    file,
                    index,
                    key,
                    "DATETIME_INVALID",
                    _(
                        "%(file)s 第 %(row)d 个订单：%(field)s 应为 Unix 秒数，实际是“%(value)s”，订单 %(order)s 未导入"
                    ),
                    obj.get(key),
                    order_id,
                )
            )

    extra: dict[str, Any] = {}
    lines = _lines(file, index, order_id, obj.get("sku_order_list"), errors, extra)
    if errors:
        return None
    if not lines:
        errors.append(
            _error(
                file,
                index,
                "sku_order_list",
                "NO_LINES",
                _("%(file)s 第 %(row)d 个订单：订单 %(order)s 没有商品行，未导入"),
                order=order_id,
            )
        )
        return None

    raw_lines = [s for s in obj.get("sku_order_list") or [] if isinstance(s, dict)]
    if state not in (PlatformState.SHIPPED, PlatformState.CLOSED) and any(
        _text((s.get("after_sale_info") or {}).get("refund_status")) not in ("", "0") for s in raw_lines
    ):
        state = PlatformState.REFUNDING
    if state is PlatformState.READY:
        lines = _drop_finished_lines(lines, raw_lines, extra)

    name = _text(obj.get("encrypt_post_receiver"))
    phone = _text(obj.get("encrypt_post_tel"))
    address = _address(obj.get("post_addr"))
    encrypted = [
        label
        for label, value in (
            ("recipient_name", name),
            ("recipient_phone", phone),
            ("address.detail", address.detail),
        )
        if value and looks_encrypted(value)
    ]
    if encrypted:
        extra["receiver_encrypted"] = True
        extra["encrypted_fields"] = encrypted
    _collect_extra(obj, times, extra)

    return OrderIn(
        platform_order_id=order_id,
        platform_status=text or code,
        state=state,  # type: ignore[arg-type]
        created_at=times["create_time"],
        paid_at=times["pay_time"],
        recipient_name=name,
        recipient_phone=phone,
        address=address,
        buyer_note=_text(obj.get("buyer_words")),
        seller_note=_text(obj.get("seller_words")),
        lines=lines,
        source_file=file,
        source_row=index,
        extra=extra,
    )


def _address(value: Any) -> AddressIn:
    if not isinstance(value, dict):
        return AddressIn()

    def name_of(key: str) -> str:
        part = value.get(key)
        return _text(part.get("name")) if isinstance(part, dict) else _text(part)

    province, city = name_of("province"), name_of("city")
    district, town = name_of("town"), name_of("street")  # Doudian's town is the county level
    detail = _text(value.get("encrypt_detail") or value.get("detail"))
    raw = " ".join(p for p in (province, city, district, town, detail) if p)
    return AddressIn(raw=raw, province=province, city=city, district=district, town=town, detail=detail)


def _collect_extra(obj: dict[str, Any], times: dict[str, datetime | None], extra: dict[str, Any]) -> None:
    for key, target in (
        ("shop_id", "shop_id"),
        ("shop_name", "shop_name"),
        ("seller_remark_stars", "seller_flag"),
        ("cancel_reason", "cancel_reason"),
        ("order_type_desc", "order_type"),
    ):
        value = _text(obj.get(key))
        if value and value != "0":
            extra[target] = value
    if times.get("exp_ship_time"):
        extra["promised_ship_by"] = times["exp_ship_time"].isoformat()  # type: ignore[union-attr]
    logistics, services = [], []
    for item in obj.get("logistics_info") or []:
        if not isinstance(item, dict):
            continue
        logistics.append(
            {
                "company": _text(item.get("company")),
                "company_name": _text(item.get("company_name")),
                "tracking_no": _text(item.get("tracking_no")),
            }
        )
        for service in item.get("added_services") or []:
            if isinstance(service, dict):
                services.append({"key": _text(service.get("key")), "text": _text(service.get("text"))})
    if logistics:
        extra["logistics"] = logistics
    if services:
        extra["added_services"] = services
    tags = [
        {"key": _text(tag.get("key")), "text": _text(tag.get("text"))}
        for tag in obj.get("shop_order_tag_ui") or []
        if isinstance(tag, dict)
    ]
    if tags:
        extra["tags"] = tags


def _sku_code(sku: dict[str, Any]) -> str:
    out_sku_id = _text(sku.get("out_sku_id"))
    if out_sku_id and out_sku_id != "0":
        return out_sku_id
    return _text(sku.get("code"))


def _lines(
    file: str, index: int, order_id: str, skus: Any, errors: list[RowError], extra: dict[str, Any]
) -> list[LineIn]:
    lines: list[LineIn] = []
    if not isinstance(skus, list):
        return lines
    bundles: list[dict[str, Any]] = []
    free: list[str] = []

    def bad_quantity(field: str, value: Any) -> None:
        errors.append(
            _error(
                file,
                index,
                field,
                "QUANTITY_INVALID",
                _(
                    "%(file)s 第 %(row)d 个订单：%(field)s 应为 1 到 100000 之间的整数，实际是“%(value)s”，订单 %(order)s 未导入"
                ),
                value,
                order_id,
            )
        )

    for i, sku in enumerate(skus):
        path = f"sku_order_list[{i}]"
        if not isinstance(sku, dict):
            errors.append(
                _error(
                    file,
                    index,
                    path,
                    "VALUE_INVALID",
                    _("%(file)s 第 %(row)d 个订单：%(field)s 不是 JSON 对象，订单 %(order)s 未导入"),
                    sku,
                    order_id,
                )
            )
            continue
        quantity = parse_quantity(sku.get("item_num"))
        if quantity is None:
            bad_quantity(f"{path}.item_num", sku.get("item_num"))
            continue
        line_id = _text(sku.get("sku_order_id"))
        title = _text(sku.get("product_name"))
        attributes = {
            _text(spec.get("name")): _text(spec.get("value"))
            for spec in sku.get("spec") or []
            if isinstance(spec, dict) and _text(spec.get("name"))
        }
        components = [c for c in sku.get("bundle_sku_info") or [] if isinstance(c, dict)]
        new_ids: list[str] = []
        if components:
            for n, component in enumerate(components, start=1):
                per_bundle = parse_quantity(component.get("item_num"))
                if per_bundle is None or per_bundle * quantity > MAX_QUANTITY:
                    bad_quantity(f"{path}.bundle_sku_info[{n - 1}].item_num", component.get("item_num"))
                    continue
                component_id = f"{line_id}#{n}"
                new_ids.append(component_id)
                lines.append(
                    LineIn(
                        sku_code=_text(component.get("code")),
                        quantity=per_bundle * quantity,
                        title=_text(component.get("product_name")) or title,
                        platform_line_id=component_id,
                        source_file=file,
                        source_row=index,
                    )
                )
            bundles.append(
                {
                    "line_id": line_id,
                    "sku_code": _sku_code(sku),
                    "quantity": quantity,
                    "attributes": attributes,
                    "components": [_text(c.get("code")) for c in components],
                }
            )
        else:
            new_ids.append(line_id)
            lines.append(
                LineIn(
                    sku_code=_sku_code(sku),
                    quantity=quantity,
                    title=title,
                    attributes=attributes,
                    platform_line_id=line_id,
                    source_file=file,
                    source_row=index,
                )
            )
        if _text(sku.get("given_product_type")).upper() == "FREE":
            free.extend(new_ids)
    if bundles:
        extra["bundles"] = bundles
    if free:
        extra["free_lines"] = free
    return lines


def _drop_finished_lines(
    lines: list[LineIn], skus: list[dict[str, Any]], extra: dict[str, Any]
) -> list[LineIn]:
    """Leave out lines cancelled or already shipped within a READY order, keeping at least one."""
    finished: set[str] = set()
    for sku in skus:
        state = douyin_state(_text(sku.get("order_status")), _text(sku.get("order_status_desc")))
        line_id = _text(sku.get("sku_order_id"))
        if line_id and state in (PlatformState.CLOSED, PlatformState.SHIPPED):
            finished.add(line_id)
    if not finished:
        return lines
    kept = [line for line in lines if line.platform_line_id.split("#", 1)[0] not in finished]
    if not kept:
        return lines
    extra["dropped_lines"] = [
        {"sku_code": line.sku_code, "quantity": line.quantity, "line_id": line.platform_line_id}
        for line in lines
        if line.platform_line_id.split("#", 1)[0] in finished
    ]
    return kept
