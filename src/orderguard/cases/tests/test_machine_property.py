"""Properties of every case machine and of a step's clock, checked by hypothesis without a
database (the machines' scale property: no illegal transition, no state a case can get stuck in, no
negative remaining time).

The case walk takes any action by any role with any outcome on each machine of `MACHINES` and
compares `cases.machine.move` with an independent reading of the machine's tables. The clock walk
lets working time pass, pauses and resumes a step's clock through the services' own arithmetic
(`sla.services.case_clock_*` on a plain object, the policy book built in memory) on random
working calendars (B1), and compares it with the working time actually spent.
"""

from __future__ import annotations

import contextlib
from collections import deque
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from orderguard.cases.choices import OPEN_STATUSES, CaseOutcome, CaseStatus
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.machine import (
    CLOSED_STATUSES,
    MACHINES,
    RESOLVE_OUTCOMES,
    ActionName,
    CaseMachine,
    CaseState,
    move,
)
from orderguard.sla.calendar import WorkingTime
from orderguard.sla.services import (
    Policy,
    PolicyBook,
    case_clock_pause,
    case_clock_resume,
    case_clock_start,
)
from orderguard.tenancy.models import STAFF_ROLES, Role

S = CaseStatus
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
OUTCOMES = [None, "", *CaseOutcome.values, "bogus"]


def _expected(machine: CaseMachine, state: CaseState, action: ActionName, role: Role, outcome) -> str | None:  # type: ignore[no-untyped-def]
    """The refusal code the machine's tables call for, or None when the move is allowed."""
    act = machine.actions.get(action)
    if act is None:  # another type's action
        return CaseActionNotAllowed.TRANSITION_NOT_ALLOWED
    if role not in act.roles:
        return CaseActionNotAllowed.ACTION_ROLE
    legal = (
        state.status in act.sources
        and act.target in machine.allowed[state.status]
        and not (state.status == act.target and (act.waiting_on or "") == state.waiting_on)
    )
    if not legal:
        return CaseActionNotAllowed.TRANSITION_NOT_ALLOWED
    if act.needs_outcome:
        return None if outcome in RESOLVE_OUTCOMES else CaseActionNotAllowed.OUTCOME_INVALID
    return None if outcome is None else CaseActionNotAllowed.OUTCOME_INVALID


def _successors(machine: CaseMachine, state: CaseState, roles) -> set[CaseState]:  # type: ignore[no-untyped-def]
    """Every state one accepted move away, for any of `roles` (closing times at T0)."""
    found = set()
    for action in machine.actions:
        for role in roles:
            for outcome in (None, *RESOLVE_OUTCOMES):
                with contextlib.suppress(CaseActionNotAllowed):
                    found.add(move(machine, state, action=action, role=role, outcome=outcome, at=T0))
    return found


def _reachable(machine: CaseMachine, start: CaseState, roles) -> set[CaseState]:  # type: ignore[no-untyped-def]
    seen, todo = {start}, deque([start])
    while todo:
        for nxt in _successors(machine, todo.popleft(), roles):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _closes(machine: CaseMachine, state: CaseState, roles) -> bool:  # type: ignore[no-untyped-def]
    return any(s.status in CLOSED_STATUSES for s in _reachable(machine, state, roles))


@pytest.mark.parametrize("case_type", sorted(MACHINES))
def test_from_every_reachable_state_of_every_machine_the_staff_can_close_the_case(case_type):
    """No state a case can get stuck in: from every state reachable from a new case, warehouse
    staff without a manager (every staff role but the reopening ones) can still close it, and a
    closed case can be opened again by a manager."""
    machine = MACHINES[case_type]
    everyone = list(Role)
    states = _reachable(machine, CaseState(status=S.OPEN), everyone)

    # every status is reachable, waiting on either party
    assert {(s.status, s.waiting_on) for s in states if s.status in OPEN_STATUSES} == {
        (S.OPEN, ""),
        (S.IN_PROGRESS, ""),
        (S.WAITING, "buyer"),
        (S.WAITING, "merchant"),
    }
    assert {s.status for s in states} == set(S)
    agents = [Role.OPERATOR, Role.SERVICE_AGENT, Role.TECH_ONCALL]
    for state in states:
        if state.status in OPEN_STATUSES:
            assert _closes(machine, state, agents), state
            for role in STAFF_ROLES:  # each staff role on its own can close it
                assert _closes(machine, state, [role]), (state, role)
        else:
            assert any(s.status in OPEN_STATUSES for s in _successors(machine, state, [Role.MANAGER]))
    # a merchant user moves nothing
    assert _successors(machine, CaseState(status=S.OPEN), [Role.MERCHANT]) == set()


