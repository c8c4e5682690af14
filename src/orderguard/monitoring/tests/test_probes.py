"""/healthz, /readyz and /metrics for the platform that runs OrderGuard."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.notifications.services import OutboxIn, outbox_enqueue
from orderguard.orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_lives(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert "no-store" in response["Cache-Control"]


def test_readyz_reports_the_database_and_the_queue(client):
    response = client.get("/readyz")
    body = response.json()
    assert (response.status_code, body["ok"]) == (200, True)
    assert [(c["name"], c["ok"]) for c in body["components"]] == [("database", True), ("queue", True)]


def test_readyz_is_503_when_the_queue_cannot_be_reached(client, monkeypatch):
    from huey.contrib.djhuey import HUEY

    def broken() -> int:
        raise ConnectionError("queue is gone")

    monkeypatch.setattr(HUEY, "pending_count", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert [(c["name"], c["ok"]) for c in response.json()["components"]] == [
        ("database", True),
        ("queue", False),
    ]


def test_metrics_count_orders_open_cases_by_deadline_and_the_outbox(client, channel):
    ready = OrderFactory(channel=channel, status="ready")
    held = OrderFactory(channel=channel, status="on_hold")
    ExceptionCaseFactory(order=held, due_in=timedelta(minutes=-5))
    ExceptionCaseFactory(order=ready, type="T1", source="D1")
    outbox_enqueue(
        messages=[OutboxIn(topic="t", recipient="a@b.example", subject="s", body="b", idempotency_key="k")]
    )

    response = client.get("/metrics")

    text = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = set(text.splitlines())
    assert 'orderguard_orders_imported_total{status="ready"} 1.0' in lines
    assert 'orderguard_orders_imported_total{status="on_hold"} 1.0' in lines
    assert 'orderguard_cases_open{deadline="overdue",type="T2"} 1.0' in lines
    assert 'orderguard_cases_open{deadline="on_time",type="T1"} 1.0' in lines
    assert 'orderguard_cases_open{deadline="on_time",type="T2"} 0.0' in lines
    assert 'orderguard_outbox_messages{status="pending"} 1.0' in lines
    assert 'orderguard_outbox_messages{status="failed"} 0.0' in lines


def test_metrics_require_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
