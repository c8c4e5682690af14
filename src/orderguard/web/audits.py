"""Daily sample audit pages (D4, B5), warehouse staff only: the days with their sample, failed
share, estimate and interval and a trend chart, the plan and "draw now" for managers; one
audit's drawn orders with their checklist forms. A merchant user sees nothing of them."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from orderguard.audits.errors import AuditRefused, audit_error_message
from orderguard.audits.models import DEFAULT_WEIGHTS, AuditLine
from orderguard.audits.selectors import AuditSummary, audit_get, audit_lines, audit_summaries, audits_visible
from orderguard.audits.services import (
    CONFIRM_ROLES,
    DRAW_ROLES,
    ITEMS,
    PLAN_ROLES,
    audit_draw,
    audit_line_confirm,
    audit_plan_set,
    local_day,
    plan_for,
)
from orderguard.catalog.models import Warehouse
from orderguard.core import clock
from orderguard.core.choices import ExceptionType
from orderguard.core.errors import NotFound
from orderguard.core.findings import Finding
from orderguard.tenancy.access import Actor
from orderguard.validation.checks import explain
from orderguard.web.common import actor_or_refuse

AUDITS_SHOWN = 60
ITEM_LABELS = {
    "address": gettext_lazy("地址详细"),
    "recipient": gettext_lazy("收件人完整"),
    "items": gettext_lazy("商品与库存、平台一致"),
}
FACTOR_LABELS = {
    "merchant": gettext_lazy("商家近期异常"),
    "sku": gettext_lazy("SKU 近期异常"),
    "channel": gettext_lazy("渠道近期异常"),
    "area": gettext_lazy("收货地区近期异常"),
    "new_merchant": gettext_lazy("新商家"),
}


def _staff_or_refuse(request: HttpRequest) -> Actor | HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if not actor.is_staff_role:
        return render(request, "web/refused.html", {"message": _("抽检只对仓库员工开放")}, status=403)
    return actor


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _summary_view(s: AuditSummary) -> dict[str, Any]:
    e = s.estimate
    return {
        "audit": s.audit,
        "pending": s.pending,
        "checked": e.checked,
        "failed": e.failed,
        "raw": _pct(e.raw_share),
        "share": _pct(e.share),
        "interval": "—" if e.low is None else f"{_pct(e.low)} – {_pct(e.high)}",
        "weighted": e.weighted,
    }


@never_cache
@login_required
@require_GET
def audits_page(request: HttpRequest) -> HttpResponse:
    actor = _staff_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    audits = list(audits_visible(actor=actor)[:AUDITS_SHOWN])
    summaries = audit_summaries(audits)
    warehouses = list(Warehouse.objects.filter(active=True).order_by("code"))
    # the trend: per warehouse, the estimate and its interval per day (oldest first)
    trend: dict[str, dict[str, list[Any]]] = {}
    for s in reversed(summaries):
        if s.estimate.share is None:
            continue
        series = trend.setdefault(s.audit.warehouse.code, {"days": [], "share": [], "low": [], "high": []})
        series["days"].append(s.audit.day.isoformat())
        series["share"].append(round(s.estimate.share * 100, 2))
        series["low"].append(round((s.estimate.low or 0) * 100, 2))
        series["high"].append(round((s.estimate.high or 0) * 100, 2))
    context = {
        "rows": [_summary_view(s) for s in summaries],
        "trend": trend,
        "trend_labels": {"share": _("未通过比例估计"), "low": _("区间下限"), "high": _("区间上限")},
        "may_draw": actor.role in DRAW_ROLES,
        "may_plan": actor.role in PLAN_ROLES,
        "warehouses": warehouses,
        "plans": [(w, plan_for(warehouse_id=w.pk)) for w in warehouses],
        "factors": [(k, FACTOR_LABELS[k]) for k in DEFAULT_WEIGHTS],
        "today": local_day(clock.now()).isoformat(),
    }
    return render(request, "web/audits.html", context)


@never_cache
@login_required
@require_POST
def audit_draw_now(request: HttpRequest) -> HttpResponse:
    """Managers: draw a warehouse's sample of a day now (today by default); a day drawn
    already opens as it is."""
    actor = _staff_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if actor.role not in DRAW_ROLES:
        return render(request, "web/refused.html", {"message": _("只有仓库主管和管理员可以抽取")}, status=403)
    warehouse_id = _int(request.POST.get("warehouse"))
    warehouse = Warehouse.objects.filter(pk=warehouse_id).first() if warehouse_id else None
    if warehouse is None:
        messages.error(request, _("请选择仓库"))
        return redirect("web:audits")
    now = clock.now()
    try:
        day = date.fromisoformat(request.POST.get("day") or local_day(now).isoformat())
        result = audit_draw(warehouse_id=warehouse.pk, day=day, now=now, actor_label=actor.label)
    except ValueError:
        messages.error(request, _("日期无效"))
        return redirect("web:audits")
    except AuditRefused as exc:
        messages.error(request, audit_error_message(exc))
        return redirect("web:audits")
    audit = result.audit
    if not result.created:
        messages.info(request, _("这一天已经抽取过，显示原来的抽检"))
    elif audit.population == 0:
        messages.info(request, _("当天没有订单，已记录抽检 0 笔"))
    else:
        messages.success(
            request,
            _("已抽取 %(drawn)d 笔（当天共 %(population)d 笔）")
            % {"drawn": audit.drawn, "population": audit.population},
        )
    return redirect("web:audit", audit_id=audit.pk)


def _int(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 12 else None


@never_cache
@login_required
@require_POST
def audit_plan_post(request: HttpRequest) -> HttpResponse:
    actor = _staff_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    if actor.role not in PLAN_ROLES:
        return render(
            request, "web/refused.html", {"message": _("只有仓库主管和管理员可以修改抽检计划")}, status=403
        )
    warehouse_id = _int(request.POST.get("warehouse"))
    warehouse = Warehouse.objects.filter(pk=warehouse_id).first() if warehouse_id else None
    if warehouse is None:
        messages.error(request, _("请选择仓库"))
        return redirect("web:audits")
    min_count, max_count = _int(request.POST.get("min_count")), _int(request.POST.get("max_count"))
    if min_count is None or max_count is None:
        messages.error(request, _("抽检数量无效：最少数不能大于最多数"))
        return redirect("web:audits")
    try:
        audit_plan_set(
            actor=actor,
            warehouse_id=warehouse.pk,
            share_percent=request.POST.get("share_percent", ""),
            min_count=min_count,
            max_count=max_count,
            risk_weighting=request.POST.get("risk_weighting") == "1",
            weights={
                k: request.POST[f"weight_{k}"] for k in DEFAULT_WEIGHTS if request.POST.get(f"weight_{k}")
            },
        )
    except AuditRefused as exc:
        messages.error(request, audit_error_message(exc))
        return redirect("web:audits")
    messages.success(request, _("抽检计划已保存"))
    return redirect("web:audits")


_ITEM_TYPES = {"address": ExceptionType.RECIPIENT_ERROR, "recipient": ExceptionType.RECIPIENT_ERROR}


def _line_view(line: AuditLine) -> dict[str, Any]:
    items = []
    for item in ITEMS:
        proposal = line.proposal.get(item, {})
        kind = _ITEM_TYPES.get(item, ExceptionType.PRODUCT_ERROR)
        decided = line.items.get(item) if line.items else None
        items.append(
            {
                "name": item,
                "label": ITEM_LABELS[item],
                "proposed": proposal.get("result", "pass"),
                "problems": [
                    explain(Finding(code=c, type=kind, field="")) for c in proposal.get("codes", [])
                ],
                "warnings": [
                    explain(Finding(code=c, type=kind, field="")) for c in proposal.get("warnings", [])
                ],
                "decided": decided,
            }
        )
    return {
        "line": line,
        "items": items,
        "reasons": [
            (FACTOR_LABELS.get(k, k), f"{v * 100:.0f}%" if k != "new_merchant" else "")
            for k, v in line.reasons.items()
        ],
        "cases": list(line.cases.all()),
    }


@never_cache
@login_required
@require_GET
def audit_page(request: HttpRequest, audit_id: int) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        audit = audit_get(actor=actor, audit_id=audit_id)
    except NotFound:
        raise Http404 from None
    [summary] = audit_summaries([audit])
    context = {
        "audit": audit,
        "summary": _summary_view(summary),
        "lines": [_line_view(line) for line in audit_lines(audit=audit)],
        "may_confirm": actor.role in CONFIRM_ROLES,
    }
    return render(request, "web/audit.html", context)


@never_cache
@login_required
@require_POST
def audit_line_confirm_post(request: HttpRequest, line_id: int) -> HttpResponse:
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    audit_id = AuditLine.objects.filter(pk=line_id).values_list("audit_id", flat=True).first()
    if audit_id is None or not actor.is_staff_role:
        raise Http404
    items = {
        item: {"result": request.POST.get(item, ""), "note": request.POST.get(f"{item}_note", "")}
        for item in ITEMS
    }
    try:
        result = audit_line_confirm(
            line_id=line_id, actor=actor, items=items, now=clock.now(), note=request.POST.get("note", "")
        )
    except NotFound:
        raise Http404 from None
    except AuditRefused as exc:
        if exc.code == "ROLE":
            return render(request, "web/refused.html", {"message": audit_error_message(exc)}, status=403)
        item = exc.field.removeprefix("items.")
        label = ITEM_LABELS.get(item)
        text = audit_error_message(exc)
        messages.error(request, f"{label}：{text}" if label else text)
        return redirect(f"/audits/{audit_id}/#line-{line_id}")
    if not result.cases:
        messages.success(request, _("已确认：全部通过"))
    for case, opened in result.cases:
        if opened:
            messages.success(request, _("已确认：已创建异常单 #%(case)s") % {"case": case.pk})
        else:
            messages.success(request, _("已确认：已加入异常单 #%(case)s") % {"case": case.pk})
    return redirect(f"/audits/{audit_id}/#line-{line_id}")
