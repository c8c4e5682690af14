"""Take and assign through the API: the answers per caller, the error shape, CSRF for sessions."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import token_create
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: dict | None = None, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)


def _error(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    body = response.json()
    assert body["ok"] is False
    return response.status_code, body["error"]["code"], body["error"]["field"]


def _unchanged(case: ExceptionCase) -> None:
    assert ExceptionCase.objects.get(pk=case.pk).assignee_id is None
    assert CaseEvent.objects.filter(case=case).count() == 0


def test_an_agent_takes_a_case_and_gets_its_summary(client):
    agent = user_with_role("cs_agent", username="ann")
    case = ExceptionCaseFactory()
    client.force_login(agent)

    response = _post(client, f"/api/v1/cases/{case.pk}/take")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["assignee"], body["status"]) == (case.pk, "ann", "open")
    assert list(CaseEvent.objects.values_list("type", "data")) == [
        ("assigned", {"assignee": "ann", "previous": None})
    ]


def test_a_manager_assigns_a_case_by_username_with_a_token(client):
    boss = user_with_role("manager", username="boss")
    user_with_role("operator", username="bob")
    case = ExceptionCaseFactory()
    _t, raw = token_create(user_id=boss.pk, name="t")

    response = _post(
        client, f"/api/v1/cases/{case.pk}/assign", {"assignee": "bob"}, HTTP_AUTHORIZATION=f"Bearer {raw}"
    )

    assert (response.status_code, response.json()["assignee"]) == (200, "bob")
    assert ExceptionCase.objects.get(pk=case.pk).assignee.username == "bob"


def test_the_case_list_names_the_assignee(client):
    ann = user_with_role("cs_agent", username="ann")
    ExceptionCaseFactory(assignee=ann)
    client.force_login(ann)

    assert [c["assignee"] for c in client.get("/api/v1/cases").json()["items"]] == ["ann"]


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("merchant", (403, "ROLE", "")),
        ("other_merchant", (404, "NOT_FOUND", "")),
    ],
)
def test_merchant_users_may_not_take_or_assign(client, caller, expected):
    case = ExceptionCaseFactory()
    user_with_role("operator", username="bob")
    merchant = case.merchant if caller == "merchant" else ChannelFactory().merchant
    client.force_login(user_with_role("merchant", merchant=merchant))

    take = _post(client, f"/api/v1/cases/{case.pk}/take")
    assign = _post(client, f"/api/v1/cases/{case.pk}/assign", {"assignee": "bob"})
    bulk = _post(client, "/api/v1/cases/assign", {"case_ids": [case.pk], "assignee": "bob"})

    assert [_error(r) for r in (take, assign, bulk)] == [expected] * 3
    _unchanged(case)


def test_a_closed_case_is_a_conflict(client):
    client.force_login(user_with_role("cs_agent"))
    case = ExceptionCaseFactory(status="resolved")

    assert _error(_post(client, f"/api/v1/cases/{case.pk}/take")) == (409, "CASE_CLOSED", "")
    _unchanged(case)


@pytest.mark.parametrize(
    ("assignee", "expected"),
    [
        ("nobody", (422, "ASSIGNEE_UNKNOWN", "assignee")),
        ("shop", (422, "ASSIGNEE_NOT_ELIGIBLE", "assignee")),
        ("bad name\x00", (422, "INVALID_INPUT", "assignee")),
    ],
)
def test_an_unknown_or_ineligible_assignee_is_refused_naming_the_field(client, assignee, expected):
    case = ExceptionCaseFactory()
    user_with_role("merchant", merchant=case.merchant, username="shop")
    client.force_login(user_with_role("manager"))

    assert _error(_post(client, f"/api/v1/cases/{case.pk}/assign", {"assignee": assignee})) == expected
    _unchanged(case)


def test_bulk_assignment_is_all_or_none_and_lists_the_cases(client):
    client.force_login(user_with_role("manager"))
    user_with_role("operator", username="bob")
    a, b = ExceptionCaseFactory(), ExceptionCaseFactory()
    closed = ExceptionCaseFactory(status="cancelled")

    refused = _post(client, "/api/v1/cases/assign", {"case_ids": [a.pk, closed.pk], "assignee": "bob"})
    done = _post(client, "/api/v1/cases/assign", {"case_ids": [b.pk, a.pk], "assignee": "bob"})

    assert _error(refused) == (409, "CASE_CLOSED", "")
    assert done.status_code == 200
    assert [(c["id"], c["assignee"]) for c in done.json()["items"]] == [(a.pk, "bob"), (b.pk, "bob")]
    assert CaseEvent.objects.count() == 2


def test_bulk_assignment_takes_at_most_500_cases(client):
    client.force_login(user_with_role("manager", username="boss"))

    response = _post(client, "/api/v1/cases/assign", {"case_ids": list(range(1, 502)), "assignee": "boss"})

    assert _error(response) == (422, "INVALID_INPUT", "case_ids")


def test_a_session_post_without_the_csrf_token_is_refused_and_changes_nothing():
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("cs_agent"))
    case = ExceptionCaseFactory()

    response = _post(client, f"/api/v1/cases/{case.pk}/take")

    assert _error(response) == (403, "CSRF_FAILED", "")
    _unchanged(case)


def test_a_session_post_with_the_csrf_token_is_accepted():
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("cs_agent", username="ann"))
    case = ExceptionCaseFactory()
    client.get("/queue/")  # the page sets the CSRF cookie, as in a browser

    token = client.cookies["csrftoken"].value
    response = _post(client, f"/api/v1/cases/{case.pk}/take", HTTP_X_CSRFTOKEN=token)

    assert (response.status_code, response.json()["assignee"]) == (200, "ann")


def test_a_token_caller_needs_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    agent = user_with_role("cs_agent", username="ann")
    _t, raw = token_create(user_id=agent.pk, name="t")
    case = ExceptionCaseFactory()

    response = _post(client, f"/api/v1/cases/{case.pk}/take", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200


def test_a_body_that_is_not_json_is_refused_in_the_shared_shape(client):
    client.force_login(user_with_role("manager"))
    case = ExceptionCaseFactory()

    response = client.post(f"/api/v1/cases/{case.pk}/assign", data=b"\x00", content_type="application/json")

    assert _error(response) == (400, "INVALID_JSON", "body")
    _unchanged(case)
