"""The rules API: reading per merchant, changing (managers and admins), the dry run, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import taobao_export
from orderguard.intake.tests.test_flow import day_of_orders, shop  # noqa: F401
from orderguard.orders.models import Order, OrderEvent
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import token_create
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role
from orderguard.validation.models import RuleOverride
from orderguard.validation.rules import rules_set

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
STAFF = ("operator", "cs_agent", "tech_oncall", "manager", "admin")


def _send(client: Client, method: str, url: str, body: dict):  # type: ignore[no-untyped-def, type-arg]
    return client.generic(method, url, data=json.dumps(body), content_type="application/json")


def _error(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    body = response.json()
    assert body["ok"] is False
    return response.status_code, body["error"]["code"], body["error"]["field"]


def _as(client: Client, role: str, merchant=None) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(user_with_role(role, merchant=merchant))
    return client


def _setting(body, code: str) -> tuple[str, str, bool]:  # type: ignore[no-untyped-def]
    item = next(i for i in body["items"] if i["code"] == code)
    return item["default"], item["severity"], item["overridden"]


def test_a_merchant_user_reads_its_own_effective_rules(client):
    merchant = MerchantFactory(code="yoyo")
    rules_set(merchant_id=merchant.pk, severities={"PHONE_MASKED": "blocking"}, actor_label="t")
    _as(client, "merchant", merchant)

    unnamed = client.get("/api/v1/rules").json()
    named = client.get("/api/v1/rules?merchant=yoyo").json()

    assert unnamed == named
    assert unnamed["merchant"] == "yoyo"
    assert _setting(unnamed, "PHONE_MASKED") == ("warning", "blocking", True)
    assert _setting(unnamed, "PHONE_BAD_LENGTH") == ("blocking", "blocking", False)
    stock = next(i for i in unnamed["items"] if i["code"] == "STOCK_SHORT")
    assert (stock["type"], stock["configurable"]) == ("T1", False)


def test_a_merchant_user_naming_another_merchant_gets_not_found(client):
    mine, theirs = MerchantFactory(), MerchantFactory(code="theirs")
    _as(client, "merchant", mine)

    assert _error(client.get("/api/v1/rules?merchant=theirs")) == (404, "NOT_FOUND", "")
    assert _error(client.get("/api/v1/rules?merchant=nobody")) == (404, "NOT_FOUND", "")
    assert theirs.pk


@pytest.mark.parametrize("role", STAFF)
def test_staff_read_any_merchants_rules_and_the_defaults(client, role):
    merchant = MerchantFactory(code="acme")
    rules_set(merchant_id=merchant.pk, severities={"PHONE_BAD_LENGTH": "off"}, actor_label="t")
    _as(client, role)

    defaults = client.get("/api/v1/rules").json()
    acme = client.get("/api/v1/rules?merchant=acme").json()

    assert (defaults["merchant"], _setting(defaults, "PHONE_BAD_LENGTH")) == (
        None,
        ("blocking", "blocking", False),
    )
    assert (acme["merchant"], _setting(acme, "PHONE_BAD_LENGTH")) == ("acme", ("blocking", "off", True))


def test_an_unknown_query_parameter_is_refused(client):
    _as(client, "manager")

    assert _error(client.get("/api/v1/rules?merchan=acme")) == (422, "INVALID_INPUT", "merchan")


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_change_a_merchants_rules(client, role):
    merchant = MerchantFactory(code="acme")
    _as(client, role)

    response = _send(
        client,
        "PUT",
        "/api/v1/rules",
        {"merchant": "acme", "severities": {"PHONE_MASKED": "blocking", "SPECIAL_EXPRESS_REQUESTED": "off"}},
    )

    assert response.status_code == 200
    assert _setting(response.json(), "PHONE_MASKED") == ("warning", "blocking", True)
    assert _setting(response.json(), "SPECIAL_EXPRESS_REQUESTED") == ("blocking", "off", True)
    assert sorted(RuleOverride.objects.filter(merchant=merchant).values_list("code", "severity")) == [
        ("PHONE_MASKED", "blocking"),
        ("SPECIAL_EXPRESS_REQUESTED", "off"),
    ]


def test_a_token_changes_rules_and_default_removes_an_override(client):
    boss = user_with_role("manager", username="boss")
    merchant = MerchantFactory(code="acme")
    rules_set(merchant_id=merchant.pk, severities={"PHONE_MASKED": "off"}, actor_label="t")
    _t, raw = token_create(user_id=boss.pk, name="t")

    response = client.put(
        "/api/v1/rules",
        data=json.dumps(
            {"merchant": "acme", "severities": {"PHONE_MASKED": "default", "NAME_MASKED": "blocking"}}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.status_code == 200
    assert list(RuleOverride.objects.values_list("code", "severity", "changed_by")) == [
        ("NAME_MASKED", "blocking", "user:boss")
    ]


@pytest.mark.parametrize(
    ("role", "own"), [("operator", False), ("cs_agent", False), ("tech_oncall", False), ("merchant", True)]
)
def test_other_roles_may_not_change_rules_nor_dry_run(client, role, own):
    merchant = MerchantFactory(code="acme")
    _as(client, role, merchant if own else None)

    put = _send(client, "PUT", "/api/v1/rules", {"merchant": "acme", "severities": {"PHONE_MASKED": "off"}})
    run = _send(
        client,
        "POST",
        "/api/v1/rules/dry-run",
        {"merchant": "acme", "code": "PHONE_MASKED", "severity": "off"},
    )

    assert _error(put) == (403, "ROLE", "")
    assert _error(run) == (403, "ROLE", "")
    assert RuleOverride.objects.count() == 0


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ({"PHONE_MASKED": "off", "NO_SUCH_RULE": "off"}, (422, "RULE_UNKNOWN", "severities.NO_SUCH_RULE")),
        (
            {"PHONE_MASKED": "off", "STOCK_SHORT": "warning"},
            (422, "RULE_NOT_CONFIGURABLE", "severities.STOCK_SHORT"),
        ),
        ({"PHONE_MASKED": "off", "NAME_MISSING": "fatal"}, (422, "INVALID_INPUT", "severities.NAME_MISSING")),
        ({"phone masked": "off"}, (422, "INVALID_INPUT", "severities.phone masked.[key]")),
        ({}, (422, "INVALID_INPUT", "severities")),
    ],
)
def test_a_bad_change_is_refused_in_the_error_shape_and_nothing_is_written(client, severities, expected):
    merchant = MerchantFactory(code="acme")
    rules_set(merchant_id=merchant.pk, severities={"NAME_MASKED": "blocking"}, actor_label="t")
    _as(client, "admin")

    response = _send(client, "PUT", "/api/v1/rules", {"merchant": "acme", "severities": severities})

    assert _error(response) == expected
    assert list(RuleOverride.objects.values_list("code", "severity")) == [("NAME_MASKED", "blocking")]


def test_changing_a_merchant_that_does_not_exist_is_not_found(client):
    _as(client, "admin")

    response = _send(
        client, "PUT", "/api/v1/rules", {"merchant": "nobody", "severities": {"PHONE_MASKED": "off"}}
    )

    assert _error(response) == (404, "NOT_FOUND", "")
    assert RuleOverride.objects.count() == 0


def test_the_dry_run_reports_what_a_change_would_do_and_writes_nothing(client, shop, monkeypatch):  # noqa: F811
    orders_import(files=taobao_export(day_of_orders()), channel=shop, now=NOW)
    monkeypatch.setattr("orderguard.core.clock.now", lambda: NOW)
    masked = Order.objects.get(platform_order_id="1004").pk
    events = OrderEvent.objects.count()
    _as(client, "manager")

    response = _send(
        client,
        "POST",
        "/api/v1/rules/dry-run",
        {"merchant": shop.merchant.code, "code": "PHONE_MASKED", "severity": "blocking", "days": 3},
    )

    assert response.status_code == 200
    assert response.json() == {
        "merchant": shop.merchant.code,
        "code": "PHONE_MASKED",
        "current": "warning",
        "proposed": "blocking",
        "days": 3,
        "orders_checked": 10,
        "orders_with_finding": 1,
        "counts": {
            "newly_flagged": 0,
            "no_longer_flagged": 0,
            "newly_blocking": 1,
            "no_longer_blocking": 0,
            "would_hold": 1,
            "would_release": 0,
        },
        "samples": {
            "newly_flagged": [],
            "no_longer_flagged": [],
            "newly_blocking": [masked],
            "no_longer_blocking": [],
            "would_hold": [masked],
            "would_release": [],
        },
    }
    assert (RuleOverride.objects.count(), OrderEvent.objects.count()) == (0, events)
    assert Order.objects.get(pk=masked).status == "ready"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"code": "NOPE", "severity": "off"}, (422, "RULE_UNKNOWN", "code")),
        ({"code": "SKU_UNKNOWN", "severity": "off"}, (422, "RULE_NOT_CONFIGURABLE", "code")),
        ({"code": "PHONE_MASKED", "severity": "loud"}, (422, "INVALID_INPUT", "severity")),
        ({"code": "PHONE_MASKED", "severity": "off", "days": 91}, (422, "INVALID_INPUT", "days")),
        ({"code": "PHONE_MASKED", "severity": "off", "days": 0}, (422, "INVALID_INPUT", "days")),
    ],
)
def test_a_bad_dry_run_is_refused_in_the_error_shape(client, body, expected):
    channel = ChannelFactory()
    _as(client, "admin")

    response = _send(client, "POST", "/api/v1/rules/dry-run", {"merchant": channel.merchant.code, **body})

    assert _error(response) == expected
