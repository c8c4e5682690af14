"""The notifications API: endpoints (validated, secrets masked, scoped), failed messages and
their retry, the inbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.notifications.channels.base import REGISTRY
from orderguard.notifications.models import InboxItem, NotificationChannel, OutboxMessage
from orderguard.notifications.tests.channels import TEST_KIND, TEST_TARGET
from orderguard.tenancy.tests.factories import MerchantFactory, user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
URL = "/api/v1/notifications/channels"
SECRET = "SECabcdefghijklmnop1234"


@pytest.fixture(autouse=True)
def _test_kind(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(REGISTRY, TEST_KIND, TEST_TARGET)


def _send(client: Client, method: str, url: str, body: dict):  # type: ignore[no-untyped-def, type-arg]
    return client.generic(method, url, data=json.dumps(body), content_type="application/json")


def _as(role: str, merchant=None) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user_with_role(role, merchant=merchant))
    return client


def _error(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    body = response.json()
    return response.status_code, body["error"]["code"], body["error"]["field"]


def test_a_wrong_webhook_address_or_an_unknown_kind_is_refused_naming_the_field():
    manager = _as("manager")
    wrong = _send(manager, "POST", URL, {"kind": TEST_KIND, "name": "r", "config": {"url": "oapi.example"}})
    unknown = _send(manager, "POST", URL, {"kind": "pager", "name": "r", "config": {}})
    topic = _send(
        manager, "POST", URL, {"kind": TEST_KIND, "name": "r", "config": {"url": "http://h"}, "topics": ["x"]}
    )

    assert _error(wrong) == (422, "CONFIG_INVALID", "config.url")
    assert wrong.json()["error"]["message"] == "a webhook address starting with http:// or https://"
    assert _error(unknown) == (422, "CONFIG_INVALID", "kind")
    assert _error(topic) == (422, "TOPIC_UNKNOWN", "topics")
    assert NotificationChannel.objects.count() == 0


def test_a_manager_adds_a_warehouse_robot_and_its_secret_is_answered_masked():
    warehouse = WarehouseFactory(code="sh1")
    response = _send(
        _as("manager"),
        "POST",
        URL,
        {
            "kind": TEST_KIND,
            "name": "仓库群",
            "warehouse": "sh1",
            "config": {"url": "http://127.0.0.1:9/robot", "secret": SECRET},
            "topics": ["stock_alert"],
            "rate_per_minute": 20,
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["warehouse"], body["config"], body["topics"]) == (
        "sh1",
        {"url": "http://127.0.0.1:9/robot", "secret": "****1234"},
        ["stock_alert"],
    )
    stored = NotificationChannel.objects.get()
    assert (stored.warehouse_id, stored.config["secret"], stored.rate_per_minute) == (
        warehouse.pk,
        SECRET,
        20,
    )


def test_a_masked_secret_sent_back_keeps_the_stored_one():
    robot = NotificationChannel.objects.create(
        kind=TEST_KIND, name="r", config={"url": "http://h/x", "secret": SECRET}
    )
    response = _send(
        _as("admin"),
        "PATCH",
        f"{URL}/{robot.pk}",
        {"name": "新名", "config": {"url": "http://h/y", "secret": "****1234"}},
    )

    assert response.status_code == 200
    robot.refresh_from_db()
    assert (robot.name, robot.config) == ("新名", {"url": "http://h/y", "secret": SECRET})


def test_a_merchant_user_manages_its_own_endpoints_only():
    mine, theirs = MerchantFactory(code="mine"), MerchantFactory(code="theirs")
    client = _as("merchant", merchant=mine)
    created = _send(client, "POST", URL, {"kind": TEST_KIND, "name": "钉钉", "config": {"url": "http://h"}})
    foreign = _send(
        client,
        "POST",
        URL,
        {"kind": TEST_KIND, "name": "x", "merchant": "theirs", "config": {"url": "http://h"}},
    )
    warehouse = _send(
        client,
        "POST",
        URL,
        {"kind": TEST_KIND, "name": "x", "warehouse": "sh1", "config": {"url": "http://h"}},
    )
    other = NotificationChannel.objects.create(
        kind=TEST_KIND, name="theirs", merchant=theirs, config={"url": "http://h"}
    )
    change = _send(client, "PATCH", f"{URL}/{other.pk}", {"name": "taken"})

    assert (created.status_code, created.json()["merchant"]) == (201, "mine")
    assert foreign.status_code == 404
    assert _error(warehouse) == (403, "ROLE", "warehouse")
    assert change.status_code == 404
    assert [c["name"] for c in client.get(URL).json()["items"]] == ["钉钉"]
    other.refresh_from_db()
    assert other.name == "theirs"
    assert NotificationChannel.objects.count() == 2


def test_an_agent_may_not_add_an_endpoint():
    response = _send(
        _as("cs_agent"), "POST", URL, {"kind": TEST_KIND, "name": "r", "config": {"url": "http://h"}}
    )
    assert _error(response) == (403, "ROLE", "")
    assert NotificationChannel.objects.count() == 0


def test_a_failed_message_is_listed_and_sent_again_and_a_pending_one_is_refused():
    message = OutboxMessage.objects.create(
        topic="report",
        recipient="a@b.example",
        subject="s",
        body="b",
        idempotency_key="k",
        status="failed",
        attempts=6,
        last_error="HTTP 500",
        next_attempt_at=NOW,
    )
    oncall = _as("tech_oncall")
    assert [
        (m["id"], m["last_error"]) for m in oncall.get("/api/v1/notifications/failed").json()["items"]
    ] == [(message.pk, "HTTP 500")]

    first = oncall.post(f"/api/v1/notifications/messages/{message.pk}/retry")
    second = oncall.post(f"/api/v1/notifications/messages/{message.pk}/retry")

    assert (first.status_code, first.json()["status"], first.json()["attempts"]) == (200, "pending", 0)
    assert _error(second) == (409, "OUTBOX_NOT_FAILED", "")
    assert oncall.get("/api/v1/notifications/failed").json()["total"] == 0


def test_the_inbox_lists_and_marks_the_callers_own_items():
    user = user_with_role("manager")
    other = user_with_role("manager")
    InboxItem.objects.create(user=user, key="a", title="升级", created_at=NOW)
    theirs = InboxItem.objects.create(user=other, key="b", title="x", created_at=NOW)
    client = Client()
    client.force_login(user)

    listed = client.get("/api/v1/inbox").json()
    assert (listed["total"], listed["unread"], listed["items"][0]["title"]) == (1, 1, "升级")
    assert client.post(f"/api/v1/inbox/{theirs.pk}/read").status_code == 404
    assert client.post("/api/v1/inbox/read-all").json() == {"marked": 1}
    assert client.get("/api/v1/inbox").json()["unread"] == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_merchant_user_chooses_which_scheduled_reports_a_contact_receives():
    mine = MerchantFactory(code="mine")
    client = _as("merchant", merchant=mine)
    email = NotificationChannel.objects.create(kind="email", name="smtp", merchant=mine, config={"host": "h"})
    contacts = "/api/v1/notifications/contacts"
    body = {"topic": "report", "channel": email.pk, "address": "boss@mine.example"}

    bad = _send(client, "POST", contacts, {**body, "reports": "daily"})
    created = _send(client, "POST", contacts, {**body, "reports": "monthly"})

    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "reports")
    assert (created.status_code, created.json()["reports"]) == (201, "monthly")
    assert [c["reports"] for c in client.get(contacts).json()["items"]] == ["monthly"]
