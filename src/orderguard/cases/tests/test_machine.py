"""The case state machine as data, without a database: its tables, who may do what, and a
random walk that never leaves the allowed moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from orderguard.cases.choices import OPEN_STATUSES, CaseOutcome, CaseStatus
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.machine import (
    ALLOWED,
    DEFAULT,
    MACHINES,
    REOPEN_ROLES,
    REVEAL_ROLES,
    ActionName,
    CaseState,
    machine_for,
    move,
)
from orderguard.core.choices import ExceptionType
from orderguard.tenancy.models import Role

S = CaseStatus
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_every_status_has_its_allowed_moves_and_closed_ones_only_reopen():
    assert set(ALLOWED) == set(CaseStatus)
    assert ALLOWED[S.RESOLVED] == ALLOWED[S.CANCELLED] == frozenset({S.OPEN})
    assert ALLOWED[S.OPEN] == frozenset({S.IN_PROGRESS, S.WAITING, S.RESOLVED, S.CANCELLED})


def test_every_case_type_has_a_machine_whose_actions_stay_within_its_allowed_moves():
    assert set(MACHINES) == {t.value for t in ExceptionType}
    for machine in MACHINES.values():
        for action in machine.actions.values():
            for source in action.sources:
                assert action.target in machine.allowed[source], (action.name, source)


def test_the_buttons_of_an_open_case_for_an_agent():
    names = [a.name for a in DEFAULT.available(status=S.OPEN, waiting_on="", role=Role.SERVICE_AGENT)]
    assert names == ["start", "wait_buyer", "wait_merchant", "resolve", "cancel"]


def test_a_case_waiting_on_the_buyer_may_turn_to_the_merchant_but_not_wait_on_the_buyer_again():
    names = [a.name for a in DEFAULT.available(status=S.WAITING, waiting_on="buyer", role=Role.OPERATOR)]
    assert names == ["wait_merchant", "resume", "resolve", "cancel"]


@pytest.mark.parametrize("role", list(Role))
def test_only_managers_and_admins_may_reopen_and_merchants_have_no_button(role):
    names = [a.name for a in DEFAULT.available(status=S.RESOLVED, waiting_on="", role=role)]
    assert names == (["reopen"] if role in REOPEN_ROLES else [])
    assert (DEFAULT.available(status=S.OPEN, waiting_on="", role=role) == []) is (role == Role.MERCHANT)


def test_the_roles_that_may_see_recipient_data_in_clear():
    assert frozenset({Role.SERVICE_AGENT, Role.MANAGER, Role.ADMIN}) == REVEAL_ROLES


def test_resolving_records_the_outcome_and_the_time():
    state = move(
        DEFAULT,
        CaseState(status=S.WAITING, waiting_on="buyer"),
        action=ActionName.RESOLVE,
        role=Role.SERVICE_AGENT,
        outcome="failed",
        at=T0,
    )
    assert state == CaseState(status=S.RESOLVED, waiting_on="", outcome="failed", closed_at=T0)


def test_cancelling_has_its_own_outcome_and_reopening_clears_it():
    closed = move(
        DEFAULT, CaseState(status=S.OPEN), action=ActionName.CANCEL, role=Role.MANAGER, outcome=None, at=T0
    )
    opened = move(DEFAULT, closed, action=ActionName.REOPEN, role=Role.MANAGER, outcome=None, at=T0)
    assert (closed.outcome, closed.closed_at) == ("cancelled", T0)
    assert opened == CaseState(status=S.OPEN)


@pytest.mark.parametrize(
    ("state", "action", "role", "outcome", "code"),
    [
        (CaseState(status=S.IN_PROGRESS), ActionName.START, Role.OPERATOR, None, "TRANSITION_NOT_ALLOWED"),
        (CaseState(status=S.OPEN), ActionName.RESUME, Role.OPERATOR, None, "TRANSITION_NOT_ALLOWED"),
        (
            CaseState(status=S.RESOLVED, outcome="succeeded", closed_at=T0),
            ActionName.RESOLVE,
            Role.ADMIN,
            "failed",
            "TRANSITION_NOT_ALLOWED",
        ),
        (
            CaseState(status=S.RESOLVED, outcome="succeeded", closed_at=T0),
            ActionName.REOPEN,
            Role.SERVICE_AGENT,
            None,
            "ACTION_ROLE",
        ),
        (CaseState(status=S.OPEN), ActionName.START, Role.MERCHANT, None, "ACTION_ROLE"),
        (CaseState(status=S.OPEN), ActionName.RESOLVE, Role.OPERATOR, None, "OUTCOME_INVALID"),
        (CaseState(status=S.OPEN), ActionName.RESOLVE, Role.OPERATOR, "cancelled", "OUTCOME_INVALID"),
        (CaseState(status=S.OPEN), ActionName.START, Role.OPERATOR, "succeeded", "OUTCOME_INVALID"),
    ],
)
def test_a_refused_move_says_why_with_data(state, action, role, outcome, code):
    with pytest.raises(CaseActionNotAllowed) as refused:
        move(DEFAULT, state, action=action, role=role, outcome=outcome, at=T0)
    assert refused.value.code == code


def test_a_forbidden_move_names_the_action_and_both_statuses():
    with pytest.raises(CaseActionNotAllowed) as refused:
        move(
            DEFAULT,
            CaseState(status=S.OPEN),
            action=ActionName.RESUME,
            role=Role.OPERATOR,
            outcome=None,
            at=T0,
        )
    assert refused.value.data == {"action": "resume", "source": "open", "target": "in_progress"}


class CaseWalk(RuleBasedStateMachine):
    """Anyone tries any action at any time; the machine either refuses or makes an allowed move,
    and a case is open exactly when it has no outcome and no closing time."""

    def __init__(self) -> None:
        super().__init__()
        self.case_type = "T2"
        self.state = CaseState(status=S.OPEN)
        self.clock = T0

    @rule(
        action=st.sampled_from(list(ActionName)),
        role=st.sampled_from(list(Role)),
        outcome=st.sampled_from([None, *CaseOutcome.values, "bogus"]),
        case_type=st.sampled_from(ExceptionType.values),
    )
    def act(self, action, role, outcome, case_type):  # type: ignore[no-untyped-def]
        self.clock += timedelta(minutes=1)
        machine = machine_for(case_type)
        before = self.state
        allowed_names = {
            a.name for a in machine.available(status=before.status, waiting_on=before.waiting_on, role=role)
        }
        try:
            after = move(machine, before, action=action, role=role, outcome=outcome, at=self.clock)
        except CaseActionNotAllowed as refused:
            assert action not in allowed_names or refused.code == "OUTCOME_INVALID"
            return
        assert action in allowed_names
        assert after.status in machine.allowed[before.status]
        assert role != Role.MERCHANT
        if after.status == S.WAITING:
            assert after.waiting_on in ("buyer", "merchant")
        if before.status in OPEN_STATUSES and after.status not in OPEN_STATUSES:
            assert after.closed_at == self.clock
        self.state = after

    @invariant()
    def closed_cases_have_an_outcome_and_a_closing_time_open_ones_neither(self):  # type: ignore[no-untyped-def]
        if self.state.status in OPEN_STATUSES:
            assert (self.state.outcome, self.state.closed_at) == ("", None)
        else:
            assert self.state.outcome in CaseOutcome.values
            assert self.state.closed_at is not None
        assert (self.state.status == S.WAITING) == bool(self.state.waiting_on)


CaseWalk.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
test_the_case_machine_never_leaves_its_allowed_moves = CaseWalk.TestCase


def test_a_product_case_asks_the_merchant_only_through_a_dispute():
    """T3 (H3.2): no plain wait_merchant; dispute_sku waits on the merchant and starts its own
    step, from any open status but waiting on the merchant already."""
    machine = MACHINES["T3"]
    names = [a.name for a in machine.available(status=S.OPEN, waiting_on="", role=Role.SERVICE_AGENT)]
    assert names == ["start", "wait_buyer", "dispute_sku", "resolve", "cancel"]
    waiting = [a.name for a in machine.available(status=S.WAITING, waiting_on="merchant", role=Role.OPERATOR)]
    assert waiting == ["wait_buyer", "resume", "resolve", "cancel"]
    dispute = machine.actions[ActionName.DISPUTE_SKU]
    assert (dispute.target, dispute.waiting_on, dispute.step, dispute.needs_note) == (
        S.WAITING,
        "merchant",
        "merchant_answer",
        True,
    )
    assert machine.available(status=S.OPEN, waiting_on="", role=Role.MERCHANT) == []


def test_an_action_of_another_machine_is_a_transition_not_allowed():
    state = CaseState(status=S.OPEN)
    with pytest.raises(CaseActionNotAllowed) as refused:
        move(DEFAULT, state, action=ActionName.DISPUTE_SKU, role=Role.SERVICE_AGENT, outcome=None, at=T0)
    assert (refused.value.code, refused.value.data) == (
        "TRANSITION_NOT_ALLOWED",
        {"action": "dispute_sku", "source": S.OPEN, "target": ""},
    )
    with pytest.raises(CaseActionNotAllowed):
        move(
            MACHINES["T3"],
            state,
            action=ActionName.WAIT_MERCHANT,
            role=Role.SERVICE_AGENT,
            outcome=None,
            at=T0,
        )
