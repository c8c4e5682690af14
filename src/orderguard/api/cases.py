"""Cases API: the work queue, one case with its timeline, and the actions on a case (take,
assign, the state machine's moves, notes, the logged reveal of recipient data), scoped to the
caller. A merchant user reads role labels where staff read usernames."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from orderguard.api.auth import AUTH, actor
from orderguard.api.catalog import NO_NUL
from orderguard.api.errors import AUTHENTICATED, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_ID, MAX_LIMIT, MAX_OFFSET, FindingOut, _finding, enum_param, object_id
from orderguard.cases.choices import OPEN_STATUSES, CaseStatus
from orderguard.cases.contacts import case_contact_plan, contact_record, contacts_for_case
from orderguard.cases.ladder import AUTOMATIC, LADDER_TYPES, ContactChannel, ContactOutcome
from orderguard.cases.machine import ActionName, machine_for
from orderguard.cases.models import ExceptionCase
from orderguard.cases.selectors import (
    actor_labels_as_seen_by,
    assignee_label,
    case_get,
    case_timeline,
    cases_by_ids,
    cases_for_actor,
)
from orderguard.cases.services import (
    NOTE_MAX_LENGTH,
    case_assign,
    case_note_add,
    case_recipient_reveal,
    case_transition,
    cases_assign_bulk,
)
from orderguard.core import clock
from orderguard.core.choices import ExceptionType
from orderguard.orders.choices import Platform
from orderguard.sla.steps import STEP_LABELS
from orderguard.tenancy.access import Actor, user_id_for

router = Router(tags=["cases"], auth=AUTH)


class CaseSummaryOut(Schema):
    id: int
    type: str
    status: str
    source: str
    merchant: str
    order_id: int
    platform_order_id: str
    step: str
    due_at: datetime | None
    opened_at: datetime
    assignee: str | None = Field(
        description="Username of the person the case is assigned to (for a merchant user: their role)"
    )


class CaseEventOut(Schema):
    occurred_at: datetime
    type: str
    actor: str = Field(description="Actor label (user:NAME, system:JOB); for a merchant user a role label")
    data: dict[str, Any]


class CaseContactOut(Schema):
    occurred_at: datetime
    channel: str = Field(description="call, sms or merchant")
    outcome: str
    note: str
    actor: str


class NextContactOut(Schema):
    channel: str
    at: datetime
    reason: str = Field(
        description="first_call, call_again, calls_not_through, no_sms, sms_unanswered, dead_number"
    )
    automatic: bool = Field(
        description="True for the rungs the system takes itself (the SMS, asking the merchant)"
    )


class CaseOut(CaseSummaryOut):
    findings: list[FindingOut]
    waiting_on: str = Field(description='Whom a waiting case waits for: "buyer", "merchant" or ""')
    outcome: str
    resolution: str
    closed_at: datetime | None
    handling_seconds: int | None = Field(description="From opening to closing, for a closed case")
    actions: list[str] = Field(description="The actions the caller may take on the case now")
    events: list[CaseEventOut]
    contacts: list[CaseContactOut] = Field(description="Contact attempts, oldest first (H2, B2)")
    next_contact: NextContactOut | None = Field(
        description="The contact ladder's next rung (call, sms, merchant) and when; null when it has ended"
    )


# A note: one screen of text, no NUL (PostgreSQL refuses it in text and JSON).
Note = Annotated[str, Field(max_length=NOTE_MAX_LENGTH, pattern=r"^[^\x00]*$")]


class ActionIn(Schema):
    # a key the operation does not take is refused, never ignored (no mass assignment)
    model_config = {"extra": "forbid"}

    action: ActionName = Field(
        description="start, wait_buyer, wait_merchant, resume, resolve, cancel, reopen; dispute_sku on a "
        "product case (T3, H3.2: the buyer insists, the merchant is asked; `note` is what the buyer says)"
    )
    note: Note = Field("", description="Reason or solution; required to resolve, cancel and reopen")
    outcome: Literal["succeeded", "failed"] | None = Field(
        None, description="Required to resolve, else absent"
    )


class CaseContactIn(Schema):
    # a key the operation does not take is refused, never ignored (no mass assignment)
    model_config = {"extra": "forbid"}

    channel: ContactChannel = Field(description="call, sms or merchant")
    outcome: ContactOutcome = Field(
        description="call: reached, no_answer, busy, powered_off, not_exist, wrong_person, refused; "
        "sms: sent, replied, failed; merchant: asked, answered"
    )
    note: Note = ""


class NoteIn(Schema):
    # a key the operation does not take is refused, never ignored (no mass assignment)
    model_config = {"extra": "forbid"}

    note: Note = Field(min_length=1)


class RecipientClearOut(Schema):
    """The recipient's data in clear. Logged as a ``revealed`` event; never cached."""

    name: str | None
    phone: str | None
    address: str | None


class CasePageOut(Schema):
    total: int
    items: list[CaseSummaryOut]