class CaseWalk(RuleBasedStateMachine):
    """One case of a type, anyone trying any action with any outcome at any time."""

    def __init__(self) -> None:
        super().__init__()
        self.machine = MACHINES["T1"]
        self.state = CaseState(status=S.OPEN)
        self.clock = T0
        self.accepted: list[tuple[CaseStatus, CaseStatus]] = []

    @initialize(case_type=st.sampled_from(sorted(MACHINES)))
    def open_a_case(self, case_type: str) -> None:
        self.machine = MACHINES[case_type]

    @rule(
        action=st.sampled_from(list(ActionName)),
        role=st.sampled_from(list(Role)),
        outcome=st.sampled_from(OUTCOMES),
        minutes=st.integers(min_value=0, max_value=600),
    )
    def act(self, action: ActionName, role: Role, outcome, minutes: int) -> None:  # type: ignore[no-untyped-def]
        self.clock += timedelta(minutes=minutes)
        before = self.state
        expected = _expected(self.machine, before, action, role, outcome)
        try:
            after = move(self.machine, before, action=action, role=role, outcome=outcome, at=self.clock)
        except CaseActionNotAllowed as refused:
            assert refused.code == expected, (before, action, role, outcome)
            if refused.code == CaseActionNotAllowed.TRANSITION_NOT_ALLOWED:
                target = self.machine.actions[action].target if action in self.machine.actions else ""
                assert refused.data == {"action": action, "source": before.status, "target": target}
            # refused: the state is untouched (it is immutable, and nothing replaced it)
            assert self.state is before
            return
        assert expected is None, (before, action, role, outcome, after)
        act = self.machine.actions[action]
        assert role in act.roles and before.status in act.sources
        assert after.status == act.target
        assert after.status in self.machine.allowed[before.status]
        assert after != before  # an accepted move always moves something
        if after.status in CLOSED_STATUSES:
            assert after.closed_at == self.clock
            assert after.outcome == (outcome if act.needs_outcome else act.outcome)
        if after.status == S.WAITING:
            assert after.waiting_on == act.waiting_on
        self.accepted.append((before.status, after.status))
        self.state = after

    @invariant()
    def closed_cases_have_an_outcome_and_a_closing_time_open_ones_neither(self) -> None:
        if self.state.status in OPEN_STATUSES:
            assert (self.state.outcome, self.state.closed_at) == ("", None)
        else:
            assert self.state.outcome in CaseOutcome.values
            assert self.state.closed_at is not None and self.state.closed_at <= self.clock

    @invariant()
    def waiting_on_is_set_exactly_while_waiting(self) -> None:
        assert (self.state.status == S.WAITING) == (self.state.waiting_on in ("buyer", "merchant"))
        assert self.state.waiting_on in ("", "buyer", "merchant")

    @invariant()
    def the_case_can_always_be_closed_or_reopened(self) -> None:
        if self.state.status in OPEN_STATUSES:
            assert _closes(self.machine, self.state, list(STAFF_ROLES))
        else:
            assert _successors(self.machine, self.state, [Role.MANAGER, Role.ADMIN])

    @invariant()
    def every_accepted_move_is_in_the_allowed_table(self) -> None:
        assert all(target in self.machine.allowed[source] for source, target in self.accepted)


CaseWalk.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
test_every_case_machine_walked_at_random_never_makes_an_illegal_move = CaseWalk.TestCase


# --- the clock of a step ------------------------------------------------------------------------


class MemoryBook(PolicyBook):
    """The services' policy book with one policy and one calendar, built without a database."""

    def __init__(self, policy: Policy, clock: WorkingTime) -> None:
        self._policies = {(policy.case_type, policy.step): policy}
        self._calendars = {None: clock}
        self._warehouse_of_channel = {1: None}
        self._memo = {}


SH = ZoneInfo("Asia/Shanghai")
# a Monday, and the weeks around the National Day holiday (statutory days off and a Saturday
# worked) and around the new year
STARTS = [
    datetime(2026, 11, 16, 9, 0, tzinfo=SH),
    datetime(2026, 9, 30, 16, 45, tzinfo=SH),
    datetime(2026, 10, 9, 17, 30, tzinfo=SH),
    datetime(2026, 12, 31, 12, 0, tzinfo=SH),
]


