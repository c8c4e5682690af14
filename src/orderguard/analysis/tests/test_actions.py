"""Improvement actions (S4): created from a finding by managers and admins only, refused with
nothing written otherwise; their effect is the subject's cases before against after."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from orderguard.analysis.actions import (
    ActionRefused,
    action_create,
    action_effect,
    action_set_status,
    actions_with_effect,
)
from orderguard.analysis.models import DailyStat, ImprovementAction
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # Friday 20th, 12:00 in Shanghai


@pytest.fixture
def people():  # type: ignore[no-untyped-def]
    MerchantFactory(code="act-a")
    return {
        "boss": actor_for(user_with_role("manager", username="act-boss")),
        "op": actor_for(user_with_role("operator", username="act-op")),
    }


def _create(actor, **kw):  # type: ignore[no-untyped-def]
    values = {
        "kind": "sku_stockouts",
        "subject": "SKU-R",
        "merchant_code": "act-a",
        "owner_id": None,
        "due_on": date(2026, 12, 1),
        "expected_effect": "将 SKU-R 的安全库存提高到 22",
        "target_value": 22,
        "now": NOW,
    }
    values.update(kw)
    return action_create(actor=actor, **values)


def test_a_manager_turns_a_finding_into_an_action(people):
    action = _create(people["boss"], owner_id=people["op"].user_id)

    got = ImprovementAction.objects.get()
    assert got.pk == action.pk
    assert (got.merchant.code, got.kind, got.subject, got.target_value, got.owner_label, got.status) == (
        "act-a",
        "sku_stockouts",
        "SKU-R",
        22,
        "act-op",
        "planned",
    )
    assert (got.started_on, got.due_on, got.created_by_label) == (
        date(2026, 11, 20),
        date(2026, 12, 1),
        "user:act-boss",
    )
    action_set_status(actor=people["boss"], action_id=action.pk, status="done", now=NOW)
    assert ImprovementAction.objects.get().status == "done"


@pytest.mark.parametrize(
    ("who", "kw", "reason", "field"),
    [
        ("op", {}, "ROLE", ""),
        ("boss", {"due_on": date(2026, 11, 19)}, "INVALID", "due_on"),
        ("boss", {"due_on": None}, "INVALID", "due_on"),
        ("boss", {"kind": "weather"}, "INVALID", "kind"),
        ("boss", {"expected_effect": "  "}, "INVALID", "expected_effect"),
        ("boss", {"merchant_code": "nobody"}, "INVALID", "merchant"),
        ("boss", {"kind": "channel_faults", "subject": "no-such-channel"}, "INVALID", "subject"),
    ],
)
def test_a_refused_action_writes_nothing(people, who, kw, reason, field):
    kw.setdefault("owner_id", people["op"].user_id)
    with pytest.raises(ActionRefused) as refused:
        _create(people[who], **kw)

    assert (refused.value.reason, refused.value.field) == (reason, field)
    assert ImprovementAction.objects.count() == 0


def test_an_owner_who_is_not_staff_is_refused(people):
    from orderguard.tenancy.models import Merchant

    shop = user_with_role("merchant", merchant=Merchant.objects.get(code="act-a"), username="act-shop")
    with pytest.raises(ActionRefused) as refused:
        _create(people["boss"], owner_id=shop.pk)
    assert refused.value.field == "owner"
    assert ImprovementAction.objects.count() == 0
    with pytest.raises(ActionRefused) as refused:
        action_set_status(actor=people["op"], action_id=1, status="done", now=NOW)
    assert refused.value.reason == "ROLE"


def test_the_effect_compares_as_many_days_before_as_after_the_start(people):
    action = _create(people["boss"], owner_id=people["op"].user_id)
    merchant = action.merchant
    start = action.started_on
    # stock-outs of SKU-R: 3 + 2 in the four days before the start, 1 in the four days from it,
    # 7 five days before (outside the window), and another SKU's that do not count
    for offset, n, sku in (
        (-5, 7, "SKU-R"),
        (-4, 3, "SKU-R"),
        (-1, 2, "SKU-R"),
        (2, 1, "SKU-R"),
        (1, 9, "SKU-Q"),
    ):
        DailyStat.objects.create(
            merchant=merchant,
            day=start + timedelta(days=offset),
            case_type="T1",
            dim="sku",
            key=sku,
            opened=n,
        )

    assert action_effect(action, today=start) == {"days": 0, "before": None, "after": None, "change": None}
    assert action_effect(action, today=start + timedelta(days=4)) == {
        "days": 4,
        "before": 5,
        "after": 1,
        "change": -80.0,
    }


def test_the_actions_table_reads_one_query_per_action(people, django_assert_num_queries):
    for subject in ("SKU-R", "SKU-Q", "SKU-P"):
        _create(people["boss"], subject=subject, owner_id=people["op"].user_id)
    today = NOW.date() + timedelta(days=3)

    # the actions with their merchants, then each one's before and after together
    with django_assert_num_queries(1 + 3):
        rows = actions_with_effect(actor=people["boss"], today=today)

    assert [(r["subject"], r["effect"]["days"]) for r in rows] == [("SKU-R", 3), ("SKU-Q", 3), ("SKU-P", 3)]


def test_the_page_creates_an_action_from_a_finding_and_lists_it(people):
    from orderguard.tenancy.models import Membership

    client = Client()
    client.force_login(Membership.objects.get(user__username="act-boss").user)

    response = client.post(
        "/reports/actions",
        {
            "kind": "sku_stockouts",
            "subject": "SKU-R",
            "merchant": "act-a",
            "owner": str(people["op"].user_id),
            "due_on": "2099-01-01",
            "expected_effect": "将 SKU-R 的安全库存提高到 22",
            "target_value": "22",
            "next": "/reports/?period=last_week",
        },
    )

    assert (response.status_code, response["Location"]) == (302, "/reports/?period=last_week")
    assert ImprovementAction.objects.get().expected_effect == "将 SKU-R 的安全库存提高到 22"
    page = client.get("/reports/?period=last_week").content.decode()
    assert 'id="report-actions"' in page and "将 SKU-R 的安全库存提高到 22" in page
    refused = client.post("/reports/actions", {"kind": "sku_stockouts", "next": "https://evil.example/"})
    assert (refused.status_code, refused["Location"]) == (302, "/reports/")
    assert ImprovementAction.objects.count() == 1
