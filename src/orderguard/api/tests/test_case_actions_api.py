"""Case actions, notes and reveals through the API: answers per caller, the error shape, and
that a refusal writes nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import token_create
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: dict | None = None, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)


def _error(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    body = response.json()
    assert body["ok"] is False
    return response.status_code, body["error"]["code"], body["error"]["field"]


def _state(case: ExceptionCase) -> tuple:
    c = ExceptionCase.objects.get(pk=case.pk)
    return (
        c.status,
        c.outcome,
        c.resolution,
        c.closed_at,
        c.updated_at,
        CaseEvent.objects.filter(case=c).count(),
    )


def test_an_agent_starts_and_resolves_a_case_and_gets_the_case_back(client):
    client.force_login(user_with_role("cs_agent", username="ann"))
    case = ExceptionCaseFactory()

    started = _post(client, f"/api/v1/cases/{case.pk}/actions", {"action": "start"})
    resolved = _post(
        client,
        f"/api/v1/cases/{case.pk}/actions",
        {"action": "resolve", "outcome": "failed", "note": "买家联系不上，退款"},
    )

    assert (started.status_code, started.json()["status"], started.json()["actions"]) == (
        200,
        "in_progress",
        ["wait_buyer", "wait_merchant", "resolve", "cancel"],
    )
    body = resolved.json()
    assert (resolved.status_code, body["status"], body["outcome"], body["resolution"], body["actions"]) == (
        200,
        "resolved",
        "failed",
        "买家联系不上，退款",
        [],
    )
    assert [(e["type"], e["actor"]) for e in body["events"]] == [
        ("status_changed", "user:ann"),
        ("resolved", "user:ann"),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"action": "resume"}, (409, "TRANSITION_NOT_ALLOWED", "action")),
        ({"action": "reopen", "note": "x"}, (403, "ACTION_ROLE", "action")),
        ({"action": "resolve", "note": "x"}, (422, "OUTCOME_INVALID", "outcome")),
        ({"action": "resolve", "outcome": "succeeded"}, (422, "NOTE_REQUIRED", "note")),
        ({"action": "resolve", "outcome": "cancelled", "note": "x"}, (422, "INVALID_INPUT", "outcome")),
        ({"action": "fly"}, (422, "INVALID_INPUT", "action")),
        ({"action": "cancel", "note": "a\x00b"}, (422, "INVALID_INPUT", "note")),
        ({"action": "cancel", "note": "a\udcffb"}, (422, "INVALID_INPUT", "note")),
        ({"action": "cancel", "note": "x" * 2001}, (422, "INVALID_INPUT", "note")),
        # fields the operation does not take are refused, never assigned
        ({"action": "start", "status": "resolved"}, (422, "INVALID_INPUT", "status")),
        ({"action": "start", "assignee_id": 1}, (422, "INVALID_INPUT", "assignee_id")),
    ],
)
def test_a_refused_action_answers_in_the_error_shape_naming_the_field_and_writes_nothing(
    client, body, expected
):
    client.force_login(user_with_role("cs_agent"))
    case = ExceptionCaseFactory()
    before = _state(case)

    assert _error(_post(client, f"/api/v1/cases/{case.pk}/actions", body)) == expected
    assert _state(case) == before


def test_reopening_beside_another_open_case_of_the_type_is_a_conflict(client):
    client.force_login(user_with_role("manager"))
    order = OrderFactory()
    closed = ExceptionCaseFactory(
        order=order, status="resolved", outcome="succeeded", closed_at=order.paid_at
    )
    ExceptionCaseFactory(order=order)
    before = _state(closed)

    response = _post(client, f"/api/v1/cases/{closed.pk}/actions", {"action": "reopen", "note": "再查"})

    assert _error(response) == (409, "OPEN_CASE_EXISTS", "action")
    assert _state(closed) == before


@pytest.mark.parametrize(
    ("caller", "expected"), [("merchant", (403, "ROLE", "")), ("other_merchant", (404, "NOT_FOUND", ""))]
)
def test_merchant_users_take_no_action(client, caller, expected):
    case = ExceptionCaseFactory()
    merchant = case.merchant if caller == "merchant" else ChannelFactory().merchant
    client.force_login(user_with_role("merchant", merchant=merchant))
    before = _state(case)

    assert _error(_post(client, f"/api/v1/cases/{case.pk}/actions", {"action": "start"})) == expected
    assert _state(case) == before


def test_a_merchant_answers_with_a_note_on_its_own_case_and_reads_role_labels(client):
    case = ExceptionCaseFactory()
    boss = user_with_role("manager", username="boss")
    ann = user_with_role("cs_agent", username="ann")
    _t, raw = token_create(user_id=boss.pk, name="t")
    _post(client, f"/api/v1/cases/{case.pk}/assign", {"assignee": "ann"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.force_login(ann)
    _post(client, f"/api/v1/cases/{case.pk}/notes", {"note": "已致电，无人接听"})
    client.force_login(user_with_role("merchant", merchant=case.merchant, username="shop"))

    response = _post(client, f"/api/v1/cases/{case.pk}/notes", {"note": "请改发顺丰"})

    body = response.json()
    assert (response.status_code, body["assignee"], body["actions"]) == (200, "客服", [])
    assert [(e["type"], e["actor"], e["data"]) for e in body["events"]] == [
        ("assigned", "仓库主管", {"assignee": "客服", "previous": None}),
        ("note", "客服", {"text": "已致电，无人接听"}),
        ("note", "商家用户", {"text": "请改发顺丰"}),
    ]
    # the usernames appear nowhere (as values; "channel" is a key of the contact ladder)
    assert '"boss"' not in response.content.decode() and '"ann"' not in response.content.decode()
    assert "user:" not in response.content.decode()
    listed = client.get("/api/v1/cases").json()["items"]
    assert [c["assignee"] for c in listed] == ["客服"]


def test_another_merchants_case_takes_no_note_and_an_empty_note_is_refused(client):
    case = ExceptionCaseFactory()
    client.force_login(user_with_role("merchant", merchant=ChannelFactory().merchant))
    stranger = _post(client, f"/api/v1/cases/{case.pk}/notes", {"note": "hi"})
    client.force_login(user_with_role("operator"))
    empty = _post(client, f"/api/v1/cases/{case.pk}/notes", {"note": "  "})

    assert [_error(stranger), _error(empty)] == [(404, "NOT_FOUND", ""), (422, "NOTE_REQUIRED", "note")]
    assert CaseEvent.objects.count() == 0


def _recipient_case() -> ExceptionCase:
    order = OrderFactory(
        recipient_name="张三丰", recipient_phone="13800138000", address_detail="文三路90号501室"
    )
    return ExceptionCaseFactory(order=order)


def test_an_agent_reveals_the_recipient_the_answer_is_not_stored_and_the_log_has_no_values(client):
    client.force_login(user_with_role("cs_agent", username="ann"))
    case = _recipient_case()

    response = _post(client, f"/api/v1/cases/{case.pk}/reveal")

    assert (response.status_code, response.json()) == (
        200,
        {"name": "张三丰", "phone": "13800138000", "address": "文三路90号501室"},
    )
    assert "no-store" in response["Cache-Control"]
    assert list(CaseEvent.objects.values_list("type", "actor_label", "data")) == [
        ("revealed", "user:ann", {"fields": ["name", "phone", "address"]})
    ]
    timeline = client.get(f"/api/v1/cases/{case.pk}").content.decode()
    assert "13800138000" not in timeline and "张三丰" not in timeline


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("operator", (403, "REVEAL_NOT_ALLOWED", "")),
        ("tech_oncall", (403, "REVEAL_NOT_ALLOWED", "")),
        ("merchant", (403, "REVEAL_NOT_ALLOWED", "")),
        ("other_merchant", (404, "NOT_FOUND", "")),
    ],
)
def test_other_callers_get_no_clear_recipient_data_and_nothing_is_logged(client, caller, expected):
    case = _recipient_case()
    if caller == "merchant":
        user = user_with_role("merchant", merchant=case.merchant)
    elif caller == "other_merchant":
        user = user_with_role("merchant", merchant=ChannelFactory().merchant)
    else:
        user = user_with_role(caller)
    client.force_login(user)

    response = _post(client, f"/api/v1/cases/{case.pk}/reveal")

    assert _error(response) == expected
    assert "13800138000" not in response.content.decode()
    assert CaseEvent.objects.count() == 0


def test_a_session_action_without_the_csrf_token_is_refused_and_changes_nothing():
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("cs_agent"))
    case = ExceptionCaseFactory()
    before = _state(case)

    assert _error(_post(client, f"/api/v1/cases/{case.pk}/actions", {"action": "start"})) == (
        403,
        "CSRF_FAILED",
        "",
    )
    assert _state(case) == before


def test_unknown_query_parameters_on_a_case_are_refused(client):
    client.force_login(user_with_role("cs_agent"))
    case = ExceptionCaseFactory()
    before = _state(case)
    assert _error(client.get(f"/api/v1/cases/{case.pk}?expand=all")) == (422, "INVALID_INPUT", "expand")
    response = _post(client, f"/api/v1/cases/{case.pk}/actions?force=1", {"action": "start"})
    assert _error(response) == (422, "INVALID_INPUT", "force")
    assert _state(case) == before
