"""Shopify orders as JSON (REST Admin ``Order`` resource, or the ``orders/create`` webhook body).

Accepted shapes: one order object, ``{"order": {...}}``, ``{"orders": [...]}`` (REST list) or a
bare list of orders. ``RowError.row`` is the 1-based position of the order in the list.

State, in this order of precedence:

1. ``cancelled_at`` set -> CLOSED;
2. ``fulfillment_status`` "fulfilled" -> SHIPPED ("restocked" -> CLOSED);
3. ``financial_status``: paid, partially_paid -> READY; authorized -> READY with
   extra["payment_captured"] = False (Shopify lets merchants capture on fulfilment, so holding
   authorized orders would stall every manual-capture shop; the flag lets a rule hold them);
   pending, expired, null/missing -> UNPAID; partially_refunded -> REFUNDING (someone must
   decide what still ships); refunded, voided -> CLOSED; any other value is ``STATUS_UNKNOWN``.

``platform_status`` is ``financial_status``; ``fulfillment_status`` and ``cancelled_at`` go to extra.

Fields: ``id`` -> platform_order_id (text); ``name`` ("#1001") -> extra["order_name"];
``created_at`` (ISO with offset) -> created_at in Asia/Shanghai; ``processed_at`` (else
``created_at``) -> paid_at unless the order is UNPAID. ``shipping_address`` -> address
(``country_code``, ``province``, ``city``, ``address1`` + " " + ``address2`` as the detail,
``zip``) and recipient_name (``name``, else first + last name); a null address stays empty,
country "" (the address check flags it). recipient_phone: ``shipping_address.phone``, else
``phone``, else ``customer.phone``. ``note`` -> buyer_note; ``note_attributes`` ->
extra["note_attributes"] ({name: value}); ``tags`` -> extra["tags"].

``shipping_lines[].title`` / ``code``: service_level "express" when one says express,
expedited, overnight, priority, next day (a carrier's name such as "SF Express" does not
count); requested_courier when one names a carrier (UPS, DHL, FedEx, USPS, 顺丰...); titles
kept in extra["shipping_lines"].

Lines (``line_items``): ``sku`` (null -> "": the SKU check flags it), ``quantity``, ``title``,
``id`` -> platform_line_id. attributes: ``variant_title`` "green" -> {"variant": "green"};
"M / Red" -> {"option1": "M", "option2": "Red"}; "Default Title" (no variants) -> nothing;
then ``properties`` [{name, value}] added, except names starting with "_" (Shopify's hidden
properties). Lines that need no shipping (``requires_shipping`` false: gift cards, digital
goods) are left out. For an order still to ship, ``fulfillable_quantity`` (when present) is the
quantity: lines already fulfilled or refunded (0 left) are left out. Left-out lines are listed
in extra["dropped_lines"]; an order with no line left is ``NO_LINES``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from orderguard.intake.adapters.base import SourceFile
from orderguard.intake.errors import FileRejected, RowError
from orderguard.intake.tabular import (
    cell_text,
    clean_text,
    courier_named_in,
    json_order_id,
    parse_datetime,
    parse_quantity,
    read_json,
    row_error,
    says_express,
    sniff_kind,
)
from orderguard.orders.schema import AddressIn, LineIn, OrderIn, PlatformState

FINANCIAL_STATES: dict[str, PlatformState] = {
    "paid": PlatformState.READY,
    "partially_paid": PlatformState.READY,
    "authorized": PlatformState.READY,
    "pending": PlatformState.UNPAID,
    "expired": PlatformState.UNPAID,
    "partially_refunded": PlatformState.REFUNDING,
    "refunded": PlatformState.CLOSED,
    "voided": PlatformState.CLOSED,
}
_STILL_TO_SHIP = (PlatformState.READY, PlatformState.REFUNDING, PlatformState.UNPAID)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, (int, float)) and type(value) is not bool:
        return cell_text(value)
    return ""


def shopify_orders(file: SourceFile, document: Any) -> list[Any]:
    """The order objects of a Shopify JSON upload in any of the accepted shapes."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if isinstance(document.get("orders"), list):
            return document["orders"]
        if isinstance(document.get("order"), dict):
            return [document["order"]]
        if "line_items" in document:
            return [document]
    raise FileRejected(
        file=file.name,
        code="FILE_JSON_SHAPE",
        message=_("文件 %(file)s 不是 Shopify 订单 JSON（应有 order、orders 或 line_items）")
        % {"file": file.name},
    )