# A Django username (letters, digits and @.+-_), so nothing else reaches a query.
Username = Annotated[str, Field(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")]
MAX_BULK = 500


class CaseAssignIn(Schema):
    # a key the operation does not take is refused, never ignored (no mass assignment)
    model_config = {"extra": "forbid"}

    assignee: Username = Field(description="Username of an active warehouse staff user")


class BulkAssignIn(Schema):
    # a key the operation does not take is refused, never ignored (no mass assignment)
    model_config = {"extra": "forbid"}

    case_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=MAX_BULK)
    assignee: Username = Field(description="Username of an active warehouse staff user")


class CaseListOut(Schema):
    items: list[CaseSummaryOut]


class CaseFilters(Schema):
    # absent: every type / the open statuses
    type: Annotated[ExceptionType | None, enum_param(ExceptionType)] = None
    status: Annotated[CaseStatus | None, enum_param(CaseStatus)] = None
    all: bool = False
    # as the work queue's filters
    platform: Annotated[Platform | None, enum_param(Platform)] = None
    province: str = Field(
        "", max_length=50, pattern=NO_NUL, description="The order's delivery province (exact)"
    )
    sku: str = Field(
        "",
        max_length=100,
        pattern=NO_NUL,
        description="A SKU code among the order's lines, or in a bundle among them",
    )
    step: str = Field(
        "",
        max_length=50,
        pattern="^(" + "|".join(STEP_LABELS) + ")?$",
        description="A step code: the cases that went through that step",
    )
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _summary(c: ExceptionCase, act: Actor) -> dict[str, Any]:
    return {
        "id": c.pk,
        "type": c.type,
        "status": c.status,
        "source": c.source,
        "merchant": c.merchant.code,
        "order_id": c.order_id,
        "platform_order_id": c.order.platform_order_id,
        "step": c.step,
        "due_at": c.due_at,
        "opened_at": c.opened_at,
        "assignee": assignee_label(case=c, actor=act),
    }


def _case(c: ExceptionCase, act: Actor) -> dict[str, Any]:
    machine = machine_for(c.type)
    return {
        **_summary(c, act),
        "findings": [_finding(f) for f in c.findings],
        "waiting_on": c.waiting_on,
        "outcome": c.outcome,
        "resolution": c.resolution,
        "closed_at": c.closed_at,
        "handling_seconds": c.handling_seconds,
        "actions": [
            a.name
            for a in machine.available(status=CaseStatus(c.status), waiting_on=c.waiting_on, role=act.role)
        ],
        "events": [
            {"occurred_at": e.occurred_at, "type": e.type, "actor": e.actor, "data": e.data}
            for e in case_timeline(actor=act, case=c)
        ],
        **_contacts(c, act),
    }


def _contacts(c: ExceptionCase, act: Actor) -> dict[str, Any]:
    if c.type not in LADDER_TYPES:
        return {"contacts": [], "next_contact": None}
    attempts = contacts_for_case(actor=act, case=c)
    labels = actor_labels_as_seen_by(actor=act, labels={a.actor_label for a in attempts})
    step = case_contact_plan(c) if c.status in OPEN_STATUSES else None
    return {
        "contacts": [
            {
                "occurred_at": a.occurred_at,
                "channel": a.type,
                "outcome": a.outcome,
                "note": a.note,
                "actor": labels[a.actor_label],
            }
            for a in attempts
        ],
        "next_contact": {
            "channel": step.channel,
            "at": step.at,
            "reason": step.why,
            "automatic": step.channel in AUTOMATIC,
        }
        if step
        else None,
    }


@router.get("", response=with_errors({200: CasePageOut}, *AUTHENTICATED), summary="List cases (work queue)")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    """Open cases by default, soonest deadline first; `status` for one status, `all` for every;
    `platform`, `province` (exact) and `sku` (a line of the case's order, or of a bundle holding
    it) and `step` (a step the case went through) as in the work queue."""
    reject_unknown_query(request, CaseFilters)
    status = filters.status.value if filters.status else ("all" if filters.all else "open")
    act = actor(request)
    qs = cases_for_actor(
        actor=act,
        case_type=filters.type.value if filters.type else None,
        status=status,
        platform=filters.platform.value if filters.platform else "",
        province=filters.province,
        sku_code=filters.sku,
        step=filters.step,
    )
    page = qs[filters.offset : filters.offset + filters.limit]
    return {"total": qs.count(), "items": [_summary(c, act) for c in page]}


# Before "/{case_id}": Django tries the paths in the order they were added, and "assign"
# would otherwise be taken for a case id (405 for a POST).
# Refusals of an action on a case: not visible (404), not staff (403), closed (409), an
# unknown or ineligible assignee (422, field "assignee").
ACTION_ERRORS = (*AUTHENTICATED, 404, 409)
# ... and for those with a body, one that is not JSON (400)
BODY_ACTION_ERRORS = (*ACTION_ERRORS, 400)


@router.post(
    "/assign",
    response=with_errors({200: CaseListOut}, *BODY_ACTION_ERRORS),
    summary="Assign several cases (all or none)",
)
def assign_cases(request: HttpRequest, body: BulkAssignIn) -> dict[str, Any]:
    """Up to 500 cases in one transaction; if any is not assignable, none is assigned."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    assignee_id = user_id_for(body.assignee)
    cases_assign_bulk(case_ids=body.case_ids, assignee_id=assignee_id, actor=act, now=clock.now())
    return {"items": [_summary(c, act) for c in cases_by_ids(actor=act, case_ids=body.case_ids)]}


@router.get(
    "/{case_id}",
    response=with_errors({200: CaseOut}, *AUTHENTICATED, 404),
    summary="Get a case with its timeline",
)
def get_case(request: HttpRequest, case_id: int = object_id("The case's id")) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    return _case(case_get(actor=act, case_id=case_id), act)


@router.post(
    "/{case_id}/assign",
    response=with_errors({200: CaseSummaryOut}, *BODY_ACTION_ERRORS),
    summary="Assign a case to a warehouse staff user",
)
def assign_case(
    request: HttpRequest, body: CaseAssignIn, case_id: int = object_id("The case's id")
) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    assignee_id = user_id_for(body.assignee)
    case_assign(case_id=case_id, assignee_id=assignee_id, actor=act, now=clock.now())
    return _summary(case_get(actor=act, case_id=case_id), act)


@router.post(
    "/{case_id}/take",
    response=with_errors({200: CaseSummaryOut}, *ACTION_ERRORS),
    summary="Take a case (assign it to oneself)",
)
def take_case(request: HttpRequest, case_id: int = object_id("The case's id")) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    case_assign(case_id=case_id, assignee_id=act.user_id, actor=act, now=clock.now())
    return _summary(case_get(actor=act, case_id=case_id), act)


@router.post(
    "/{case_id}/actions",
    response=with_errors({200: CaseOut}, *BODY_ACTION_ERRORS),
    summary="Take an action on a case (its state machine's moves)",
)
def act_on_case(
    request: HttpRequest, body: ActionIn, case_id: int = object_id("The case's id")
) -> dict[str, Any]:
    """The moves of the case's state machine; `actions` of `GET /cases/{id}` lists those the
    caller may take now. A move the machine forbids from the case's status is a 409
    ``TRANSITION_NOT_ALLOWED`` naming the field ``action``; a merchant user takes no action
    (403 ``ROLE``), reopening is for managers and admins (403 ``ACTION_ROLE``); resolving
    needs an `outcome` and a `note` (422 naming the field). Nothing is written when refused."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    case_transition(
        case_id=case_id, action=body.action, actor=act, now=clock.now(), note=body.note, outcome=body.outcome
    )
    return _case(case_get(actor=act, case_id=case_id), act)


