"""Incident pages (T4, D3, H4, B3): the list, one incident with its timeline and the actions of
the technical team (acknowledge, assign, update, platform contact, resolve), the health panel,
manual order entry during an outage and the reconciliation report. `incidents.services` and
`incidents.reconcile` do the work; merchant users read the incidents touching their channels
and nothing more."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orderguard.analysis.export import XLSX_TYPE, neutralise
from orderguard.core import clock
from orderguard.core.errors import NotFound
from orderguard.incidents.models import (
    ACTIVE_STATUSES,
    ChannelHealth,
    Incident,
    IncidentStatus,
    ManualStatus,
)
from orderguard.incidents.reconcile import (
    MANUAL_ROLES,
    ManualIn,
    ManualLine,
    manual_order_enter,
    manual_orders,
    manual_orders_upload,
    manual_settle,
    manual_template_xlsx,
)
from orderguard.incidents.services import (
    INCIDENT_ROLES,
    IncidentRefused,
    incident_acknowledge,
    incident_assign,
    incident_contact,
    incident_resolve,
    incident_update,
    visible_incidents,
)
from orderguard.monitoring.health import check_disk, check_outbox_backlog, system_health
from orderguard.orders.models import Channel
from orderguard.tenancy.access import Actor, staff_users, usernames_as_seen_by, visible
from orderguard.web.common import actor_or_refuse

ORDERS_SHOWN = 50
MANUAL_LINES = 5


def _refused(request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
    return render(request, "web/refused.html", {"message": message}, status=status)


@never_cache
@login_required
@require_GET
def incidents_page(request: HttpRequest) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    rows = list(
        visible_incidents(actor).select_related("channel", "assignee").order_by("-opened_at", "-pk")[:200]
    )
    active = [i for i in rows if i.status in ACTIVE_STATUSES]
    done = [i for i in rows if i.status not in ACTIVE_STATUSES]
    return render(
        request,
        "web/incidents.html",
        {"active": active, "done": done, "is_staff": actor.is_staff_role, "now": clock.now()},
    )


def _timeline(actor: Actor, incident: Incident) -> list[dict[str, Any]]:
    events = list(incident.events.order_by("occurred_at", "pk"))
    names = usernames_as_seen_by(
        actor=actor,
        usernames={e.actor_label.removeprefix("user:") for e in events if e.actor_label.startswith("user:")},
    )
    out = []
    for e in events:
        who = e.actor_label
        who = names.get(who.removeprefix("user:"), who) if who.startswith("user:") else _("系统")
        data = dict(e.data)
        if not actor.is_staff_role:
            data.pop("recipients", None)
            data.pop("assignee", None)
            data.pop("previous", None)
        out.append({"event": e, "who": who, "data": data})
    return out


@never_cache
@login_required
@require_GET
def incident_page(request: HttpRequest, incident_id: int) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    incident = (
        visible_incidents(actor)
        .select_related("channel", "assignee", "acknowledged_by", "resolved_by")
        .filter(pk=incident_id)
        .first()
    )
    if incident is None:
        raise Http404
    orders = visible(incident.orders.all(), actor).order_by("-paid_at", "-pk")
    may_act = actor.role in INCIDENT_ROLES and incident.status != IncidentStatus.RESOLVED
    staff_names = usernames_as_seen_by(
        actor=actor,
        usernames={
            u.get_username()
            for u in (incident.assignee, incident.acknowledged_by, incident.resolved_by)
            if u is not None
        },
    )

    def name(user: Any) -> str:
        return staff_names.get(user.get_username(), "") if user is not None else ""

    context = {
        "incident": incident,
        "is_staff": actor.is_staff_role,
        "may_act": may_act,
        "may_enter": actor.role in MANUAL_ROLES
        and incident.status in ACTIVE_STATUSES
        and incident.channel_id is not None,
        "assignee": name(incident.assignee),
        "acknowledged_by": name(incident.acknowledged_by),
        "resolved_by": name(incident.resolved_by),
        "merchants": list(incident.merchants.order_by("code")) if actor.is_staff_role else [],
        "timeline": _timeline(actor, incident),
        "contacts": list(incident.contacts.all()) if actor.is_staff_role else [],
        "orders": list(orders[:ORDERS_SHOWN]),
        "orders_total": orders.count(),
        "manual": list(visible(incident.manual_orders.select_related("order"), actor).order_by("pk")),
        "assignees": list(staff_users().order_by("username")) if may_act else [],
    }
    return render(request, "web/incident.html", context)


def _act(request: HttpRequest, incident_id: int, do: Callable[[Actor], str]) -> HttpResponse:
    """Run one action on the incident; a refusal is a message and changes nothing. A role that
    may not act gets the refusal page (403), another merchant's incident 404."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if not visible_incidents(actor).filter(pk=incident_id).exists():
        raise Http404
    if actor.role not in INCIDENT_ROLES:
        return _refused(request, _("只有技术值班、仓库主管和管理员可以处理故障"))
    try:
        messages.success(request, do(actor))
    except IncidentRefused as exc:
        messages.error(request, str(exc))
    except NotFound as exc:
        raise Http404 from exc
    return redirect("web:incident", incident_id=incident_id)


