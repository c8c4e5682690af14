"""D5 API: look the order up, file a report with attachments, read it; bad input refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from orderguard.cases.models import ExceptionCase
from orderguard.core import clock
from orderguard.feedback.models import ServiceReport
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def world(settings, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(clock, "now", lambda: NOW)
    mine, theirs = ChannelFactory(code="mine"), ChannelFactory(code="theirs")
    a = OrderFactory(channel=mine, platform_order_id="TB1", phone_normalised="13800005678")
    b = OrderFactory(channel=mine, platform_order_id="TB2", phone_normalised="13900005678")
    c = OrderFactory(channel=theirs, platform_order_id="JD1", phone_normalised="13700005678")
    agent = Client()
    agent.force_login(user_with_role("cs_agent"))
    return {"mine": mine, "a": a, "b": b, "c": c, "agent": agent}


def test_a_phone_tail_lists_every_matching_order_of_the_channel(world):
    response = world["agent"].post(
        "/api/v1/feedback/lookup",
        data=json.dumps({"phone_tail": "5678", "channel": "mine"}),
        content_type="application/json",
    )
    unscoped = world["agent"].post(
        "/api/v1/feedback/lookup", data=json.dumps({"phone_tail": "5678"}), content_type="application/json"
    )
    assert response.status_code == 200
    assert sorted(i["platform_order_id"] for i in response.json()["items"]) == ["TB1", "TB2"]
    assert {i["phone"] for i in response.json()["items"]} == {"138****5678", "139****5678"}
    assert (unscoped.status_code, unscoped.json()["error"]["code"]) == (422, "SCOPE_REQUIRED")


def test_filing_a_special_request_with_a_picture_opens_a_t5_case(world):
    response = world["agent"].post(
        "/api/v1/feedback",
        data={
            "order_id": world["a"].pk,
            "kind": "special",
            "special_kind": "gift_packing",
            "text": "买家要礼品包装",
            "attachments": [SimpleUploadedFile("wrap.png", PNG, content_type="image/png")],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    case = ExceptionCase.objects.get()
    assert (body["case_id"], body["case_type"], body["case_created"]) == (case.pk, "T5", True)
    assert [(a["name"], a["content_type"], a["size"]) for a in body["attachments"]] == [
        ("wrap.png", "image/png", len(PNG))
    ]
    download = world["agent"].get(body["attachments"][0]["url"])
    assert (download.status_code, download["Content-Type"], b"".join(download.streaming_content)) == (
        200,
        "image/png",
        PNG,
    )
    assert download["X-Content-Type-Options"] == "nosniff"
    other = Client()
    other.force_login(user_with_role("merchant", merchant=world["c"].merchant))
    assert other.get(body["attachments"][0]["url"]).status_code == 404
    assert other.get(f"/api/v1/feedback/{body['id']}").status_code == 404


def test_bad_reports_are_refused_with_the_field_and_nothing_is_created(world, settings):
    settings.REPORT_ATTACHMENT_MAX_BYTES = 32
    shop = Client()
    shop.force_login(user_with_role("merchant", merchant=world["a"].merchant))
    answers = [
        world["agent"].post("/api/v1/feedback", data={"order_id": 999999, "kind": "other", "text": "x"}),
        shop.post("/api/v1/feedback", data={"order_id": world["c"].pk, "kind": "other", "text": "x"}),
        world["agent"].post(
            "/api/v1/feedback",
            data={
                "order_id": world["a"].pk,
                "kind": "other",
                "text": "x",
                "attachments": [SimpleUploadedFile("a.png", PNG, content_type="image/png")],
            },
        ),
        world["agent"].post(
            "/api/v1/feedback",
            data={
                "order_id": world["a"].pk,
                "kind": "other",
                "text": "x",
                "attachments": [SimpleUploadedFile("a.svg", b"<svg/>", content_type="image/svg+xml")],
            },
        ),
        world["agent"].post(
            "/api/v1/feedback", data={"order_id": world["a"].pk, "kind": "special", "text": "x"}
        ),
    ]
    assert [(r.status_code, r.json()["error"]["code"], r.json()["error"]["field"]) for r in answers] == [
        (404, "NOT_FOUND", ""),
        (404, "NOT_FOUND", ""),
        (413, "ATTACHMENT_TOO_LARGE", "attachments[0]"),
        (422, "ATTACHMENT_TYPE", "attachments[0]"),
        (422, "SPECIAL_KIND_INVALID", "special_kind"),
    ]
    assert (ServiceReport.objects.count(), ExceptionCase.objects.count()) == (0, 0)
