"""Case writes: triage of findings into cases (one open case per order and type), assignment,
the moves of the state machine (`cases.machine`), notes, and logged reveals of recipient data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from orderguard.cases import events
from orderguard.cases.choices import OPEN_STATUSES, CaseOutcome, CaseStatus
from orderguard.cases.disputes import sku_disputes_open, sku_disputes_withdraw
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.ladder import LADDER_TYPES, ContactChannel, ContactOutcome
from orderguard.cases.machine import CLOSED_STATUSES, REVEAL_ROLES, ActionName, CaseState, machine_for, move
from orderguard.cases.models import CaseEvent, ContactAttempt, ExceptionCase
from orderguard.core import bulk
from orderguard.core.choices import DetectionSource
from orderguard.core.errors import NotFound
from orderguard.core.findings import Finding
from orderguard.orders.models import Order
from orderguard.sla.services import (
    FIRST_STEP,
    PolicyBook,
    case_clock_pause,
    case_clock_resume,
    case_clock_start,
    case_clock_stop,
)
from orderguard.tenancy.access import Actor, get_visible, staff_users, visible

# Cases that the checks opened are closed by the checks when their findings go away; a case a
# person opened (customer-service report, manual) or an outage is closed only by a person.
AUTO_SOURCES = frozenset({DetectionSource.STOCK_ALERT, DetectionSource.IMPORT_CHECK})


class CloseReason:
    RECHECK_PASSED = "recheck_passed"
    ORDER_NOT_READY = "order_not_ready"
    STOCK_ARRIVED = "stock_arrived"


@dataclass(slots=True)
class OrderFindings:
    """The result of checking one order: its blocking findings (warnings are not cases), or
    `not_ready` when the platform says the order is not to ship (unpaid, refunding, closed)."""

    order: Order
    findings: Sequence[Finding] = ()
    not_ready: bool = False


@dataclass
class TriageResult:
    opened: list[ExceptionCase] = field(default_factory=list)
    updated: list[ExceptionCase] = field(default_factory=list)
    closed: list[ExceptionCase] = field(default_factory=list)


def handling_seconds(case: ExceptionCase, closed_at: datetime) -> int:
    """Seconds from the case's opening to its closing (a reopened case counts from its first
    opening: the buyer waited all that time)."""
    return max(0, int((closed_at - case.opened_at).total_seconds()))


# what closing a case writes (`cases_close`)
CLOSE_FIELDS = (
    "status",
    "outcome",
    "resolution",
    "closed_at",
    "waiting_on",
    "handling_seconds",
    "sla_next_at",
    "sla_paused_at",
    "sla_remaining_seconds",
    "contact_next",
    "contact_next_at",
    "contact_auto_at",
)


def cases_close(
    cases: Sequence[ExceptionCase],
    *,
    status: CaseStatus,
    outcome: CaseOutcome,
    resolution: str,
    reason: str,
    now: datetime,
    actor_label: str,
    actor_id: int | None = None,
) -> None:
    """Close `cases` (locked by the caller) in one update: the status, outcome and
    resolution, no alerts and no buyer contacts to come, and a ``resolved`` CaseEvent each
    naming `reason`. For a service that closes cases for a cause of its own (an incident resolved, an
    order merged away); a person's move goes through `case_transition`."""
    for case in cases:
        case.status, case.outcome, case.resolution = status, outcome, resolution
        case.closed_at, case.waiting_on = now, ""
        case.handling_seconds = handling_seconds(case, now)
        case_clock_stop(case)
        case.contact_next, case.contact_next_at, case.contact_auto_at = "", None, None
    bulk.update(list(cases), list(CLOSE_FIELDS))
    bulk.insert(
        [
            events.resolved(case, at=now, actor_label=actor_label, actor_id=actor_id, reason=reason)
            for case in cases
        ]
    )


