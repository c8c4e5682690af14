"""Deadline arithmetic across weekends and public holidays through the whole stack (S1, S2, B1):
a recipient-error case (T2, "contact the buyer": two working hours, warned at 75 %) opened by
triage before the National Day holiday of 2026, scanned at exact moments, and its clock paused
while it waits on the buyer over the holiday.

The default calendar (the data migration's row: 09:00-18:00 Beijing time on China's statutory
working days, from `chinese-calendar`) has, around the holiday of 2026: Friday 25 September off
(Mid-Autumn), Sunday 20 September worked, 1-7 October off, Saturday 10 October worked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderguard.cases.machine import ActionName
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import OrderFindings, case_transition, cases_triage
from orderguard.core.choices import ExceptionType, Severity
from orderguard.core.findings import Finding
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.tests.factories import OrderFactory
from orderguard.sla.services import DEFAULT_WORKING_TIME, PolicyBook, deadlines_scan
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.models import Membership
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=SH)


# Wednesday 30 September, 17:00: the last working hour before the National Day holiday
EVE = at(9, 30, 17)


@pytest.fixture
def people(db):  # type: ignore[no-untyped-def]
    lead = user_with_role("cs_agent", username="lead", email="lead@wh.example")
    ann = user_with_role("cs_agent", username="ann", email="ann@wh.example")
    Membership.objects.filter(user=ann).update(lead=lead)
    boss = user_with_role("manager", username="boss", email="boss@wh.example")
    return {"ann": ann, "lead": lead, "boss": boss}


def _triaged(channel, now: datetime, *, assignee=None) -> ExceptionCase:  # type: ignore[no-untyped-def]
    """A T2 case opened by triage at `now`, with the engine's deadline."""
    order = OrderFactory(channel=channel)
    finding = Finding(
        code="ADDRESS_NO_ROAD_OR_NUMBER",
        type=ExceptionType.RECIPIENT_ERROR,
        field="address",
        severity=Severity.BLOCKING,
    )
    cases_triage(
        items=[OrderFindings(order=order, findings=[finding])],
        now=now,
        actor_label="test",
        policies=PolicyBook(),
    )
    case = ExceptionCase.objects.get(order=order)
    if assignee is not None:
        ExceptionCase.objects.filter(pk=case.pk).update(assignee=assignee)
        case.refresh_from_db()
    return case


def _alerts(case: ExceptionCase) -> list[tuple[str, int, list[str], datetime]]:
    return [
        (e.type, e.data["level"], e.data["recipients"], e.occurred_at.astimezone(SH))
        for e in CaseEvent.objects.filter(
            case=case, type__in=["sla_warned", "sla_overdue", "escalated"]
        ).order_by("pk")
    ]


@pytest.mark.parametrize(
    ("opened", "warn", "due"),
    [
        # Friday before the Sunday worked for the holiday: Saturday off, Sunday on
        (at(9, 18, 17), at(9, 20, 9, 30), at(9, 20, 10)),
        # Thursday before Mid-Autumn: Friday off, then the weekend
        (at(9, 24, 17), at(9, 28, 9, 30), at(9, 28, 10)),
        # the eve of the National Day holiday: seven days off, a weekend among them
        (EVE, at(10, 8, 9, 30), at(10, 8, 10)),
        # the warning falls exactly on the evening's closing time, the rest after the holiday
        (at(9, 30, 16, 30), at(9, 30, 18), at(10, 8, 9, 30)),
        # opened on a holiday: the clock starts on the first working morning
        (at(10, 3, 11), at(10, 8, 10, 30), at(10, 8, 11)),
        # Friday after the holiday: Saturday the 10th is worked
        (at(10, 9, 17), at(10, 10, 9, 30), at(10, 10, 10)),
        # the worked Saturday: Sunday off
        (at(10, 10, 17), at(10, 12, 9, 30), at(10, 12, 10)),
        # after hours on an ordinary Friday: the weekend, then the whole two hours on Monday
        (at(11, 20, 19), at(11, 23, 10, 30), at(11, 23, 11)),
    ],
)
def test_triage_sets_the_due_time_on_the_next_working_hours(channel, opened, warn, due):
    """S1/B1: two working hours of the default calendar, over weekends, holidays and the
    weekend days worked instead."""
    case = _triaged(channel, opened)

    assert (case.step, case.opened_at) == ("contact_buyer", opened)
    assert (case.warn_at, case.due_at, case.sla_next_at, case.sla_level) == (warn, due, warn, 0)
    assert DEFAULT_WORKING_TIME.seconds_between(opened, due) == 2 * 3600


