"""The demo warehouse has courier contracts, so its special requests can be worked (H5)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from orderguard.cases.models import ExceptionCase
from orderguard.core import clock
from orderguard.intake.demo import DEMO_CONTRACTS, _demo_courier_contracts, demo_run
from orderguard.specials.models import CourierContract
from orderguard.specials.services import special_feasibility
from orderguard.tenancy.access import actor_for

pytestmark = pytest.mark.django_db


def test_the_demo_special_requests_can_be_checked_against_its_contracts():
    demo_run(orders=300, seed=7, progress=False)
    agent = actor_for(User.objects.get(username="demo-agent"))

    assert sorted(
        CourierContract.objects.filter(warehouse__code="HZ01").values_list("courier", flat=True)
    ) == sorted(c[0] for c in DEMO_CONTRACTS)
    assert _demo_courier_contracts() == 0  # a second run adds none
    cases = [
        c
        for c in ExceptionCase.objects.filter(type="T5", status="open").select_related("order").order_by("pk")
        if any(f["code"] == "SPECIAL_COURIER_REQUESTED" and f["data"]["courier"] == "SF" for f in c.findings)
    ]
    assert cases
    sf_regions = {"浙江省", "江苏省", "上海市", "广东省", "北京市"}
    for case in cases[:5]:
        request = special_feasibility(case_id=case.pk, actor=agent, now=clock.now())
        assert request.feasible is (case.order.province in sf_regions), case.order.province
