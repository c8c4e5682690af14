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


def test_a_merchant_user_never_reads_staff_usernames_in_the_section(client, case):
    # given a request worked up to a checklist tick by "annika" and owned by "olgaowner"
    annika = user_with_role("cs_agent", username="annika")
    owner = user_with_role("cs_agent", username="olgaowner")
    client.force_login(annika)
    client.post(f"/cases/{case.pk}/special/feasibility")
    client.post(f"/cases/{case.pk}/special/quote", {"fee": "12"})
    client.post(f"/cases/{case.pk}/special/confirm", {"answer": "accepted", "channel": "call"})
    client.post(f"/cases/{case.pk}/special/owner", {"owner": owner.pk})
    client.force_login(owner)
    client.post(f"/cases/{case.pk}/special/checklist", {"step": "picking", "verified": "SKU 核对无误"})
    assert SpecialRequest.objects.get(case=case).answer_by_label == "user:annika"
    assert list(
        CaseEvent.objects.filter(case=case, type="checklist").values_list("actor_label", flat=True)
    ) == ["user:olgaowner"]

    # when the merchant reads the case page
    client.force_login(user_with_role("merchant", merchant=case.merchant))
    html = client.get(f"/cases/{case.pk}/").content.decode()

    # then the section names the roles, never the usernames
    section = html[html.index('id="special"') : html.index("</section>", html.index('id="special"'))]
    assert "annika" not in section and "olgaowner" not in section
    assert re.search(r'id="special-owner">客服</dd>', section)
    assert "SKU 核对无误 · 客服" in section
