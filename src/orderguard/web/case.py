"""The case page: the order, the masked recipient (revealed on demand, logged), lines,
findings in plain words, the deadline, the timeline, and the actions the state machine allows
this user now (htmx; without JavaScript the forms post and come back to the page).

Thin views: reads come from the case selectors, writes from the case services; a refusal is a
message on the page and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from orderguard.cases.choices import CaseStatus, WaitingOn
from orderguard.cases.contacts import case_contact_plan, contact_record, contacts_for_case
from orderguard.cases.disputes import DisputeRefused, dispute_refusal_message, orders_disputed_skus
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.ladder import AUTOMATIC, LADDER_TYPES, OUTCOMES_FOR, ContactChannel, ContactOutcome
from orderguard.cases.machine import REVEAL_ROLES, Action, ActionName, machine_for
from orderguard.cases.models import OPEN_STATUS_VALUES, ExceptionCase
from orderguard.cases.reasons import reason_text
from orderguard.cases.selectors import TimelineEntry, assignee_label, case_get, case_timeline
from orderguard.cases.services import (
    NOTE_MAX_LENGTH,
    case_assign,
    case_note_add,
    case_recipient_reveal,
    case_transition,
    require_staff,
)
from orderguard.catalog.models import DisputeAnswer, SkuDispute
from orderguard.core import clock
from orderguard.core.errors import NotFound
from orderguard.core.findings import Finding
from orderguard.core.masking import mask_detail, mask_name
from orderguard.intake.errors import (
    CorrectionRefused,
    LinesRefused,
    correction_refusal_message,
    lines_refusal_message,
)
from orderguard.intake.services import CORRECTABLE, order_correct, order_is_closed, order_lines_change
from orderguard.inventory.models import DecisionKind, MovementKind
from orderguard.orders.models import Order
from orderguard.sla.steps import step_text
from orderguard.specials.models import BuyerAnswer, ConfirmChannel
from orderguard.specials.services import SpecialRefused, special_error_message, step_label
from orderguard.tenancy.access import Actor, staff_users
from orderguard.tenancy.roles import STAFF_ROLES as STAFF_ROLE_LIST
from orderguard.validation.checks import explain
from orderguard.web.common import actor_or_refuse
from orderguard.web.queue import _due_state
from orderguard.web.specials import special_context

ACTION_LABELS = {
    ActionName.START: gettext_lazy("开始处理"),
    ActionName.WAIT_BUYER: gettext_lazy("等待买家回复"),
    ActionName.WAIT_MERCHANT: gettext_lazy("等待商家回复"),
    ActionName.RESUME: gettext_lazy("继续处理"),
    ActionName.RESOLVE: gettext_lazy("解决"),
    ActionName.CANCEL: gettext_lazy("取消异常单"),
    ActionName.REOPEN: pgettext_lazy("case action", "重新打开"),
    ActionName.DISPUTE_SKU: gettext_lazy("买家坚持原订单：请商家核实商品资料"),
}
FIELD_LABELS = {
    "name": gettext_lazy("姓名"),
    "phone": gettext_lazy("电话"),
    "address": gettext_lazy("详细地址"),
}


def refusal_message(exc: CaseActionNotAllowed) -> str:
    """A refusal in words for the page (the API maps the same codes in `api.errors`)."""
    return {
        CaseActionNotAllowed.ROLE: _("只有仓库员工可以处理异常单"),
        CaseActionNotAllowed.CASE_CLOSED: _("异常单已关闭"),
        CaseActionNotAllowed.ASSIGNEE_UNKNOWN: _("没有这个用户"),
        CaseActionNotAllowed.ASSIGNEE_NOT_ELIGIBLE: _("只能指派给在职的仓库员工"),
        CaseActionNotAllowed.ACTION_ROLE: _("你的角色不能执行这个操作"),
        CaseActionNotAllowed.TRANSITION_NOT_ALLOWED: _("异常单当前的状态不允许这个操作"),
        CaseActionNotAllowed.OUTCOME_INVALID: _("解决时请选择处理结果：成功或失败；其他操作不填结果"),
        CaseActionNotAllowed.NOTE_REQUIRED: _("请填写说明"),
        CaseActionNotAllowed.NOTE_INVALID: _("说明过长或含有不允许的字符"),
        CaseActionNotAllowed.OPEN_CASE_EXISTS: _("该订单已有同类型的未结异常单，不能重新打开"),
        CaseActionNotAllowed.REVEAL_NOT_ALLOWED: _("你的角色不能查看收件人的完整信息"),
        CaseActionNotAllowed.CONTACT_INVALID: _("联系方式或联系结果无效，或两者不匹配"),
    }.get(exc.code, _("操作未执行"))


def describe(entry: TimelineEntry) -> str:
    """An event in plain words, in the active language."""
    d = entry.data
    if entry.type == "opened":
        return _("创建异常单")
    if entry.type.startswith("stock."):
        return _("库存%(kind)s：%(sku)s %(quantity)s 件（%(warehouse)s）") % {
            "kind": MovementKind(entry.type[len("stock.") :]).label
            if entry.type[6:] in MovementKind.values
            else "",
            "sku": d.get("sku"),
            "quantity": d.get("quantity"),
            "warehouse": d.get("warehouse"),
        }
    if entry.type == "findings_changed":
        return _("问题有变化：现有 %(count)d 项") % {"count": len(d.get("after", []))}
    if entry.type == "status_changed":
        action = d.get("action", "")
        label = ACTION_LABELS.get(ActionName(action)) if action in ACTION_VALUES else None
        return str(label) if label else _("状态变更")
    if entry.type == "resolved":
        reason = d.get("reason", "")
        if reason == "recheck_passed":
            return _("复核已通过，自动解决")
        if reason == "order_not_ready":
            return _("订单不再发货，自动取消")
        if reason == "stock_arrived":
            return _("库存已到，订单已分配，自动解决")
        if reason == "lines_changed":
            return _("已修改商品，复核通过，自动解决")
        if reason == "transfer_arrived":
            return _("调拨已到货，订单已分配，自动解决")
        if reason in ("merchant_transfer", "merchant_substitute", "merchant_partial"):
            return _("按商家决定分配到库存，自动解决")
        if d.get("outcome") == "cancelled":
            return _("取消异常单")
        if d.get("outcome") == "failed":
            return _("已解决：失败")
        return _("已解决：成功")
    if entry.type == "reopened":
        return _("重新打开")
    if entry.type == "step_started":
        step = step_text(str(d.get("step", "")))
        if d.get("due_at"):
            return _("进入环节：%(step)s，截止 %(due)s") % {"step": step, "due": _when(d["due_at"])}
        return _("进入环节：%(step)s") % {"step": step}
    if entry.type == "assigned":
        if d.get("role") == "owner":
            return _("指定负责人：%(assignee)s") % {"assignee": d.get("assignee")}
        if d.get("previous"):
            return _("指派给 %(assignee)s（原处理人 %(previous)s）") % {
                "assignee": d.get("assignee"),
                "previous": d["previous"],
            }
        return _("指派给 %(assignee)s") % {"assignee": d.get("assignee")}
    if entry.type == "note":
        return _("备注")
    if entry.type == "decided":
        return _decided(d)
    if entry.type == "stock_moved":
        return _stock_moved(d)
    if entry.type == "notified":
        return _("已通知商家")
    if entry.type == "revealed":
        fields = "、".join(str(FIELD_LABELS.get(f, f)) for f in d.get("fields", []))
        return _("查看了收件人的%(fields)s") % {"fields": fields}
    if entry.type == "contacted":
        return _("联系：%(channel)s，%(outcome)s") % {
            "channel": _label(ContactChannel, d.get("channel")),
            "outcome": _label(ContactOutcome, d.get("outcome")),
        }
    if entry.type == "lines_changed":
        return _("修改商品：%(before)s → %(after)s") % {
            "before": _lines_text(d.get("before")),
            "after": _lines_text(d.get("after")),
        }
    if entry.type == "sku_disputed":
        if d.get("step") == "withdrawn":
            return _("异常单已关闭，撤回 SKU %(sku)s 的商品资料核实") % {"sku": d.get("sku_code")}
        if d.get("step") == "answered":
            return _("商家答复 SKU %(sku)s：%(answer)s") % {
                "sku": d.get("sku_code"),
                "answer": _label(DisputeAnswer, d.get("answer")),
            }
        return _("请商家核实 SKU %(sku)s 的商品资料") % {"sku": d.get("sku_code")}
    if entry.type == "feasibility":
        return _("可行性评估：可行") if d.get("feasible") else _("可行性评估：不可行")
    if entry.type == "quoted":
        return _("报价：%(fee)s 元") % {"fee": d.get("fee")}
    if entry.type == "confirmed":
        if d.get("alternative"):
            return _("替代方案：%(alternative)s，买家%(answer)s") % {
                "alternative": d.get("alternative"),
                "answer": _label(BuyerAnswer, d.get("answer")),
            }
        return _("买家%(answer)s（%(channel)s）") % {
            "answer": _label(BuyerAnswer, d.get("answer")),
            "channel": _label(ConfirmChannel, d.get("channel")),
        }
    if entry.type == "checklist":
        return _("核对：%(step)s") % {"step": step_label(d.get("step", ""))}
    if entry.type == "audited":
        from orderguard.web.audits import ITEM_LABELS

        items = "、".join(str(ITEM_LABELS.get(i, i)) for i in d.get("items", {}))
        return _("%(day)s 的抽检未通过：%(items)s") % {"day": d.get("day", ""), "items": items}
    if entry.type == "reported":
        from orderguard.web.feedback import kind_text

        return _("客服反馈（第 %(report)s 号）：%(kind)s") % {
            "report": d.get("report", ""),
            "kind": kind_text(str(d.get("kind", "")), str(d.get("special_kind", ""))),
        }
    if entry.type == "sla_warned":
        return _("临近超时，已提醒 %(who)s") % {"who": "、".join(d.get("recipients", [])) or "—"}
    if entry.type == "sla_overdue":
        return _("已超时，已提醒 %(who)s") % {"who": "、".join(d.get("recipients", [])) or "—"}
    if entry.type == "escalated":
        return _("超时升级，已通知 %(who)s") % {"who": "、".join(d.get("recipients", [])) or "—"}
    return entry.type


def _lines_text(lines: Any) -> str:
    """[[code, quantity], ...] as "TEE-M × 2、MUG × 1"."""
    if not isinstance(lines, list):
        return "—"
    return "、".join(f"{code} × {quantity}" for code, quantity in lines) or "—"


def _when(value: Any) -> str:
    """An ISO time from event data, in the warehouse's time zone, to the minute."""
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return "—"
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(at) else "—"