class ShopifyAdapter:
    """Reads Shopify order JSON (see module docstring)."""

    format = "shopify"

    def detect(self, files: list[SourceFile]) -> bool:
        """True when every file is JSON with Shopify ``line_items``."""
        if not files:
            return False
        return all(
            sniff_kind(f) == "json" and b'"line_items"' in f.data and b'"sku_order_list"' not in f.data
            for f in files
        )

    def read(self, files: list[SourceFile]) -> Iterator[OrderIn | RowError]:
        for file in files:
            seen: dict[str, int] = {}
            for index, obj in enumerate(shopify_orders(file, read_json(file)), start=1):
                errors: list[RowError] = []
                order = _order(file.name, index, obj, seen, errors)
                yield from errors
                if order is not None:
                    yield order


def _invalid(
    file: str, row: int, field: str, code: str, template: str, value: Any = "", order: str = ""
) -> RowError:
    return row_error(file=file, row=row, field=field, code=code, template=template, value=value, order=order)


def _order(file: str, index: int, obj: Any, seen: dict[str, int], errors: list[RowError]) -> OrderIn | None:
    order_id = json_order_id(file=file, index=index, obj=obj, key="id", text=_text, seen=seen, errors=errors)
    if order_id is None:
        return None

    extra: dict[str, Any] = {}
    financial = _text(obj.get("financial_status")).lower()
    fulfillment = _text(obj.get("fulfillment_status")).lower()
    cancelled_at = obj.get("cancelled_at")
    if cancelled_at:
        state: PlatformState | None = PlatformState.CLOSED
        extra["cancelled_at"] = str(cancelled_at)
    elif fulfillment == "fulfilled":
        state = PlatformState.SHIPPED
    elif fulfillment == "restocked":
        state = PlatformState.CLOSED
    elif not financial:
        state = PlatformState.UNPAID
    else:
        state = FINANCIAL_STATES.get(financial)
    if state is None:
        errors.append(
            _invalid(
                file,
                index,
                "financial_status",
                "STATUS_UNKNOWN",
                _("%(file)s 第 %(row)d 个订单：%(field)s 的值“%(value)s”无法识别，订单 %(order)s 未导入"),
                financial,
                order_id,
            )
        )
    if financial == "authorized":
        extra["payment_captured"] = False
    if fulfillment:
        extra["fulfillment_status"] = fulfillment

    times: dict[str, Any] = {}
    for key in ("created_at", "processed_at"):
        raw = obj.get(key)
        try:
            if raw is not None and not isinstance(raw, str):
                raise ValueError(raw)
            times[key] = parse_datetime(raw or "")
        except ValueError:
            times[key] = None
            errors.append(
                _invalid(
                    file,
                    index,
                    key,
                    "DATETIME_INVALID",
                    _(
                        "%(file)s 第 %(row)d 个订单：%(field)s 不是有效的 ISO 8601 时间，实际是“%(value)s”，订单 %(order)s 未导入"
                    ),
                    raw,
                    order_id,
                )
            )

    lines, dropped = _lines(file, index, order_id, obj.get("line_items"), state, errors)
    if errors:
        return None
    if dropped:
        extra["dropped_lines"] = dropped
    if not lines:
        errors.append(
            _invalid(
                file,
                index,
                "line_items",
                "NO_LINES",
                _("%(file)s 第 %(row)d 个订单：订单 %(order)s 没有需要发货的商品行，未导入"),
                order=order_id,
            )
        )
        return None

    address, name, address_phone = _address(obj.get("shipping_address"))
    customer = obj.get("customer") if isinstance(obj.get("customer"), dict) else {}
    phone = address_phone or _text(obj.get("phone")) or _text(customer.get("phone"))

    service_level = ""
    courier = ""
    titles: list[str] = []
    for shipping_line in obj.get("shipping_lines") or []:
        if not isinstance(shipping_line, dict):
            continue
        title, code = _text(shipping_line.get("title")), _text(shipping_line.get("code"))
        if title:
            titles.append(title)
        for text in (title, code, _text(shipping_line.get("carrier_identifier"))):
            if says_express(text):
                service_level = "express"
            courier = courier or courier_named_in(text)
    if titles:
        extra["shipping_lines"] = titles

    order_name = _text(obj.get("name"))
    if order_name:
        extra["order_name"] = order_name
    tags = _text(obj.get("tags"))
    if tags:
        extra["tags"] = tags
    note_attributes = obj.get("note_attributes")
    if isinstance(note_attributes, list) and note_attributes:
        extra["note_attributes"] = {
            _text(item.get("name")): _text(item.get("value"))
            for item in note_attributes
            if isinstance(item, dict)
        }

    created_at = times["created_at"]
    paid_at = None if state is PlatformState.UNPAID else (times["processed_at"] or created_at)
    return OrderIn(
        platform_order_id=order_id,
        platform_status=financial,
        state=state,  # type: ignore[arg-type]
        created_at=created_at,
        paid_at=paid_at,
        recipient_name=name,
        recipient_phone=phone,
        address=address,
        buyer_note=_text(obj.get("note")),
        requested_courier=courier,
        service_level=service_level,
        lines=lines,
        source_file=file,
        source_row=index,
        extra=extra,
    )