def _source_of(findings: list[Finding]) -> DetectionSource:
    """A case found by several checks is credited to import validation (D2) when it took part."""
    sources = {f.source for f in findings}
    return DetectionSource.IMPORT_CHECK if DetectionSource.IMPORT_CHECK in sources else findings[0].source


def cases_triage(
    *,
    items: Sequence[OrderFindings],
    now: datetime,
    actor_label: str,
    policies: PolicyBook,
    close_reason: str = CloseReason.RECHECK_PASSED,
) -> TriageResult:
    """Open, update or close cases so that each order has exactly one open case per type with
    blocking findings. Runs in the caller's transaction, in batch (a fixed number of queries
    whatever the number of orders).

    - a type with findings and no open case: a case opens, due by the type's first-step policy;
    - an open case whose findings changed: its findings are replaced (deadline kept);
    - an open automatic case (D1/D2) whose type has no finding any more: resolved, succeeded,
      logged with `close_reason` (``stock_arrived`` when the stock re-check served the order);
    - an order no longer to ship: its open automatic cases are cancelled.
    Each change is a CaseEvent. A closed product case's disputes that no open case waits on
    are withdrawn (`cases.disputes.sku_disputes_withdraw`).
    """
    result = TriageResult()
    if not items:
        return result
    order_ids = [it.order.pk for it in items]
    open_cases: dict[int, dict[str, ExceptionCase]] = defaultdict(dict)
    # locked in pk order, like every writer of cases: a person's move of one of these cases
    # (case_transition) waits for this transaction or is waited for, and its outcome is never
    # overwritten with the values read here
    locked = (
        ExceptionCase.objects.select_for_update(of=("self",))
        .filter(order_id__in=order_ids, status__in=OPEN_STATUSES)
        .order_by("pk")
    )
    for c in locked:
        open_cases[c.order_id][c.type] = c
    new_events: list[CaseEvent] = []
    to_update: list[ExceptionCase] = []
    for item in items:
        by_type: dict[str, list[Finding]] = defaultdict(list)
        if not item.not_ready:
            for f in item.findings:
                if f.blocking:
                    by_type[f.type].append(f)
        existing = open_cases.get(item.order.pk, {})
        for case_type in sorted(by_type.keys() | existing.keys()):
            case = existing.get(case_type)
            found = by_type.get(case_type)
            if found and case is None:
                deadline = policies.first_deadline(
                    case_type=case_type,
                    start=now,
                    warehouse_id=policies.warehouse_of_channel(item.order.channel_id),
                )
                result.opened.append(
                    bulk.new(
                        ExceptionCase,
                        merchant_id=item.order.merchant_id,
                        order=item.order,
                        type=case_type,
                        status=CaseStatus.OPEN,
                        source=_source_of(found),
                        findings=[f.as_dict() for f in found],
                        step=deadline.step,
                        due_at=deadline.due_at,
                        warn_at=deadline.warn_at,
                        sla_next_at=deadline.next_at,
                        # B2: a ladder type starts with a call, due at once
                        contact_next=ContactChannel.CALL if case_type in LADDER_TYPES else "",
                        contact_next_at=now if case_type in LADDER_TYPES else None,
                        opened_at=now,
                    )
                )
            elif found and case is not None:
                fresh = [f.as_dict() for f in found]
                if fresh != case.findings:
                    before = [f["code"] for f in case.findings]
                    case.findings = fresh
                    to_update.append(case)
                    result.updated.append(case)
                    new_events.append(
                        events.findings_changed(case, at=now, actor_label=actor_label, before=before)
                    )
            elif not found and case is not None and case.source in AUTO_SOURCES:
                reason = CloseReason.ORDER_NOT_READY if item.not_ready else close_reason
                case.status = CaseStatus.CANCELLED if item.not_ready else CaseStatus.RESOLVED
                case.outcome = CaseOutcome.CANCELLED if item.not_ready else CaseOutcome.SUCCEEDED
                case.resolution = reason
                case.closed_at = now
                case.waiting_on = ""
                case.handling_seconds = handling_seconds(case, now)
                case_clock_stop(case)
                case.contact_next, case.contact_next_at, case.contact_auto_at = "", None, None
                to_update.append(case)
                result.closed.append(case)
                new_events.append(events.resolved(case, at=now, actor_label=actor_label, reason=reason))
    if result.opened:
        for case, pk in zip(result.opened, bulk.reserve_ids(ExceptionCase, len(result.opened)), strict=True):
            case.pk = pk
        bulk.insert(result.opened)
        new_events.extend(events.opened(c, at=now, actor_label=actor_label) for c in result.opened)
    if to_update:
        bulk.update(
            to_update,
            [
                "findings",
                "status",
                "waiting_on",
                "outcome",
                "resolution",
                "closed_at",
                "handling_seconds",
                "sla_next_at",
                "sla_paused_at",
                "sla_remaining_seconds",
                "contact_next",
                "contact_next_at",
                "contact_auto_at",
            ],
        )
    new_events.extend(sku_disputes_withdraw(cases=result.closed, now=now, actor_label=actor_label))
    bulk.insert(new_events)
    return result


