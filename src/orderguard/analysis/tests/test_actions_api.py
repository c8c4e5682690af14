"""Improvement actions over the API (S4): listed with filters and pages, created from a finding
and changed by managers and admins only, each with its effect; bad input is refused naming the
field and writes nothing; a merchant user sees its own merchant's actions only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from orderguard.analysis.models import DailyStat, ImprovementAction
from orderguard.core import clock
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # Friday 20th, 12:00 in Shanghai
URL = "/api/v1/reports/actions"


@pytest.fixture
def world(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(clock, "now", lambda: NOW)
    a, b = MerchantFactory(code="api-a"), MerchantFactory(code="api-b")
    users = {
        "boss": user_with_role("manager", username="api-boss"),
        "op": user_with_role("operator", username="api-op"),
        "a": user_with_role("merchant", merchant=a, username="api-a-user"),
        "b": user_with_role("merchant", merchant=b, username="api-b-user"),
    }
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)
    return {"a": a, "b": b, "users": users, "c": clients}


def _body(**kw):  # type: ignore[no-untyped-def]
    body = {
        "kind": "sku_stockouts",
        "subject": "SKU-R",
        "merchant": "api-a",
        "owner": "api-op",
        "due_on": "2026-12-01",
        "expected_effect": "将 SKU-R 的安全库存提高到 22",
        "target_value": 22,
    }
    body.update(kw)
    return body


def _post(client, body):  # type: ignore[no-untyped-def]
    return client.post(URL, body, content_type="application/json")


def _patch(client, action_id, body):  # type: ignore[no-untyped-def]
    return client.patch(f"{URL}/{action_id}", body, content_type="application/json")


def test_a_manager_creates_an_action_and_reads_its_effect(world):
    response = _post(world["c"]["boss"], _body())

    assert response.status_code == 201, response.content
    got = response.json()
    action = ImprovementAction.objects.get()
    assert (got["id"], got["merchant"], got["owner"], got["status"], got["started_on"], got["due_on"]) == (
        action.pk,
        "api-a",
        "api-op",
        "planned",
        "2026-11-20",
        "2026-12-01",
    )
    assert got["effect"] == {"days": 0, "before": None, "after": None, "change": None}

    # four days on: 3 stock-outs of SKU-R in the four days before the start, 1 after it
    for offset, n in ((-3, 3), (1, 1)):
        DailyStat.objects.create(
            merchant=world["a"],
            day=date(2026, 11, 20) + timedelta(days=offset),
            case_type="T1",
            dim="sku",
            key="SKU-R",
            opened=n,
        )
    later = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    world_clock = pytest.MonkeyPatch()
    world_clock.setattr(clock, "now", lambda: later)
    try:
        effect = world["c"]["boss"].get(f"{URL}/{action.pk}").json()["effect"]
    finally:
        world_clock.undo()
    assert effect == {"days": 4, "before": 3, "after": 1, "change": -66.7}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(owner="nobody"), "owner"),
        (_body(owner="api-a-user"), "owner"),  # not staff
        (_body(due_on="2026-11-19"), "due_on"),
        (_body(due_on="20261201"), "due_on"),
        (_body(kind="weather"), "kind"),
        (_body(expected_effect="  "), "expected_effect"),
        (_body(expected_effect="raise\u0000it"), "expected_effect"),
        (_body(owner="boss\u0000"), "owner"),
        (_body(merchant="nope"), "merchant"),
        (_body(kind="channel_faults", subject="no-such-channel"), "subject"),
        ({**_body(), "status": "done"}, "status"),  # not a field of the creation
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(world, body, field):
    response = _post(world["c"]["boss"], body)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert not ImprovementAction.objects.exists()


@pytest.mark.parametrize("who", ["op", "a"])
def test_other_roles_may_not_create_or_change(world, who):
    created = _post(world["c"]["boss"], _body()).json()

    assert _post(world["c"][who], _body()).status_code == 403
    response = _patch(world["c"][who], created["id"], {"status": "done"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "ROLE")
    assert ImprovementAction.objects.get().status == "planned"
    assert ImprovementAction.objects.count() == 1


def test_a_manager_changes_status_owner_due_date_and_note(world):
    action_id = _post(world["c"]["boss"], _body()).json()["id"]
    user_with_role("operator", username="api-op2")

    response = _patch(
        world["c"]["boss"],
        action_id,
        {"status": "in_progress", "owner": "api-op2", "due_on": "2026-12-15", "note": "已联系供应商"},
    )

    assert response.status_code == 200, response.content
    got = response.json()
    assert (got["status"], got["owner"], got["due_on"], got["note"]) == (
        "in_progress",
        "api-op2",
        "2026-12-15",
        "已联系供应商",
    )
    # what is absent stays
    assert _patch(world["c"]["boss"], action_id, {"status": "done"}).json()["note"] == "已联系供应商"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"owner": "nobody"}, "owner"),
        ({"owner": "ø \u0003øu\u001e\u0000\r"}, "owner"),  # a NUL names nobody (PostgreSQL refuses it)
        ({"note": "a\u0000b"}, "note"),
        ({"due_on": "2026-11-19"}, "due_on"),
        ({"note": "x", "colour": "red"}, "colour"),
    ],
)
def test_a_refused_change_names_the_field_and_changes_nothing(world, body, field):
    action_id = _post(world["c"]["boss"], _body()).json()["id"]
    before = ImprovementAction.objects.values().get()

    response = _patch(world["c"]["boss"], action_id, {"note": "先写备注", **body})

    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert ImprovementAction.objects.values().get() == before


def test_an_unknown_action_is_not_found(world):
    assert world["c"]["boss"].get(f"{URL}/999").status_code == 404
    assert _patch(world["c"]["boss"], 999, {"status": "done"}).status_code == 404


def test_the_list_filters_pages_and_keeps_merchants_apart(world):
    boss = world["c"]["boss"]
    user_with_role("operator", username="api-op2")
    first = _post(boss, _body()).json()["id"]
    second = _post(boss, _body(subject="SKU-S", owner="api-op2")).json()["id"]
    third = _post(boss, _body(subject="SKU-T", merchant="api-b")).json()["id"]
    _patch(boss, second, {"status": "done"})

    def ids(client, query=""):  # type: ignore[no-untyped-def]
        response = client.get(URL + query)
        assert response.status_code == 200, response.content
        return response.json()["total"], [i["id"] for i in response.json()["items"]]

    assert ids(boss) == (3, [first, third, second])  # open ones first
    assert ids(boss, "?status=done") == (1, [second])
    assert ids(boss, "?owner=api-op2") == (1, [second])
    assert ids(boss, "?merchant=api-b") == (1, [third])
    assert ids(boss, "?limit=1&offset=1") == (3, [third])
    # a merchant user: its own merchant's, with the owner shown as a role
    assert ids(world["c"]["a"]) == (2, [first, second])
    assert world["c"]["a"].get(URL).json()["items"][0]["owner"] == "仓库操作员"
    assert world["c"]["a"].get(f"{URL}/{third}").status_code == 404
    assert world["c"]["b"].get(f"{URL}/{first}").status_code == 404
    refused = world["c"]["a"].get(URL + "?merchant=api-b")
    assert (refused.status_code, refused.json()["error"]["field"]) == (403, "merchant")
    for query, field in (("?status=finished", "status"), ("?colour=red", "colour")):
        response = boss.get(URL + query)
        assert (response.status_code, response.json()["error"]["field"]) == (422, field)
    assert boss.get(URL + "?merchant=nope").json()["error"]["field"] == "merchant"