def _address(value: Any) -> tuple[AddressIn, str, str]:
    if not isinstance(value, dict):
        return AddressIn(country=""), "", ""
    detail = " ".join(p for p in (_text(value.get("address1")), _text(value.get("address2"))) if p)
    city, province = _text(value.get("city")), _text(value.get("province"))
    postcode, country = _text(value.get("zip")), _text(value.get("country_code")).upper()
    raw = ", ".join(p for p in (detail, city, province, postcode, country) if p)
    name = _text(value.get("name")) or " ".join(
        p for p in (_text(value.get("first_name")), _text(value.get("last_name"))) if p
    )
    address = AddressIn(
        raw=raw, province=province, city=city, detail=detail, postcode=postcode, country=country
    )
    return address, name, _text(value.get("phone"))


def variant_attributes(variant_title: str) -> dict[str, str]:
    """ "green" -> {"variant": "green"}; "M / Red" -> {"option1": "M", "option2": "Red"}."""
    title = variant_title.strip()
    if not title or title == "Default Title":
        return {}
    if " / " in title:
        return {f"option{i}": part.strip() for i, part in enumerate(title.split(" / "), start=1)}
    return {"variant": title}


def _lines(
    file: str, index: int, order_id: str, items: Any, state: PlatformState | None, errors: list[RowError]
) -> tuple[list[LineIn], list[dict[str, Any]]]:
    lines: list[LineIn] = []
    dropped: list[dict[str, Any]] = []
    if not isinstance(items, list):
        return lines, dropped
    to_ship = state in _STILL_TO_SHIP
    for i, item in enumerate(items):
        path = f"line_items[{i}]"
        if not isinstance(item, dict):
            errors.append(
                _invalid(
                    file,
                    index,
                    path,
                    "VALUE_INVALID",
                    _("%(file)s 第 %(row)d 个订单：%(field)s 不是 JSON 对象，订单 %(order)s 未导入"),
                    item,
                    order_id,
                )
            )
            continue
        sku = _text(item.get("sku"))
        quantity = parse_quantity(item.get("quantity"))
        if quantity is None:
            errors.append(
                _invalid(
                    file,
                    index,
                    f"{path}.quantity",
                    "QUANTITY_INVALID",
                    _(
                        "%(file)s 第 %(row)d 个订单：%(field)s 应为 1 到 100000 之间的整数，实际是“%(value)s”，订单 %(order)s 未导入"
                    ),
                    item.get("quantity"),
                    order_id,
                )
            )
            continue
        if item.get("requires_shipping") is False:
            dropped.append({"sku_code": sku, "quantity": quantity, "reason": "requires_shipping_false"})
            continue
        fulfillable = item.get("fulfillable_quantity")
        if to_ship and type(fulfillable) is int and 0 <= fulfillable < quantity:
            if fulfillable == 0:
                dropped.append({"sku_code": sku, "quantity": quantity, "reason": "nothing_left_to_fulfil"})
                continue
            quantity = fulfillable
        attributes = variant_attributes(_text(item.get("variant_title")))
        for prop in item.get("properties") or []:
            if isinstance(prop, dict):
                prop_name = _text(prop.get("name"))
                if prop_name and not prop_name.startswith("_"):
                    attributes[prop_name] = _text(prop.get("value"))
        lines.append(
            LineIn(
                sku_code=sku,
                quantity=quantity,
                title=_text(item.get("title")),
                attributes=attributes,
                platform_line_id=_text(item.get("id")),
                source_file=file,
                source_row=index,
            )
        )
    return lines, dropped
