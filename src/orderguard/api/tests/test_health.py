"""The API's health endpoint and its documentation pages (served locally, no CDN)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_database_queue_and_a_missing_worker(client):
    response = client.get("/api/v1/health")

    assert response.status_code == 200
    body = response.json()
    assert [(c["name"], c["ok"]) for c in body["components"]] == [
        ("database", True),
        ("queue", True),
        ("worker", False),
    ]
    assert body["ok"] is False
    # details (host:pid, backlog, error texts naming hosts) are for staff only
    assert [c["detail"] for c in body["components"]] == ["", "", ""]


def test_staff_see_what_is_behind_each_component(client):
    from orderguard.tenancy.tests.factories import user_with_role

    client.force_login(user_with_role("tech_oncall"))
    body = client.get("/api/v1/health").json()
    assert body["components"][2]["detail"] == "no heartbeat yet"
    assert body["components"][1]["detail"].startswith("SqliteHuey") or body["components"][1][
        "detail"
    ].startswith("RedisHuey")


def test_the_openapi_document_is_3_1_and_lists_health(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"] == "3.1.0"
    assert "/api/v1/health" in schema["paths"]


def test_the_interactive_docs_load_their_assets_from_this_server(client):
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn." not in page