def cases_close_for_orders(
    *, order_ids: Sequence[int], case_type: str, now: datetime, actor_label: str, reason: str
) -> list[int]:
    """Resolve (succeeded, `reason`) the open automatic cases of `case_type` of these orders,
    whose findings of that type went away: what `cases_triage` does for them, for many orders
    at once without loading whole cases (the stock re-check closes up to every T1 case of a
    warehouse after one receipt). Rows locked in pk order like every writer of cases; a
    ``resolved`` CaseEvent each. Returns the closed cases' ids."""
    rows = list(
        ExceptionCase.objects.select_for_update(of=("self",))
        .filter(order_id__in_ids=order_ids, type=case_type, status__in=OPEN_STATUSES, source__in=AUTO_SOURCES)
        .order_by("pk")
        .values_list("pk", "opened_at")
    )
    # (case id, handling seconds): plain pairs, instances only for a row-by-row update
    closed = [(pk, max(0, int((now - opened_at).total_seconds()))) for pk, opened_at in rows]
    # cases opened by one import share their opening time, so the handling times are few: one
    # UPDATE per handling time (a row-by-row update when they are mostly different)
    by_seconds: dict[int, list[int]] = defaultdict(list)
    for pk, seconds in closed:
        by_seconds[seconds].append(pk)
    if len(by_seconds) * 20 <= len(closed):
        for seconds, pks in by_seconds.items():
            ExceptionCase.objects.filter(pk__in_ids=pks).update(
                status=CaseStatus.RESOLVED,
                outcome=CaseOutcome.SUCCEEDED,
                resolution=reason,
                closed_at=now,
                waiting_on="",
                handling_seconds=seconds,
                sla_next_at=None,
                sla_paused_at=None,
                sla_remaining_seconds=None,
                contact_next="",
                contact_next_at=None,
                contact_auto_at=None,
                updated_at=timezone.now(),
            )
    else:
        bulk.update(
            [
                bulk.new(
                    ExceptionCase,
                    pk=pk,
                    status=CaseStatus.RESOLVED,
                    outcome=CaseOutcome.SUCCEEDED,
                    resolution=reason,
                    closed_at=now,
                    waiting_on="",
                    handling_seconds=seconds,
                    # no alerts or contacts to come (as `case_clock_stop`)
                    sla_next_at=None,
                    sla_paused_at=None,
                    sla_remaining_seconds=None,
                    contact_next="",
                    contact_next_at=None,
                    contact_auto_at=None,
                )
                for pk, seconds in closed
            ],
            [
                "status",
                "outcome",
                "resolution",
                "closed_at",
                "waiting_on",
                "handling_seconds",
                "sla_next_at",
                "sla_paused_at",
                "sla_remaining_seconds",
                "contact_next",
                "contact_next_at",
                "contact_auto_at",
            ],
        )
    bulk.insert_rows(
        CaseEvent,
        common={"type": events.CaseEventType.RESOLVED, "occurred_at": now, "actor_label": actor_label},
        names=("case_id", "data"),
        rows=[
            (pk, {"outcome": CaseOutcome.SUCCEEDED.value, "reason": reason, "handling_seconds": seconds})
            for pk, seconds in closed
        ],
    )
    return [pk for pk, _seconds in closed]


