"""Special-request reads (T5, H5): what the case page and the API show of a request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orderguard.cases.choices import CaseStatus
from orderguard.cases.machine import CHECKLIST_OVERRIDE_ROLES, CHECKLIST_STEPS, SPECIAL, SpecialAction
from orderguard.cases.models import ExceptionCase
from orderguard.cases.selectors import actor_labels_as_seen_by, assignee_label
from orderguard.specials.models import ChecklistTick, CourierContract, SpecialRequest
from orderguard.specials.services import request_of_findings
from orderguard.tenancy.access import Actor


@dataclass
class SpecialView:
    """A case's special request as people read it. `request` is None until the first action;
    `actions` are the special-request actions the caller may take now (from the T5 machine);
    `ticks` the checklist steps ticked, in order; `next_tick` the one to tick next (None when all
    are or the caller may not tick); `owner`, `answer_by` and `ticked_by` (one per tick) name
    people as the caller may know them (a merchant user reads roles, never staff usernames)."""

    kinds: list[str]
    courier: str
    expedited: bool
    request: SpecialRequest | None
    actions: list[SpecialAction]
    ticks: list[ChecklistTick] = field(default_factory=list)
    next_tick: str | None = None
    can_tick: bool = False
    owner: str | None = None
    answer_by: str = ""
    ticked_by: list[str] = field(default_factory=list)


def special_for_case(*, actor: Actor, case: ExceptionCase) -> SpecialView | None:
    """The request of a case the caller already sees; None when the case is no special request
    (another type, or a T5 case without a request finding). Two queries (three for a merchant
    user: the roles of the people named)."""
    kinds, courier, expedited = request_of_findings(case.findings)
    if case.type != "T5" or not kinds:
        return None
    request = SpecialRequest.objects.filter(case=case).first()
    ticks = (
        list(ChecklistTick.objects.filter(request=request, round=request.round).order_by("pk"))
        if request
        else []
    )
    done = {t.step for t in ticks}
    status = CaseStatus(case.status)
    actions = SPECIAL.special_actions(step=case.step, status=status, role=actor.role)
    can_tick = SpecialAction.CHECKLIST in actions and (
        case.assignee_id == actor.user_id or actor.role in CHECKLIST_OVERRIDE_ROLES
    )
    labels = actor_labels_as_seen_by(
        actor=actor,
        labels={t.ticked_by_label for t in ticks} | ({request.answer_by_label} - {""} if request else set()),
    )
    return SpecialView(
        kinds=request.kinds if request else kinds,
        courier=request.courier if request else courier,
        expedited=request.expedited if request else expedited,
        request=request,
        actions=actions,
        ticks=ticks,
        next_tick=next((s for s in CHECKLIST_STEPS if s not in done), None) if can_tick else None,
        can_tick=can_tick,
        owner=assignee_label(case=case, actor=actor),
        answer_by=labels[request.answer_by_label] if request and request.answer_by_label else "",
        ticked_by=[labels[t.ticked_by_label] for t in ticks],
    )


def contracts_considered(view: SpecialView) -> list[dict[str, Any]]:
    """The contracts the last feasibility check looked at (as recorded then)."""
    if view.request is None:
        return []
    return list(view.request.feasibility.get("contracts", []))


def courier_contracts(*, warehouse_id: int | None = None) -> list[CourierContract]:
    qs = CourierContract.objects.select_related("warehouse").order_by("warehouse__code", "courier")
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    return list(qs)
