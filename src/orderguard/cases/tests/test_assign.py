"""Assigning and taking cases: who may, which cases, which assignees; one event per change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import case_assign, cases_assign_bulk
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.core.errors import NotFound
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _events(case: ExceptionCase) -> list[tuple[str, str, dict]]:
    return [(e.type, e.actor_label, e.data) for e in CaseEvent.objects.filter(case=case).order_by("pk")]


def test_an_agent_takes_a_case_and_the_log_says_so():
    agent = user_with_role("cs_agent", username="ann")
    case = ExceptionCaseFactory()

    got = case_assign(case_id=case.pk, assignee_id=agent.pk, actor=actor_for(agent), now=NOW)

    case.refresh_from_db()
    assert (got.pk, case.assignee_id) == (case.pk, agent.pk)
    assert _events(case) == [("assigned", "user:ann", {"assignee": "ann", "previous": None})]
    assert CaseEvent.objects.get(case=case).actor_id == agent.pk
    assert CaseEvent.objects.get(case=case).occurred_at == NOW


def test_reassigning_names_the_previous_assignee():
    boss = user_with_role("manager", username="boss")
    ann = user_with_role("cs_agent", username="ann")
    bob = user_with_role("operator", username="bob")
    case = ExceptionCaseFactory(assignee=ann)

    case_assign(case_id=case.pk, assignee_id=bob.pk, actor=actor_for(boss), now=NOW)

    case.refresh_from_db()
    assert case.assignee_id == bob.pk
    assert _events(case) == [("assigned", "user:boss", {"assignee": "bob", "previous": "ann"})]


def test_assigning_to_the_current_assignee_changes_nothing():
    ann = user_with_role("cs_agent", username="ann")
    case = ExceptionCaseFactory(assignee=ann)
    before = ExceptionCase.objects.get(pk=case.pk).updated_at

    case_assign(case_id=case.pk, assignee_id=ann.pk, actor=actor_for(ann), now=NOW)

    assert ExceptionCase.objects.get(pk=case.pk).updated_at == before
    assert _events(case) == []


def _refused_and_unchanged(case: ExceptionCase, assignee_id: int | None = None) -> None:
    case.refresh_from_db()
    assert case.assignee_id == assignee_id
    assert _events(case) == []


def test_a_merchant_user_may_not_take_its_own_case():
    case = ExceptionCaseFactory()
    shop = user_with_role("merchant", merchant=case.merchant)

    with pytest.raises(CaseActionNotAllowed) as refused:
        case_assign(case_id=case.pk, assignee_id=shop.pk, actor=actor_for(shop), now=NOW)

    assert (refused.value.code, refused.value.data) == ("ROLE", {"role": "merchant"})
    _refused_and_unchanged(case)


def test_another_merchants_case_is_not_found_for_a_merchant_user():
    case = ExceptionCaseFactory()
    stranger = user_with_role("merchant", merchant=ChannelFactory().merchant)

    with pytest.raises(NotFound):
        case_assign(case_id=case.pk, assignee_id=stranger.pk, actor=actor_for(stranger), now=NOW)

    _refused_and_unchanged(case)


def test_a_closed_case_is_not_assigned():
    agent = user_with_role("cs_agent")
    case = ExceptionCaseFactory(status="resolved", closed_at=NOW)

    with pytest.raises(CaseActionNotAllowed) as refused:
        case_assign(case_id=case.pk, assignee_id=agent.pk, actor=actor_for(agent), now=NOW)

    assert (refused.value.code, refused.value.data) == ("CASE_CLOSED", {"case_ids": [case.pk]})
    _refused_and_unchanged(case)


@pytest.mark.parametrize(
    ("make_assignee", "code"),
    [
        (lambda m: user_with_role("merchant", merchant=m), "ASSIGNEE_NOT_ELIGIBLE"),
        (lambda m: user_with_role("operator", is_active=False), "ASSIGNEE_NOT_ELIGIBLE"),
        (lambda m: UserFactory(), "ASSIGNEE_NOT_ELIGIBLE"),
        (lambda m: None, "ASSIGNEE_UNKNOWN"),
    ],
    ids=["merchant-user", "inactive-staff", "no-role", "unknown"],
)
def test_only_active_warehouse_staff_can_be_assigned(make_assignee, code):
    boss = user_with_role("manager")
    case = ExceptionCaseFactory()
    assignee = make_assignee(case.merchant)

    with pytest.raises(CaseActionNotAllowed) as refused:
        case_assign(
            case_id=case.pk, assignee_id=assignee.pk if assignee else None, actor=actor_for(boss), now=NOW
        )

    assert refused.value.code == code
    _refused_and_unchanged(case)


def test_a_superuser_without_a_role_can_be_assigned():
    boss = user_with_role("manager")
    root = UserFactory(is_superuser=True)
    case = ExceptionCaseFactory()

    case_assign(case_id=case.pk, assignee_id=root.pk, actor=actor_for(boss), now=NOW)

    assert ExceptionCase.objects.get(pk=case.pk).assignee_id == root.pk


def test_bulk_assignment_assigns_every_case_and_logs_each_change():
    boss = user_with_role("manager", username="boss")
    ann = user_with_role("cs_agent", username="ann")
    first, second = ExceptionCaseFactory(), ExceptionCaseFactory(due_in=timedelta(minutes=-5))
    already = ExceptionCaseFactory(assignee=ann)

    got = cases_assign_bulk(
        case_ids=[second.pk, already.pk, first.pk], assignee_id=ann.pk, actor=actor_for(boss), now=NOW
    )

    assert [c.pk for c in got] == sorted([first.pk, second.pk, already.pk])
    assert set(ExceptionCase.objects.values_list("assignee_id", flat=True)) == {ann.pk}
    assert [(e.case_id, e.data) for e in CaseEvent.objects.order_by("case_id")] == [
        (first.pk, {"assignee": "ann", "previous": None}),
        (second.pk, {"assignee": "ann", "previous": None}),
    ]


def test_bulk_assignment_refuses_the_whole_batch_and_names_the_closed_cases():
    boss = user_with_role("manager")
    ann = user_with_role("cs_agent")
    open_case = ExceptionCaseFactory()
    closed = ExceptionCaseFactory(status="cancelled", closed_at=NOW)

    with pytest.raises(CaseActionNotAllowed) as refused:
        cases_assign_bulk(
            case_ids=[open_case.pk, closed.pk], assignee_id=ann.pk, actor=actor_for(boss), now=NOW
        )

    assert (refused.value.code, refused.value.data) == ("CASE_CLOSED", {"case_ids": [closed.pk]})
    assert list(ExceptionCase.objects.values_list("assignee_id", flat=True)) == [None, None]
    assert CaseEvent.objects.count() == 0


def test_bulk_assignment_with_a_case_that_does_not_exist_assigns_none():
    boss = user_with_role("manager")
    case = ExceptionCaseFactory(order=OrderFactory())

    with pytest.raises(NotFound) as refused:
        cases_assign_bulk(
            case_ids=[case.pk, case.pk + 1000], assignee_id=boss.pk, actor=actor_for(boss), now=NOW
        )

    assert refused.value.data["ids"] == [case.pk + 1000]
    _refused_and_unchanged(case)
