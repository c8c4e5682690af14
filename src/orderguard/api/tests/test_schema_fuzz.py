"""Schemathesis against /api/v1/openapi.json, in process (WSGI), with a fixed seed.

Every operation of the document gets a bounded number of generated requests (valid and
invalid ones: Schemathesis's examples, coverage and fuzzing phases) as a warehouse staff user,
as a merchant user and with no (or Schemathesis's own, made-up) credentials; the answers must
never be 5xx and must match what the document says (status codes, content types, bodies,
including the shared error shape), and invalid input must be refused (4xx). Webhook deliveries
are unsigned (some aimed at real channels), so they must be refused in the error shape. The run is
deterministic: the same seed gives the same requests every time, and nothing learnt from the
answers (ids, error messages) feeds back into what is generated.

The WSGI app runs in this thread but outside the test's transaction handling, so the data is
committed (`transaction=True`); `reset_sequences` keeps the ids the same from run to run.
What the fuzzing found is pinned at the end, so it stays fixed whatever the seed generates.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.orders.models import OrderLine
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import token_create
from orderguard.tenancy.tests.factories import user_with_role

SEED = 20261125
MAX_EXAMPLES = 50
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
WEBHOOK_SECRET = "whsec_fuzz_3f9a5c1e7b2d4f608a9c3e5b7d1f2a4c"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

CONFIG: dict[str, Any] = {
    "seed": SEED,
    "generation": {
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        # No example database: a stored failing example would change what the next run sends.
        "database": "none",
    },
    "phases": {
        # Nothing learnt from the answers feeds the generation: the seed alone decides.
        "fuzzing": {"extra-data-sources": {"responses": False}, "error-feedback": {"enabled": False}},
        "coverage": {"extra-data-sources": {"responses": False}},
        "stateful": {"enabled": False},
    },
}


@pytest.fixture
def world() -> dict[str, Any]:
    """Two merchants: each a channel that takes signed webhooks, two orders and their cases;
    plus a channel with no signing secret (webhooks disabled)."""
    out: dict[str, Any] = {}
    for name, platform in (("a", "shopify"), ("b", "taobao")):
        channel = ChannelFactory(code=f"fuzz-{name}", platform=platform, signing_secret=WEBHOOK_SECRET)
        for n in (1, 2):
            order = OrderFactory(
                channel=channel,
                platform_order_id=f"FZ-{name}-{n}",
                recipient_name="张三丰",
                recipient_phone="13800138000",
                phone_normalised="13800138000",
                province="浙江省",
                city="杭州市",
                district="西湖区",
                address_detail="文三路90号501室",
                status="on_hold",
                findings=[
                    {
                        "code": "PHONE_BAD_LENGTH",
                        "type": "T2",
                        "field": "recipient_phone",
                        "severity": "blocking",
                        "source": "D2",
                        "data": {"digits": 10},
                    }
                ],
            )
            OrderLine.objects.create(order=order, line_no=1, sku_code="SKU-1", title="杯子", quantity=2)
            case = ExceptionCase.objects.create(
                merchant=channel.merchant,
                order=order,
                type="T2",
                source="D2",
                findings=order.findings,
                step="contact_buyer",
                opened_at=NOW,
                due_at=NOW + timedelta(hours=2 * n),
            )
            CaseEvent.objects.create(
                case=case, type="opened", occurred_at=NOW, actor_label="system:intake", data={"n": n}
            )
        out[name] = channel
    out["disabled"] = ChannelFactory(code="fuzz-off", platform="taobao", signing_secret="")
    return out


def bearer(user: Any) -> dict[str, str]:
    _token, raw = token_create(user_id=user.pk, name="schema fuzz")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def staff_headers(world: dict[str, Any]) -> dict[str, str]:
    return bearer(user_with_role("manager", username="fuzz-manager"))


@pytest.fixture
def merchant_headers(world: dict[str, Any]) -> dict[str, str]:
    return bearer(user_with_role("merchant", merchant=world["a"].merchant, username="fuzz-merchant"))


@pytest.fixture
def api_schema(world: dict[str, Any]) -> Any:
    config = schemathesis.Config.from_dict(CONFIG)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler(), config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


def _aim_webhook(case: Case, world: dict[str, Any]) -> None:
    """Send some webhook deliveries to real channels (Shopify, generic, disabled), chosen from
    the generated case itself so that the choice is as deterministic as the generation."""
    if case.path_parameters is None or "channel_code" not in case.path_parameters:
        return
    generated = str(case.path_parameters["channel_code"])
    targets = [None, world["a"].code, world["b"].code, world["disabled"].code]
    target = targets[len(generated) % len(targets)]
    if target is not None:
        case.path_parameters["channel_code"] = target


def _run(case: Case, headers: dict[str, str], world: dict[str, Any]) -> None:
    _aim_webhook(case, world)
    case.call_and_validate(headers=headers, checks=CHECKS)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@schema.parametrize()
def test_api_as_warehouse_staff(case: Case, staff_headers: dict[str, str], world: dict[str, Any]) -> None:
    _run(case, staff_headers, world)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@schema.parametrize()
def test_api_as_merchant(case: Case, merchant_headers: dict[str, str], world: dict[str, Any]) -> None:
    _run(case, merchant_headers, world)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@schema.parametrize()
def test_api_without_credentials(case: Case, world: dict[str, Any]) -> None:
    """Schemathesis sends its own (random or no) bearer tokens and session cookies here."""
    _run(case, {}, world)


# What the fuzzing found, pinned so that it stays fixed whatever the seed generates.
FOUND = [
    # (method, url, headers, status, code, field)
    ("get", "/api/v1/orders?limit=0", {}, 422, "INVALID_INPUT", "limit"),
    ("get", "/api/v1/skus?offset=10001", {}, 422, "INVALID_INPUT", "offset"),
    ("get", "/api/v1/stock?low=maybe", {}, 422, "INVALID_INPUT", "low"),
    ("get", "/api/v1/imports/1/errors?limit=201", {}, 422, "INVALID_INPUT", "limit"),
    ("get", "/api/v1/no-such-operation", {}, 404, "NOT_FOUND", ""),
    ("post", "/api/v1/orders?dry_run=1", {}, 422, "INVALID_INPUT", "channel"),
    ("get", "/api/v1/orders?limit=201", {}, 422, "INVALID_INPUT", "limit"),
    ("get", "/api/v1/cases?offset=-1", {}, 422, "INVALID_INPUT", "offset"),
    ("get", "/api/v1/cases?offset=99999999999999999999", {}, 422, "INVALID_INPUT", "offset"),
    ("get", "/api/v1/orders?q=ab%00cd", {}, 422, "INVALID_INPUT", "q"),
    ("get", "/api/v1/orders?stauts=ready", {}, 422, "INVALID_INPUT", "stauts"),
    ("get", "/api/v1/cases?type=T2&page=2", {}, 422, "INVALID_INPUT", "page"),
    ("get", "/api/v1/orders/9223372036854775808", {}, 422, "INVALID_INPUT", "order_id"),
    ("get", "/api/v1/cases/0", {}, 422, "INVALID_INPUT", "case_id"),
    ("get", "/api/v1/cases/9223372036854775807", {}, 404, "NOT_FOUND", ""),
    ("get", "/api/v1/orders", {"HTTP_AUTHORIZATION": "Bearer og_\udcff"}, 401, "UNAUTHENTICATED", ""),
    # not a channel code, unsigned: one answer for every delivery not verified, naming nothing
    ("post", "/api/v1/webhooks/fuzz%00b/orders", {}, 401, "SIGNATURE_INVALID", ""),
    # unsigned: refused for the signature before the delivery id is even read (the id's own
    # check, after a valid signature, is in intake/tests/test_webhooks.py)
    (
        "post",
        "/api/v1/webhooks/fuzz-b/orders",
        {"HTTP_X_ORDERGUARD_DELIVERY": "d\x00-1"},
        401,
        "SIGNATURE_INVALID",
        "",
    ),
    (
        "post",
        "/api/v1/webhooks/fuzz-a/orders",
        {"HTTP_X_SHOPIFY_WEBHOOK_ID": "\udcff"},
        401,
        "SIGNATURE_INVALID",
        "",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "headers", "status", "code", "field"), FOUND)
def test_what_the_fuzzing_found_is_a_4xx_in_the_shared_shape(  # type: ignore[no-untyped-def]
    client, world, method, url, headers, status, code, field
):
    user = user_with_role("manager", username="fuzz-manager")
    _token, raw = token_create(user_id=user.pk, name="schema fuzz")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}", **headers}
    if method == "post":
        response = client.post(url, data=b"{}", content_type="application/json", **headers)
    else:
        response = client.get(url, **headers)
    body = response.json()
    assert (response.status_code, body["ok"], body["error"]["code"], body["error"]["field"]) == (
        status,
        False,
        code,
        field,
    )
