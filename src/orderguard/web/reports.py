"""The analysis page /reports/ (S3): a period picker, charts, tables with links to the queue,
and the same report as CSV and XLSX. Thin: `analysis.periods` checks the period,
`analysis.selectors` builds the report; a merchant user asking for another merchant's report
gets a refusal page (403), a bad period the page with the reason (400)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from orderguard.analysis.actions import (
    EDITOR_ROLES,
    ActionRefused,
    action_create,
    action_owners,
    action_set_status,
    actions_with_effect,
)
from orderguard.analysis.advice import findings_build
from orderguard.analysis.choices import ActionStatus
from orderguard.analysis.export import XLSX_TYPE, report_csv, report_xlsx
from orderguard.analysis.periods import MAX_DAYS, PRESETS, PeriodInvalid, period_message, period_parse
from orderguard.analysis.selectors import (
    TOP,
    ReportRefused,
    Scope,
    period_sums,
    report_build,
    report_is_empty,
    report_scope,
)
from orderguard.analysis.wording import breakdown_titles, definitions, duration_text, percent
from orderguard.cases.choices import CaseOutcome
from orderguard.cases.selectors import QUEUE_ALL, QUEUE_CLOSED
from orderguard.core import clock
from orderguard.core.choices import DetectionSource, ExceptionType
from orderguard.core.errors import NotFound
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Merchant
from orderguard.web.audits import ITEM_LABELS
from orderguard.web.common import actor_or_refuse

EXPORT_FORMATS = ("csv", "xlsx", "pdf")


def _presets() -> list[tuple[str, str]]:
    labels = {
        "this_week": _("本周"),
        "last_week": _("上周"),
        "this_month": _("本月"),
        "last_month": _("上月"),
    }
    return [(p, labels[p]) for p in PRESETS]


class _Refused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _request_report(request: HttpRequest, actor: Actor) -> tuple[dict[str, Any], Scope]:
    """The report the query asks for, or `_Refused` carrying the answer to give instead."""
    today = timezone.localdate(clock.now())
    q = request.GET
    try:
        period = period_parse(
            date_from=q.get("from", ""), date_to=q.get("to", ""), today=today, preset=q.get("period", "")
        )
        scope = report_scope(actor=actor, merchant_code=q.get("merchant", ""))
    except PeriodInvalid as exc:
        raise _Refused(_page(request, actor, error=period_message(exc), status=400)) from None
    except ReportRefused:
        raise _Refused(
            render(request, "web/refused.html", {"message": _("你只能查看本商家的报表")}, status=403)
        ) from None
    except NotFound:
        raise _Refused(_page(request, actor, error=_("没有这个商家"), status=404)) from None
    sums = period_sums(scope, period)
    report = report_build(scope=scope, period=period, actor=actor, sums=sums)
    report["findings"] = findings_build(scope=scope, period=period, sums=sums, audits=actor.is_staff_role)
    report["actions"] = actions_with_effect(actor=actor, today=today)
    return report, scope


def _queue_link(**filters: str) -> str:
    """The work queue filtered to the cases behind a number: the filters given (with the
    period as the opening dates and status "all" for a count of new cases, as the closing
    dates and status "closed" for a count of closings; see `_Links`)."""
    return "/queue/?" + urlencode({k: v for k, v in filters.items() if v})


class _Links:
    """The queue links of one report's numbers. A count of new cases is by opening day: the
    cases opened in the period, whatever their status now; a count of closings is by closing
    day: the cases closed in the period (with the outcome for the succeeded, failed and
    cancelled counts). The closings are counted from the case events, the list from the cases:
    a case closed in the period and reopened since is not in the list until closed again, and
    one closed twice is listed once."""

    def __init__(self, period: dict[str, Any], merchant: str) -> None:
        self.merchant = merchant
        self._opened = {"status": QUEUE_ALL, "opened_from": period["from"], "opened_to": period["to"]}
        self._closed = {"status": QUEUE_CLOSED, "closed_from": period["from"], "closed_to": period["to"]}

    def opened(self, **filters: str) -> str:
        return _queue_link(**{**filters, "merchant": filters.get("merchant", self.merchant), **self._opened})

    def closed(self, outcome: str = "", **filters: str) -> str:
        merchant = filters.get("merchant", self.merchant)
        return _queue_link(**{**filters, "merchant": merchant, **self._closed, "outcome": outcome})

    def steps(self, *, type: str, step: str, same: bool) -> dict[str, str]:
        """The links of a step row's completed and timed counts: the cases of the type closed
        in the period that went through the step. The timed count links there only when it is
        the completed count (`same`): a closing without its step's times is in that list too."""
        closed = self.closed(type=type, step=step)
        return {"closed": closed, "timed": closed if same else ""}

    def counts(self, **filters: str) -> dict[str, str]:
        """The links of a row's new, closed, succeeded, failed and cancelled counts."""
        return {
            "opened": self.opened(**filters),
            "closed": self.closed(**filters),
            **{o: self.closed(outcome=o, **filters) for o in CaseOutcome.values},
        }


