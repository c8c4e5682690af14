"""Special-request writes (T5, H5): feasibility, the quote, the buyer's answer, the owner, the
owner's checklist, the alternative when not feasible. Each is one transaction that locks the
case, checks the step against the T5 machine (`cases.machine.SPECIAL`), writes the request's
state, the case's step and its deadline (`sla.services.case_clock_start`: every step has its
policy, so the deadline scan covers it) and a CaseEvent with the actor and the data. A refusal
writes nothing.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from orderguard.cases import events as case_events
from orderguard.cases.choices import CaseEventType, CaseOutcome, CaseStatus, WaitingOn
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.machine import (
    CHECKLIST_OVERRIDE_ROLES,
    CHECKLIST_STEPS,
    SPECIAL,
    SPECIAL_CLOSED_FAILED,
    SPECIAL_CLOSED_SUCCEEDED,
    SpecialAction,
    SpecialStep,
)
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import (
    _assignee,
    _clean_note,
    _lock_visible,
    handling_seconds,
    require_staff,
)
from orderguard.core import bulk
from orderguard.core.choices import ExceptionType
from orderguard.core.errors import DomainError
from orderguard.sla.calendar import WorkingTime
from orderguard.sla.models import WorkingCalendar
from orderguard.sla.services import (
    DEFAULT_WORKING_TIME,
    PolicyBook,
    case_clock_start,
    case_clock_stop,
    working_time_of,
)
from orderguard.specials.feasibility import ContractTerms, Feasibility, assess
from orderguard.specials.models import (
    BuyerAnswer,
    ChecklistTick,
    ConfirmChannel,
    CourierContract,
    SpecialRequest,
)
from orderguard.tenancy.access import Actor
from orderguard.validation import special as special_checks

# Finding code → the kind of request it is.
KINDS = {
    special_checks.SPECIAL_COURIER_REQUESTED: "courier",
    special_checks.SPECIAL_EXPRESS_REQUESTED: "expedited",
    special_checks.SPECIAL_DELIVERY_TIME_REQUESTED: "delivery_time",
    special_checks.SPECIAL_GIFT_WRAP_REQUESTED: "gift_wrap",
    special_checks.SPECIAL_NO_PRICE_SLIP_REQUESTED: "no_price_slip",
    special_checks.SPECIAL_OTHER_REQUESTED: "other",
}
FEE_MAX = Decimal("999999.99")
VERIFIED_MAX_LENGTH = 500


class SpecialRefused(DomainError):
    """A special-request action the rules refuse; nothing was changed. `code` says why, `field`
    names the request field at fault:

    - ``NOT_SPECIAL``: the case is not a special request (another type, or a T5 case without a
      request finding, such as a platform anomaly);
    - ``FEASIBILITY_REQUIRED``: feasibility was not checked yet;
    - ``NOT_FEASIBLE``: the request cannot be met (`reasons`; ``courier``): no quote, offer an
      alternative;
    - ``FEE_REQUIRED``: a quote without a fee (0 must be given as 0) (``fee``);
    - ``FEE_INVALID``: a fee that is not an amount, is negative or too large (``fee``);
    - ``DISPATCH_INVALID``: a promised dispatch time before now (``dispatch_at``);
    - ``QUOTE_REQUIRED``: the buyer's answer before a quote (``quote``);
    - ``ANSWER_INVALID``: not "accepted" or "declined" (``answer``);
    - ``CHANNEL_INVALID``: not call, sms or chat (``channel``);
    - ``CONFIRMED_AT_INVALID``: the time of the answer is before the quote or in the future;
    - ``CAPACITY_EXHAUSTED``: no expedited capacity left today on the contract (``capacity``);
    - ``CONFIRMATION_REQUIRED``: an owner before the buyer accepted (``answer``);
    - ``OWNER_REQUIRED``: a tick before an owner was named (``owner``);
    - ``NOT_OWNER``: the actor is neither the owner nor a manager or admin (``owner``);
    - ``STEP_INVALID``: not a checklist step (``step``);
    - ``OUT_OF_ORDER``: a checklist step before the previous ones (``step``, `expected`);
    - ``VERIFIED_REQUIRED``: a tick without what was verified, or too long (``verified``);
    - ``ALTERNATIVE_REQUIRED``: no alternative described (``alternative``).
    """

    code = "SPECIAL_REFUSED"

    def __init__(self, code: str, *, field: str = "", **data: Any) -> None:
        super().__init__(code, field=field, **data)
        self.code = code
        self.field = field


# HTTP statuses of the refusals (the API maps them; the pages show the message).
FORBIDDEN_CODES = frozenset({"NOT_OWNER"})
CONFLICT_CODES = frozenset(
    {
        "NOT_SPECIAL",
        "FEASIBILITY_REQUIRED",
        "NOT_FEASIBLE",
        "QUOTE_REQUIRED",
        "CAPACITY_EXHAUSTED",
        "CONFIRMATION_REQUIRED",
        "OWNER_REQUIRED",
        "OUT_OF_ORDER",
    }
)


def request_of_findings(findings: list[dict[str, Any]]) -> tuple[list[str], str, bool]:
    """(kinds, the first courier named, expedited) of a case's findings."""
    kinds: list[str] = []
    courier = ""
    for f in findings:
        kind = KINDS.get(f.get("code", ""))
        if kind is None:
            continue
        if kind not in kinds:
            kinds.append(kind)
        if kind == "courier" and not courier:
            courier = str((f.get("data") or {}).get("courier", ""))
    return kinds, courier, "expedited" in kinds