@never_cache
@login_required
@require_POST
def incident_acknowledge_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    def ack(actor: Actor) -> str:
        incident_acknowledge(
            incident_id=incident_id, actor=actor, now=clock.now(), note=request.POST.get("note", "")
        )
        return _("已确认故障，开始处理")

    return _act(request, incident_id, ack)


@never_cache
@login_required
@require_POST
def incident_assign_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    raw = request.POST.get("assignee", "")

    def assign(actor: Actor) -> str:
        if not raw.isdigit() or len(raw) > 18:
            raise IncidentRefused("ASSIGNEE_NOT_ELIGIBLE", _("请选择处理人"), field="assignee")
        incident = incident_assign(
            incident_id=incident_id, assignee_id=int(raw), actor=actor, now=clock.now()
        )
        return _("已指派给 %(user)s") % {
            "user": incident.assignee.get_username() if incident.assignee else ""
        }

    return _act(request, incident_id, assign)


@never_cache
@login_required
@require_POST
def incident_update_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    def update(actor: Actor) -> str:
        event = incident_update(
            incident_id=incident_id, actor=actor, text=request.POST.get("note", ""), now=clock.now()
        )
        return _("进展已发布，已通知 %(count)d 个收件方") % {"count": event.data.get("notified", 0)}

    return _act(request, incident_id, update)


@never_cache
@login_required
@require_POST
def incident_contact_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    def contact(actor: Actor) -> str:
        incident_contact(
            incident_id=incident_id,
            actor=actor,
            contact=request.POST.get("contact", ""),
            via=request.POST.get("via", ""),
            ticket_ref=request.POST.get("ticket_ref", ""),
            notes=request.POST.get("notes", ""),
            now=clock.now(),
        )
        return _("已记录平台技术支持联系")

    return _act(request, incident_id, contact)


@never_cache
@login_required
@require_POST
def incident_resolve_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    def resolve(actor: Actor) -> str:
        incident_resolve(
            incident_id=incident_id, actor=actor, text=request.POST.get("resolution", ""), now=clock.now()
        )
        return _("故障已恢复")

    return _act(request, incident_id, resolve)


# --- health -------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def health_page(request: HttpRequest) -> HttpResponse:
    """Each channel's state as the last evaluation judged it; OrderGuard's own components for
    staff (a merchant user sees its own channels only)."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    channels = visible(Channel.objects.filter(active=True), actor).order_by("code")
    states = {h.channel_id: h for h in ChannelHealth.objects.filter(channel__in=channels)}
    active = {
        i.channel_id: i
        for i in Incident.objects.filter(status__in=ACTIVE_STATUSES, channel__in=channels).order_by(
            "opened_at"
        )
    }
    rows = [{"channel": c, "health": states.get(c.pk), "incident": active.get(c.pk)} for c in channels]
    components = []
    if actor.is_staff_role:
        now = clock.now()
        components = [*system_health(now=now).components, check_outbox_backlog(now=now), check_disk()]
    return render(request, "web/health.html", {"rows": rows, "components": components})


# --- manual mode --------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def manual_entry(request: HttpRequest, incident_id: int) -> HttpResponse:
    """A fast entry form for urgent orders while the incident's channel is down (H4.2)."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    incident = visible_incidents(actor).select_related("channel").filter(pk=incident_id).first()
    if incident is None:
        raise Http404
    if actor.role not in MANUAL_ROLES:
        return _refused(request, _("只有仓库员工可以手工录单"))
    values = {k: request.POST.get(k, "") for k in _FORM_FIELDS}
    lines_in = [
        (request.POST.get(f"sku_{i}", ""), request.POST.get(f"quantity_{i}", "")) for i in range(MANUAL_LINES)
    ]
    error_field = ""
    if request.method == "POST":
        if incident.channel is None:
            messages.error(request, _("该故障不涉及渠道，不能手工录单"))
            return redirect("web:incident", incident_id=incident_id)
        lines: list[ManualLine] = []
        bad_quantity = ""
        for sku, qty in lines_in:
            if not sku.strip() and not qty.strip():
                continue
            if sku.strip() and not qty.strip().isdigit():
                bad_quantity = f"lines[{len(lines)}].quantity"
                break
            lines.append(ManualLine(sku=sku, quantity=int(qty) if qty.strip().isdigit() else 0))
        try:
            if bad_quantity:
                raise IncidentRefused("FIELD_INVALID", _("数量必须是大于 0 的整数"), field=bad_quantity)
            order = manual_order_enter(
                actor=actor,
                channel=incident.channel,
                data=ManualIn(
                    recipient_name=values["recipient_name"],
                    recipient_phone=values["recipient_phone"],
                    province=values["province"],
                    city=values["city"],
                    district=values["district"],
                    address=values["address"],
                    order_id=values["order_id"],
                    buyer_note=values["buyer_note"],
                    lines=lines,
                ),
                now=clock.now(),
            )
        except IncidentRefused as exc:
            messages.error(request, str(exc))
            error_field = exc.field
        else:
            messages.success(request, _("手工订单 %(id)s 已录入") % {"id": order.platform_order_id})
            return redirect("web:incident_manual", incident_id=incident_id)
    context = {
        "incident": incident,
        "values": values,
        "lines": lines_in,
        "error_field": error_field,
        "manual": list(incident.manual_orders.select_related("order").order_by("-pk")[:50]),
    }
    return render(request, "web/manual_order.html", context, status=422 if error_field else 200)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UPLOAD_MAX_BYTES = 5 * 1024 * 1024


