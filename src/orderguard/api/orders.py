"""Orders API: search and get, scoped to what the caller may see, recipient data masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db.models import TextChoices
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema
from pydantic import Strict, WithJsonSchema

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, ApiError, NoQuery, reject_unknown_query, with_errors
from orderguard.cases.disputes import orders_disputed_skus
from orderguard.core import clock
from orderguard.core.findings import Finding
from orderguard.core.masking import mask_detail, mask_name
from orderguard.intake.selectors import channel_for_import
from orderguard.intake.services import MAX_LINES, order_correct, order_lines_change
from orderguard.intake.submit import MAX_ORDERS_PER_REQUEST, OrdersRejected, Outcome, orders_submit
from orderguard.inventory.selectors import orders_short_skus
from orderguard.orders.choices import OrderStatus
from orderguard.orders.models import Order
from orderguard.orders.selectors import order_get, orders_search
from orderguard.validation.checks import explain

router = Router(tags=["orders"], auth=AUTH)


class RecipientOut(Schema):
    name: str
    phone: str
    country: str
    province: str
    city: str
    district: str
    detail: str


class FindingOut(Schema):
    code: str
    type: str
    severity: str
    field: str
    text: str


class LineOut(Schema):
    line_no: int
    sku_code: str
    title: str
    quantity: int
    allocated: int


class OrderSummaryOut(Schema):
    id: int
    channel: str
    platform_order_id: str
    status: str
    platform_state: str
    paid_at: datetime | None


class OrderOut(OrderSummaryOut):
    recipient: RecipientOut
    findings: list[FindingOut]
    lines: list[LineOut]
    short_skus: list[str] = Field(
        description="Codes of the order's SKUs with an open stock alert at its warehouse (D1)"
    )
    disputed_skus: list[str] = Field(
        description="Codes of the order's lines whose product data the merchant is asked to check (T3, H3.2)"
    )


class OrderPageOut(Schema):
    total: int
    items: list[OrderSummaryOut]


# Ids are the database's 64-bit keys; a larger one is refused (422), not looked up.
MAX_ID = 2**63 - 1
# Page sizes and offsets the API accepts; outside them the request is refused (422), not clamped.
MAX_LIMIT = 200
# Deep offsets make the database walk and drop every row before them; narrow the search instead.
MAX_OFFSET = 10_000


def enum_param(choices: type[TextChoices]) -> WithJsonSchema:
    """An optional enum filter: validated as ``Enum | None`` (absent is None), documented as the
    plain enum, since a query string has no ``null`` to send."""
    return WithJsonSchema({"type": "string", "enum": list(choices.values)})


def object_id(description: str) -> Any:
    """A path id: a positive 64-bit integer."""
    return Path(..., ge=1, le=MAX_ID, description=description)


class OrderFilters(Schema):
    # no NUL: no stored value contains one, and PostgreSQL refuses it in a query
    q: str = Field(
        "",
        max_length=100,
        pattern=r"^[^\x00]*$",
        description=(
            "Platform order id (or its first 4+ characters) or SKU code. A recipient's name or "
            "phone digits are searched by POST /api/v1/orders/search, so they stay out of URLs"
        ),
    )
    # absent: any status
    status: Annotated[OrderStatus | None, enum_param(OrderStatus)] = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class OrderSearchIn(OrderFilters):
    """The search of `GET /orders` in a body, where it may name the recipient: a URL ends up in
    access logs, proxies and browser history; a body does not."""

    model_config = {"extra": "forbid"}

    q: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00]*$",
        description="Platform order id (or its first 4+ characters), last 4 phone digits, recipient name, or SKU code",
    )
    status: OrderStatus | None = None
    # strict in JSON: `false` is not 0
    limit: int = Field(50, ge=1, le=MAX_LIMIT, strict=True)
    offset: int = Field(0, ge=0, le=MAX_OFFSET, strict=True)


def _summary(o: Order) -> dict[str, Any]:
    return {
        "id": o.pk,
        "channel": o.channel.code,
        "platform_order_id": o.platform_order_id,
        "status": o.status,
        "platform_state": o.platform_state,
        "paid_at": o.paid_at,
    }


def _finding(data: dict[str, Any]) -> dict[str, Any]:
    finding = Finding.from_dict(data)
    return {**{k: data[k] for k in ("code", "type", "severity", "field")}, "text": explain(finding)}


def _page(request: HttpRequest, search: OrderFilters, *, personal: bool) -> dict[str, Any]:
    qs = orders_search(actor=actor(request), q=search.q, status=search.status or "", personal=personal)
    page = qs[search.offset : search.offset + search.limit]
    return {"total": qs.count(), "items": [_summary(o) for o in page]}


@router.get("", response=with_errors({200: OrderPageOut}, *AUTHENTICATED), summary="Search orders")
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """By platform order id or SKU code (the recipient's name and phone: `POST /orders/search`)."""
    reject_unknown_query(request, OrderFilters)
    return _page(request, filters, personal=False)


@router.post(
    "/search",
    response=with_errors({200: OrderPageOut}, 400, *AUTHENTICATED),
    summary="Search orders, by the recipient too",
)
def search_orders(request: HttpRequest, body: OrderSearchIn) -> dict[str, Any]:
    """By platform order id, the last four digits of the phone, the recipient's full name, or a
    SKU code; the search travels in the body, never in a URL."""
    reject_unknown_query(request, NoQuery)
    return _page(request, body, personal=True)


# A channel code is a slug (orders.Channel.code): anything else names no channel.
ChannelCode = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")]


class OrdersIn(Schema):
    model_config = {"extra": "forbid"}

    channel: ChannelCode = Field(description="The code of the channel the orders belong to")
    orders: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ORDERS_PER_REQUEST,
        description="Orders in the generic JSON layout (docs/formats/generic.md): order_id, status, "
        "created_at, paid_at, recipient_name, recipient_phone, province, city, district, address, "
        "buyer_note, courier, service_level, lines [{sku, quantity, attributes, title, line_id}]",
        json_schema_extra={
            "examples": [
                [
                    {
                        "order_id": "ERP-1001",
                        "paid_at": "2026-11-25 09:30:00",
                        "recipient_name": "张三",
                        "recipient_phone": "13800138000",
                        "province": "浙江省",
                        "city": "杭州市",
                        "district": "西湖区",
                        "address": "文三路90号",
                        "lines": [{"sku": "MUG-1", "quantity": 2}],
                    }
                ]
            ]
        },
    )