def _decided(d: dict[str, Any]) -> str:
    """A merchant's stock-out decision on the case (H1.2): taken, applied, or waiting."""
    kind = _label(DecisionKind, d.get("kind"))
    step = d.get("step")
    if step == "applied":
        if d.get("short"):
            return _("商家决定（%(kind)s）已执行：仍缺货") % {"kind": kind}
        return _("商家决定（%(kind)s）已执行：已分配到库存") % {"kind": kind}
    if step == "waiting":
        return _("等待补货，预计 %(at)s") % {"at": _when(d.get("restock_at"))}
    return _("商家决定：%(kind)s") % {"kind": kind}


def _stock_moved(d: dict[str, Any]) -> str:
    """A stock move serving the case's order: a transfer on its way, arrived, or cancelled."""
    values = {
        "sku": d.get("sku"),
        "quantity": d.get("quantity"),
        "source": d.get("from"),
        "target": d.get("to"),
        "at": _when(d.get("expected_at")),
    }
    if d.get("movement") == "transfer_in":
        return _("调拨已到货：%(sku)s %(quantity)s 件（%(source)s → %(target)s）") % values
    if d.get("movement") == "transfer_cancelled":
        return _("调拨已取消：%(sku)s %(quantity)s 件退回 %(source)s") % values
    return _("调拨在途：%(sku)s %(quantity)s 件（%(source)s → %(target)s），预计 %(at)s 到货") % values


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def _countdown(due_at: datetime | None, now: datetime) -> dict[str, Any] | None:
    if due_at is None:
        return None
    seconds = int((due_at - now).total_seconds())
    left = abs(seconds)
    text = f"{left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}"
    return {"overdue": seconds < 0, "text": text}