def require_staff(actor: Actor) -> None:
    """Raise CaseActionNotAllowed(ROLE) unless the actor is warehouse staff (who act on cases)."""
    if not actor.is_staff_role:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.ROLE, role=actor.role)


def _assignee(assignee_id: int | None) -> User:
    user = None if assignee_id is None else User.objects.filter(pk=assignee_id).first()
    if user is None:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.ASSIGNEE_UNKNOWN, assignee_id=assignee_id)
    if not staff_users().filter(pk=user.pk).exists():
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.ASSIGNEE_NOT_ELIGIBLE, assignee_id=user.pk)
    return user


@transaction.atomic
def cases_assign_bulk(
    *, case_ids: Sequence[int], assignee_id: int | None, actor: Actor, now: datetime
) -> list[ExceptionCase]:
    """Assign every case of `case_ids` to the user `assignee_id`, all or none, in one
    transaction; returns the cases in pk order. "Take" is assigning to oneself.

    Checked in this order, and refused with nothing written:
    - a case the actor may not see: `NotFound` (alike for missing and someone else's), so a
      merchant user learns nothing about another merchant's ids;
    - the actor is not warehouse staff: CaseActionNotAllowed ``ROLE``;
    - a case is resolved or cancelled: ``CASE_CLOSED``, with `case_ids` naming them;
    - no such assignee (None: an unknown username): ``ASSIGNEE_UNKNOWN``; inactive or not
      warehouse staff: ``ASSIGNEE_NOT_ELIGIBLE``.
    A case already assigned to the assignee is left alone (no event); every other case gets
    its `assignee` and an ``assigned`` CaseEvent in the same transaction.
    """
    wanted = sorted(set(case_ids))
    # lock in pk order: two bulk assignments over overlapping cases must not deadlock
    locked = list(
        visible(ExceptionCase.objects.select_for_update(of=("self",)), actor)
        .filter(pk__in=wanted)
        .select_related("assignee")
        .order_by("pk")
    )
    found = {c.pk for c in locked}
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise NotFound("not found", model="ExceptionCase", id=missing[0], ids=missing)
    require_staff(actor)
    closed = [c.pk for c in locked if c.status not in OPEN_STATUSES]
    if closed:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.CASE_CLOSED, case_ids=closed)
    assignee = _assignee(assignee_id)
    changed: list[ExceptionCase] = []
    new_events: list[CaseEvent] = []
    for case in locked:
        if case.assignee_id == assignee.pk:
            continue
        previous = case.assignee.get_username() if case.assignee is not None else None
        case.assignee = assignee
        changed.append(case)
        event = events.assigned(
            case, at=now, actor_label=actor.label, assignee=assignee.get_username(), previous=previous
        )
        event.actor_id = actor.user_id
        new_events.append(event)
    bulk.update(changed, ["assignee_id"])
    bulk.insert(new_events)
    return locked


def case_assign(*, case_id: int, assignee_id: int | None, actor: Actor, now: datetime) -> ExceptionCase:
    """Assign one case (see `cases_assign_bulk` for the checks, errors and the event)."""
    return cases_assign_bulk(case_ids=[case_id], assignee_id=assignee_id, actor=actor, now=now)[0]


# Notes and reasons: one screen of text at most.
NOTE_MAX_LENGTH = 2000


