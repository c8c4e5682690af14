"""Feasibility without a database (H5.1): regions, capacity, the cut-off and the calendar, and
the T5 machine's steps."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.machine import (
    MACHINES,
    SPECIAL,
    SPECIAL_CLOSED_FAILED,
    SPECIAL_CLOSED_SUCCEEDED,
    SpecialAction,
)
from orderguard.cases.machine import SpecialStep as Step
from orderguard.sla.calendar import WorkingTime
from orderguard.specials.feasibility import ContractTerms, assess, dispatch_time, region_key
from orderguard.tenancy.models import Role

SH = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingTime(tz=SH, start=9 * 60, end=18 * 60, statutory=True)
FRIDAY = datetime(2026, 11, 20, 10, 0, tzinfo=SH)


def contract(id=1, courier="SF", regions=("广东省",), capacity=2, active=True, fee="12", expedited="20"):  # type: ignore[no-untyped-def]
    return ContractTerms(
        id=id,
        courier=courier,
        active=active,
        regions=tuple(regions),
        designated_fee=Decimal(fee),
        expedited_fee=Decimal(expedited),
        cutoff=time(16, 0),
        expedited_capacity=capacity,
    )


def run(contracts, *, courier="SF", expedited=False, province="广东省", city="深圳市", used=None, now=FRIDAY):  # type: ignore[no-untyped-def]
    return assess(
        courier=courier,
        expedited=expedited,
        province=province,
        city=city,
        contracts=contracts,
        used=used or {},
        now=now,
        calendar=CALENDAR,
        default_cutoff=time(18, 0),
    )


def test_region_names_compare_without_their_suffix():
    assert [region_key(n) for n in ("广东省", "深圳市", "广西壮族自治区", "香港特别行政区", "广东")] == [
        "广东",
        "深圳",
        "广西",
        "香港",
        "广东",
    ]


def test_a_city_listed_serves_that_city_only_and_no_regions_means_nationwide():
    hangzhou = contract(regions=("杭州",))
    assert run([hangzhou], province="浙江省", city="杭州市").feasible is True
    assert run([hangzhou], province="浙江省", city="宁波市").feasible is False
    assert run([contract(regions=())], province="西藏自治区", city="拉萨市").feasible is True


def test_each_reason_a_designated_courier_is_not_feasible():
    assert run([contract(courier="ZTO")]).reasons == [{"code": "NO_CONTRACT", "courier": "SF"}]
    assert run([contract(active=False)]).reasons == [{"code": "CONTRACT_INACTIVE", "courier": "SF"}]
    assert run([contract()], province="浙江省", city="杭州市").reasons == [
        {"code": "REGION_NOT_SERVED", "courier": "SF", "region": "浙江省 杭州市"}
    ]
    assert run([contract(capacity=2)], expedited=True, used={1: 2}).reasons == [
        {"code": "CAPACITY_EXHAUSTED", "courier": "SF", "capacity": 2}
    ]


def test_expedited_without_a_courier_takes_the_cheapest_contract_with_capacity_left():
    sf = contract(id=1, courier="SF", regions=(), expedited="20")
    zto = contract(id=2, courier="ZTO", regions=(), expedited="10", capacity=1)

    assert (
        run([sf, zto], courier="", expedited=True).courier,
        run([sf, zto], courier="", expedited=True).fee,
    ) == (
        "ZTO",
        Decimal("10"),
    )
    full = run([sf, zto], courier="", expedited=True, used={2: 1})
    assert (full.courier, full.fee) == ("SF", Decimal("20"))


def test_the_fee_adds_the_designated_and_the_expedited_fees():
    assert run([contract(fee="12", expedited="20")], expedited=True).fee == Decimal("32")


def test_alternatives_are_the_other_couriers_that_serve_the_region():
    result = run(
        [
            contract(id=1),
            contract(id=2, courier="EMS", regions=(), fee="8"),
            contract(id=3, courier="JD", regions=("北京",)),
        ],
        province="浙江省",
        city="杭州市",
    )
    assert result.alternatives == [{"courier": "EMS", "fee": "8"}]


def test_before_the_cut_off_today_after_it_the_next_working_day():
    assert dispatch_time(now=FRIDAY, cutoff=time(16, 0), calendar=CALENDAR) == (
        datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        False,
    )
    # Friday after the cut-off and Saturday: Monday
    assert dispatch_time(now=FRIDAY.replace(hour=16), cutoff=time(16, 0), calendar=CALENDAR)[0] == datetime(
        2026, 11, 23, 16, 0, tzinfo=SH
    )
    assert dispatch_time(now=FRIDAY + timedelta(days=1), cutoff=time(16, 0), calendar=CALENDAR)[
        0
    ] == datetime(2026, 11, 23, 16, 0, tzinfo=SH)


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(min_value=0, max_value=60 * 24 * 400),
    cutoff=st.times(),
)
def test_the_dispatch_time_is_never_before_now_and_always_a_working_days_cut_off(minutes, cutoff):
    now = datetime(2026, 1, 1, tzinfo=SH) + timedelta(minutes=minutes)
    at, _after = dispatch_time(now=now, cutoff=cutoff.replace(microsecond=0), calendar=CALENDAR)
    local = at.astimezone(SH)
    assert at > now
    assert CALENDAR.is_working_day(local.date())
    assert local.time() == cutoff.replace(microsecond=0)


def test_the_special_request_case_type_has_the_t5_machine():
    assert MACHINES["T5"] is SPECIAL
    assert SPECIAL.special_actions(step=Step.ASSESS, status="open", role=Role.OPERATOR) == ["feasibility"]
    assert SPECIAL.special_actions(step=Step.QUOTE, status="in_progress", role=Role.SERVICE_AGENT) == [
        "feasibility",
        "quote",
    ]
    assert SPECIAL.special_actions(step=Step.FULFIL, status="resolved", role=Role.MANAGER) == []
    assert SPECIAL.special_actions(step=Step.ASSESS, status="open", role=Role.MERCHANT) == []


def test_every_move_leads_to_a_step_or_a_closing_and_every_step_can_be_left():
    targets = set(SPECIAL.moves.values())
    assert targets <= {*Step, SPECIAL_CLOSED_SUCCEEDED, SPECIAL_CLOSED_FAILED}
    for step in Step:
        assert any(step in sources for sources in SPECIAL.sources.values()), step


def test_an_action_outside_its_steps_is_refused_by_the_machine():
    with pytest.raises(CaseActionNotAllowed) as refused:
        SPECIAL.special_next(step=Step.FULFIL, action=SpecialAction.QUOTE, result="quoted")
    assert refused.value.data == {"action": "quote", "source": "fulfil", "target": ""}