def _hours_minutes(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


def _action_view(a: Action) -> dict[str, Any]:
    return {"name": a.name, "label": ACTION_LABELS[a.name], "needs_outcome": a.needs_outcome}


def _work_context(actor: Actor, case: ExceptionCase) -> dict[str, Any]:
    """What the part of the page that actions redraw needs."""
    now = clock.now()
    status = CaseStatus(case.status)
    actions = machine_for(case.type).available(status=status, waiting_on=case.waiting_on, role=actor.role)
    is_open = status not in (CaseStatus.RESOLVED, CaseStatus.CANCELLED)
    entries = case_timeline(actor=actor, case=case)
    return {
        "case": case,
        "is_open": is_open,
        "is_staff": actor.is_staff_role,
        "waiting_on": WaitingOn(case.waiting_on).label if case.waiting_on else "",
        "step": step_text(case.step),
        "resolution": reason_text(case.resolution),
        "assignee": assignee_label(case=case, actor=actor),
        "mine": case.assignee_id == actor.user_id,
        "due_state": _due_state(case, now) if is_open else "",
        "countdown": _countdown(case.due_at, now) if is_open else None,
        "paused_left": _hours_minutes(case.sla_remaining_seconds or 0)
        if is_open and case.sla_paused_at
        else "",
        "actions": [_action_view(a) for a in actions],
        "needs_outcome": any(a.needs_outcome for a in actions),
        "assignees": list(staff_users().order_by("username")) if actor.is_staff_role and is_open else [],
        "timeline": [
            {
                "entry": e,
                "text": describe(e),
                "note": e.data.get("note")
                or e.data.get("text")
                or e.data.get("buyer_says")
                or e.data.get("verified")
                or reason_text(e.data.get("reason"))
                or "",
            }
            for e in entries
        ],
        "note_max": NOTE_MAX_LENGTH,
        **_contact_context(actor, case, is_open=is_open),
        **special_context(actor, case),
    }


# Why the ladder proposes its next rung (`cases.ladder.next_step`), in words.
STEP_REASONS = {
    "first_call": gettext_lazy("先打电话给买家"),
    "call_again": gettext_lazy("上次没打通，再打一次"),
    "calls_not_through": gettext_lazy("电话没打通，系统将发短信请买家回电或修改地址"),
    "no_sms": gettext_lazy("联系不上买家且不能发短信，系统将请商家提供正确信息"),
    "sms_unanswered": gettext_lazy("短信未获回复，到时系统将请商家提供正确信息"),
    "dead_number": gettext_lazy("号码无效，系统将请商家提供正确信息"),
}


def _contact_context(actor: Actor, case: ExceptionCase, *, is_open: bool) -> dict[str, Any]:
    """The contact ladder's part of the case page (H2, B2), for the types that climb it."""
    if case.type not in LADDER_TYPES:
        return {"ladder": False}
    step = case_contact_plan(case) if is_open else None
    phone = case.order.recipient_phone
    masked = "*" in phone
    expires = case.order.phone_expires_at
    return {
        "ladder": True,
        "contacts": contacts_for_case(actor=actor, case=case),
        "next_contact": {
            "channel": ContactChannel(step.channel).label,
            "at": step.at,
            "why": STEP_REASONS.get(step.why, step.why),
            "automatic": step.channel in AUTOMATIC,
        }
        if step
        else None,
        "phone_masked": masked,
        "phone_expires_at": expires,
        "contact_channels": [(c.value, c.label) for c in ContactChannel],
        "contact_outcomes": [
            (c.value, c.label, [(o.value, o.label) for o in OUTCOMES_FOR[c]]) for c in ContactChannel
        ],
    }


def _findings(case: ExceptionCase) -> list[str]:
    return [explain(Finding.from_dict(f)) for f in case.findings]


# The address levels of a suggestion (`validation.address`), in words.
LEVEL_LABELS = {
    "province": gettext_lazy("省份"),
    "city": gettext_lazy("城市"),
    "district": gettext_lazy("区县"),
}
# The fields of the correction form, in the order shown (`intake.services.CORRECTABLE`).
CORRECTION_FIELDS = (
    ("recipient_name", gettext_lazy("姓名")),
    ("recipient_phone", gettext_lazy("电话")),
    ("province", gettext_lazy("省份")),
    ("city", gettext_lazy("城市")),
    ("district", gettext_lazy("区县")),
    ("town", gettext_lazy("乡镇/街道")),
    ("address_detail", gettext_lazy("详细地址")),
    ("postcode", gettext_lazy("邮编")),
)


def _suggestion(finding: dict[str, Any]) -> dict[str, str] | None:
    """The fields a stored finding suggests ({field: value}, only recipient fields), or None."""
    data = finding.get("data")
    suggestion = data.get("suggestion") if isinstance(data, dict) else None
    if not isinstance(suggestion, dict):
        return None
    fields = {str(k): str(v) for k, v in suggestion.items() if k in CORRECTABLE and isinstance(v, str) and v}
    return fields or None


def _order_findings(order: Order) -> list[dict[str, Any]]:
    """The order's findings now (after the last check), each in words, with its suggestion."""
    shown = []
    for data in order.findings:
        suggestion = _suggestion(data)
        shown.append(
            {
                "code": data.get("code", ""),
                "text": explain(Finding.from_dict(data)),
                "blocking": data.get("severity") == "blocking",
                "suggestion": [(LEVEL_LABELS.get(k, k), v) for k, v in suggestion.items()]
                if suggestion
                else [],
            }
        )
    return shown


@never_cache
@login_required
@require_GET
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """One case: another merchant's is "not found"; a merchant user reads its own, notes only."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        case = case_get(actor=actor, case_id=case_id)
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到该异常单")}, status=404)
    order = case.order
    return render(
        request,
        "web/case.html",
        {
            **_work_context(actor, case),
            "order": order,
            "recipient": {
                "name": mask_name(order.recipient_name),
                "phone": order.phone_masked,
                "region": " ".join(p for p in (order.province, order.city, order.district, order.town) if p),
                "detail": mask_detail(order.address_detail),
            },
            "can_reveal": actor.role in REVEAL_ROLES,
            "lines": list(order.lines.order_by("line_no")),
            "findings": _findings(case),
            "order_findings": _order_findings(order),
            "can_correct": actor.role in REVEAL_ROLES and not order_is_closed(order),
            "correction_fields": CORRECTION_FIELDS,
            **_product_context(actor, case),
        },
    )


def _product_context(actor: Actor, case: ExceptionCase) -> dict[str, Any]:
    """A product case (T3, H3): the lines form for staff while the case is open (H3.1), the
    disputes of its SKUs with the merchant (H3.2) and the order's SKUs still disputed."""
    if case.type != "T3":
        return {"product": False}
    disputes = list(
        SkuDispute.objects.filter(cases=case, merchant_id=case.merchant_id).order_by("-opened_at", "-pk")
    )
    return {
        "product": True,
        "can_change_lines": actor.is_staff_role and case.status in OPEN_STATUS_VALUES,
        "disputes": disputes,
        "disputed_skus": orders_disputed_skus(orders=[case.order])[case.order_id],
    }


def _act(
    request: HttpRequest, case_id: int, do: Callable[[Actor], str], *, invalid: str = ""
) -> HttpResponse:
    """Run a write on the case. With htmx the answer is the redrawn work panel carrying the
    message; without, a redirect back to the page with the message. Another merchant's case
    (404) and a merchant user refused an action (403) get the refusal page. `invalid`: the
    form could not be read (the message), nothing is run after those two checks."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    ok, message = True, ""
    try:
        if invalid:
            case_get(actor=actor, case_id=case_id)
            require_staff(actor)
            ok, message = False, invalid
        else:
            message = do(actor)
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到该异常单")}, status=404)
    except CaseActionNotAllowed as exc:
        if exc.code == CaseActionNotAllowed.ROLE:
            return render(request, "web/refused.html", {"message": refusal_message(exc)}, status=403)
        ok, message = False, refusal_message(exc)
    except DisputeRefused as exc:
        ok, message = False, dispute_refusal_message(exc)
    except SpecialRefused as exc:
        ok, message = False, special_error_message(exc)
    if request.headers.get("HX-Request") == "true":
        context = _work_context(actor, case_get(actor=actor, case_id=case_id))
        return render(request, "web/_case_work.html", {**context, "message": message, "message_ok": ok})
    (messages.success if ok else messages.error)(request, message)
    return HttpResponseRedirect(reverse("web:case", args=[case_id]))


ACTION_VALUES = frozenset(a.value for a in ActionName)


@never_cache
@login_required
@require_POST
def case_action(request: HttpRequest, case_id: int) -> HttpResponse:
    """One of the machine's actions (`action`, `note`, and `outcome` when resolving)."""
    raw = request.POST.get("action", "")

    def act(actor: Actor) -> str:
        action = ActionName(raw)
        case_transition(
            case_id=case_id,
            action=action,
            actor=actor,
            now=clock.now(),
            note=request.POST.get("note", ""),
            outcome=request.POST.get("outcome", "") or None,
        )
        return _("已执行：%(action)s") % {"action": ACTION_LABELS[action]}

    return _act(request, case_id, act, invalid="" if raw in ACTION_VALUES else _("请选择操作"))


@never_cache
@login_required
@require_POST
def case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    """A note on the case, by staff or by the case's merchant."""

    def note(actor: Actor) -> str:
        case_note_add(case_id=case_id, actor=actor, text=request.POST.get("note", ""), now=clock.now())
        return _("已添加备注")

    return _act(request, case_id, note)


@never_cache
@login_required
@require_POST
def case_contact(request: HttpRequest, case_id: int) -> HttpResponse:
    """Record a contact attempt (`channel`, `outcome`, `note`); the ladder plans the next."""

    def record(actor: Actor) -> str:
        contact_record(
            case_id=case_id,
            actor=actor,
            channel=request.POST.get("channel", ""),
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
            now=clock.now(),
        )
        return _("已记录联系结果")

    return _act(request, case_id, record)


@never_cache
@login_required
@require_POST
def case_take(request: HttpRequest, case_id: int) -> HttpResponse:
    """Take the case (assign it to oneself)."""

    def take(actor: Actor) -> str:
        case_assign(case_id=case_id, assignee_id=actor.user_id, actor=actor, now=clock.now())
        return _("已领取异常单 %(id)s") % {"id": case_id}

    return _act(request, case_id, take)


@never_cache
@login_required
@require_POST
def case_assign_to(request: HttpRequest, case_id: int) -> HttpResponse:
    """Assign the case to a staff user (`assignee`: a user id)."""
    raw = request.POST.get("assignee", "")

    def assign(actor: Actor) -> str:
        # not a user id: no such user (ASSIGNEE_UNKNOWN)
        assignee_id = int(raw) if raw.isdigit() and len(raw) < 19 else None
        case = case_assign(case_id=case_id, assignee_id=assignee_id, actor=actor, now=clock.now())
        return _("已指派给 %(user)s") % {"user": case.assignee.get_username() if case.assignee else ""}

    return _act(request, case_id, assign)


@never_cache
@login_required
@require_POST
def case_reveal(request: HttpRequest, case_id: int) -> HttpResponse:
    """The recipient in clear, as a fragment for the page (never cached, logged as an event).
    Nothing personal travels in the URL: the case id only."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        clear = case_recipient_reveal(case_id=case_id, actor=actor, now=clock.now())
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到该异常单")}, status=404)
    except CaseActionNotAllowed as exc:
        return render(request, "web/_recipient_refused.html", {"message": refusal_message(exc)}, status=403)
    # the work panel comes along (htmx out-of-band) so that the timeline shows this reveal
    work = _work_context(actor, case_get(actor=actor, case_id=case_id))
    return render(request, "web/_recipient_clear.html", {"clear": clear, **work, "oob": True})


def _corrected(request: HttpRequest, case_id: int, *, ok: bool, message: str) -> HttpResponse:
    """Back to the case page with the message: the whole page changed (findings, recipient,
    status, timeline), so htmx is told to load it again."""
    (messages.success if ok else messages.error)(request, message)
    url = reverse("web:case", args=[case_id])
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _correct(
    request: HttpRequest,
    case_id: int,
    changes: Callable[[ExceptionCase], dict[str, str] | None],
    *,
    roles: Any,
) -> HttpResponse:
    """Run `order_correct` on the case's order with the changes read by `changes` (None: there
    is nothing to apply, a message says so). Another merchant's case is "not found"; a role
    outside `roles` gets the refusal page; nothing is written when refused."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        case = case_get(actor=actor, case_id=case_id)
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到该异常单")}, status=404)
    if actor.role not in roles:
        return render(request, "web/refused.html", {"message": _("你的角色不能更正收货信息")}, status=403)
    wanted = changes(case)
    if wanted is None:
        return _corrected(request, case_id, ok=False, message=_("这条建议已不存在，页面已刷新"))
    try:
        done = order_correct(
            order_id=case.order_id,
            actor=actor,
            changes=wanted,
            reason=request.POST.get("reason", ""),
            now=clock.now(),
        )
    except CorrectionRefused as exc:
        return _corrected(request, case_id, ok=False, message=correction_refusal_message(exc))
    if not done.changed:
        return _corrected(request, case_id, ok=True, message=_("收货信息没有变化"))
    closed = case.pk in {c.pk for c in done.triage.closed}
    message = _("已更正收货信息并重新检查") + (_("：检查通过，异常单已自动解决") if closed else "")
    return _corrected(request, case_id, ok=True, message=message)