class OrderFieldErrorOut(Schema):
    field: str = Field(description="The order's part at fault, e.g. orders[3].recipient_phone")
    code: str
    message: str


class OrderResultOut(Schema):
    index: int = Field(description="Position of the order in the request, from 0")
    platform_order_id: str
    result: Annotated[str, WithJsonSchema({"type": "string", "enum": [o.value for o in Outcome]})]
    order_id: int | None = Field(description="The stored order's id; null when refused")
    errors: list[OrderFieldErrorOut]


class OrdersCreatedOut(Schema):
    ok: bool
    batch: int = Field(description="The import batch of the request")
    created: int
    updated: int
    unchanged: int
    refused: int
    orders: list[OrderResultOut]


@router.post(
    "",
    response=with_errors({200: OrdersCreatedOut}, *AUTHENTICATED, 400, 404, 413),
    summary="Create or update orders (up to 500)",
)
def create_orders(request: HttpRequest, body: OrdersIn) -> dict[str, Any]:
    """Import the orders through the whole flow, like a file: one batch, each order created,
    updated, unchanged (sent before) or refused with its errors. Another merchant's channel is
    404 like a missing one; a request refused as a whole keeps nothing."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    channel = channel_for_import(actor=act, code=body.channel)
    try:
        done = orders_submit(channel=channel, orders=body.orders, actor_label=act.label)
    except OrdersRejected as refused:
        raise ApiError(422, refused.code, refused.message, "orders") from None
    return {
        "ok": True,
        "batch": done.batch.pk,
        **{outcome.value: done.count(outcome) for outcome in Outcome},
        "orders": [
            {
                "index": o.index,
                "platform_order_id": o.platform_order_id,
                "result": o.outcome.value,
                "order_id": o.order,
                "errors": [{"field": e.field, "code": e.code, "message": e.message} for e in o.errors],
            }
            for o in done.orders
        ],
    }


@router.get("/{order_id}", response=with_errors({200: OrderOut}, *AUTHENTICATED, 404), summary="Get an order")
def get_order(request: HttpRequest, order_id: int = object_id("The order's id")) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    return _order(order_get(actor=actor(request), order_id=order_id))


def _text(max_length: int, description: str) -> Any:
    # absent: unchanged; no NUL (PostgreSQL refuses it)
    return Field(None, max_length=max_length, pattern=r"^[^\x00]*$", description=description)


class RecipientChangesIn(Schema):
    """The recipient fields to correct; a field left out stays as it is."""

    model_config = {"extra": "forbid"}

    recipient_name: str = _text(200, "The recipient's name")
    recipient_phone: str = _text(100, "The recipient's phone")
    province: str = _text(50, "Province")
    city: str = _text(50, "City")
    district: str = _text(50, "District")
    town: str = _text(50, "Town or street")
    address_detail: str = _text(500, "Street address")
    postcode: str = _text(20, "Postcode")


class CorrectionIn(Schema):
    model_config = {"extra": "forbid"}

    changes: RecipientChangesIn = Field(default_factory=RecipientChangesIn)
    reason: str = Field("", max_length=500, pattern=r"^[^\x00]*$", description="Why (logged with the change)")


class OrderCorrectedOut(OrderOut):
    changed: list[str] = Field(description="The fields that changed (none: nothing was written)")
    closed_cases: list[int] = Field(description="The cases the re-check closed")


@router.post(
    "/{order_id}/correct",
    response=with_errors({200: OrderCorrectedOut}, *AUTHENTICATED, 404, 409, 400),
    summary="Correct an order's recipient data and check it again",
)
def correct_order(
    request: HttpRequest, body: CorrectionIn, order_id: int = object_id("The order's id")
) -> dict[str, Any]:
    """Warehouse staff correct the recipient's name, phone or address (H2.4); the order runs
    again through the checks, allocation and triage, and cases whose findings went away close.
    Values equal to the current ones change nothing. A merchant user is refused (403 ``ROLE``);
    a shipped or cancelled order (409 ``ORDER_CLOSED``) and an anonymised one (409
    ``ORDER_ANONYMISED``) cannot be corrected. Nothing is written when refused."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    done = order_correct(
        order_id=order_id,
        actor=act,
        changes=body.changes.model_dump(exclude_unset=True),
        reason=body.reason,
        now=clock.now(),
    )
    return {
        **_order(order_get(actor=act, order_id=order_id)),
        "changed": done.changed,
        "closed_cases": [c.pk for c in done.triage.closed],
    }