def _open_special(*, case_id: int, actor: Actor) -> tuple[ExceptionCase, SpecialRequest]:
    """The case locked, checked (visible, staff, open, a special request) and its request row
    (created on the first action, from the case's findings)."""
    case = _lock_visible(case_id=case_id, actor=actor)
    require_staff(actor)
    if case.status in (CaseStatus.RESOLVED, CaseStatus.CANCELLED):
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.CASE_CLOSED, case_ids=[case.pk])
    kinds, courier, expedited = request_of_findings(case.findings)
    if case.type != ExceptionType.SPECIAL_REQUEST or not kinds:
        raise SpecialRefused("NOT_SPECIAL", case_id=case.pk)
    request = SpecialRequest.objects.filter(case=case).first()
    if request is None:
        request = SpecialRequest.objects.create(
            case=case, merchant_id=case.merchant_id, kinds=kinds, courier=courier, expedited=expedited
        )
    if not case.step:
        case.step = SpecialStep.ASSESS
    return case, request


# What must come before each action, by the step the case is in (a clearer refusal than "not
# from this step"); anything else the machine refuses itself.
_BEFORE: dict[SpecialAction, dict[str, tuple[str, str]]] = {
    SpecialAction.QUOTE: {
        SpecialStep.ASSESS: ("FEASIBILITY_REQUIRED", "feasibility"),
        SpecialStep.ALTERNATIVE: ("NOT_FEASIBLE", "courier"),
    },
    SpecialAction.CONFIRM: {
        SpecialStep.ASSESS: ("QUOTE_REQUIRED", "quote"),
        SpecialStep.QUOTE: ("QUOTE_REQUIRED", "quote"),
        SpecialStep.ALTERNATIVE: ("NOT_FEASIBLE", "courier"),
    },
    SpecialAction.OWNER: {
        SpecialStep.ASSESS: ("CONFIRMATION_REQUIRED", "answer"),
        SpecialStep.QUOTE: ("CONFIRMATION_REQUIRED", "answer"),
        SpecialStep.CONFIRM: ("CONFIRMATION_REQUIRED", "answer"),
        SpecialStep.ALTERNATIVE: ("NOT_FEASIBLE", "courier"),
    },
    SpecialAction.CHECKLIST: {
        SpecialStep.ASSESS: ("OWNER_REQUIRED", "owner"),
        SpecialStep.QUOTE: ("OWNER_REQUIRED", "owner"),
        SpecialStep.CONFIRM: ("OWNER_REQUIRED", "owner"),
        SpecialStep.OWNER: ("OWNER_REQUIRED", "owner"),
        SpecialStep.ALTERNATIVE: ("NOT_FEASIBLE", "courier"),
    },
    SpecialAction.ALTERNATIVE: {SpecialStep.ASSESS: ("FEASIBILITY_REQUIRED", "feasibility")},
}


