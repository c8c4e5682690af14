"""A special request worked end to end (H5.1-H5.3): feasibility from the contracts, the quote,
the buyer's answer, the owner and the checklist to dispatch; and every refusal, which changes
nothing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.sla.services import deadlines_scan
from orderguard.specials.models import ChecklistTick, SpecialRequest
from orderguard.specials.services import (
    SpecialRefused,
    special_alternative,
    special_confirm,
    special_feasibility,
    special_owner,
    special_quote,
    special_tick,
)
from orderguard.specials.tests.factories import CourierContractFactory, special_case
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SH)  # a Friday morning, a working day


@pytest.fixture
def ann():  # type: ignore[no-untyped-def]
    return actor_for(user_with_role("cs_agent", username="ann"))


@pytest.fixture
def olly():  # type: ignore[no-untyped-def]
    return actor_for(user_with_role("operator", username="olly"))


@pytest.fixture
def warehouse():  # type: ignore[no-untyped-def]
    return WarehouseFactory(code="sz")


def _events(case: ExceptionCase) -> list[tuple[str, str]]:
    return list(case.events.order_by("pk").values_list("type", "actor_label"))


def _snapshot(case: ExceptionCase) -> tuple:  # type: ignore[type-arg]
    case.refresh_from_db()
    request = SpecialRequest.objects.filter(case=case).values_list(
        "feasible", "fee", "dispatch_at", "answer", "alternative"
    )
    return (
        case.status,
        case.step,
        case.due_at,
        case.assignee_id,
        case.outcome,
        CaseEvent.objects.filter(case=case).count(),
        list(request),
        ChecklistTick.objects.filter(request__case=case).count(),
    )


def test_a_designated_courier_request_from_feasibility_to_dispatch(ann, olly, warehouse):
    contract = CourierContractFactory(warehouse=warehouse, courier="SF", regions=["广东省"])
    CourierContractFactory(warehouse=warehouse, courier="ZTO", regions=[], designated_fee=Decimal("3"))
    case = special_case(note="请发顺丰", warehouse=warehouse, opened_at=NOW)

    request = special_feasibility(case_id=case.pk, actor=ann, now=NOW)
    case.refresh_from_db()
    assert (request.feasible, request.contract_id, request.dispatch_at) == (
        True,
        contract.pk,
        datetime(2026, 11, 20, 16, 0, tzinfo=SH),
    )
    assert [(c["courier"], c["serves"]) for c in request.feasibility["contracts"]] == [
        ("SF", True),
        ("ZTO", True),
    ]
    assert request.feasibility["fee"] == "12.00"
    assert (case.status, case.step, case.due_at) == (
        "in_progress",
        "quote",
        NOW + timedelta(minutes=60),
    )

    special_quote(case_id=case.pk, actor=ann, now=NOW + timedelta(minutes=5), fee="12")
    case.refresh_from_db()
    assert (case.status, case.waiting_on, case.step) == ("waiting", "buyer", "buyer_confirmation")
    # the buyer's answer keeps its clock running: four working hours
    assert case.due_at == NOW + timedelta(minutes=5 + 240)

    special_confirm(
        case_id=case.pk, actor=ann, now=NOW + timedelta(minutes=20), answer="accepted", channel="call"
    )
    special_owner(case_id=case.pk, actor=ann, now=NOW + timedelta(minutes=21), owner_id=olly.user_id)
    case.refresh_from_db()
    assert (case.status, case.step, case.assignee_id) == ("in_progress", "fulfil", olly.user_id)

    for minutes, step, verified in (
        (30, "picking", "拣货 2 件，与订单一致"),
        (40, "packing", "已装箱，面单为顺丰"),
        (50, "dispatch", "顺丰运单 SF1234567890 已贴在包裹上"),
    ):
        special_tick(
            case_id=case.pk, actor=olly, now=NOW + timedelta(minutes=minutes), step=step, verified=verified
        )

    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution, case.closed_at, case.sla_next_at) == (
        "resolved",
        "succeeded",
        "已发货：顺丰运单 SF1234567890 已贴在包裹上",
        NOW + timedelta(minutes=50),
        None,
    )
    request.refresh_from_db()
    assert (request.fee, request.answer, request.answer_channel, request.answer_by_label) == (
        Decimal("12.00"),
        "accepted",
        "call",
        "user:ann",
    )
    assert [e for e in _events(case) if e[0] != "step_started"] == [
        ("feasibility", "user:ann"),
        ("status_changed", "user:ann"),
        ("quoted", "user:ann"),
        ("status_changed", "user:ann"),
        ("confirmed", "user:ann"),
        ("status_changed", "user:ann"),
        ("assigned", "user:ann"),
        ("checklist", "user:olly"),
        ("checklist", "user:olly"),
        ("checklist", "user:olly"),
        ("resolved", "user:olly"),
    ]
    # each step the request went through, with when it started (S3 measures the time per step)
    assert [
        (e.data["step"], e.occurred_at) for e in case.events.filter(type="step_started").order_by("pk")
    ] == [
        ("quote", NOW),
        ("buyer_confirmation", NOW + timedelta(minutes=5)),
        ("assign_owner", NOW + timedelta(minutes=20)),
        ("fulfil", NOW + timedelta(minutes=21)),
    ]
    assert case.events.get(type="assigned").data == {"assignee": "olly", "previous": None, "role": "owner"}
    assert [e.data["step"] for e in case.events.filter(type="checklist").order_by("pk")] == [
        "picking",
        "packing",
        "dispatch",
    ]


def test_a_courier_outside_its_regions_is_not_feasible_and_a_quote_is_then_refused(ann, warehouse):
    CourierContractFactory(warehouse=warehouse, courier="SF", regions=["广东省", "杭州市"])
    CourierContractFactory(warehouse=warehouse, courier="EMS", regions=[], designated_fee=Decimal("8"))
    case = special_case(
        note="请发顺丰", province="新疆维吾尔自治区", city="喀什地区", warehouse=warehouse, opened_at=NOW
    )

    request = special_feasibility(case_id=case.pk, actor=ann, now=NOW)
    assert (request.feasible, request.feasibility["reasons"], request.feasibility["alternatives"]) == (
        False,
        [{"code": "REGION_NOT_SERVED", "courier": "SF", "region": "新疆维吾尔自治区 喀什地区"}],
        [{"courier": "EMS", "fee": "8.00"}],
    )
    case.refresh_from_db()
    assert (case.step, case.status, case.waiting_on) == ("offer_alternative", "waiting", "buyer")
    before = _snapshot(case)

    with pytest.raises(SpecialRefused) as refused:
        special_quote(case_id=case.pk, actor=ann, now=NOW, fee="12")

    assert (refused.value.code, refused.value.field, refused.value.data["reasons"][0]["region"]) == (
        "NOT_FEASIBLE",
        "courier",
        "新疆维吾尔自治区 喀什地区",
    )
    assert _snapshot(case) == before


def test_an_alternative_accepted_closes_succeeded_and_declined_closes_failed(ann, warehouse):
    CourierContractFactory(warehouse=warehouse, courier="SF", regions=["广东省"])
    accepted = special_case(
        note="发顺丰", province="浙江省", city="杭州市", warehouse=warehouse, opened_at=NOW
    )
    declined = special_case(
        note="发顺丰", province="浙江省", city="杭州市", warehouse=warehouse, opened_at=NOW
    )
    for case in (accepted, declined):
        special_feasibility(case_id=case.pk, actor=ann, now=NOW)

    special_alternative(
        case_id=accepted.pk, actor=ann, now=NOW, alternative="改发中通", answer="accepted", channel="chat"
    )
    special_alternative(
        case_id=declined.pk, actor=ann, now=NOW, alternative="改发中通", answer="declined", channel="sms"
    )

    accepted.refresh_from_db()
    declined.refresh_from_db()
    assert (accepted.status, accepted.outcome, accepted.resolution) == (
        "resolved",
        "succeeded",
        "买家接受替代方案：改发中通",
    )
    assert (declined.status, declined.outcome, declined.resolution) == (
        "resolved",
        "failed",
        "买家不接受替代方案：改发中通",
    )
    assert accepted.events.get(type="confirmed").data["alternative"] == "改发中通"


def test_the_buyer_declining_the_fee_closes_the_case_with_that_outcome(ann, warehouse):
    CourierContractFactory(warehouse=warehouse)
    case = special_case(warehouse=warehouse, opened_at=NOW)
    special_feasibility(case_id=case.pk, actor=ann, now=NOW)
    special_quote(case_id=case.pk, actor=ann, now=NOW, fee="12.00")

    special_confirm(case_id=case.pk, actor=ann, now=NOW, answer="declined", channel="chat")

    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution) == (
        "resolved",
        "failed",
        "买家不接受费用，按原方式处理",
    )
    assert case.events.order_by("pk").last().data["reason"] == "buyer_declined"


@pytest.mark.parametrize(
    ("fee", "code"),
    [
        (None, "FEE_REQUIRED"),
        ("", "FEE_REQUIRED"),
        ("-1", "FEE_INVALID"),
        ("abc", "FEE_INVALID"),
        ("1.234", "FEE_INVALID"),
    ],
)
def test_a_quote_without_a_valid_fee_is_refused_naming_the_fee(ann, warehouse, fee, code):
    CourierContractFactory(warehouse=warehouse)
    case = special_case(warehouse=warehouse, opened_at=NOW)
    special_feasibility(case_id=case.pk, actor=ann, now=NOW)
    before = _snapshot(case)

    with pytest.raises(SpecialRefused) as refused:
        special_quote(case_id=case.pk, actor=ann, now=NOW, fee=fee)

    assert (refused.value.code, refused.value.field) == (code, "fee")
    assert _snapshot(case) == before


def test_a_fee_of_zero_given_explicitly_is_a_quote(ann, warehouse):
    case = special_case(note="礼盒包装", warehouse=warehouse, opened_at=NOW)
    request = special_feasibility(case_id=case.pk, actor=ann, now=NOW)
    assert (request.feasible, request.contract_id) == (True, None)

    request = special_quote(case_id=case.pk, actor=ann, now=NOW, fee="0")

    assert request.fee == Decimal("0.00")


def test_confirming_before_a_quote_is_refused(ann, warehouse):
    CourierContractFactory(warehouse=warehouse)
    case = special_case(warehouse=warehouse, opened_at=NOW)
    before = _snapshot(case)
    with pytest.raises(SpecialRefused) as refused:
        special_confirm(case_id=case.pk, actor=ann, now=NOW, answer="accepted", channel="call")
    assert (refused.value.code, refused.value.field) == ("QUOTE_REQUIRED", "quote")
    assert _snapshot(case) == before
    assert SpecialRequest.objects.filter(case=case).count() == 0


def _to_fulfil(ann, owner, warehouse):  # type: ignore[no-untyped-def]
    CourierContractFactory(warehouse=warehouse)
    case = special_case(warehouse=warehouse, opened_at=NOW)
    special_feasibility(case_id=case.pk, actor=ann, now=NOW)
    special_quote(case_id=case.pk, actor=ann, now=NOW, fee="12")
    special_confirm(case_id=case.pk, actor=ann, now=NOW, answer="accepted", channel="call")
    special_owner(case_id=case.pk, actor=ann, now=NOW, owner_id=owner.user_id)
    return case


def test_ticking_out_of_order_or_not_as_the_owner_is_refused(ann, olly, warehouse):
    case = _to_fulfil(ann, olly, warehouse)
    before = _snapshot(case)

    with pytest.raises(SpecialRefused) as out_of_order:
        special_tick(case_id=case.pk, actor=olly, now=NOW, step="packing", verified="已装箱")
    with pytest.raises(SpecialRefused) as not_owner:
        special_tick(case_id=case.pk, actor=ann, now=NOW, step="picking", verified="拣货完成")
    with pytest.raises(SpecialRefused) as no_text:
        special_tick(case_id=case.pk, actor=olly, now=NOW, step="picking", verified="  ")
    with pytest.raises(SpecialRefused) as bad_step:
        special_tick(case_id=case.pk, actor=olly, now=NOW, step="labelling", verified="x")

    assert [(e.value.code, e.value.field) for e in (out_of_order, not_owner, no_text, bad_step)] == [
        ("OUT_OF_ORDER", "step"),
        ("NOT_OWNER", "owner"),
        ("VERIFIED_REQUIRED", "verified"),
        ("STEP_INVALID", "step"),
    ]
    assert out_of_order.value.data["expected"] == "picking"
    assert _snapshot(case) == before


def test_a_manager_may_tick_for_the_owner(ann, olly, warehouse):
    case = _to_fulfil(ann, olly, warehouse)
    boss = actor_for(user_with_role("manager", username="boss"))

    tick = special_tick(case_id=case.pk, actor=boss, now=NOW, step="picking", verified="拣货完成")

    assert (tick.step, tick.ticked_by_label) == ("picking", "user:boss")


def test_expedited_capacity_is_counted_from_the_requests_accepted_today(ann, warehouse):
    CourierContractFactory(warehouse=warehouse, courier="SF", regions=[], expedited_capacity=1)
    first = special_case(note="顺丰加急", warehouse=warehouse, opened_at=NOW)
    second = special_case(note="顺丰加急", warehouse=warehouse, opened_at=NOW)
    for case in (first, second):
        special_feasibility(case_id=case.pk, actor=ann, now=NOW)
        special_quote(case_id=case.pk, actor=ann, now=NOW, fee="32")
    special_confirm(case_id=first.pk, actor=ann, now=NOW, answer="accepted", channel="call")
    before = _snapshot(second)

    with pytest.raises(SpecialRefused) as refused:
        special_confirm(case_id=second.pk, actor=ann, now=NOW, answer="accepted", channel="call")
    third = special_case(note="顺丰加急", warehouse=warehouse, opened_at=NOW)
    checked = special_feasibility(case_id=third.pk, actor=ann, now=NOW)
    tomorrow = special_feasibility(case_id=third.pk, actor=ann, now=NOW + timedelta(days=3))

    assert (refused.value.code, refused.value.field, refused.value.data["capacity"]) == (
        "CAPACITY_EXHAUSTED",
        "capacity",
        1,
    )
    assert _snapshot(second) == before
    assert (checked.feasible, checked.feasibility["reasons"]) == (
        False,
        [{"code": "CAPACITY_EXHAUSTED", "courier": "SF", "capacity": 1}],
    )
    assert (tomorrow.feasible, tomorrow.feasibility["fee"]) == (True, "32.00")


def test_after_the_cut_off_the_dispatch_moves_to_the_next_working_day(ann, warehouse):
    CourierContractFactory(warehouse=warehouse, cutoff=time(16, 0))
    case = special_case(warehouse=warehouse, opened_at=NOW)

    # Friday 17:00: the next working day is Monday
    request = special_feasibility(case_id=case.pk, actor=ann, now=NOW.replace(hour=17))

    assert (request.dispatch_at, request.feasibility["after_cutoff"]) == (
        datetime(2026, 11, 23, 16, 0, tzinfo=SH),
        True,
    )


def test_a_step_the_machine_forbids_is_refused_and_merchants_act_on_nothing(ann, olly, warehouse):
    case = _to_fulfil(ann, olly, warehouse)
    before = _snapshot(case)
    merchant = actor_for(user_with_role("merchant", merchant=case.merchant))

    with pytest.raises(CaseActionNotAllowed) as forbidden:
        special_quote(case_id=case.pk, actor=ann, now=NOW, fee="5")
    with pytest.raises(CaseActionNotAllowed) as role:
        special_feasibility(case_id=case.pk, actor=merchant, now=NOW)

    assert (forbidden.value.code, forbidden.value.data["action"], forbidden.value.data["source"]) == (
        "TRANSITION_NOT_ALLOWED",
        "quote",
        "fulfil",
    )
    assert role.value.code == "ROLE"
    assert _snapshot(case) == before


def test_a_case_that_is_no_special_request_is_refused(ann):
    case = special_case(note="谢谢", opened_at=NOW)
    with pytest.raises(SpecialRefused) as refused:
        special_feasibility(case_id=case.pk, actor=ann, now=NOW)
    assert refused.value.code == "NOT_SPECIAL"
    assert SpecialRequest.objects.count() == 0


def test_the_deadline_scan_warns_on_a_special_request_step(ann, warehouse):
    CourierContractFactory(warehouse=warehouse)
    case = special_case(warehouse=warehouse, opened_at=NOW)
    special_feasibility(case_id=case.pk, actor=ann, now=NOW)
    case.refresh_from_db()
    assert (case.step, case.warn_at) == ("quote", NOW + timedelta(minutes=45))

    result = deadlines_scan(now=NOW + timedelta(minutes=46))

    case.refresh_from_db()
    assert (dict(result.alerted), case.sla_level) == ({1: 1}, 1)
    assert case.events.order_by("pk").last().data["step"] == "quote"


def test_a_reopened_request_is_worked_again_with_a_fresh_checklist(ann, olly, warehouse):
    from orderguard.cases.services import case_transition

    case = _to_fulfil(ann, olly, warehouse)
    for step in ("picking", "packing", "dispatch"):
        special_tick(case_id=case.pk, actor=olly, now=NOW, step=step, verified=f"{step} ok")
    boss = actor_for(user_with_role("manager", username="boss"))
    case_transition(
        case_id=case.pk, action="reopen", actor=boss, now=NOW + timedelta(hours=1), note="包裹退回"
    )

    request = special_feasibility(case_id=case.pk, actor=ann, now=NOW + timedelta(hours=1))
    special_quote(case_id=case.pk, actor=ann, now=NOW + timedelta(hours=1), fee="0")
    special_confirm(
        case_id=case.pk, actor=ann, now=NOW + timedelta(hours=1), answer="accepted", channel="sms"
    )
    special_owner(case_id=case.pk, actor=ann, now=NOW + timedelta(hours=1), owner_id=olly.user_id)
    tick = special_tick(
        case_id=case.pk, actor=olly, now=NOW + timedelta(hours=2), step="picking", verified="重新拣货"
    )

    request.refresh_from_db()
    assert (request.round, request.fee, request.answer_channel, tick.round) == (2, Decimal("0.00"), "sms", 2)
    assert list(
        ChecklistTick.objects.filter(request=request).values_list("round", "step").order_by("pk")
    ) == [
        (1, "picking"),
        (1, "packing"),
        (1, "dispatch"),
        (2, "picking"),
    ]
