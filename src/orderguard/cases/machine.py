"""The case state machine, as data: which status may follow which, and the named actions
people take, per case type. Pure (no database); the services enforce it and the pages draw
their buttons from it.

The rules (every case type, until a type gets its own machine in `MACHINES`):

- ``start``: an open case is being handled (open → in progress);
- ``wait_buyer`` / ``wait_merchant``: the handler asked the buyer or the merchant and waits
  for the answer (open or in progress → waiting; waiting on one party → waiting on the other,
  e.g. H2.3 the buyer cannot be reached, so the merchant is asked);
- ``resume``: the answer came (waiting → in progress);
- ``resolve``: the case is closed with an outcome, succeeded or failed, and the solution in
  words (H1.3: the final solution is recorded) (any open status → resolved);
- ``cancel``: the case needs no handling any more, a reason is required (any open status →
  cancelled, outcome "cancelled");
- ``reopen``: a closed case needs handling again, a reason is required; managers and admins
  only (resolved or cancelled → open, its first step's clock restarted).

Every action is for warehouse staff; a merchant user acts on no case (it may add notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import datetime
from enum import StrEnum

from orderguard.cases.choices import OPEN_STATUSES, CaseOutcome, CaseStatus, WaitingOn
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.core.choices import ExceptionType
from orderguard.tenancy.models import STAFF_ROLES, Role

S = CaseStatus

ALLOWED: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.WAITING, S.RESOLVED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.WAITING, S.RESOLVED, S.CANCELLED}),
    S.WAITING: frozenset({S.WAITING, S.IN_PROGRESS, S.RESOLVED, S.CANCELLED}),
    S.RESOLVED: frozenset({S.OPEN}),
    S.CANCELLED: frozenset({S.OPEN}),
}

CLOSED_STATUSES = frozenset({S.RESOLVED, S.CANCELLED})

REOPEN_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
# Who may see a recipient's name, phone and street address in clear (each time logged).
REVEAL_ROLES = frozenset({Role.SERVICE_AGENT, Role.MANAGER, Role.ADMIN})


class ActionName(StrEnum):
    START = "start"
    WAIT_BUYER = "wait_buyer"
    WAIT_MERCHANT = "wait_merchant"
    RESUME = "resume"
    RESOLVE = "resolve"
    CANCEL = "cancel"
    REOPEN = "reopen"
    # T3 (H3.2): the buyer insists the order is right; the merchant checks its product data
    DISPUTE_SKU = "dispute_sku"


# The outcomes a person may choose when resolving ("cancelled" is the cancel action's).
RESOLVE_OUTCOMES = frozenset({CaseOutcome.SUCCEEDED, CaseOutcome.FAILED})


@dataclass(frozen=True, slots=True)
class Action:
    """A named move: from any of `sources` to `target`, for `roles`.

    `waiting_on` is the party a waiting action waits for; `needs_outcome` means the person
    picks one of `RESOLVE_OUTCOMES`; `outcome` is fixed by the action itself (cancel);
    `needs_note` means a reason must be given. `step` names the handling step whose deadline
    starts with the move (its clock runs while waiting, instead of pausing).
    """

    name: ActionName
    sources: frozenset[CaseStatus]
    target: CaseStatus
    roles: frozenset[Role] = STAFF_ROLES
    waiting_on: WaitingOn | None = None
    needs_outcome: bool = False
    outcome: CaseOutcome | None = None
    needs_note: bool = False
    step: str = ""


@dataclass(frozen=True, slots=True)
class CaseMachine:
    """One case type's machine: the allowed moves and the actions over them (each action's
    moves must be allowed, which `tests/test_machine.py` checks for every machine)."""

    allowed: Mapping[CaseStatus, frozenset[CaseStatus]]
    actions: Mapping[ActionName, Action]

    def can(self, action: Action, *, status: CaseStatus, waiting_on: str, role: Role) -> bool:
        """Whether `role` may take `action` on a case in `status` (waiting on `waiting_on`)."""
        if self.actions.get(action.name) is not action:
            return False  # another machine's action
        if role not in action.roles or status not in action.sources:
            return False
        if action.target not in self.allowed[status]:
            return False
        # waiting on the same party again is no move at all
        return not (status == action.target and action.waiting_on == waiting_on)

    def available(self, *, status: CaseStatus, waiting_on: str, role: Role) -> list[Action]:
        """The actions `role` may take now, in the machine's order (the page's buttons)."""
        return [
            a for a in self.actions.values() if self.can(a, status=status, waiting_on=waiting_on, role=role)
        ]


_OPEN = frozenset(OPEN_STATUSES)

DEFAULT = CaseMachine(
    allowed=ALLOWED,
    actions={
        a.name: a
        for a in (
            Action(ActionName.START, frozenset({S.OPEN}), S.IN_PROGRESS),
            Action(
                ActionName.WAIT_BUYER,
                frozenset({S.OPEN, S.IN_PROGRESS, S.WAITING}),
                S.WAITING,
                waiting_on=WaitingOn.BUYER,
            ),
            Action(
                ActionName.WAIT_MERCHANT,
                frozenset({S.OPEN, S.IN_PROGRESS, S.WAITING}),
                S.WAITING,
                waiting_on=WaitingOn.MERCHANT,
            ),
            Action(ActionName.RESUME, frozenset({S.WAITING}), S.IN_PROGRESS),
            Action(ActionName.RESOLVE, _OPEN, S.RESOLVED, needs_outcome=True, needs_note=True),
            Action(ActionName.CANCEL, _OPEN, S.CANCELLED, outcome=CaseOutcome.CANCELLED, needs_note=True),
            Action(ActionName.REOPEN, CLOSED_STATUSES, S.OPEN, roles=REOPEN_ROLES, needs_note=True),
        )
    },
)

# T3 product errors (H3). The agent confirms with the buyer (the contact ladder; waiting on the
# buyer). Buyer chose wrongly (H3.1): the order's lines are changed
# (`intake.services.order_lines_change`), which resolves the case once the product checks pass.
# Buyer insists the order is right (H3.2): ``dispute_sku`` asks the merchant to check its product
# data, records the SKU as disputed (`cases.disputes`) and waits on the merchant with the
# ``merchant_answer`` step's deadline running; the merchant's answer resumes the case. There is
# no plain ``wait_merchant``: asking the merchant about product data always leaves a dispute.
PRODUCT_ERROR = CaseMachine(
    allowed=ALLOWED,
    actions={
        a.name: a
        for a in (
            DEFAULT.actions[ActionName.START],
            DEFAULT.actions[ActionName.WAIT_BUYER],
            Action(
                ActionName.DISPUTE_SKU,
                _OPEN,
                S.WAITING,
                waiting_on=WaitingOn.MERCHANT,
                needs_note=True,
                step="merchant_answer",
            ),
            DEFAULT.actions[ActionName.RESUME],
            DEFAULT.actions[ActionName.RESOLVE],
            DEFAULT.actions[ActionName.CANCEL],
            DEFAULT.actions[ActionName.REOPEN],
        )
    },
)

# One machine per case type; a type with its own steps (stock-out decisions, contact attempts,
# feasibility of a special request) gets its own entry here.
MACHINES: Mapping[str, CaseMachine] = {
    **{t.value: DEFAULT for t in ExceptionType},
    ExceptionType.PRODUCT_ERROR.value: PRODUCT_ERROR,
}


def machine_for(case_type: str) -> CaseMachine:
    return MACHINES[case_type]


@dataclass(frozen=True, slots=True)
class CaseState:
    """The part of a case the machine moves: an open case has no outcome and no `closed_at`,
    a closed one has both; `waiting_on` is set exactly while waiting."""

    status: CaseStatus
    waiting_on: str = ""
    outcome: str = ""
    closed_at: datetime | None = None


def move(
    machine: CaseMachine,
    state: CaseState,
    *,
    action: ActionName,
    role: Role,
    outcome: str | None,
    at: datetime,
) -> CaseState:
    """The state after `role` takes `action` at `at`, or CaseActionNotAllowed: ``ACTION_ROLE``
    (the action is not for that role), ``TRANSITION_NOT_ALLOWED`` (not from this status;
    `action`, `source`, `target`), ``OUTCOME_INVALID`` (resolve needs "succeeded" or
    "failed", the other actions take no outcome). An action the machine does not have is
    ``TRANSITION_NOT_ALLOWED`` with an empty `target`."""
    act = machine.actions.get(action)
    if act is None:
        raise CaseActionNotAllowed(
            code=CaseActionNotAllowed.TRANSITION_NOT_ALLOWED, action=action, source=state.status, target=""
        )
    if role not in act.roles:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.ACTION_ROLE, role=role, action=act.name)
    if not machine.can(act, status=state.status, waiting_on=state.waiting_on, role=role):
        raise CaseActionNotAllowed(
            code=CaseActionNotAllowed.TRANSITION_NOT_ALLOWED,
            action=act.name,
            source=state.status,
            target=act.target,
        )
    if act.needs_outcome != (outcome is not None) or (act.needs_outcome and outcome not in RESOLVE_OUTCOMES):
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.OUTCOME_INVALID, outcome=outcome or "")
    if act.target in CLOSED_STATUSES:
        return CaseState(status=act.target, outcome=outcome or act.outcome or "", closed_at=at)
    return replace(state, status=act.target, waiting_on=act.waiting_on or "", outcome="", closed_at=None)


# --- T5 special requests (H5) ---------------------------------------------------------------------
# A special request's case moves through its own steps besides the statuses above: feasibility
# (H5.1), the quote and the buyer's answer (H5.2), a named owner and the checklist up to dispatch
# (H5.3); a request that cannot be met goes to an alternative offered to the buyer. The steps are
# the case's `step` (the SLA policies' keys, so each step has its deadline); `SPECIAL_MOVES` says
# which step each result of an action leads to (`SPECIAL_CLOSED_*`: the case closes).


class SpecialStep(StrEnum):
    ASSESS = "assess_feasibility"
    QUOTE = "quote"
    CONFIRM = "buyer_confirmation"
    OWNER = "assign_owner"
    FULFIL = "fulfil"
    ALTERNATIVE = "offer_alternative"


class SpecialAction(StrEnum):
    FEASIBILITY = "feasibility"
    QUOTE = "quote"
    CONFIRM = "confirm"
    OWNER = "owner"
    CHECKLIST = "checklist"
    ALTERNATIVE = "alternative"


# The owner's checklist (H5.3), ticked in this order; the last tick is the dispatch.
CHECKLIST_STEPS: tuple[str, ...] = ("picking", "packing", "dispatch")
SPECIAL_CLOSED_SUCCEEDED = "closed:succeeded"
SPECIAL_CLOSED_FAILED = "closed:failed"
# Who may tick another person's checklist besides its owner.
CHECKLIST_OVERRIDE_ROLES = frozenset({Role.MANAGER, Role.ADMIN})

SP, SA = SpecialStep, SpecialAction


@dataclass(frozen=True, slots=True)
class SpecialMachine(CaseMachine):
    """The T5 machine: the statuses and actions of every case (a T5 case may also be a platform
    anomaly, closed by hand), plus the special request's steps. `sources` lists the steps an
    action may be taken in; `moves` maps (action, result) to the next step or a closing."""

    sources: Mapping[SpecialAction, frozenset[str]] = dataclass_field(default_factory=dict)
    moves: Mapping[tuple[SpecialAction, str], str] = dataclass_field(default_factory=dict)

    def special_actions(self, *, step: str, status: CaseStatus, role: Role) -> list[SpecialAction]:
        """The special-request actions `role` may take now, in the order of the work (the page's
        forms): none on a closed case or for a merchant user."""
        if status in CLOSED_STATUSES or role not in STAFF_ROLES:
            return []
        return [a for a, steps in self.sources.items() if step in steps]

    def special_next(self, *, step: str, action: SpecialAction, result: str) -> str:
        """The step after `action` gave `result` in `step`, or CaseActionNotAllowed
        ``TRANSITION_NOT_ALLOWED`` (`action`, `source` the step) when the action does not belong
        to this step."""
        if step not in self.sources[action] or (action, result) not in self.moves:
            raise CaseActionNotAllowed(
                code=CaseActionNotAllowed.TRANSITION_NOT_ALLOWED, action=str(action), source=step, target=""
            )
        return self.moves[(action, result)]


SPECIAL = SpecialMachine(
    allowed=ALLOWED,
    actions=DEFAULT.actions,
    sources={
        # feasibility may be checked again while nothing was promised (contracts change)
        SA.FEASIBILITY: frozenset({SP.ASSESS, SP.QUOTE, SP.ALTERNATIVE}),
        SA.QUOTE: frozenset({SP.QUOTE}),
        SA.CONFIRM: frozenset({SP.CONFIRM}),
        # the owner may change until the parcel is dispatched
        SA.OWNER: frozenset({SP.OWNER, SP.FULFIL}),
        SA.CHECKLIST: frozenset({SP.FULFIL}),
        SA.ALTERNATIVE: frozenset({SP.ALTERNATIVE}),
    },
    moves={
        (SA.FEASIBILITY, "feasible"): SP.QUOTE,
        (SA.FEASIBILITY, "not_feasible"): SP.ALTERNATIVE,
        (SA.QUOTE, "quoted"): SP.CONFIRM,
        (SA.CONFIRM, "accepted"): SP.OWNER,
        (SA.CONFIRM, "declined"): SPECIAL_CLOSED_FAILED,
        (SA.OWNER, "assigned"): SP.FULFIL,
        (SA.CHECKLIST, "ticked"): SP.FULFIL,
        (SA.CHECKLIST, "dispatched"): SPECIAL_CLOSED_SUCCEEDED,
        (SA.ALTERNATIVE, "accepted"): SPECIAL_CLOSED_SUCCEEDED,
        (SA.ALTERNATIVE, "declined"): SPECIAL_CLOSED_FAILED,
    },
)

MACHINES = {**MACHINES, ExceptionType.SPECIAL_REQUEST.value: SPECIAL}
