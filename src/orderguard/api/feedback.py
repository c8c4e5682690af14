"""Customer-service reports API (D5): find the order (by platform order id, or the phone's
last 4 digits within a merchant or channel; several are listed to choose from), file a report
with attachments, read a report. Agents and all warehouse staff; a merchant user on its own
orders only (another merchant's order is "not found", and nothing is created)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, ApiError, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import object_id
from orderguard.core import clock
from orderguard.feedback.models import ReportKind, ServiceReport, SpecialKind
from orderguard.feedback.services import (
    ReportRefused,
    Upload,
    orders_lookup,
    report_attachments,
    report_error_message,
    report_file,
    report_get,
)
from orderguard.orders.models import Channel, Order
from orderguard.tenancy.access import visible
from orderguard.tenancy.models import Merchant

router = Router(tags=["feedback"], auth=AUTH)
SLUG = r"^[-a-zA-Z0-9_]*$"


class FeedbackLookupIn(Schema):
    platform_order_id: str = Field("", max_length=64)
    phone_tail: str = Field(
        "", max_length=4, description="The phone's last 4 digits (with merchant or channel)"
    )
    merchant: str = Field("", max_length=50, pattern=SLUG, description="A merchant's code (staff)")
    channel: str = Field("", max_length=50, pattern=SLUG, description="A channel's code")


class FeedbackOrderOut(Schema):
    id: int
    platform_order_id: str
    merchant: str
    channel: str
    phone: str = Field(description="Masked")
    paid_at: datetime | None


class FeedbackLookupOut(Schema):
    items: list[FeedbackOrderOut]


class FeedbackForm(Schema):
    order_id: int = Field(ge=1, le=2**62)
    kind: ReportKind
    special_kind: SpecialKind | None = Field(None, description="Required for kind=special")
    text: str = Field(min_length=1, max_length=2000)


class FeedbackOut(Schema):
    id: int
    order_id: int
    platform_order_id: str
    kind: str
    special_kind: str
    text: str
    reporter: str
    created_at: datetime
    case_id: int | None
    case_type: str | None
    case_created: bool = Field(description="True: the report opened the case; False: it joined the open one")
    attachments: list[dict[str, Any]]


def _refused(exc: ReportRefused) -> ApiError:
    status = 404 if exc.code == "ORDER_NOT_FOUND" else 409 if exc.code == "ORDER_AMBIGUOUS" else 422
    if exc.code == "ATTACHMENT_TOO_LARGE":
        status = 413
    return ApiError(status, exc.code, report_error_message(exc), exc.field)


def _hit(o: Order) -> dict[str, Any]:
    return {
        "id": o.pk,
        "platform_order_id": o.platform_order_id,
        "merchant": o.merchant.code,
        "channel": o.channel.code,
        "phone": o.phone_masked,
        "paid_at": o.paid_at,
    }


def _report(r: ServiceReport) -> dict[str, Any]:
    return {
        "id": r.pk,
        "order_id": r.order_id,
        "platform_order_id": r.order.platform_order_id,
        "kind": r.kind,
        "special_kind": r.special_kind,
        "text": r.text,
        "reporter": r.reporter_label,
        "created_at": r.created_at,
        "case_id": r.case_id,
        "case_type": r.case.type if r.case is not None else None,
        "case_created": r.case_created,
        "attachments": [
            {
                "id": a.pk,
                "name": a.name,
                "content_type": a.content_type,
                "size": a.size,
                "url": f"/feedback/attachments/{a.pk}",
            }
            for a in report_attachments(r)
        ],
    }


@router.post(
    "/lookup",
    response=with_errors({200: FeedbackLookupOut}, *AUTHENTICATED, 400, 404),
    summary="Find the orders a report may be about",
)
def lookup(request: HttpRequest, body: FeedbackLookupIn) -> dict[str, Any]:
    """By platform order id, or by phone tail within a merchant or channel (the phone tail
    travels in the body, never in a URL). Several orders are all listed (at most 20); none is
    an empty list. A merchant or channel code the caller may not see is 404."""
    reject_unknown_query(request, NoQuery)
    who = actor(request)
    merchant_id = channel_id = None
    if body.merchant:
        merchants = Merchant.objects.filter(code=body.merchant)
        if not who.is_staff_role:
            merchants = merchants.filter(pk=who.merchant_id or 0)
        merchant_id = merchants.values_list("pk", flat=True).first()
        if merchant_id is None:
            raise ApiError(404, "NOT_FOUND", _("找不到该对象"), "merchant")
    if body.channel:
        channel_id = (
            visible(Channel.objects.filter(code=body.channel), who).values_list("pk", flat=True).first()
        )
        if channel_id is None:
            raise ApiError(404, "NOT_FOUND", _("找不到该对象"), "channel")
    try:
        found = orders_lookup(
            actor=who,
            platform_order_id=body.platform_order_id,
            phone_tail=body.phone_tail,
            merchant_id=merchant_id,
            channel_id=channel_id,
        )
    except ReportRefused as exc:
        raise _refused(exc) from None
    return {"items": [_hit(o) for o in found]}


@router.post(
    "",
    response=with_errors({201: FeedbackOut}, *AUTHENTICATED, 400, 404, 409, 413),
    summary="File a customer-service report on an order",
)
def create_report(
    request: HttpRequest, form: Form[FeedbackForm], attachments: File[list[UploadedFile]] | None = None
) -> Status[dict[str, Any]]:
    """Multipart: `order_id`, `kind` (special, address, product, other), `special_kind` for a
    special request (courier, expedited, delivery_time, gift_packing, no_price_slip, other),
    `text`, and `attachments` (PNG, JPEG, GIF, WebP or PDF, each at most
    OG_REPORT_ATTACHMENT_MAX_BYTES; told by their bytes). Opens a case of the kind's type
    (source D5) or joins the order's open one: `case_created` says which."""
    reject_unknown_query(request, NoQuery)
    try:
        result = report_file(
            actor=actor(request),
            order_id=form.order_id,
            kind=form.kind.value,
            special_kind=form.special_kind.value if form.special_kind else "",
            text=form.text,
            now=clock.now(),
            attachments=[Upload.from_file(f) for f in request.FILES.getlist("attachments")],
        )
    except ReportRefused as exc:
        raise _refused(exc) from None
    return Status(201, _report(report_get(actor=actor(request), report_id=result.report.pk)))


@router.get(
    "/{report_id}", response=with_errors({200: FeedbackOut}, *AUTHENTICATED, 404), summary="Get a report"
)
def get_report(request: HttpRequest, report_id: int = object_id("The report's id")) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    return _report(report_get(actor=actor(request), report_id=report_id))