def _clean_note(text: str, *, required: bool) -> str:
    """`text` without surrounding blanks; CaseActionNotAllowed ``NOTE_REQUIRED`` when required
    and empty, ``NOTE_INVALID`` when too long or holding control characters (NUL, escape...)
    other than line breaks and tabs, or lone surrogates (no database stores them)."""
    note = text.strip()
    if required and not note:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.NOTE_REQUIRED)
    if len(note) > NOTE_MAX_LENGTH:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.NOTE_INVALID, max_length=NOTE_MAX_LENGTH)
    if any(
        (ord(ch) < 32 and ch not in "\n\r\t") or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in note
    ):
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.NOTE_INVALID, max_length=NOTE_MAX_LENGTH)
    return note


def _lock_visible(*, case_id: int, actor: Actor) -> ExceptionCase:
    case = (
        visible(ExceptionCase.objects.select_for_update(of=("self",)), actor)
        .filter(pk=case_id)
        .select_related("order")
        .first()
    )
    if case is None:
        raise NotFound("not found", model="ExceptionCase", id=case_id)
    return case


@transaction.atomic
def case_transition(
    *,
    case_id: int,
    action: ActionName,
    actor: Actor,
    now: datetime,
    note: str = "",
    outcome: str | None = None,
    policies: PolicyBook | None = None,
) -> ExceptionCase:
    """Take the named `action` on a case (see `cases.machine` for the rules) and log it.

    Checked in this order, and refused with nothing written (CaseActionNotAllowed codes):
    a case the actor may not see: `NotFound`; a merchant user: ``ROLE``; a role the action
    is not for (reopen): ``ACTION_ROLE``; a move the case's machine forbids from its status:
    ``TRANSITION_NOT_ALLOWED`` (`action`, `source`, `target`); resolving without "succeeded"
    or "failed", or an outcome given to another action: ``OUTCOME_INVALID``; a reason missing
    where the action needs one: ``NOTE_REQUIRED``; a bad note: ``NOTE_INVALID``; reopening a
    case whose order has another open case of its type: ``OPEN_CASE_EXISTS``.

    Closing (resolve, cancel) records the outcome, the note as the resolution, `closed_at` and
    the handling time, and writes a ``resolved`` event (and withdraws the case's SKU disputes
    that no other open case waits on); reopening clears them, restarts the
    first step's deadline and writes ``reopened``; every other move writes ``status_changed``.
    The case row is locked for the whole check, so two people acting at once are serialised.
    """
    case = _lock_visible(case_id=case_id, actor=actor)
    require_staff(actor)
    machine = machine_for(case.type)
    source = CaseStatus(case.status)
    try:
        state = move(
            machine,
            CaseState(
                status=source, waiting_on=case.waiting_on, outcome=case.outcome, closed_at=case.closed_at
            ),
            action=ActionName(action),
            role=actor.role,
            outcome=outcome,
            at=now,
        )
    except CaseActionNotAllowed as exc:
        exc.data["case_id"] = case.pk
        raise
    act = machine.actions[ActionName(action)]
    text = _clean_note(note, required=act.needs_note)
    case.status, case.waiting_on = state.status, state.waiting_on
    case.outcome, case.closed_at = state.outcome, state.closed_at
    book = policies or PolicyBook()
    clock: dict[str, Any] = {}
    if state.status in CLOSED_STATUSES:
        case_clock_stop(case)
        case.contact_next, case.contact_next_at, case.contact_auto_at = "", None, None
        case.resolution = text
        case.handling_seconds = handling_seconds(case, now)
        event = events.resolved(
            case,
            at=now,
            actor_label=actor.label,
            actor_id=actor.user_id,
            reason=act.name,
            source=source,
            note=text,
        )
    elif act.name == ActionName.REOPEN:
        other = (
            ExceptionCase.objects.filter(order_id=case.order_id, type=case.type, status__in=OPEN_STATUSES)
            .values_list("pk", flat=True)
            .first()
        )
        if other is not None:
            raise CaseActionNotAllowed(code=CaseActionNotAllowed.OPEN_CASE_EXISTS, other_case_id=other)
        case_clock_start(case, step=FIRST_STEP[case.type], now=now, policies=book)
        case.resolution, case.handling_seconds = "", None
        event = events.reopened(
            case, at=now, actor_label=actor.label, actor_id=actor.user_id, source=source, note=text
        )
    else:
        # B1/S1: the step's clock stops while the case waits on the buyer or the merchant (when
        # its policy says so) and runs again with the time that was left when the answer comes;
        # a move that starts a step of its own (the merchant's answer) starts that step's clock
        if act.step:
            case_clock_start(case, step=act.step, now=now, policies=book)
            clock = {"step": act.step, "due_at": case.due_at.isoformat() if case.due_at else None}
        elif state.status == CaseStatus.WAITING and case_clock_pause(case, now=now, policies=book):
            clock = {"clock": "paused", "remaining_seconds": case.sla_remaining_seconds}
        elif state.status != CaseStatus.WAITING and case_clock_resume(case, now=now, policies=book):
            clock = {"clock": "resumed", "due_at": case.due_at.isoformat() if case.due_at else None}
        event = events.status_changed(
            case,
            at=now,
            actor_label=actor.label,
            actor_id=actor.user_id,
            action=act.name,
            source=source,
            note=text,
            **clock,
        )
    asked: list[ContactAttempt] = []
    if act.name == ActionName.DISPUTE_SKU and case.type in LADDER_TYPES:
        # the buyer was reached (they insist) and the merchant is asked: the contact ladder ends
        # here, so it neither texts the buyer nor tells the merchant the buyer cannot be reached
        from orderguard.cases.contacts import _attempt

        row, contacted = _attempt(
            case,
            channel=ContactChannel.MERCHANT,
            outcome=ContactOutcome.ASKED,
            note=text,
            at=now,
            actor_label=actor.label,
            actor_id=actor.user_id,
        )
        asked.append(row)
        case.contact_next, case.contact_next_at, case.contact_auto_at = "", None, None
    try:
        # a savepoint: the partial unique index may still refuse a reopen that raced triage
        with transaction.atomic():
            case.save(
                update_fields=[
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
                    "contact_next",
                    "contact_next_at",
                    "contact_auto_at",
                    "updated_at",
                ]
            )
    except IntegrityError:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.OPEN_CASE_EXISTS, other_case_id="") from None
    log = [event]
    if act.step:
        log.append(events.step_started(case, at=now, actor_label=actor.label, actor_id=actor.user_id))
    if act.name == ActionName.DISPUTE_SKU:
        # H3.2: the SKUs the case is about are disputed with the merchant, in this transaction
        if asked:
            bulk.insert(asked)
            log.append(contacted)
        log += sku_disputes_open(case=case, actor=actor, buyer_says=text, now=now)
    elif state.status in CLOSED_STATUSES:
        # nobody waits for the merchant's answer about a closed case any more
        log += sku_disputes_withdraw(cases=[case], now=now, actor_label=actor.label, actor_id=actor.user_id)
    bulk.insert(log)
    return case