def _next_step(case: ExceptionCase, request: SpecialRequest, action: SpecialAction, result: str) -> str:
    before = _BEFORE.get(action, {}).get(case.step)
    if before is not None:
        code, field = before
        extra = {"reasons": request.feasibility.get("reasons", [])} if code == "NOT_FEASIBLE" else {}
        raise SpecialRefused(code, field=field, **extra)
    try:
        return SPECIAL.special_next(step=case.step, action=action, result=result)
    except CaseActionNotAllowed as exc:
        exc.data["case_id"] = case.pk
        raise


def _event(
    case: ExceptionCase, type_: CaseEventType, *, actor: Actor, now: datetime, **data: Any
) -> CaseEvent:
    return bulk.new(
        CaseEvent,
        case=case,
        type=type_,
        occurred_at=now,
        actor_id=actor.user_id,
        actor_label=actor.label,
        data=data,
    )


CASE_FIELDS = [
    "status",
    "waiting_on",
    "outcome",
    "resolution",
    "closed_at",
    "handling_seconds",
    "step",
    "due_at",
    "warn_at",
    "sla_level",
    "sla_next_at",
    "sla_paused_at",
    "sla_remaining_seconds",
    "assignee",
    "updated_at",
]


def _advance(
    case: ExceptionCase,
    *,
    step: str,
    actor: Actor,
    now: datetime,
    log: list[CaseEvent],
    resolution: str = "",
    reason: str = "",
) -> None:
    """Move the case to `step` (its clock restarted when the step changes), or close it; the
    buyer's answer is awaited in the confirmation and alternative steps (status waiting)."""
    source = CaseStatus(case.status)
    if step in (SPECIAL_CLOSED_SUCCEEDED, SPECIAL_CLOSED_FAILED):
        case.status, case.waiting_on = CaseStatus.RESOLVED, ""
        case.outcome = CaseOutcome.SUCCEEDED if step == SPECIAL_CLOSED_SUCCEEDED else CaseOutcome.FAILED
        case.closed_at, case.resolution = now, resolution
        case.handling_seconds = handling_seconds(case, now)
        case_clock_stop(case)
        log.append(
            case_events.resolved(
                case,
                at=now,
                actor_label=actor.label,
                actor_id=actor.user_id,
                reason=reason,
                source=source,
                note=resolution,
            )
        )
    else:
        waiting = step in (SpecialStep.CONFIRM, SpecialStep.ALTERNATIVE)
        target = CaseStatus.WAITING if waiting else CaseStatus.IN_PROGRESS
        moved = step != case.step
        if moved:
            case_clock_start(case, step=step, now=now, policies=PolicyBook())
        if (target, WaitingOn.BUYER if waiting else "") != (source, case.waiting_on):
            case.status, case.waiting_on = target, WaitingOn.BUYER if waiting else ""
            log.append(
                case_events.status_changed(
                    case,
                    at=now,
                    actor_label=actor.label,
                    actor_id=actor.user_id,
                    action="wait_buyer" if waiting else "start" if source == CaseStatus.OPEN else "resume",
                    source=source,
                    note="",
                )
            )
        if moved:
            log.append(
                case_events.step_started(case, at=now, actor_label=actor.label, actor_id=actor.user_id)
            )
    case.save(update_fields=CASE_FIELDS)
    bulk.insert(log)


def _warehouse_id(case: ExceptionCase) -> int:
    return int(case.order.channel.warehouse_id)


def warehouse_calendar(warehouse_id: int) -> WorkingTime:
    """The warehouse's working calendar (`sla.calendar.WorkingTime`): its own, else the default
    one, else 09:00-18:00 on the statutory calendar in Beijing time."""
    row = (
        WorkingCalendar.objects.filter(warehouse_id=warehouse_id).prefetch_related("days").first()
        or WorkingCalendar.objects.filter(warehouse__isnull=True)
        .prefetch_related("days")
        .order_by("pk")
        .first()
    )
    return working_time_of(row) if row is not None else DEFAULT_WORKING_TIME


