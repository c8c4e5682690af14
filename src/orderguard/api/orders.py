"""Orders API: search and get, scoped to what the caller may see, recipient data masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db.models import TextChoices
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema
from pydantic import WithJsonSchema

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, reject_unknown_query, with_errors
from orderguard.core.choices import Severity
from orderguard.core.findings import Finding
from orderguard.core.masking import mask_detail, mask_name, mask_phone
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
        description="Platform order id, last 4 phone digits, or SKU code",
    )
    # absent: any status
    status: Annotated[OrderStatus | None, enum_param(OrderStatus)] = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


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
    finding = Finding(
        code=data["code"],
        type=data["type"],
        field=data["field"],
        severity=Severity(data["severity"]),
        data=data.get("data", {}),
    )
    return {**{k: data[k] for k in ("code", "type", "severity", "field")}, "text": explain(finding)}


@router.get("", response=with_errors({200: OrderPageOut}, *AUTHENTICATED), summary="Search orders")
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """By platform order id, the last four digits of the phone, or a SKU code."""
    reject_unknown_query(request, OrderFilters)
    qs = orders_search(actor=actor(request), q=filters.q, status=filters.status or "")
    page = qs[filters.offset : filters.offset + filters.limit]
    return {"total": qs.count(), "items": [_summary(o) for o in page]}


@router.get("/{order_id}", response=with_errors({200: OrderOut}, *AUTHENTICATED, 404), summary="Get an order")
def get_order(request: HttpRequest, order_id: int = object_id("The order's id")) -> dict[str, Any]:
    o = order_get(actor=actor(request), order_id=order_id)
    return {
        **_summary(o),
        "recipient": {
            "name": mask_name(o.recipient_name),
            "phone": mask_phone(o.phone_normalised or o.recipient_phone),
            "country": o.country,
            "province": o.province,
            "city": o.city,
            "district": o.district,
            "detail": mask_detail(o.address_detail),
        },
        "findings": [_finding(f) for f in o.findings],
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