def test_a_case_opened_on_the_eve_of_the_holiday_is_warned_and_flagged_at_the_exact_moments(channel, people):
    """S2: nothing is sent during the holiday; warned at 09:30 and overdue at 10:00 on the first
    working morning; the escalation steps then count clock time (an hour each)."""
    case = _triaged(channel, EVE, assignee=people["ann"])
    assert (case.warn_at, case.due_at) == (at(10, 8, 9, 30), at(10, 8, 10))

    quiet = [at(9, 30, 18), at(10, 1, 12), at(10, 4, 23, 59), at(10, 7, 18), at(10, 8, 9, 29)]
    assert [deadlines_scan(now=t).cases for t in quiet] == [0, 0, 0, 0, 0]
    assert (deadlines_scan(now=at(10, 8, 9, 30)).cases, deadlines_scan(now=at(10, 8, 9, 59)).cases) == (1, 0)
    assert (deadlines_scan(now=at(10, 8, 10)).cases, deadlines_scan(now=at(10, 8, 10, 59)).cases) == (1, 0)
    assert deadlines_scan(now=at(10, 8, 11)).cases == 1
    assert deadlines_scan(now=at(10, 8, 12)).cases == 1
    assert deadlines_scan(now=at(10, 9, 12)).cases == 0

    assert _alerts(case) == [
        ("sla_warned", 1, ["ann"], at(10, 8, 9, 30)),
        ("sla_overdue", 2, ["ann"], at(10, 8, 10)),
        ("escalated", 3, ["lead"], at(10, 8, 11)),
        ("escalated", 4, ["boss"], at(10, 8, 12)),
    ]
    assert {
        datetime.fromisoformat(e.data["due_at"])
        for e in CaseEvent.objects.filter(case=case, type__startswith="sla_")
    } == {at(10, 8, 10)}
    assert sorted(OutboxMessage.objects.values_list("recipient", flat=True)) == [
        "ann@wh.example",
        "ann@wh.example",
        "boss@wh.example",
        "lead@wh.example",
    ]
    case.refresh_from_db()
    assert (case.sla_level, case.sla_next_at) == (4, None)