@transaction.atomic
def case_note_add(*, case_id: int, actor: Actor, text: str, now: datetime) -> CaseEvent:
    """Add a note to a case's log, open or closed. Warehouse staff write on any case they see;
    a merchant user answers on its own merchant's cases (staff read it on the case page).

    Another merchant's case: `NotFound`; an empty note: ``NOTE_REQUIRED``; one too long or
    with control characters: ``NOTE_INVALID``.
    """
    case = get_visible(ExceptionCase.objects.all(), actor, case_id)
    note = _clean_note(text, required=True)
    event = events.note_added(case, at=now, actor_label=actor.label, actor_id=actor.user_id, text=note)
    bulk.insert([event])
    return event


# The recipient's data that is masked everywhere, by the names a reveal asks for.
REVEALABLE = ("name", "phone", "address")


@dataclass(frozen=True, slots=True)
class RecipientClear:
    """A recipient's data in clear, for the one answer that shows it; a field not asked for is
    None."""

    name: str | None
    phone: str | None
    address: str | None


@transaction.atomic
def case_recipient_reveal(
    *, case_id: int, actor: Actor, now: datetime, fields: Sequence[str] = REVEALABLE
) -> RecipientClear:
    """The recipient's name, phone and street address of a case's order in clear, for the
    roles that may see them (`cases.machine.REVEAL_ROLES`), each reveal logged as a
    ``revealed`` event naming who and which fields, never the values.

    Another merchant's case: `NotFound`; any other role: ``REVEAL_NOT_ALLOWED`` (nothing
    logged). `fields` is a subset of `REVEALABLE` (others are ignored; none means all).
    """
    case = get_visible(ExceptionCase.objects.select_related("order"), actor, case_id)
    if actor.role not in REVEAL_ROLES:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.REVEAL_NOT_ALLOWED, role=actor.role)
    wanted = [f for f in REVEALABLE if f in set(fields)] or list(REVEALABLE)
    bulk.insert(
        [events.revealed(case, at=now, actor_label=actor.label, actor_id=actor.user_id, fields=wanted)]
    )
    order = case.order
    return RecipientClear(
        name=order.recipient_name if "name" in wanted else None,
        phone=order.recipient_phone if "phone" in wanted else None,
        address=order.address_detail if "address" in wanted else None,
    )


