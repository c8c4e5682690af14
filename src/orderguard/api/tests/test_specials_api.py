"""Special requests through the API (H5): a designated courier from feasibility to dispatch,
what each caller may do, and refusals that name the field and write nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from orderguard.cases.models import CaseEvent
from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.core import clock
from orderguard.specials.models import ChecklistTick, SpecialRequest
from orderguard.specials.tests.factories import CourierContractFactory, special_case
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    warehouse = WarehouseFactory(code="sz")
    CourierContractFactory(
        warehouse=warehouse, courier="SF", regions=["广东省"], designated_fee=Decimal("12")
    )
    CourierContractFactory(warehouse=warehouse, courier="EMS", regions=[], designated_fee=Decimal("8"))
    case = special_case(note="请发顺丰", warehouse=warehouse, opened_at=clock.now())
    return {"warehouse": warehouse, "case": case}


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_an_agent_and_an_owner_take_a_courier_request_to_dispatch(world):
    agent = _client(user_with_role("cs_agent", username="ann"))
    olly = user_with_role("operator", username="olly")
    owner = _client(olly)
    case = world["case"]
    base = f"/api/v1/cases/{case.pk}/special"

    checked = _post(agent, f"{base}/feasibility").json()
    assert (checked["feasible"], checked["step"], checked["actions"]) == (
        True,
        "quote",
        ["feasibility", "quote"],
    )
    assert [(c["courier"], c["serves"]) for c in checked["feasibility"]["contracts"]] == [
        ("EMS", True),
        ("SF", True),
    ]
    quoted = _post(agent, f"{base}/quote", {"fee": "12"}).json()
    assert (quoted["fee"], quoted["step"], quoted["status"]) == ("12.00", "buyer_confirmation", "waiting")
    confirmed = _post(agent, f"{base}/confirm", {"answer": "accepted", "channel": "chat"}).json()
    assert (confirmed["answer"], confirmed["answer_channel"], confirmed["answer_by"]) == (
        "accepted",
        "chat",
        "user:ann",
    )
    assert _post(agent, f"{base}/owner", {"owner": "olly"}).json()["owner"] == "olly"
    for step, verified in (
        ("picking", "拣货核对"),
        ("packing", "打包核对"),
        ("dispatch", "运单 SF1234567890"),
    ):
        response = _post(owner, f"{base}/checklist/{step}", {"verified": verified})
        assert response.status_code == 200, response.json()

    body = owner.get(base).json()
    assert (body["status"], body["next_tick"], body["actions"]) == ("resolved", None, [])
    assert [(t["step"], t["verified"], t["by"]) for t in body["checklist"]] == [
        ("picking", "拣货核对", "user:olly"),
        ("packing", "打包核对", "user:olly"),
        ("dispatch", "运单 SF1234567890", "user:olly"),
    ]
    case.refresh_from_db()
    assert (case.status, case.outcome, case.assignee_id) == ("resolved", "succeeded", olly.pk)


def test_the_merchant_reads_its_request_and_acts_on_nothing_another_merchant_sees_nothing(world):
    case = world["case"]
    mine = _client(user_with_role("merchant", merchant=case.merchant))
    theirs = _client(user_with_role("merchant", merchant=MerchantFactory()))
    base = f"/api/v1/cases/{case.pk}/special"

    read = mine.get(base)
    refused = _post(mine, f"{base}/feasibility")
    hidden = theirs.get(base)

    assert (read.status_code, read.json()["actions"], read.json()["feasible"]) == (200, [], None)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "ROLE")
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert SpecialRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({}, 422, "FEE_REQUIRED", "fee"),
        ({"fee": None}, 422, "FEE_REQUIRED", "fee"),
        ({"fee": "-5"}, 422, "FEE_INVALID", "fee"),
        ({"fee": "12", "extra": 1}, 422, "INVALID_INPUT", "extra"),
    ],
)
def test_a_bad_quote_names_the_field_and_changes_nothing(world, body, status, code, field):
    agent = _client(user_with_role("cs_agent"))
    case = world["case"]
    _post(agent, f"/api/v1/cases/{case.pk}/special/feasibility")
    events = CaseEvent.objects.filter(case=case).count()

    response = _post(agent, f"/api/v1/cases/{case.pk}/special/quote", body)

    error = response.json()["error"]
    assert (response.status_code, error["code"], error["field"].split(".")[-1]) == (status, code, field)
    assert CaseEvent.objects.filter(case=case).count() == events
    assert SpecialRequest.objects.get(case=case).fee is None


def test_out_of_region_then_a_forced_quote_is_a_conflict_naming_the_region(world):
    agent = _client(user_with_role("cs_agent"))
    far = special_case(
        note="请发顺丰",
        province="新疆维吾尔自治区",
        city="乌鲁木齐市",
        warehouse=world["warehouse"],
        opened_at=clock.now(),
    )
    base = f"/api/v1/cases/{far.pk}/special"

    checked = _post(agent, f"{base}/feasibility").json()
    forced = _post(agent, f"{base}/quote", {"fee": "12"})

    assert (checked["feasible"], checked["step"], checked["feasibility"]["alternatives"]) == (
        False,
        "offer_alternative",
        [{"courier": "EMS", "fee": "8.00"}],
    )
    assert forced.status_code == 409
    assert forced.json()["error"] == {
        "code": "NOT_FEASIBLE",
        "message": "该需求不可行，不能报价：顺丰的合同不服务收货地区：新疆维吾尔自治区 乌鲁木齐市",
        "field": "courier",
    }
    assert SpecialRequest.objects.get(case=far).fee is None


def test_confirming_before_a_quote_and_ticking_as_someone_else_are_refused(world):
    agent = _client(user_with_role("cs_agent", username="ann"))
    user_with_role("operator", username="olly")
    base = f"/api/v1/cases/{world['case'].pk}/special"

    early = _post(agent, f"{base}/confirm", {"answer": "accepted", "channel": "call"})
    _post(agent, f"{base}/feasibility")
    _post(agent, f"{base}/quote", {"fee": 12})
    _post(agent, f"{base}/confirm", {"answer": "accepted", "channel": "call"})
    _post(agent, f"{base}/owner", {"owner": "olly"})
    not_owner = _post(agent, f"{base}/checklist/picking", {"verified": "拣货完成"})
    bad_step = _post(agent, f"{base}/checklist/labelling", {"verified": "x"})

    assert (early.status_code, early.json()["error"]["code"], early.json()["error"]["field"]) == (
        409,
        "QUOTE_REQUIRED",
        "quote",
    )
    assert (not_owner.status_code, not_owner.json()["error"]["code"], not_owner.json()["error"]["field"]) == (
        403,
        "NOT_OWNER",
        "owner",
    )
    assert (bad_step.status_code, bad_step.json()["error"]["code"]) == (422, "INVALID_INPUT")
    assert ChecklistTick.objects.count() == 0


def test_a_case_that_is_no_special_request_is_a_conflict(world):
    agent = _client(user_with_role("cs_agent"))
    plain = special_case(note="谢谢", opened_at=clock.now())

    response = agent.get(f"/api/v1/cases/{plain.pk}/special")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "NOT_SPECIAL")