def _local_day_start(now: datetime, calendar: WorkingTime) -> datetime:
    local = now.astimezone(calendar.tz)
    return datetime.combine(local.date(), time(0), tzinfo=calendar.tz)


def capacity_used(*, contract_ids: list[int], since: datetime) -> dict[int, int]:
    """Expedited requests the buyer accepted since `since` (the warehouse's midnight), per
    contract (one query)."""
    from django.db.models import Count

    rows = (
        SpecialRequest.objects.filter(
            contract_id__in=contract_ids, expedited=True, answer=BuyerAnswer.ACCEPTED, answered_at__gte=since
        )
        .values("contract_id")
        .annotate(n=Count("pk"))
    )
    return {r["contract_id"]: r["n"] for r in rows}


def _terms(c: CourierContract) -> ContractTerms:
    return ContractTerms(
        id=c.pk,
        courier=c.courier,
        active=c.active,
        regions=tuple(str(r) for r in (c.regions or []) if str(r).strip()),
        designated_fee=c.designated_fee,
        expedited_fee=c.expedited_fee,
        cutoff=c.cutoff,
        expedited_capacity=c.expedited_capacity,
    )


def feasibility_of(case: ExceptionCase, request: SpecialRequest, *, now: datetime) -> Feasibility:
    """H5.1 from the data: the contracts of the order's warehouse, today's capacity used."""
    warehouse_id = _warehouse_id(case)
    contracts = [
        _terms(c) for c in CourierContract.objects.filter(warehouse_id=warehouse_id).order_by("courier")
    ]
    calendar = warehouse_calendar(warehouse_id)
    used = capacity_used(contract_ids=[c.id for c in contracts], since=_local_day_start(now, calendar))
    end = calendar.end if calendar.end < 24 * 60 else 24 * 60 - 1
    return assess(
        courier=request.courier,
        expedited=request.expedited,
        province=case.order.province,
        city=case.order.city,
        contracts=contracts,
        used=used,
        now=now,
        calendar=calendar,
        default_cutoff=time(end // 60, end % 60),
    )


@transaction.atomic
def special_feasibility(*, case_id: int, actor: Actor, now: datetime) -> SpecialRequest:
    """Check feasibility now (H5.1) and record it: a ``feasibility`` event with the result, the
    contracts considered and the alternatives; feasible → step ``quote``, not → step
    ``offer_alternative``. May be checked again until a quote is given."""
    case, request = _open_special(case_id=case_id, actor=actor)
    if case.step == SpecialStep.ASSESS and request.checked_at is not None:
        # the case was reopened: the request is worked again from the start
        request.round += 1
        request.contract_id, request.fee, request.dispatch_at, request.quoted_at = None, None, None, None
        request.answer = request.answer_channel = request.answer_by_label = request.alternative = ""
        request.answered_at = None
    result = feasibility_of(case, request, now=now)
    step = _next_step(
        case, request, SpecialAction.FEASIBILITY, "feasible" if result.feasible else "not_feasible"
    )
    request.feasible, request.feasibility, request.checked_at = result.feasible, result.as_data(), now
    request.contract_id = result.contract_id
    request.dispatch_at = result.dispatch_at
    request.save()
    log = [
        _event(case, CaseEventType.FEASIBILITY, actor=actor, now=now, round=request.round, **result.as_data())
    ]
    _advance(case, step=step, actor=actor, now=now, log=log)
    return request


def _fee(value: object) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SpecialRefused("FEE_REQUIRED", field="fee")
    try:
        fee = Decimal(str(value).strip())
    except InvalidOperation:
        raise SpecialRefused("FEE_INVALID", field="fee", value=str(value)[:20]) from None
    if not fee.is_finite() or fee < 0 or fee > FEE_MAX or fee != fee.quantize(Decimal("0.01")):
        raise SpecialRefused("FEE_INVALID", field="fee", value=str(value)[:20])
    return fee.quantize(Decimal("0.01"))


@transaction.atomic
def special_quote(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    fee: object,
    dispatch_at: datetime | None = None,
    note: str = "",
) -> SpecialRequest:
    """Quote the fee and the promised dispatch time to the buyer (H5.2); the case then waits on
    the buyer's answer (step ``buyer_confirmation``). `fee` is required (0 when free, given as
    0); `dispatch_at` defaults to the feasibility's. A ``quoted`` event."""
    case, request = _open_special(case_id=case_id, actor=actor)
    step = _next_step(case, request, SpecialAction.QUOTE, "quoted")
    amount = _fee(fee)
    when = dispatch_at or request.dispatch_at
    if when is None or when < now:
        raise SpecialRefused("DISPATCH_INVALID", field="dispatch_at")
    text = _clean_note(note, required=False)
    request.fee, request.dispatch_at, request.quoted_at = amount, when, now
    request.save(update_fields=["fee", "dispatch_at", "quoted_at", "updated_at"])
    log = [
        _event(
            case,
            CaseEventType.QUOTED,
            actor=actor,
            now=now,
            fee=str(amount),
            dispatch_at=when.isoformat(),
            contract=request.contract_id,
            note=text,
        )
    ]
    _advance(case, step=step, actor=actor, now=now, log=log)
    return request


def _answer(answer: str, channel: str) -> tuple[BuyerAnswer, ConfirmChannel]:
    if answer not in BuyerAnswer.values:
        raise SpecialRefused("ANSWER_INVALID", field="answer", value=str(answer)[:20])
    if channel not in ConfirmChannel.values:
        raise SpecialRefused("CHANNEL_INVALID", field="channel", value=str(channel)[:20])
    return BuyerAnswer(answer), ConfirmChannel(channel)


@transaction.atomic
def special_confirm(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    answer: str,
    channel: str,
    confirmed_at: datetime | None = None,
    note: str = "",
) -> SpecialRequest:
    """Record the buyer's answer to the quote (H5.2): how it came (call, SMS, platform chat),
    who recorded it, when. Accepted → step ``assign_owner`` (an expedited request takes one of
    its contract's places of the day, counted under the contract's lock); declined → the case
    closes failed, "the buyer declined the fee". A ``confirmed`` event."""
    case, request = _open_special(case_id=case_id, actor=actor)
    accepted, how = _answer(answer, channel)
    step = _next_step(case, request, SpecialAction.CONFIRM, accepted.value)
    at = confirmed_at or now
    if at > now or (request.quoted_at is not None and at < request.quoted_at):
        raise SpecialRefused("CONFIRMED_AT_INVALID", field="confirmed_at")
    text = _clean_note(note, required=False)
    if accepted == BuyerAnswer.ACCEPTED and request.expedited and request.contract_id is not None:
        # lock the contract: two acceptances at once must not both take the last place
        contract = CourierContract.objects.select_for_update().get(pk=request.contract_id)
        calendar = warehouse_calendar(contract.warehouse_id)
        used = capacity_used(contract_ids=[contract.pk], since=_local_day_start(now, calendar)).get(
            contract.pk, 0
        )
        if used >= contract.expedited_capacity:
            raise SpecialRefused("CAPACITY_EXHAUSTED", field="capacity", capacity=contract.expedited_capacity)
    request.answer, request.answer_channel, request.answered_at = accepted, how, at
    request.answer_by_label = actor.label
    request.save(update_fields=["answer", "answer_channel", "answered_at", "answer_by_label", "updated_at"])
    log = [
        _event(
            case,
            CaseEventType.CONFIRMED,
            actor=actor,
            now=now,
            answer=accepted.value,
            channel=how.value,
            confirmed_at=at.isoformat(),
            fee=str(request.fee) if request.fee is not None else None,
            note=text,
        )
    ]
    declined = _("买家不接受费用，按原方式处理") if accepted == BuyerAnswer.DECLINED else ""
    _advance(
        case, step=step, actor=actor, now=now, log=log, resolution=text or declined, reason="buyer_declined"
    )
    return request


@transaction.atomic
def special_owner(*, case_id: int, actor: Actor, now: datetime, owner_id: int | None) -> SpecialRequest:
    """Name the person who owns the order through picking, packing and dispatch (H5.3): the
    case's assignee, an ``assigned`` event with ``role`` "owner". Only after the buyer accepted;
    may change until dispatch. Unknown or ineligible users: CaseActionNotAllowed
    ``ASSIGNEE_UNKNOWN`` / ``ASSIGNEE_NOT_ELIGIBLE``."""
    case, request = _open_special(case_id=case_id, actor=actor)
    step = _next_step(case, request, SpecialAction.OWNER, "assigned")
    owner = _assignee(owner_id)
    previous = case.assignee.get_username() if case.assignee is not None else None
    case.assignee = owner
    log = [
        _event(
            case,
            CaseEventType.ASSIGNED,
            actor=actor,
            now=now,
            assignee=owner.get_username(),
            previous=previous,
            role="owner",
        )
    ]
    _advance(case, step=step, actor=actor, now=now, log=log)
    return request


@transaction.atomic
def special_tick(*, case_id: int, actor: Actor, now: datetime, step: str, verified: str) -> ChecklistTick:
    """Tick one step of the checklist (picking, packing, dispatch, in this order) with what was
    verified (H5.3), by the owner or a manager or admin. Ticking the dispatch closes the case
    succeeded. A ``checklist`` event."""
    case, request = _open_special(case_id=case_id, actor=actor)
    if step not in CHECKLIST_STEPS:
        raise SpecialRefused("STEP_INVALID", field="step", value=str(step)[:20])
    last = step == CHECKLIST_STEPS[-1]
    target = _next_step(case, request, SpecialAction.CHECKLIST, "dispatched" if last else "ticked")
    if case.assignee_id != actor.user_id and actor.role not in CHECKLIST_OVERRIDE_ROLES:
        raise SpecialRefused("NOT_OWNER", field="owner")
    done = list(
        ChecklistTick.objects.filter(request=request, round=request.round).values_list("step", flat=True)
    )
    expected = next((s for s in CHECKLIST_STEPS if s not in done), None)
    if step != expected:
        raise SpecialRefused("OUT_OF_ORDER", field="step", expected=expected or "")
    text = (verified or "").strip()
    if not text or len(text) > VERIFIED_MAX_LENGTH:
        raise SpecialRefused("VERIFIED_REQUIRED", field="verified", max_length=VERIFIED_MAX_LENGTH)
    text = _clean_note(text, required=True)
    tick = ChecklistTick.objects.create(
        request=request,
        round=request.round,
        merchant_id=case.merchant_id,
        step=step,
        verified=text,
        ticked_at=now,
        ticked_by_id=actor.user_id,
        ticked_by_label=actor.label,
    )
    log = [_event(case, CaseEventType.CHECKLIST, actor=actor, now=now, step=step, verified=text)]
    _advance(
        case,
        step=target,
        actor=actor,
        now=now,
        log=log,
        resolution=_("已发货：%(verified)s") % {"verified": text} if last else "",
        reason="dispatched",
    )
    return tick


@transaction.atomic
def special_alternative(
    *, case_id: int, actor: Actor, now: datetime, alternative: str, answer: str, channel: str, note: str = ""
) -> SpecialRequest:
    """A request that cannot be met (H5.1): the alternative offered (e.g. another courier that
    serves the region) and the buyer's answer. Accepted → the case closes succeeded with the
    alternative; declined → closes failed. A ``confirmed`` event with the alternative."""
    case, request = _open_special(case_id=case_id, actor=actor)
    accepted, how = _answer(answer, channel)
    step = _next_step(case, request, SpecialAction.ALTERNATIVE, accepted.value)
    offered = (alternative or "").strip()
    if not offered:
        raise SpecialRefused("ALTERNATIVE_REQUIRED", field="alternative")
    offered = _clean_note(offered, required=True)
    text = _clean_note(note, required=False)
    request.alternative, request.answer, request.answer_channel = offered, accepted, how
    request.answered_at, request.answer_by_label = now, actor.label
    request.save(
        update_fields=[
            "alternative",
            "answer",
            "answer_channel",
            "answered_at",
            "answer_by_label",
            "updated_at",
        ]
    )
    log = [
        _event(
            case,
            CaseEventType.CONFIRMED,
            actor=actor,
            now=now,
            answer=accepted.value,
            channel=how.value,
            alternative=offered,
            reasons=request.feasibility.get("reasons", []),
            note=text,
        )
    ]
    resolution = (
        _("买家接受替代方案：%(alternative)s")
        if accepted == BuyerAnswer.ACCEPTED
        else _("买家不接受替代方案：%(alternative)s")
    ) % {"alternative": offered}
    _advance(
        case,
        step=step,
        actor=actor,
        now=now,
        log=log,
        resolution=resolution,
        reason="alternative_accepted" if accepted == BuyerAnswer.ACCEPTED else "alternative_declined",
    )
    return request


# Why feasibility says no (`specials.feasibility.assess`), in words.
def reason_text(reason: dict[str, Any]) -> str:
    from orderguard.validation.special import COURIERS

    code = reason.get("code", "")
    courier = str(reason.get("courier", ""))
    name = COURIERS[courier][0] if courier in COURIERS else courier
    texts = {
        "NO_CONTRACT": lambda: _("仓库没有与%(courier)s的合同") % {"courier": name},
        "CONTRACT_INACTIVE": lambda: _("与%(courier)s的合同已停用") % {"courier": name},
        "REGION_NOT_SERVED": lambda: (
            _("%(courier)s的合同不服务收货地区：%(region)s")
            % {"courier": name, "region": reason.get("region", "")}
        ),
        "NO_CONTRACT_SERVES": lambda: (
            _("没有服务收货地区的快递合同：%(region)s") % {"region": reason.get("region", "")}
        ),
        "CAPACITY_EXHAUSTED": lambda: (
            _("今天的加急运力已用完（每日 %(capacity)s 单）") % {"capacity": reason.get("capacity", 0)}
        ),
    }
    return str(texts[code]()) if code in texts else str(code)


def special_error_message(error: SpecialRefused) -> str:
    """A refused special-request action in words for people (callers map the code)."""
    d = error.data
    messages = {
        "NOT_SPECIAL": lambda: _("该异常单不是特殊需求"),
        "FEASIBILITY_REQUIRED": lambda: _("请先评估可行性"),
        "NOT_FEASIBLE": lambda: (
            _("该需求不可行，不能报价：%(reasons)s")
            % {"reasons": "；".join(reason_text(r) for r in d.get("reasons", [])) or "—"}
        ),
        "FEE_REQUIRED": lambda: _("请填写费用（免费请填 0）"),
        "FEE_INVALID": lambda: _("费用必须是不小于 0 的金额，最多两位小数"),
        "DISPATCH_INVALID": lambda: _("承诺发货时间不能早于现在"),
        "QUOTE_REQUIRED": lambda: _("请先向买家报价，再记录买家确认"),
        "ANSWER_INVALID": lambda: _("买家答复应为同意或不同意"),
        "CHANNEL_INVALID": lambda: _("确认方式应为电话、短信或平台聊天"),
        "CONFIRMED_AT_INVALID": lambda: _("确认时间不能早于报价，也不能晚于现在"),
        "CAPACITY_EXHAUSTED": lambda: (
            _("今天的加急运力已用完（每日 %(capacity)s 单）") % {"capacity": d.get("capacity", 0)}
        ),
        "CONFIRMATION_REQUIRED": lambda: _("买家同意后才能指定负责人"),
        "OWNER_REQUIRED": lambda: _("请先指定负责人"),
        "NOT_OWNER": lambda: _("只有负责人或仓库主管可以勾选核对清单"),
        "STEP_INVALID": lambda: _("核对环节应为拣货、打包或发货"),
        "OUT_OF_ORDER": lambda: (
            _("请按顺序勾选：下一步是%(expected)s") % {"expected": step_label(d.get("expected", ""))}
        ),
        "VERIFIED_REQUIRED": lambda: _("请填写核对内容（最多 %(max)s 字）") % {"max": VERIFIED_MAX_LENGTH},
        "ALTERNATIVE_REQUIRED": lambda: _("请填写提供给买家的替代方案"),
    }
    return str(messages[error.code]()) if error.code in messages else _("操作未执行")


def step_label(step: str) -> str:
    """A checklist step in words."""
    labels = {"picking": _("拣货"), "packing": _("打包"), "dispatch": _("发货")}
    return str(labels.get(step, step))
