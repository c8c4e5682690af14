"""Customer-service report pages (D5): the form (find the order by platform id or phone tail,
choose among several, the kind, the text and attachments), the report with the case it opened
or joined, and its attachments for those who may see the order."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from orderguard.core import clock
from orderguard.core.errors import NotFound
from orderguard.feedback.models import ReportKind, SpecialKind
from orderguard.feedback.services import (
    ReportRefused,
    Upload,
    attachment_get,
    order_for_report,
    report_attachments,
    report_error_message,
    report_file,
    report_get,
    reports_visible,
)
from orderguard.orders.models import Channel, Order
from orderguard.tenancy.access import Actor, get_visible, usernames_as_seen_by, visible
from orderguard.tenancy.models import Merchant
from orderguard.web.common import actor_or_refuse


def kind_text(kind: str, special_kind: str) -> str:
    """A report's kind in words ("特殊需求：礼品包装")."""
    label = str(ReportKind(kind).label) if kind in ReportKind.values else kind
    if special_kind in SpecialKind.values:
        return f"{label}：{SpecialKind(special_kind).label}"
    return label


def _choices(actor: Actor) -> dict[str, Any]:
    return {
        "merchants": list(
            visible(Merchant.objects.filter(active=True), actor, merchant_field="").order_by("code")
        )
        if actor.is_staff_role
        else [],
        "channels": list(visible(Channel.objects.all(), actor).order_by("code")),
        "kinds": ReportKind.choices,
        "special_kinds": SpecialKind.choices,
    }


def _uploads(request: HttpRequest) -> list[Upload]:
    return [Upload.from_file(f) for f in request.FILES.getlist("attachments")]


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    context: dict[str, Any] = {**_choices(actor), "values": request.POST if request.method == "POST" else {}}
    if request.method == "GET":
        return render(request, "web/feedback_new.html", context)
    post = request.POST
    try:
        chosen = post.get("order", "")
        if chosen.isdigit() and len(chosen) < 12:
            order = get_visible(Order.objects.all(), actor, int(chosen))
        else:
            merchant_id, channel_id = post.get("merchant", ""), post.get("channel", "")
            order = order_for_report(
                actor=actor,
                platform_order_id=post.get("platform_order_id", ""),
                phone_tail=post.get("phone_tail", ""),
                merchant_id=int(merchant_id) if merchant_id.isdigit() and len(merchant_id) < 12 else None,
                channel_id=int(channel_id) if channel_id.isdigit() and len(channel_id) < 12 else None,
            )
        result = report_file(
            actor=actor,
            order_id=order.pk,
            kind=post.get("kind", ""),
            special_kind=post.get("special_kind", ""),
            text=post.get("text", ""),
            now=clock.now(),
            attachments=_uploads(request),
        )
    except NotFound:
        context["error"] = report_error_message(ReportRefused(code="ORDER_NOT_FOUND"))
        return render(request, "web/feedback_new.html", context, status=404)
    except ReportRefused as exc:
        context["error"] = report_error_message(exc)
        context["error_field"] = exc.field
        context["candidates"] = exc.candidates
        status = 404 if exc.code == "ORDER_NOT_FOUND" else 422
        return render(request, "web/feedback_new.html", context, status=status)
    return redirect("web:feedback", report_id=result.report.pk)


PAGE_SIZE = 50


@never_cache
@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    """The reports the user may see (a merchant user: those on its orders), newest first:
    who reported what on which order, and the case it opened or joined with its status."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    get = request.GET
    merchant = get.get("merchant", "")
    filters = {
        "kind": get.get("kind", ""),
        "case_state": get.get("case_state", ""),
        "order_id": get.get("order_id", "")[:64],
        "merchant": merchant if actor.is_staff_role else "",
    }
    qs = reports_visible(
        actor=actor,
        kind=filters["kind"],
        case_state=filters["case_state"],
        order_id=filters["order_id"],
        merchant_id=int(merchant)
        if actor.is_staff_role and merchant.isdigit() and len(merchant) < 12
        else None,
    )
    page = Paginator(qs, PAGE_SIZE).get_page(get.get("page"))
    rows = list(page.object_list)
    # the reporter as the viewer may know them (a merchant user: by role, never a username)
    reporters = {
        r.pk: r.reporter.username if r.reporter else r.reporter_label.removeprefix("user:") for r in rows
    }
    names = usernames_as_seen_by(actor=actor, usernames=set(reporters.values()))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "web/feedback_list.html",
        {
            "rows": [(r, kind_text(r.kind, r.special_kind), names[reporters[r.pk]]) for r in rows],
            "page": page,
            "filters": filters,
            "query": query,
            "kinds": ReportKind.choices,
            "merchants": list(Merchant.objects.filter(active=True).order_by("code"))
            if actor.is_staff_role
            else [],
        },
    )


@never_cache
@login_required
@require_GET
def report_page(request: HttpRequest, report_id: int) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        report = report_get(actor=actor, report_id=report_id)
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "web/feedback.html",
        {
            "report": report,
            "kind": kind_text(report.kind, report.special_kind),
            "attachments": report_attachments(report),
        },
    )


@never_cache
@login_required
@require_GET
def report_attachment(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """The file, only for users who may see the report's order; never guessed as another type
    by the browser, never run as a page."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        att = attachment_get(actor=actor, attachment_id=attachment_id)
    except NotFound:
        raise Http404 from None
    response = FileResponse(
        att.file.open("rb"),
        content_type=att.content_type,
        as_attachment=not att.content_type.startswith("image/"),
        filename=att.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
