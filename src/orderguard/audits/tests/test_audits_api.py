"""D4 API: list and get audits with their estimate, draw now (managers), confirm a line once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from orderguard.audits.models import AuditLine, AuditPlan, DailyAudit
from orderguard.audits.tests.factories import audit_order
from orderguard.cases.models import ExceptionCase
from orderguard.core import clock
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
PAID = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
ALL_PASS = {"address": {"result": "pass"}, "recipient": {"result": "pass"}, "items": {"result": "pass"}}


@pytest.fixture
def fixed_now(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _client(role: str, merchant=None) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user_with_role(role, merchant=merchant))
    return client


def _post(client: Client, url: str, body: dict) -> object:  # type: ignore[type-arg]
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_a_manager_draws_a_day_and_a_second_draw_answers_the_same_audit(fixed_now):
    channel = ChannelFactory()
    for i in range(3):
        audit_order(channel, paid_at=PAID + timedelta(minutes=i))
    AuditPlan.objects.create(warehouse=channel.warehouse, share_percent=Decimal("100"), risk_weighting=False)
    manager = _client("manager")

    first = _post(manager, "/api/v1/audits/draw", {"warehouse": channel.warehouse.code, "day": "2026-11-20"})
    again = _post(manager, "/api/v1/audits/draw", {"warehouse": channel.warehouse.code, "day": "2026-11-20"})
    refused = _post(_client("operator"), "/api/v1/audits/draw", {"warehouse": channel.warehouse.code})

    assert (first.status_code, again.status_code, refused.status_code) == (201, 200, 403)
    body = first.json()
    assert (body["population"], body["drawn"], body["pending"], body["note"]) == (3, 3, 3, "")
    assert again.json()["id"] == body["id"]
    assert refused.json()["error"]["code"] == "ROLE"
    assert DailyAudit.objects.count() == 1


def test_a_day_without_orders_is_an_audit_with_nothing_drawn(fixed_now):
    channel = ChannelFactory()
    response = _post(_client("admin"), "/api/v1/audits/draw", {"warehouse": channel.warehouse.code})
    assert response.status_code == 201
    assert (response.json()["day"], response.json()["drawn"], response.json()["note"]) == (
        "2026-11-21",
        0,
        "no_orders",
    )


def test_confirming_through_the_api_opens_a_case_and_a_second_confirmation_is_409(fixed_now):
    channel = ChannelFactory()
    order = audit_order(channel, paid_at=PAID, vague=True)
    AuditPlan.objects.create(warehouse=channel.warehouse, share_percent=Decimal("100"), risk_weighting=False)
    manager = _client("manager")
    audit_id = _post(
        manager, "/api/v1/audits/draw", {"warehouse": channel.warehouse.code, "day": "2026-11-20"}
    ).json()["id"]
    line = AuditLine.objects.get(audit_id=audit_id)

    missing_note = _post(manager, f"/api/v1/audits/lines/{line.pk}/confirm", {"items": ALL_PASS})
    ok = _post(
        manager,
        f"/api/v1/audits/lines/{line.pk}/confirm",
        {"items": {**ALL_PASS, "address": {"result": "fail", "note": "门牌号缺"}}},
    )
    twice = _post(manager, f"/api/v1/audits/lines/{line.pk}/confirm", {"items": ALL_PASS})

    case = ExceptionCase.objects.get()
    assert (
        missing_note.status_code,
        missing_note.json()["error"]["code"],
        missing_note.json()["error"]["field"],
    ) == (
        422,
        "NOTE_REQUIRED",
        "items.address",
    )
    assert ok.status_code == 200
    assert ok.json()["cases"] == [{"id": case.pk, "type": "T2", "opened": True}]
    assert (ok.json()["line"]["status"], ok.json()["line"]["cases"]) == ("failed", [case.pk])
    assert (case.order_id, case.source) == (order.pk, "D4")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "LINE_CONFIRMED")
    got = manager.get(f"/api/v1/audits/{audit_id}").json()
    assert (got["estimate"]["checked"], got["estimate"]["failed"], got["estimate"]["share"]) == (1, 1, 1.0)
    assert [item["estimate"]["failed"] for item in manager.get("/api/v1/audits").json()["items"]] == [1]


def test_merchant_users_see_nothing_of_the_audits(fixed_now):
    channel = ChannelFactory()
    audit_order(channel, paid_at=PAID)
    AuditPlan.objects.create(warehouse=channel.warehouse, share_percent=Decimal("100"), risk_weighting=False)
    audit_id = _post(
        _client("manager"), "/api/v1/audits/draw", {"warehouse": channel.warehouse.code, "day": "2026-11-20"}
    ).json()["id"]
    line = AuditLine.objects.get()
    shop = _client("merchant", merchant=channel.merchant)

    listed = shop.get("/api/v1/audits")
    got = shop.get(f"/api/v1/audits/{audit_id}")
    confirm = _post(shop, f"/api/v1/audits/lines/{line.pk}/confirm", {"items": ALL_PASS})

    assert [(r.status_code, r.json()["error"]["code"]) for r in (listed, got, confirm)] == [
        (403, "ROLE"),
        (404, "NOT_FOUND"),
        (404, "NOT_FOUND"),
    ]
    assert AuditLine.objects.get().status == "pending"


def test_the_audit_list_reads_a_fixed_number_of_queries_whatever_the_audits_and_lines():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orderguard.audits.models import DailyAudit

    def make(channel, days):  # type: ignore[no-untyped-def]
        for d in days:
            audit = DailyAudit.objects.create(
                warehouse=channel.warehouse,
                day=datetime(2026, 11, d, tzinfo=UTC).date(),
                seed=d,
                weighted=True,
                population=2,
                planned=2,
                drawn=2,
                drawn_at=NOW,
                drawn_by_label="system:audit",
            )
            for rank in (1, 2):
                order = audit_order(channel, paid_at=PAID - timedelta(days=30 - d, minutes=rank))
                AuditLine.objects.create(
                    audit=audit,
                    order=order,
                    merchant=channel.merchant,
                    rank=rank,
                    weight=1.0,
                    inclusion=0.5,
                    status="failed" if rank == 1 else "pending",
                )

    manager = _client("manager")
    make(ChannelFactory(), [1])
    with CaptureQueriesContext(connection) as one:
        assert len(manager.get("/api/v1/audits").json()["items"]) == 1
    make(ChannelFactory(), [2, 3, 4])
    with CaptureQueriesContext(connection) as four:
        items = manager.get("/api/v1/audits").json()["items"]
    assert [(i["day"], i["pending"], i["estimate"]["failed"]) for i in items] == [
        ("2026-11-04", 1, 1),
        ("2026-11-03", 1, 1),
        ("2026-11-02", 1, 1),
        ("2026-11-01", 1, 1),
    ]
    assert len(four.captured_queries) == len(one.captured_queries)