@router.post(
    "/{case_id}/notes",
    response=with_errors({200: CaseOut}, *(s for s in BODY_ACTION_ERRORS if s != 409)),
    summary="Add a note to a case",
)
def add_case_note(
    request: HttpRequest, body: NoteIn, case_id: int = object_id("The case's id")
) -> dict[str, Any]:
    """Staff on any case they see, a merchant user on its own merchant's cases (its answer to
    the warehouse); notes are read by both."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    case_note_add(case_id=case_id, actor=act, text=body.note, now=clock.now())
    return _case(case_get(actor=act, case_id=case_id), act)


@router.post(
    "/{case_id}/contacts",
    response=with_errors({200: CaseOut}, *(s for s in BODY_ACTION_ERRORS if s != 409)),
    summary="Record a contact attempt (call, SMS, merchant)",
)
def record_contact(
    request: HttpRequest, body: CaseContactIn, case_id: int = object_id("The case's id")
) -> dict[str, Any]:
    """H2, B2: what came of a call (or an SMS answered, the merchant answering). The contact
    ladder then plans the next rung (`next_contact`); the SMS and the request to the merchant
    are sent by the system when due. An outcome that does not go with the channel is a 422
    ``CONTACT_INVALID`` naming the field; a merchant user records nothing (403 ``ROLE``); a
    closed case: 409 ``CASE_CLOSED``. Nothing is written when refused."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    contact_record(
        case_id=case_id,
        actor=act,
        channel=body.channel,
        outcome=body.outcome,
        note=body.note,
        now=clock.now(),
    )
    return _case(case_get(actor=act, case_id=case_id), act)


@router.post(
    "/{case_id}/reveal",
    response=with_errors({200: RecipientClearOut}, *AUTHENTICATED, 404),
    summary="Show the recipient's data in clear (logged)",
)
def reveal_recipient(request: HttpRequest, case_id: int = object_id("The case's id")) -> dict[str, Any]:
    """The name, phone and street address, for customer-service agents, managers and admins
    (others: 403 ``REVEAL_NOT_ALLOWED``); each call is a ``revealed`` event naming who and
    which fields, never the values. No body: nothing personal is ever sent to ask."""
    reject_unknown_query(request, NoQuery)
    clear = case_recipient_reveal(case_id=case_id, actor=actor(request), now=clock.now())
    return {"name": clear.name, "phone": clear.phone, "address": clear.address}
