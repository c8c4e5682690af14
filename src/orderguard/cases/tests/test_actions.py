"""Case actions through the services: the machine's moves, notes, reveals, and what a refusal
leaves behind (nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.machine import ActionName
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.selectors import case_timeline
from orderguard.cases.services import (
    case_assign,
    case_note_add,
    case_recipient_reveal,
    case_transition,
)
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.core.errors import NotFound
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
A = ActionName


def _events(case: ExceptionCase) -> list[tuple[str, str, dict]]:
    return [(e.type, e.actor_label, e.data) for e in CaseEvent.objects.filter(case=case).order_by("pk")]


def _row(case: ExceptionCase) -> tuple:
    c = ExceptionCase.objects.get(pk=case.pk)
    return (
        c.status,
        c.waiting_on,
        c.outcome,
        c.resolution,
        c.closed_at,
        c.handling_seconds,
        c.due_at,
        c.updated_at,
    )


def _case(**kw) -> ExceptionCase:  # type: ignore[no-untyped-def]
    kw.setdefault("opened_at", NOW - timedelta(hours=1))
    return ExceptionCaseFactory(**kw)


def test_an_agent_handles_a_case_to_its_resolution_and_the_log_says_each_step():
    ann = actor_for(user_with_role("cs_agent", username="ann"))
    case = _case()

    case_transition(case_id=case.pk, action=A.START, actor=ann, now=NOW)
    case_transition(
        case_id=case.pk, action=A.WAIT_BUYER, actor=ann, now=NOW + timedelta(minutes=1), note="已短信"
    )
    case_transition(case_id=case.pk, action=A.WAIT_MERCHANT, actor=ann, now=NOW + timedelta(minutes=2))
    case_transition(case_id=case.pk, action=A.RESUME, actor=ann, now=NOW + timedelta(minutes=3))
    got = case_transition(
        case_id=case.pk,
        action=A.RESOLVE,
        actor=ann,
        now=NOW + timedelta(minutes=4),
        outcome="succeeded",
        note="  买家确认了新地址  ",
    )

    case.refresh_from_db()
    assert got.pk == case.pk
    assert (
        case.status,
        case.outcome,
        case.resolution,
        case.closed_at,
        case.handling_seconds,
        case.waiting_on,
    ) == (
        "resolved",
        "succeeded",
        "买家确认了新地址",
        NOW + timedelta(minutes=4),
        3840,
        "",
    )
    assert _events(case) == [
        ("status_changed", "user:ann", {"action": "start", "from": "open", "to": "in_progress", "note": ""}),
        (
            "status_changed",
            "user:ann",
            {
                "action": "wait_buyer",
                "from": "in_progress",
                "to": "waiting",
                "note": "已短信",
                "waiting_on": "buyer",
                # 18:01 in Shanghai: no working time is left before the step's 19:00 deadline
                "clock": "paused",
                "remaining_seconds": 0,
            },
        ),
        (
            "status_changed",
            "user:ann",
            {
                "action": "wait_merchant",
                "from": "waiting",
                "to": "waiting",
                "note": "",
                "waiting_on": "merchant",
            },
        ),
        (
            "status_changed",
            "user:ann",
            {
                "action": "resume",
                "from": "waiting",
                "to": "in_progress",
                "note": "",
                "clock": "resumed",
                "due_at": (NOW + timedelta(minutes=3)).isoformat(),
            },
        ),
        (
            "resolved",
            "user:ann",
            {
                "outcome": "succeeded",
                "reason": "resolve",
                "handling_seconds": 3840,
                "from": "in_progress",
                "note": "买家确认了新地址",
            },
        ),
    ]
    assert set(CaseEvent.objects.filter(case=case).values_list("actor_id", flat=True)) == {ann.user_id}


def test_a_move_the_machine_forbids_is_refused_with_data_and_writes_nothing():
    op = actor_for(user_with_role("operator"))
    case = _case(status="in_progress")
    before = _row(case)

    with pytest.raises(CaseActionNotAllowed) as refused:
        case_transition(case_id=case.pk, action=A.START, actor=op, now=NOW)

    assert (refused.value.code, refused.value.data) == (
        "TRANSITION_NOT_ALLOWED",
        {"action": "start", "source": "in_progress", "target": "in_progress", "case_id": case.pk},
    )
    assert (_row(case), _events(case)) == (before, [])


@pytest.mark.parametrize(
    ("action", "outcome", "note", "code"),
    [
        (A.RESOLVE, None, "好了", "OUTCOME_INVALID"),
        (A.RESOLVE, "cancelled", "好了", "OUTCOME_INVALID"),
        (A.RESOLVE, "succeeded", "   ", "NOTE_REQUIRED"),
        (A.CANCEL, None, "", "NOTE_REQUIRED"),
        (A.START, "failed", "", "OUTCOME_INVALID"),
        (A.START, None, "坏\x00字", "NOTE_INVALID"),
        (A.START, None, "长" * 2001, "NOTE_INVALID"),
    ],
)
def test_an_action_without_what_it_needs_is_refused_and_writes_nothing(action, outcome, note, code):
    op = actor_for(user_with_role("operator"))
    case = _case()
    before = _row(case)

    with pytest.raises(CaseActionNotAllowed) as refused:
        case_transition(case_id=case.pk, action=action, actor=op, now=NOW, outcome=outcome, note=note)

    assert refused.value.code == code
    assert (_row(case), _events(case)) == (before, [])


def test_cancelling_records_the_cancelled_outcome_and_the_reason():
    boss = actor_for(user_with_role("manager", username="boss"))
    case = _case(status="waiting", waiting_on="merchant")

    case_transition(case_id=case.pk, action=A.CANCEL, actor=boss, now=NOW, note="商家取消订单")

    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution, case.waiting_on) == (
        "cancelled",
        "cancelled",
        "商家取消订单",
        "",
    )
    assert [(t, d["outcome"], d["reason"], d["from"]) for t, _a, d in _events(case)] == [
        ("resolved", "cancelled", "cancel", "waiting")
    ]


@pytest.mark.parametrize("caller", ["merchant", "other_merchant"])
def test_merchant_users_take_no_action_on_a_case(caller):
    case = _case()
    merchant = case.merchant if caller == "merchant" else ChannelFactory().merchant
    shop = actor_for(user_with_role("merchant", merchant=merchant))
    before = _row(case)

    with pytest.raises(CaseActionNotAllowed if caller == "merchant" else NotFound) as refused:
        case_transition(case_id=case.pk, action=A.START, actor=shop, now=NOW)

    assert getattr(refused.value, "code", "NOT_FOUND") == ("ROLE" if caller == "merchant" else "NOT_FOUND")
    assert (_row(case), _events(case)) == (before, [])


def test_a_manager_reopens_a_closed_case_with_a_fresh_deadline():
    boss = actor_for(user_with_role("manager", username="boss"))
    case = _case(status="resolved", outcome="succeeded", resolution="x", closed_at=NOW, handling_seconds=60)

    case_transition(case_id=case.pk, action=A.REOPEN, actor=boss, now=NOW, note="买家又来电")

    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution, case.closed_at, case.handling_seconds) == (
        "open",
        "",
        "",
        None,
        None,
    )
    # 18:00 in Shanghai, after working hours (contact_buyer counts working time, 09:00-18:00):
    # two working hours from the next morning, warned at 75% of them
    assert (case.step, case.due_at, case.warn_at) == (
        "contact_buyer",
        datetime(2026, 11, 26, 3, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 2, 30, tzinfo=UTC),
    )
    assert _events(case) == [
        (
            "reopened",
            "user:boss",
            {
                "from": "resolved",
                "to": "open",
                "note": "买家又来电",
                "step": "contact_buyer",
                "due_at": datetime(2026, 11, 26, 3, 0, tzinfo=UTC).isoformat(),
            },
        )
    ]


def test_an_agent_may_not_reopen():
    ann = actor_for(user_with_role("cs_agent"))
    case = _case(status="cancelled", outcome="cancelled", closed_at=NOW)
    before = _row(case)

    with pytest.raises(CaseActionNotAllowed) as refused:
        case_transition(case_id=case.pk, action=A.REOPEN, actor=ann, now=NOW, note="再看看")

    assert refused.value.code == "ACTION_ROLE"
    assert (_row(case), _events(case)) == (before, [])


def test_reopening_is_refused_while_the_order_has_another_open_case_of_that_type():
    boss = actor_for(user_with_role("manager"))
    order = OrderFactory()
    closed = _case(order=order, status="resolved", outcome="succeeded", closed_at=NOW)
    fresh = _case(order=order)
    before = _row(closed)

    with pytest.raises(CaseActionNotAllowed) as refused:
        case_transition(case_id=closed.pk, action=A.REOPEN, actor=boss, now=NOW, note="再看看")

    assert (refused.value.code, refused.value.data) == ("OPEN_CASE_EXISTS", {"other_case_id": fresh.pk})
    assert (_row(closed), _events(closed)) == (before, [])


def test_staff_and_the_cases_merchant_add_notes_another_merchant_cannot():
    case = _case()
    ann = actor_for(user_with_role("cs_agent", username="ann"))
    shop = actor_for(user_with_role("merchant", merchant=case.merchant, username="shop"))
    stranger = actor_for(user_with_role("merchant", merchant=ChannelFactory().merchant))

    case_note_add(case_id=case.pk, actor=ann, text="已致电买家，无人接听", now=NOW)
    case_note_add(case_id=case.pk, actor=shop, text="请改发顺丰", now=NOW + timedelta(minutes=1))
    with pytest.raises(NotFound):
        case_note_add(case_id=case.pk, actor=stranger, text="?", now=NOW)
    with pytest.raises(CaseActionNotAllowed) as empty:
        case_note_add(case_id=case.pk, actor=ann, text=" \n ", now=NOW)

    assert empty.value.code == "NOTE_REQUIRED"
    assert _events(case) == [
        ("note", "user:ann", {"text": "已致电买家，无人接听"}),
        ("note", "user:shop", {"text": "请改发顺丰"}),
    ]


def _recipient_case() -> ExceptionCase:
    order = OrderFactory(
        recipient_name="张三丰", recipient_phone="13800138000", address_detail="文三路90号501室"
    )
    return _case(order=order)


@pytest.mark.parametrize("role", ["cs_agent", "manager", "admin"])
def test_a_reveal_gives_the_clear_values_and_logs_who_and_which_fields_not_the_values(role):
    case = _recipient_case()
    who = actor_for(user_with_role(role, username="viewer"))

    clear = case_recipient_reveal(case_id=case.pk, actor=who, now=NOW)
    phone_only = case_recipient_reveal(case_id=case.pk, actor=who, now=NOW, fields=["phone"])

    assert (clear.name, clear.phone, clear.address) == ("张三丰", "13800138000", "文三路90号501室")
    assert (phone_only.name, phone_only.phone, phone_only.address) == (None, "13800138000", None)
    assert _events(case) == [
        ("revealed", "user:viewer", {"fields": ["name", "phone", "address"]}),
        ("revealed", "user:viewer", {"fields": ["phone"]}),
    ]


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("operator", "REVEAL_NOT_ALLOWED"),
        ("tech_oncall", "REVEAL_NOT_ALLOWED"),
        ("merchant", "REVEAL_NOT_ALLOWED"),
        ("other_merchant", "NOT_FOUND"),
    ],
)
def test_other_roles_see_no_clear_recipient_data_and_nothing_is_logged(role, error):
    case = _recipient_case()
    if role == "merchant":
        user = user_with_role("merchant", merchant=case.merchant)
    elif role == "other_merchant":
        user = user_with_role("merchant", merchant=ChannelFactory().merchant)
    else:
        user = user_with_role(role)

    with pytest.raises((CaseActionNotAllowed, NotFound)) as refused:
        case_recipient_reveal(case_id=case.pk, actor=actor_for(user), now=NOW)

    assert refused.value.code == error
    assert _events(case) == []


def test_a_merchant_reads_the_timeline_with_role_labels_never_staff_usernames():
    boss = user_with_role("manager", username="boss")
    ann = user_with_role("cs_agent", username="ann")
    bob = user_with_role("operator", username="bob")
    case = _case()
    shop = user_with_role("merchant", merchant=case.merchant, username="shop")
    case_assign(case_id=case.pk, assignee_id=ann.pk, actor=actor_for(boss), now=NOW)
    case_assign(case_id=case.pk, assignee_id=bob.pk, actor=actor_for(boss), now=NOW)
    case_note_add(case_id=case.pk, actor=actor_for(shop), text="好的", now=NOW)
    CaseEvent.objects.create(case=case, type="opened", occurred_at=NOW, actor_label="system:intake", data={})

    seen_by_shop = [(e.type, e.actor, e.who, e.data) for e in case_timeline(actor=actor_for(shop), case=case)]
    seen_by_staff = [(e.type, e.actor, e.who, e.data) for e in case_timeline(actor=actor_for(ann), case=case)]

    assert seen_by_shop == [
        ("assigned", "仓库主管", "仓库主管", {"assignee": "客服", "previous": None}),
        ("assigned", "仓库主管", "仓库主管", {"assignee": "仓库操作员", "previous": "客服"}),
        ("note", "商家用户", "商家用户", {"text": "好的"}),
        ("opened", "系统", "系统", {}),
    ]
    assert seen_by_staff == [
        ("assigned", "user:boss", "boss", {"assignee": "ann", "previous": None}),
        ("assigned", "user:boss", "boss", {"assignee": "bob", "previous": "ann"}),
        ("note", "user:shop", "shop", {"text": "好的"}),
        ("opened", "system:intake", "系统", {}),
    ]