class ClockWalk(RuleBasedStateMachine):
    """A step's clock on a random calendar: time passes, the case waits and gets its answer."""

    def __init__(self) -> None:
        super().__init__()
        self.now = STARTS[0]
        self.spent = 0  # working seconds the clock ran (what the step has used up)
        self.running_since: datetime | None = None
        self.first_due: datetime | None = None

    @initialize(
        start=st.sampled_from(STARTS),
        offset=st.integers(min_value=0, max_value=24 * 60 - 1),
        hours=st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda h: h[0] < h[1]),
        statutory=st.booleans(),
        weekdays=st.frozensets(st.integers(0, 6), min_size=1),
        days_off=st.lists(st.integers(0, 20), max_size=4),
        minutes=st.integers(min_value=1, max_value=3 * 24 * 60),
        warn_percent=st.integers(min_value=1, max_value=99),
    )
    def start(self, start, offset, hours, statutory, weekdays, days_off, minutes, warn_percent):  # type: ignore[no-untyped-def]
        self.now = start + timedelta(minutes=offset)
        base: date = self.now.date()
        self.clock = WorkingTime(
            tz=SH,
            start=hours[0] * 60,
            end=hours[1] * 60,
            statutory=statutory,
            weekdays=weekdays,
            overrides={base + timedelta(days=d): False for d in days_off},
        )
        self.policy = Policy(
            case_type="T2",
            step="contact_buyer",
            minutes=minutes,
            warn_percent=warn_percent,
            business_hours=True,
        )
        self.book = MemoryBook(self.policy, self.clock)
        self.case = SimpleNamespace(
            type="T2",
            step="",
            order=SimpleNamespace(channel_id=1),
            due_at=None,
            warn_at=None,
            sla_level=0,
            sla_next_at=None,
            sla_paused_at=None,
            sla_remaining_seconds=None,
        )
        case_clock_start(self.case, step="contact_buyer", now=self.now, policies=self.book)
        self.running_since = self.now
        self.first_due = self.case.due_at

    @property
    def budget(self) -> int:
        return self.policy.minutes * 60

    def _spent_now(self) -> int:
        running = self.clock.seconds_between(self.running_since, self.now) if self.running_since else 0
        return self.spent + running

    @rule(minutes=st.integers(min_value=0, max_value=5 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @precondition(lambda self: self.running_since is not None)
    @rule()
    def wait_on_the_buyer(self) -> None:
        assert case_clock_pause(self.case, now=self.now, policies=self.book)
        self.spent = self._spent_now()
        self.running_since = None
        assert self.case.sla_remaining_seconds == max(0, self.budget - self.spent)
        assert self.case.sla_paused_at == self.now
        assert (self.case.due_at, self.case.warn_at, self.case.sla_next_at) == (None, None, None)
        # pausing twice changes nothing
        assert not case_clock_pause(self.case, now=self.now, policies=self.book)

    @precondition(lambda self: self.running_since is None)
    @rule()
    def the_buyer_answers(self) -> None:
        remaining = self.case.sla_remaining_seconds
        assert case_clock_resume(self.case, now=self.now, policies=self.book)
        self.running_since = self.now
        assert (self.case.sla_paused_at, self.case.sla_remaining_seconds) == (None, None)
        # exactly the working time left, from now
        assert self.case.due_at >= self.now
        assert self.clock.seconds_between(self.now, self.case.due_at) == remaining
        assert self.case.due_at == self.clock.add(self.now, remaining)
        assert self.now <= self.case.warn_at <= self.case.due_at or remaining == 0
        assert not case_clock_resume(self.case, now=self.now, policies=self.book)

    @invariant()
    def remaining_time_is_never_negative_and_matches_the_time_spent(self) -> None:
        if not hasattr(self, "case"):
            return
        left = max(0, self.budget - self._spent_now())
        if self.running_since is None:
            assert self.case.sla_remaining_seconds is not None and self.case.sla_remaining_seconds >= 0
            assert self.case.sla_remaining_seconds == max(0, self.budget - self.spent)
        else:
            assert self.clock.seconds_between(self.now, self.case.due_at) == left

    @invariant()
    def the_deadline_never_comes_before_the_unpaused_one(self) -> None:
        """Waiting only gives time back: a running deadline is never earlier than the first
        one, nor than the working time left allows."""
        if not hasattr(self, "case") or self.running_since is None:
            return
        assert self.case.due_at >= self.first_due
        left = max(0, self.budget - self._spent_now())
        if left:
            assert self.case.due_at == self.clock.add(self.now, left) > self.now
        else:  # overdue: the deadline has passed
            assert self.case.due_at <= self.now
        assert self.case.warn_at <= self.case.due_at


ClockWalk.TestCase.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
test_a_paused_and_resumed_clock_never_has_negative_time_nor_an_earlier_deadline = ClockWalk.TestCase
