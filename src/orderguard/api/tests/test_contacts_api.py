"""Contact attempts through the API and the case page (H2, B2): per caller, the next rung in the
answer, the error shape naming the field, and a refusal that writes nothing."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from orderguard.cases.models import ContactAttempt
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.orders.tests.factories import OrderFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: dict) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_an_agent_records_a_call_and_reads_the_next_rung(client):
    client.force_login(user_with_role("cs_agent", username="ann"))
    case = ExceptionCaseFactory(order=OrderFactory(recipient_phone="13800138000"))

    response = _post(
        client,
        f"/api/v1/cases/{case.pk}/contacts",
        {"channel": "call", "outcome": "no_answer", "note": "无人接"},
    )

    body = response.json()
    assert response.status_code == 200
    assert [(c["channel"], c["outcome"], c["note"], c["actor"]) for c in body["contacts"]] == [
        ("call", "no_answer", "无人接", "user:ann")
    ]
    assert (
        body["next_contact"]["channel"],
        body["next_contact"]["reason"],
        body["next_contact"]["automatic"],
    ) == (
        "call",
        "call_again",
        False,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [({"channel": "call", "outcome": "sent"}, "outcome"), ({"channel": "fax", "outcome": "sent"}, "channel")],
)
def test_a_contact_that_does_not_fit_names_the_field_and_writes_nothing(client, body, field):
    client.force_login(user_with_role("cs_agent"))
    case = ExceptionCaseFactory()

    response = _post(client, f"/api/v1/cases/{case.pk}/contacts", body)

    error = response.json()["error"]
    assert (response.status_code, error["field"].split(".")[-1]) == (422, field)
    assert ContactAttempt.objects.count() == 0


def test_a_merchant_user_reads_the_attempts_with_role_labels_but_records_none(client):
    case = ExceptionCaseFactory()
    client.force_login(user_with_role("cs_agent", username="ann"))
    _post(client, f"/api/v1/cases/{case.pk}/contacts", {"channel": "call", "outcome": "busy"})
    client.force_login(user_with_role("merchant", merchant=case.merchant))

    refused = _post(client, f"/api/v1/cases/{case.pk}/contacts", {"channel": "call", "outcome": "reached"})
    read = client.get(f"/api/v1/cases/{case.pk}").json()

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "ROLE")
    assert [(c["outcome"], c["actor"]) for c in read["contacts"]] == [("busy", "客服")]
    assert ContactAttempt.objects.count() == 1


def test_the_case_page_shows_the_ladder_and_records_an_attempt(client):
    client.force_login(user_with_role("cs_agent"))
    case = ExceptionCaseFactory(order=OrderFactory(recipient_phone="138****0000"))

    page = client.get(f"/cases/{case.pk}/").content.decode()
    posted = client.post(
        f"/cases/{case.pk}/contacts", {"channel": "call", "outcome": "powered_off", "note": "关机"}
    )
    after = client.get(f"/cases/{case.pk}/").content.decode()

    assert 'id="contact-form"' in page and 'id="phone-masked"' in page
    assert "先打电话给买家" in page
    assert posted.status_code == 302
    assert re.findall(r'data-contact="([^"]+)"', after) == ["call:powered_off"]
    assert "上次没打通，再打一次" in after
