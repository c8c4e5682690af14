"""The special-request section of the case page (H5): the feasibility result with the contracts
considered, the forms the T5 machine allows now, and refusals shown on the page with nothing
changed."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from orderguard.cases.models import CaseEvent
from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.core import clock
from orderguard.specials.models import SpecialRequest
from orderguard.specials.tests.factories import CourierContractFactory, special_case
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _ids(html: str) -> set[str]:
    return set(re.findall(r'id="(special-[a-z-]+)"', html))


@pytest.fixture
def case():  # type: ignore[no-untyped-def]
    warehouse = WarehouseFactory(code="sz")
    CourierContractFactory(
        warehouse=warehouse, courier="SF", regions=["广东省"], designated_fee=Decimal("12")
    )
    CourierContractFactory(
        warehouse=warehouse, courier="JD", regions=["北京市"], designated_fee=Decimal("10")
    )
    return special_case(note="请发顺丰", warehouse=warehouse, opened_at=clock.now())


def test_the_page_offers_the_feasibility_check_first_then_the_quote(client, case):
    client.force_login(user_with_role("cs_agent", username="ann"))

    before = client.get(f"/cases/{case.pk}/").content.decode()
    client.post(f"/cases/{case.pk}/special/feasibility")
    after = client.get(f"/cases/{case.pk}/").content.decode()

    assert {"special-check", "special-quote", "special-contracts"} & _ids(before) == {"special-check"}
    assert {"special-check", "special-quote", "special-contracts"} <= _ids(after)
    rows = re.findall(r'<tr data-courier="(\w+)" data-serves="(\w+)"', after)
    assert rows == [("JD", "no"), ("SF", "yes")]
    assert 'data-feasible="yes"' in after
    assert 'name="fee" id="quote-fee" class="form-control form-control-sm" value="12.00"' in after


def test_a_quote_without_a_fee_is_refused_on_the_page_and_nothing_changes(client, case):
    client.force_login(user_with_role("cs_agent"))
    client.post(f"/cases/{case.pk}/special/feasibility")
    events = CaseEvent.objects.filter(case=case).count()

    response = client.post(f"/cases/{case.pk}/special/quote", {"fee": ""}, HTTP_HX_REQUEST="true")

    assert "请填写费用（免费请填 0）" in response.content.decode()
    assert (CaseEvent.objects.filter(case=case).count(), SpecialRequest.objects.get(case=case).fee) == (
        events,
        None,
    )


def test_a_merchant_user_reads_the_section_without_forms(client, case):
    client.force_login(user_with_role("merchant", merchant=case.merchant))

    html = client.get(f"/cases/{case.pk}/").content.decode()

    assert "special-kinds" in _ids(html)
    assert (
        _ids(html) & {"special-check", "special-quote", "special-record-answer", "special-set-owner"} == set()
    )
    assert client.post(f"/cases/{case.pk}/special/feasibility").status_code == 403