def _page(
    request: HttpRequest,
    actor: Actor,
    *,
    report: dict[str, Any] | None = None,
    scope: Scope | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    q = request.GET
    context: dict[str, Any] = {
        "presets": _presets(),
        "picked": q.get("period", "") if not (q.get("from") or q.get("to")) else "",
        "date_from": q.get("from", ""),
        "date_to": q.get("to", ""),
        "merchant_code": q.get("merchant", ""),
        "merchants": list(Merchant.objects.order_by("code")) if actor.is_staff_role else [],
        "is_staff": actor.is_staff_role,
        "error": error,
        "max_days": MAX_DAYS,
        "report": report,
        "can_edit": actor.role in EDITOR_ROLES,
        # the owners' options once, for every finding's form
        "owner_options": format_html_join(
            "", '<option value="{}">{}</option>', ((u.pk, u.username) for u in action_owners())
        )
        if actor.role in EDITOR_ROLES
        else "",
        "statuses": ActionStatus.choices,
        # the finding forms' labels, translated once for every row
        "form": {
            "action": reverse("web:report_action_create"),
            "effect": _("预期效果"),
            "owner": _("负责人"),
            "due": _("截止日期"),
            "create": _("创建措施"),
        },
        "here": request.get_full_path(),
    }
    if report is not None:
        merchant = report["merchant"]["code"] if report["merchant"] else ""
        link = _Links(report["period"], merchant)
        report["totals"]["links"] = link.counts()
        for row in report["types"]:
            row["handling_text"] = {k: duration_text(v) for k, v in row["handling"].items()}
            row["working_text"] = {k: duration_text(v) for k, v in row["working"].items()}
            row["links"] = link.counts(type=row["type"])
        for row in report["steps"]:
            row["handling_text"] = {k: duration_text(v) for k, v in row["handling"].items()}
            row["working_text"] = {k: duration_text(v) for k, v in row["working"].items()}
            # the steps completed (and timed) are the closings of the cases that went through
            # the step; a row without a step (closings of no known step) has nothing to filter on
            row["links"] = (
                link.steps(type=row["type"], step=row["step"], same=row["timed"] == row["closed"])
                if row["step"]
                else {}
            )
        for row in report["sources"]:
            row["links"] = link.counts(source=row["source"])
        keys: dict[str, Any] = {
            # a warehouse report's merchant rows name the merchant themselves
            "merchant": lambda r: {"merchant": r["key"]},
            "channel": lambda r: {"channel": r["key"]},
            "person": lambda r: {"assignee": r["key"] or "none"},
            "platform": lambda r: {"platform": r["key"]},
            # the SKU breakdown counts stock-outs
            "sku": lambda r: {"type": ExceptionType.OUT_OF_STOCK.value, "sku": r["key"]},
            "province": lambda r: {"province": r["key"]},
        }
        # a row without a province (or SKU) has nothing to filter the queue on: no link
        keyed = {"platform", "sku", "province"}
        for name, rows in report["breakdowns"].items():
            for row in rows:
                row["mean_text"] = duration_text(row["handling_mean"])
                linked = name in keys and (row["key"] or name not in keyed)
                row["links"] = link.counts(**keys[name](row)) if linked else {}
        for f in report["findings"]:
            f.update(_finding_texts(f))
            f["queue"] = _finding_link(f, link=link)
        query = {k: v for k, v in q.items() if k in ("period", "from", "to", "merchant") and v}
        step_times = [r for r in report["steps"] if r["timed"]]
        context.update(
            {
                "definitions": definitions(),
                "step_times": step_times,
                # a bar per step, whatever their number
                "steps_chart_height": 70 + 30 * len(step_times),
                "empty": report_is_empty(report),
                "totals_rate": percent(report["totals"]["success_rate"]),
                "chart": {
                    "types": [r["label"] for r in report["types"]],
                    "opened": [r["opened"] for r in report["types"]],
                    "days": report["trend"]["days"],
                    "series": [
                        {"name": r["label"], "data": report["trend"]["series"][r["type"]]}
                        for r in report["types"]
                    ],
                    "previous": report["trend"]["previous_total"],
                    "median_h": [_hours(r["handling"]["median"]) for r in report["types"]],
                    "p90_h": [_hours(r["handling"]["p90"]) for r in report["types"]],
                    "working_median_h": [_hours(r["working"]["median"]) for r in report["types"]],
                    "working_p90_h": [_hours(r["working"]["p90"]) for r in report["types"]],
                    "steps": [f"{r['type_label']} · {r['step_label']}" for r in step_times],
                    "step_median_h": [_hours(r["handling"]["median"]) for r in step_times],
                    "step_working_median_h": [_hours(r["working"]["median"]) for r in step_times],
                },
                "chart_labels": {
                    "previous": _("上一时段合计"),
                    "median": _("中位数（小时）"),
                    "p90": _("90% 分位（小时）"),
                    "working_median": _("工作时间中位数（小时）"),
                    "working_p90": _("工作时间 90% 分位（小时）"),
                },
                "export_query": urlencode(query),
                "top": TOP,
                "breakdowns": [
                    (name, title, report["breakdowns"][name][:TOP])
                    for name, title in breakdown_titles().items()
                    if name != "merchant" or report["merchant"] is None
                    if name != "person" or actor.is_staff_role
                ],
                "scope_name": scope.merchant.name if scope and scope.merchant else _("全仓"),
            }
        )
    return render(request, "web/reports.html", context, status=status)


def _finding_link(f: dict[str, Any], *, link: _Links) -> str:
    """The work queue filtered to the cases behind a finding's orders affected (opened in the
    period, open or closed); no link when the finding names nothing to filter on."""
    kind, subject = f["kind"], f["subject"]
    if not subject:
        return ""
    if kind == "sku_stockouts":
        if not f["merchant"]:
            return ""
        return link.opened(type=ExceptionType.OUT_OF_STOCK.value, sku=subject, merchant=f["merchant"])
    if kind == "channel_faults":
        return link.opened(type=ExceptionType.SYSTEM_FAULT.value, channel=subject)
    if kind == "area_address_errors":
        return link.opened(type=ExceptionType.RECIPIENT_ERROR.value, province=subject)
    if kind == "merchant_address_errors":
        return link.opened(type=ExceptionType.RECIPIENT_ERROR.value, merchant=subject)
    if kind == "audit_failures":
        return link.opened(source=DetectionSource.SAMPLE_AUDIT.value, merchant=subject)
    return ""


def _finding_texts(f: dict[str, Any]) -> dict[str, str]:
    """A finding as the page words it: what was found, the advice (and its inputs) and the
    expected effect an action on it starts with."""
    kind = f["kind"]
    if kind == "sku_stockouts":
        advice = f["advice"]
        current = f["current_safety_stock"]
        return {
            "text": _("反复缺货（%(days)s 天）") % {"days": f["days"]},
            "advice_text": _("建议安全库存 %(n)s（现为 %(current)s）")
            % {"n": advice["suggested"], "current": "—" if current is None else current},
            "advice_detail": _(
                "z·σ·√L + d̄·L，z=%(z)s，日需求均值 d̄=%(mean)s，标准差 σ=%(std)s（%(days)s 天），补货周期 L=%(lead)s 天"
            )
            % {
                "z": advice["z"],
                "mean": advice["demand_mean"],
                "std": advice["demand_std"],
                "days": advice["days"],
                "lead": advice["lead_days"],
            },
            "effect_text": _("将 %(sku)s 的安全库存提高到 %(n)s")
            % {"sku": f["subject"], "n": advice["suggested"]},
        }
    if kind == "audit_failures":
        worst = next(iter(f["items"]), "")
        return {
            "text": _("抽检不合格率高（%(share)s%%，95%% 区间 %(low)s%%–%(high)s%%，抽检 %(checked)s 单）")
            % {"share": f["share"], "low": f["low"], "high": f["high"], "checked": f["checked"]},
            "advice_text": _("与商家复核订单信息，不合格最多的一项：%(item)s")
            % {"item": ITEM_LABELS.get(worst, worst)}
            if worst
            else _("与商家复核订单信息的采集"),
            "advice_detail": "",
            "effect_text": "",
        }
    if kind == "channel_faults":
        text = _("渠道反复故障（%(days)s 天，共 %(minutes)s 分钟）") % {
            "days": f["days"],
            "minutes": f["outage_minutes"],
        }
        advice_text = _("与该平台的技术支持加强对接，复盘故障原因")
    else:
        text = _("该地区地址错误多") if kind == "area_address_errors" else _("该商家地址错误多")
        advice_text = _("提醒商家核对收货信息的采集，或加强导入校验")
    return {
        "text": text,
        "advice_text": advice_text,
        "advice_detail": "",
        "effect_text": _("减少 %(what)s 的异常") % {"what": f["subject"]},
    }


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


@never_cache
@login_required
@require_GET
def reports_page(request: HttpRequest) -> HttpResponse:
    """The report of the period and merchant the query names (default: this month, the whole
    warehouse for staff, the user's merchant for a merchant user)."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        report, scope = _request_report(request, actor)
    except _Refused as refused:
        return refused.response
    return _page(request, actor, report=report, scope=scope)


def _download_name(report: dict[str, Any], ext: str) -> str:
    who = report["merchant"]["code"] if report["merchant"] else "all"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in who)
    return f'attachment; filename="report-{safe}-{report["period"]["from"]}-{report["period"]["to"]}.{ext}"'


@never_cache
@login_required
@require_GET
def reports_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The report of the page's query as CSV (UTF-8 with a BOM, one section per table), XLSX
    (a sheet per table) or PDF (`analysis.pdf`, in the user's language)."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        report, _scope = _request_report(request, actor)
    except _Refused as refused:
        return refused.response
    if fmt == "pdf":
        from orderguard.analysis.pdf import report_pdf

        response = HttpResponse(report_pdf(report), content_type="application/pdf")
    elif fmt == "csv":
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(report_xlsx(report), content_type=XLSX_TYPE)
    response["Content-Disposition"] = _download_name(report, fmt)
    return response


def _back(request: HttpRequest) -> HttpResponseRedirect:
    """Back to the report page the form was posted from, never elsewhere."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return HttpResponseRedirect(target if safe and target.startswith("/reports/") else "/reports/")


def _action_refusal(exc: ActionRefused) -> str:
    if exc.reason == ActionRefused.ROLE:
        return _("只有仓库主管和管理员可以管理改进措施")
    if exc.reason == ActionRefused.NOT_FOUND:
        return _("找不到该改进措施")
    return _("改进措施的内容无效：%(field)s") % {"field": exc.field}


@never_cache
@login_required
@require_POST
def action_create_view(request: HttpRequest) -> HttpResponse:
    """A finding of the page becomes an improvement action (S4)."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    p = request.POST
    try:
        due = date.fromisoformat(p.get("due_on", "")) if p.get("due_on") else None
    except ValueError:
        due = None
    target = p.get("target_value", "")
    owner = p.get("owner", "")
    try:
        action_create(
            actor=actor,
            kind=p.get("kind", ""),
            subject=p.get("subject", ""),
            merchant_code=p.get("merchant", ""),
            owner_id=int(owner) if owner.isdigit() and len(owner) < 18 else None,
            due_on=due,
            expected_effect=p.get("expected_effect", ""),
            target_value=int(target) if target.isdigit() and len(target) < 9 else None,
            now=clock.now(),
        )
    except ActionRefused as exc:
        if exc.reason == ActionRefused.ROLE:
            return render(request, "web/refused.html", {"message": _action_refusal(exc)}, status=403)
        messages.error(request, _action_refusal(exc))
        return _back(request)
    messages.success(request, _("已创建改进措施"))
    return _back(request)


@never_cache
@login_required
@require_POST
def action_status_view(request: HttpRequest, action_id: int) -> HttpResponse:
    """Change an improvement action's status."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        action_set_status(
            actor=actor, action_id=action_id, status=request.POST.get("status", ""), now=clock.now()
        )
    except ActionRefused as exc:
        if exc.reason in (ActionRefused.ROLE, ActionRefused.NOT_FOUND):
            status = 403 if exc.reason == ActionRefused.ROLE else 404
            return render(request, "web/refused.html", {"message": _action_refusal(exc)}, status=status)
        messages.error(request, _action_refusal(exc))
        return _back(request)
    messages.success(request, _("已更新改进措施"))
    return _back(request)
