"""Special requests (T5, H5) on the cases router: the request of a case, feasibility, the quote,
the buyer's answer, the owner, the checklist and the alternative. Each write answers with the
request as it is now; a refusal names its field and changes nothing (`SpecialRefused` codes:
403 ``NOT_OWNER``, 409 for a step not reached or not feasible, 422 for bad input)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Schema

from orderguard.api.auth import actor
from orderguard.api.cases import BODY_ACTION_ERRORS, Note, Username, router
from orderguard.api.errors import AUTHENTICATED, ApiError, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import object_id
from orderguard.cases.machine import CHECKLIST_STEPS
from orderguard.cases.selectors import case_get
from orderguard.core import clock
from orderguard.specials.selectors import special_for_case
from orderguard.specials.services import (
    CONFLICT_CODES,
    FORBIDDEN_CODES,
    VERIFIED_MAX_LENGTH,
    SpecialRefused,
    special_alternative,
    special_confirm,
    special_error_message,
    special_feasibility,
    special_owner,
    special_quote,
    special_tick,
)
from orderguard.tenancy.access import Actor, user_id_for


class TickOut(Schema):
    step: str = Field(description="picking, packing or dispatch")
    verified: str
    ticked_at: datetime
    by: str


class SpecialOut(Schema):
    case_id: int
    kinds: list[str] = Field(description="courier, expedited, delivery_time, gift_wrap, no_price_slip, other")
    courier: str = Field(description="The courier asked for (validation.special.COURIERS code)")
    expedited: bool
    step: str = Field(
        description="assess_feasibility, quote, buyer_confirmation, assign_owner, fulfil, offer_alternative"
    )
    status: str
    feasible: bool | None = Field(description="null until feasibility is checked")
    feasibility: dict[str, Any] = Field(
        description="The last check: reasons, contracts considered, alternatives, fee, dispatch_at"
    )
    fee: Decimal | None
    dispatch_at: datetime | None
    answer: str = Field(description='The buyer\'s answer: "accepted", "declined" or ""')
    answer_channel: str = Field(description="call, sms or chat")
    answered_at: datetime | None
    answer_by: str
    alternative: str
    owner: str | None
    checklist: list[TickOut]
    next_tick: str | None = Field(description="The checklist step the caller may tick next")
    actions: list[str] = Field(description="The special-request actions the caller may take now")


class QuoteIn(Schema):
    model_config = {"extra": "forbid"}

    fee: Decimal | None = Field(None, description="The extra fee in yuan; required, 0 when free")
    dispatch_at: datetime | None = Field(
        None, description="Promised dispatch time; default: the feasibility's"
    )
    note: Note = ""


class ConfirmIn(Schema):
    model_config = {"extra": "forbid"}

    answer: Literal["accepted", "declined"]
    channel: Literal["call", "sms", "chat"] = Field(description="How the buyer answered")
    confirmed_at: datetime | None = Field(None, description="When the buyer answered; default now")
    note: Note = ""


class OwnerIn(Schema):
    model_config = {"extra": "forbid"}

    owner: Username = Field(description="Username of an active warehouse staff user")


class TickIn(Schema):
    model_config = {"extra": "forbid"}

    verified: str = Field(
        min_length=1, max_length=VERIFIED_MAX_LENGTH, pattern=r"^[^\x00]*$", description="What was verified"
    )


class AlternativeIn(Schema):
    model_config = {"extra": "forbid"}

    alternative: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")
    answer: Literal["accepted", "declined"]
    channel: Literal["call", "sms", "chat"]
    note: Note = ""


def _special(case_id: int, act: Actor) -> dict[str, Any]:
    case = case_get(actor=act, case_id=case_id)
    view = special_for_case(actor=act, case=case)
    if view is None:
        raise ApiError(409, "NOT_SPECIAL", special_error_message(SpecialRefused("NOT_SPECIAL")))
    request = view.request
    return {
        "case_id": case.pk,
        "kinds": view.kinds,
        "courier": view.courier,
        "expedited": view.expedited,
        "step": case.step,
        "status": case.status,
        "feasible": request.feasible if request else None,
        "feasibility": request.feasibility if request else {},
        "fee": request.fee if request else None,
        "dispatch_at": request.dispatch_at if request else None,
        "answer": request.answer if request else "",
        "answer_channel": request.answer_channel if request else "",
        "answered_at": request.answered_at if request else None,
        "answer_by": view.answer_by,
        "alternative": request.alternative if request else "",
        "owner": view.owner,
        "checklist": [
            {
                "step": t.step,
                "verified": t.verified,
                "ticked_at": t.ticked_at,
                "by": by,
            }
            for t, by in zip(view.ticks, view.ticked_by, strict=True)
        ],
        "next_tick": view.next_tick,
        "actions": [str(a) for a in view.actions],
    }


def _write(request: HttpRequest, case_id: int, do: Callable[[Actor], object]) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    try:
        do(act)
    except SpecialRefused as exc:
        status = 403 if exc.code in FORBIDDEN_CODES else 409 if exc.code in CONFLICT_CODES else 422
        raise ApiError(status, exc.code, special_error_message(exc), exc.field) from None
    return _special(case_id, act)


# A special request's errors: those of any case action (409 also for a step not reached).
SPECIAL_ERRORS = BODY_ACTION_ERRORS
NO_BODY_ERRORS = (*AUTHENTICATED, 404, 409)


@router.get(
    "/{case_id}/special",
    response=with_errors({200: SpecialOut}, *AUTHENTICATED, 404, 409),
    summary="Get a case's special request (H5)",
)
def get_special(request: HttpRequest, case_id: int = object_id("The case's id")) -> dict[str, Any]:
    """What was asked, the last feasibility check with the contracts considered, the quote, the
    buyer's answer, the owner and the checklist. A case that is no special request: 409
    ``NOT_SPECIAL``."""
    reject_unknown_query(request, NoQuery)
    return _special(case_id, actor(request))


@router.post(
    "/{case_id}/special/feasibility",
    response=with_errors({200: SpecialOut}, *NO_BODY_ERRORS),
    summary="Check a special request's feasibility now (H5.1)",
)
def check_feasibility(request: HttpRequest, case_id: int = object_id("The case's id")) -> dict[str, Any]:
    """From the data: an active contract of the order's warehouse with the courier asked for
    that serves the order's province or city, expedited capacity left today, the cut-off (after
    it the dispatch moves to the next working day). Feasible: the next step is the quote; not:
    an alternative is offered (`feasibility.alternatives`)."""
    return _write(
        request, case_id, lambda act: special_feasibility(case_id=case_id, actor=act, now=clock.now())
    )


@router.post(
    "/{case_id}/special/quote",
    response=with_errors({200: SpecialOut}, *SPECIAL_ERRORS),
    summary="Quote the fee and the dispatch time to the buyer (H5.2)",
)
def quote(request: HttpRequest, body: QuoteIn, case_id: int = object_id("The case's id")) -> dict[str, Any]:
    """`fee` is required (0 when free: a missing fee is 422 ``FEE_REQUIRED``, a negative one
    ``FEE_INVALID``); a request found not feasible cannot be quoted (409 ``NOT_FEASIBLE``)."""
    return _write(
        request,
        case_id,
        lambda act: special_quote(
            case_id=case_id,
            actor=act,
            now=clock.now(),
            fee=body.fee,
            dispatch_at=body.dispatch_at,
            note=body.note,
        ),
    )


@router.post(
    "/{case_id}/special/confirm",
    response=with_errors({200: SpecialOut}, *SPECIAL_ERRORS),
    summary="Record the buyer's answer to the quote (H5.2)",
)
def confirm(
    request: HttpRequest, body: ConfirmIn, case_id: int = object_id("The case's id")
) -> dict[str, Any]:
    """How (call, SMS, platform chat) and when the buyer answered; the caller is who recorded it.
    Before a quote: 409 ``QUOTE_REQUIRED``; an expedited request without capacity left today:
    409 ``CAPACITY_EXHAUSTED``. Declined: the case closes failed."""
    return _write(
        request,
        case_id,
        lambda act: special_confirm(
            case_id=case_id,
            actor=act,
            now=clock.now(),
            answer=body.answer,
            channel=body.channel,
            confirmed_at=body.confirmed_at,
            note=body.note,
        ),
    )


@router.post(
    "/{case_id}/special/owner",
    response=with_errors({200: SpecialOut}, *SPECIAL_ERRORS),
    summary="Name the owner of a special request (H5.3)",
)
def name_owner(
    request: HttpRequest, body: OwnerIn, case_id: int = object_id("The case's id")
) -> dict[str, Any]:
    """The person who owns the order through picking, packing and dispatch (the case's
    assignee). Before the buyer accepted: 409 ``CONFIRMATION_REQUIRED``."""
    owner_id = user_id_for(body.owner)
    return _write(
        request,
        case_id,
        lambda act: special_owner(case_id=case_id, actor=act, now=clock.now(), owner_id=owner_id),
    )


Step = Annotated[Literal[CHECKLIST_STEPS], Path(description="picking, packing or dispatch")]  # type: ignore[valid-type]


@router.post(
    "/{case_id}/special/checklist/{step}",
    response=with_errors({200: SpecialOut}, *SPECIAL_ERRORS),
    summary="Tick a checklist step with what was verified (H5.3)",
)
def tick(
    request: HttpRequest, body: TickIn, step: Step, case_id: int = object_id("The case's id")
) -> dict[str, Any]:
    """In order (picking, packing, dispatch; else 409 ``OUT_OF_ORDER``), by the owner or a
    manager or admin (else 403 ``NOT_OWNER``). The dispatch closes the case succeeded."""
    return _write(
        request,
        case_id,
        lambda act: special_tick(
            case_id=case_id, actor=act, now=clock.now(), step=step, verified=body.verified
        ),
    )


@router.post(
    "/{case_id}/special/alternative",
    response=with_errors({200: SpecialOut}, *SPECIAL_ERRORS),
    summary="Record the alternative offered and the buyer's answer (H5.1)",
)
def alternative(
    request: HttpRequest, body: AlternativeIn, case_id: int = object_id("The case's id")
) -> dict[str, Any]:
    """For a request found not feasible: accepted closes the case succeeded with the
    alternative, declined closes it failed."""
    return _write(
        request,
        case_id,
        lambda act: special_alternative(
            case_id=case_id,
            actor=act,
            now=clock.now(),
            alternative=body.alternative,
            answer=body.answer,
            channel=body.channel,
            note=body.note,
        ),
    )