def test_a_clock_paused_over_the_holiday_gives_back_exactly_the_working_time_left(channel, people):
    """B1/S1: waiting on the buyer from 17:30 on the eve (30 of the 120 working minutes used)
    stops the clock; the buyer answers on a holiday; the 90 minutes left run from the first
    working morning, and the warning keeps the step's last quarter (30 minutes) before the due
    time."""
    ann = actor_for(people["ann"])
    case = _triaged(channel, EVE, assignee=people["ann"])

    case_transition(case_id=case.pk, action=ActionName.START, actor=ann, now=at(9, 30, 17, 10))
    case_transition(
        case_id=case.pk, action=ActionName.WAIT_BUYER, actor=ann, now=at(9, 30, 17, 30), note="已发短信"
    )
    case.refresh_from_db()
    assert (case.status, case.waiting_on) == ("waiting", "buyer")
    assert (case.sla_paused_at, case.sla_remaining_seconds) == (at(9, 30, 17, 30), 90 * 60)
    assert (case.due_at, case.warn_at, case.sla_next_at) == (None, None, None)
    # the original deadline passes while paused: nothing is sent
    assert deadlines_scan(now=at(10, 8, 12)).cases == 0

    # the buyer answers on Monday the 5th (a holiday), in the morning
    answered = at(10, 5, 11)
    case_transition(case_id=case.pk, action=ActionName.RESUME, actor=ann, now=answered)
    case.refresh_from_db()
    assert (case.status, case.sla_paused_at, case.sla_remaining_seconds) == ("in_progress", None, None)
    assert (case.warn_at, case.due_at, case.sla_next_at) == (at(10, 8, 10), at(10, 8, 10, 30), at(10, 8, 10))
    assert DEFAULT_WORKING_TIME.seconds_between(answered, case.due_at) == 90 * 60
    assert [
        (
            e.data.get("action"),
            e.data.get("clock"),
            e.data.get("remaining_seconds"),
            e.data.get("due_at") and datetime.fromisoformat(e.data["due_at"]),
        )
        for e in CaseEvent.objects.filter(case=case, type="status_changed").order_by("pk")
    ] == [
        ("start", None, None, None),
        ("wait_buyer", "paused", 5400, None),
        ("resume", "resumed", None, at(10, 8, 10, 30)),
    ]

    assert [deadlines_scan(now=t).cases for t in (at(10, 7, 18), at(10, 8, 9, 59))] == [0, 0]
    assert deadlines_scan(now=at(10, 8, 10)).cases == 1
    assert deadlines_scan(now=at(10, 8, 10, 29)).cases == 0
    assert deadlines_scan(now=at(10, 8, 10, 30)).cases == 1
    assert [(t, lvl, when) for t, lvl, _who, when in _alerts(case)] == [
        ("sla_warned", 1, at(10, 8, 10)),
        ("sla_overdue", 2, at(10, 8, 10, 30)),
    ]


def test_a_clock_paused_after_its_warning_resumes_past_a_weekend_at_the_same_level(channel, people):
    """A case warned before it waits keeps its level: on resume the next alert is the overdue
    one, on the working time left (opened Friday 9 October at 17:00, warned on the worked
    Saturday, answered on Sunday, which is off)."""
    ann = actor_for(people["ann"])
    case = _triaged(channel, at(10, 9, 17), assignee=people["ann"])
    assert (case.warn_at, case.due_at) == (at(10, 10, 9, 30), at(10, 10, 10))
    assert deadlines_scan(now=at(10, 10, 9, 30)).cases == 1  # warned on the worked Saturday

    case_transition(case_id=case.pk, action=ActionName.WAIT_BUYER, actor=ann, now=at(10, 10, 9, 40))
    case.refresh_from_db()
    assert (case.sla_level, case.sla_remaining_seconds) == (1, 20 * 60)

    # answered on Sunday (off): the 20 minutes run from Monday 09:00
    case_transition(case_id=case.pk, action=ActionName.RESUME, actor=ann, now=at(10, 11, 15))
    case.refresh_from_db()
    assert (case.due_at, case.sla_next_at, case.sla_level) == (at(10, 12, 9, 20), at(10, 12, 9, 20), 1)
    assert deadlines_scan(now=at(10, 12, 9, 19)).cases == 0
    assert dict(deadlines_scan(now=at(10, 12, 9, 20)).alerted) == {2: 1}


def test_an_overdue_case_paused_keeps_no_time_and_resumes_overdue(channel, people):
    """No negative remaining time: a case paused after its deadline keeps 0 seconds, and on
    resume it is due at once."""
    ann = actor_for(people["ann"])
    case = _triaged(channel, EVE, assignee=people["ann"])

    case_transition(case_id=case.pk, action=ActionName.WAIT_MERCHANT, actor=ann, now=at(10, 8, 11))
    case.refresh_from_db()
    assert case.sla_remaining_seconds == 0
    case_transition(case_id=case.pk, action=ActionName.RESUME, actor=ann, now=at(10, 9, 14))
    case.refresh_from_db()
    assert (case.due_at, case.warn_at, case.sla_next_at) == (at(10, 9, 14),) * 3
    # straight to overdue, the escalation an hour later
    assert dict(deadlines_scan(now=at(10, 9, 14)).alerted) == {2: 1}
    case.refresh_from_db()
    assert (case.sla_level, case.sla_next_at) == (2, at(10, 9, 14) + timedelta(hours=1))