STAFF_ROLES = frozenset(STAFF_ROLE_LIST)


@never_cache
@login_required
@require_POST
def case_suggestion_accept(request: HttpRequest, case_id: int) -> HttpResponse:
    """Accept the suggestion of one finding of the case's order (`code`): the fields come from
    the stored finding, never from the request. Staff only."""
    code = request.POST.get("code", "")

    def suggested(case: ExceptionCase) -> dict[str, str] | None:
        for finding in case.order.findings:
            if finding.get("code") == code and (fields := _suggestion(finding)):
                return fields
        return None

    return _correct(request, case_id, suggested, roles=STAFF_ROLES)


@never_cache
@login_required
@require_POST
def case_order_correct(request: HttpRequest, case_id: int) -> HttpResponse:
    """Corrected recipient fields from the form (a field left empty stays as it is), by the
    roles that may see the recipient in clear (`cases.machine.REVEAL_ROLES`)."""

    def filled(case: ExceptionCase) -> dict[str, str] | None:
        return {
            name: value for name, _label in CORRECTION_FIELDS if (value := request.POST.get(name, "").strip())
        }

    return _correct(request, case_id, filled, roles=REVEAL_ROLES)


def lines_refusal(exc: LinesRefused) -> str:
    """A refused change of lines in words, naming the line (from 1) and the field."""
    line = ""
    if exc.field.startswith("lines["):
        line = _("第 %(n)s 行：") % {"n": int(exc.field[6 : exc.field.index("]")]) + 1}
    return line + lines_refusal_message(exc)