@never_cache
@login_required
@require_GET
def manual_template(request: HttpRequest) -> HttpResponse:
    """The manual-entry spreadsheet (the generic layout's columns), to fill in offline."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    response = HttpResponse(manual_template_xlsx(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="manual-orders.xlsx"'
    return response


@never_cache
@login_required
@require_POST
def manual_upload(request: HttpRequest, incident_id: int) -> HttpResponse:
    """A filled spreadsheet of urgent orders, imported as manual orders (H4.2)."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    incident = visible_incidents(actor).select_related("channel").filter(pk=incident_id).first()
    if incident is None:
        raise Http404
    if actor.role not in MANUAL_ROLES:
        return _refused(request, _("只有仓库员工可以手工录单"))
    upload = request.FILES.get("file")
    if incident.channel is None or upload is None or (upload.size or 0) > UPLOAD_MAX_BYTES:
        messages.error(request, _("请选择不超过 5 MiB 的订单表格"))
        return redirect("web:incident_manual", incident_id=incident_id)
    try:
        result = manual_orders_upload(
            actor=actor,
            channel=incident.channel,
            name=upload.name or "upload.xlsx",
            data=upload.read(),
            now=clock.now(),
        )
    except IncidentRefused as exc:
        messages.error(request, str(exc))
        return redirect("web:incident_manual", incident_id=incident_id)
    messages.success(
        request,
        _(
            "已录入 %(entered)d 个手工订单；%(existing)d 个订单渠道已有，未改为手工订单；%(refused)d 行被拒绝（见导入批次 %(batch)d）"
        )
        % {
            "entered": len(result.entered),
            "existing": len(result.existing),
            "refused": result.refused,
            "batch": result.batch_id,
        },
    )
    return redirect("web:incident_manual", incident_id=incident_id)


_FORM_FIELDS = (
    "order_id",
    "recipient_name",
    "recipient_phone",
    "province",
    "city",
    "district",
    "address",
    "buyer_note",
)


# --- reconciliation -----------------------------------------------------------------------


def _report_rows(actor: Actor) -> list[dict[str, Any]]:
    rows = []
    for m in manual_orders(actor)[:500]:
        rows.append(
            {
                "manual": m,
                "order": m.order,
                "channel": m.channel.code,
                "status": m.status,
                "label": m.get_status_display(),
                "candidates": m.candidates,
            }
        )
    return rows


@never_cache
@login_required
@require_GET
def reconciliation_page(request: HttpRequest) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    rows = _report_rows(actor)
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ManualStatus.values}
    return render(
        request,
        "web/reconciliation.html",
        {"rows": rows, "counts": counts, "may_settle": actor.role in MANUAL_ROLES},
    )


@never_cache
@login_required
@require_GET
def reconciliation_xlsx(request: HttpRequest) -> HttpResponse:
    from openpyxl import Workbook

    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(_("对账")))
    sheet.append(
        [
            str(_("渠道")),
            str(_("录入单号")),
            str(_("订单")),
            str(_("平台订单号")),
            str(_("状态")),
            str(_("匹配方式")),
            str(_("候选订单")),
            str(_("录入时间")),
        ]
    )
    for r in _report_rows(actor):
        m = r["manual"]
        # typed in by staff or sent by a platform: never run as a formula
        sheet.append(
            [
                neutralise(str(r["channel"])),
                neutralise(m.entered_id),
                m.order_id,
                neutralise(m.matched_platform_id or ""),
                str(r["label"]),
                m.matched_by,
                ",".join(str(c) for c in m.candidates),
                m.entered_at.isoformat(),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="reconciliation.xlsx"'
    return response


@never_cache
@login_required
@require_POST
def reconciliation_settle(request: HttpRequest, manual_id: int) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if actor.role not in MANUAL_ROLES:
        return _refused(request, _("只有仓库员工可以处理对账冲突"))
    try:
        manual = manual_settle(
            actor=actor, manual_id=manual_id, choice=request.POST.get("choice", ""), now=clock.now()
        )
    except NotFound as exc:
        raise Http404 from exc
    except IncidentRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已处理：%(status)s") % {"status": manual.get_status_display()})
    return redirect("web:reconciliation")