def _order(o: Order) -> dict[str, Any]:
    return {
        **_summary(o),
        "recipient": {
            "name": mask_name(o.recipient_name),
            "phone": o.phone_masked,
            "country": o.country,
            "province": o.province,
            "city": o.city,
            "district": o.district,
            "detail": mask_detail(o.address_detail),
        },
        "findings": [_finding(f) for f in o.findings],
        "short_skus": orders_short_skus(orders=[o])[o.pk],
        "disputed_skus": orders_disputed_skus(orders=[o])[o.pk],
        "lines": [
            {
                "line_no": line.line_no,
                "sku_code": line.sku_code,
                "title": line.title,
                "quantity": line.quantity,
                "allocated": line.allocated_quantity,
            }
            for line in o.lines.order_by("line_no")
        ],
    }


class LineChangeIn(Schema):
    model_config = {"extra": "forbid"}

    sku_code: str = Field(
        max_length=100, pattern=r"^[^\x00]*$", description="A SKU code of the order's merchant"
    )
    # strict: `true` is no quantity; a fractional, zero or negative one is refused by the
    # service naming the line (422 QUANTITY_INVALID)
    quantity: Annotated[int, Strict()] | Annotated[float, Strict()] | Annotated[str, Strict()] = Field(
        description="A whole number of units, at least 1"
    )


class LinesIn(Schema):
    model_config = {"extra": "forbid"}

    lines: list[LineChangeIn] = Field(min_length=1, max_length=MAX_LINES, description="The order's new lines")
    reason: str = Field("", max_length=500, pattern=r"^[^\x00]*$", description="Why (logged with the change)")


class OrderLinesChangedOut(OrderOut):
    changed: bool = Field(description="Whether the lines changed (false: the same lines, nothing written)")
    closed_cases: list[int] = Field(description="The cases the re-check closed")
    opened_cases: list[int] = Field(
        description="The cases the re-check opened (a stock-out when the new SKU is short)"
    )


@router.post(
    "/{order_id}/lines",
    response=with_errors({200: OrderLinesChangedOut}, *AUTHENTICATED, 404, 409, 400),
    summary="Change an order's lines and check it again",
)
def change_order_lines(
    request: HttpRequest, body: LinesIn, order_id: int = object_id("The order's id")
) -> dict[str, Any]:
    """H3.1: the buyer chose wrongly; warehouse staff replace the order's lines (each SKU code of
    the merchant's catalogue, active; each quantity a whole number from 1). What the old lines
    held is given back, the order runs again through the checks, allocation and triage, and the
    product case closes when the product checks pass. Refused with nothing written: a merchant
    user (403 ``ROLE``), a shipped or cancelled order (409 ``ORDER_CLOSED``), an anonymised one
    (409 ``ORDER_ANONYMISED``), 422 ``SKU_UNKNOWN`` / ``SKU_INACTIVE`` / ``QUANTITY_INVALID``
    naming ``lines[<i>].<field>``."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    done = order_lines_change(
        order_id=order_id,
        actor=act,
        lines=[line.model_dump() for line in body.lines],
        reason=body.reason,
        now=clock.now(),
    )
    return {
        **_order(order_get(actor=act, order_id=order_id)),
        "changed": done.changed,
        "closed_cases": [c.pk for c in done.triage.closed],
        "opened_cases": [c.pk for c in done.triage.opened],
    }
