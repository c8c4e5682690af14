"""What Django answers before any operation runs is in the API's error shape too."""

from __future__ import annotations

import pytest

from orderguard.tenancy.access import token_create
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth() -> dict[str, str]:
    _token, raw = token_create(user_id=user_with_role("manager").pk, name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/nothing-here", "/api/v1/orders/1/items", "/api/v1/orders/"]
)
def test_an_unknown_api_path_is_a_404_in_the_error_shape(client, auth, path):
    response = client.get(path, **auth)
    assert (response.status_code, response["Content-Type"], response.json()) == (
        404,
        "application/json",
        {
            "ok": False,
            "error": {
                "code": "NOT_FOUND",
                "message": "没有这个接口：请查看 /api/v1/docs 中的接口列表",
                "field": "",
            },
        },
    )


def test_an_unknown_api_path_is_the_same_404_without_credentials(client):
    assert client.get("/api/v1/nothing-here").json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("delete", "/api/v1/orders", "GET, POST"),
        ("put", "/api/v1/cases/1", "GET"),
        ("get", "/api/v1/webhooks/shop/orders", "POST"),
    ],
)
def test_a_wrong_method_is_a_405_in_the_error_shape_with_its_allow_header(client, auth, method, path, allow):
    response = getattr(client, method)(path, **auth)
    assert (response.status_code, response["Content-Type"], response["Allow"]) == (
        405,
        "application/json",
        allow,
    )
    assert response.json() == {
        "ok": False,
        "error": {
            "code": "METHOD_NOT_ALLOWED",
            "message": f"该接口不接受 {method.upper()} 请求，可用的方法：{allow}",
            "field": "",
        },
    }


def test_pages_outside_the_api_keep_their_own_404(client):
    response = client.get("/no-such-page/")
    assert (response.status_code, response["Content-Type"].startswith("text/html")) == (404, True)
