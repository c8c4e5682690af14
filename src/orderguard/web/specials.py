"""The special-request part of the case page (T5, H5): the request, the feasibility result with
the contracts considered, and the forms of the steps the T5 machine allows now (feasibility,
quote, the buyer's answer, the owner, the checklist, the alternative). Thin views: the writes are
`specials.services`, run through the case page's `_act` (htmx redraws the work panel)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from orderguard.cases.machine import CHECKLIST_STEPS, SpecialAction
from orderguard.cases.models import ExceptionCase
from orderguard.core import clock
from orderguard.specials.models import BuyerAnswer, ConfirmChannel
from orderguard.specials.selectors import contracts_considered, special_for_case
from orderguard.specials.services import (
    reason_text,
    special_alternative,
    special_confirm,
    special_feasibility,
    special_owner,
    special_quote,
    special_tick,
    step_label,
)
from orderguard.tenancy.access import Actor, staff_users
from orderguard.validation.special import COURIERS

KIND_LABELS = {
    "courier": gettext_lazy("指定快递"),
    "expedited": gettext_lazy("加急"),
    "delivery_time": gettext_lazy("指定送货时间"),
    "gift_wrap": gettext_lazy("礼品包装"),
    "no_price_slip": gettext_lazy("不放价格单"),
    "other": gettext_lazy("其他"),
}
SH = ZoneInfo("Asia/Shanghai")


def courier_name(code: str) -> str:
    return COURIERS[code][0] if code in COURIERS else code


def special_context(actor: Actor, case: ExceptionCase) -> dict[str, Any]:
    """What the special-request section of the case page shows ({"special": None} for a case
    that is no special request)."""
    view = special_for_case(actor=actor, case=case)
    if view is None:
        return {"special": None}
    request = view.request
    feasibility = request.feasibility if request else {}
    done = {t.step: (t, by) for t, by in zip(view.ticks, view.ticked_by, strict=True)}
    return {
        "special": {
            "kinds": [str(KIND_LABELS.get(k, k)) for k in view.kinds],
            "courier": courier_name(view.courier) if view.courier else "",
            "expedited": view.expedited,
            "request": request,
            "checked": bool(feasibility),
            "feasible": request.feasible if request else None,
            "reasons": [reason_text(r) for r in feasibility.get("reasons", [])],
            "contracts": [
                {
                    **c,
                    "name": courier_name(c.get("courier", "")),
                    "chosen": c.get("id") == feasibility.get("contract"),
                }
                for c in contracts_considered(view)
            ],
            "alternatives": [
                {"name": courier_name(a["courier"]), "fee": a["fee"]}
                for a in feasibility.get("alternatives", [])
            ],
            "suggested_fee": feasibility.get("fee", ""),
            "after_cutoff": feasibility.get("after_cutoff", False),
            "actions": {str(a) for a in view.actions},
            "owner": view.owner,
            "answer_by": view.answer_by,
            "owners": list(staff_users().order_by("username")) if SpecialAction.OWNER in view.actions else [],
            "checklist": [
                {
                    "step": s,
                    "label": step_label(s),
                    "tick": done[s][0] if s in done else None,
                    "by": done[s][1] if s in done else "",
                    "next": s == view.next_tick,
                }
                for s in CHECKLIST_STEPS
            ],
            "can_tick": view.can_tick,
            "channels": [(c.value, c.label) for c in ConfirmChannel],
            "answers": [(a.value, a.label) for a in BuyerAnswer],
        }
    }


def _when(raw: str) -> datetime | None:
    """A datetime-local field (Beijing time), or None when empty or unreadable."""
    value = parse_datetime(raw.strip()) if raw and raw.strip() else None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=SH)
    return value


def _run(request: HttpRequest, case_id: int, do: Any) -> HttpResponse:
    from orderguard.web.case import _act

    return _act(request, case_id, do)


@never_cache
@login_required
@require_POST
def special_feasibility_check(request: HttpRequest, case_id: int) -> HttpResponse:
    def do(actor: Actor) -> str:
        done = special_feasibility(case_id=case_id, actor=actor, now=clock.now())
        return _("评估完成：可行") if done.feasible else _("评估完成：不可行，请向买家提供替代方案")

    return _run(request, case_id, do)


@never_cache
@login_required
@require_POST
def special_quote_post(request: HttpRequest, case_id: int) -> HttpResponse:
    """`fee` (required; 0 when free), `dispatch_at` (optional), `note`."""

    def do(actor: Actor) -> str:
        special_quote(
            case_id=case_id,
            actor=actor,
            now=clock.now(),
            fee=request.POST.get("fee"),
            dispatch_at=_when(request.POST.get("dispatch_at", "")),
            note=request.POST.get("note", ""),
        )
        return _("已报价，等待买家确认")

    return _run(request, case_id, do)


@never_cache
@login_required
@require_POST
def special_confirm_post(request: HttpRequest, case_id: int) -> HttpResponse:
    """`answer` (accepted, declined), `channel` (call, sms, chat), `note`."""

    def do(actor: Actor) -> str:
        special_confirm(
            case_id=case_id,
            actor=actor,
            now=clock.now(),
            answer=request.POST.get("answer", ""),
            channel=request.POST.get("channel", ""),
            note=request.POST.get("note", ""),
        )
        return _("已记录买家确认")

    return _run(request, case_id, do)


@never_cache
@login_required
@require_POST
def special_owner_post(request: HttpRequest, case_id: int) -> HttpResponse:
    """`owner`: a user id."""
    raw = request.POST.get("owner", "")

    def do(actor: Actor) -> str:
        owner_id = int(raw) if raw.isdigit() and len(raw) < 19 else None
        special_owner(case_id=case_id, actor=actor, now=clock.now(), owner_id=owner_id)
        return _("已指定负责人")

    return _run(request, case_id, do)


@never_cache
@login_required
@require_POST
def special_tick_post(request: HttpRequest, case_id: int) -> HttpResponse:
    """`step` (picking, packing, dispatch), `verified`."""

    def do(actor: Actor) -> str:
        step = request.POST.get("step", "")
        special_tick(
            case_id=case_id,
            actor=actor,
            now=clock.now(),
            step=step,
            verified=request.POST.get("verified", ""),
        )
        return _("已勾选：%(step)s") % {"step": step_label(step)}

    return _run(request, case_id, do)


@never_cache
@login_required
@require_POST
def special_alternative_post(request: HttpRequest, case_id: int) -> HttpResponse:
    """`alternative`, `answer`, `channel`, `note`."""

    def do(actor: Actor) -> str:
        special_alternative(
            case_id=case_id,
            actor=actor,
            now=clock.now(),
            alternative=request.POST.get("alternative", ""),
            answer=request.POST.get("answer", ""),
            channel=request.POST.get("channel", ""),
            note=request.POST.get("note", ""),
        )
        return _("已记录替代方案和买家答复")

    return _run(request, case_id, do)