@dataclass(frozen=True, slots=True)
class CaseJoin:
    """What `case_open_or_join` did: `created` True when it opened the case."""

    case: ExceptionCase
    created: bool


def case_open_or_join(
    *,
    order: Order,
    case_type: str,
    findings: Sequence[Finding],
    now: datetime,
    actor_label: str,
    actor_id: int | None = None,
    policies: PolicyBook | None = None,
) -> CaseJoin:
    """Open a case of `case_type` on `order` with `findings` (a person's finding: sample
    audit D4, customer-service report D5), or add them to the order's open case of that type:
    never a second open case. Runs in the caller's transaction.

    The open case is locked; findings already on it (same code, field and data) are not added
    twice. A new case is due by the type's first-step policy and credited to the findings'
    source, with an ``opened`` event; a joined case keeps its deadline and gets a
    ``findings_changed`` event when something was added. The caller writes its own event
    (``audited``, ``reported``). A case opened at the same moment by someone else (the
    partial unique index refuses ours) is joined instead.
    """
    fresh = [f.as_dict() for f in findings]
    for _attempt in range(2):
        case = (
            ExceptionCase.objects.select_for_update(of=("self",))
            .filter(order_id=order.pk, type=case_type, status__in=OPEN_STATUSES)
            .order_by("pk")
            .first()
        )
        if case is not None:
            added = [f for f in fresh if f not in case.findings]
            if added:
                before = [f["code"] for f in case.findings]
                case.findings = [*case.findings, *added]
                case.save(update_fields=["findings", "updated_at"])
                bulk.insert([events.findings_changed(case, at=now, actor_label=actor_label, before=before)])
            return CaseJoin(case=case, created=False)
        book = policies or PolicyBook()
        deadline = book.first_deadline(
            case_type=case_type, start=now, warehouse_id=book.warehouse_of_channel(order.channel_id)
        )
        case = ExceptionCase(
            merchant_id=order.merchant_id,
            order=order,
            type=case_type,
            status=CaseStatus.OPEN,
            source=_source_of(list(findings)),
            findings=fresh,
            step=deadline.step,
            due_at=deadline.due_at,
            warn_at=deadline.warn_at,
            sla_next_at=deadline.next_at,
            contact_next=ContactChannel.CALL if case_type in LADDER_TYPES else "",
            contact_next_at=now if case_type in LADDER_TYPES else None,
            opened_at=now,
        )
        try:
            with transaction.atomic():
                case.save(force_insert=True)
        except IntegrityError:
            continue
        event = events.opened(case, at=now, actor_label=actor_label)
        event.actor_id = actor_id
        bulk.insert([event])
        return CaseJoin(case=case, created=True)
    raise RuntimeError("an open case appeared and went away again")  # pragma: no cover