@never_cache
@login_required
@require_POST
def case_lines(request: HttpRequest, case_id: int) -> HttpResponse:
    """H3.1: the order's new lines from the form (`sku_code` and `quantity`, one pair per row;
    a row left empty is dropped), by warehouse staff; the order is checked again and the product
    case closes when the product checks pass. Another merchant's case is "not found"."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        case = case_get(actor=actor, case_id=case_id)
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到该异常单")}, status=404)
    if not actor.is_staff_role:
        return render(request, "web/refused.html", {"message": _("只有仓库员工可以修改订单商品")}, status=403)
    rows = zip(request.POST.getlist("sku_code"), request.POST.getlist("quantity"), strict=False)
    lines = [
        {"sku_code": code, "quantity": quantity}
        for code, quantity in rows
        if code.strip() or quantity.strip()
    ]
    try:
        done = order_lines_change(
            order_id=case.order_id,
            actor=actor,
            lines=lines,
            reason=request.POST.get("reason", ""),
            now=clock.now(),
        )
    except LinesRefused as exc:
        return _corrected(request, case_id, ok=False, message=lines_refusal(exc))
    if not done.changed:
        return _corrected(request, case_id, ok=True, message=_("商品没有变化"))
    closed = case.pk in {c.pk for c in done.triage.closed}
    message = _("已修改商品并重新检查") + (_("：检查通过，异常单已自动解决") if closed else "")
    return _corrected(request, case_id, ok=True, message=message)
