"""POST /api/v1/imports, GET /api/v1/imports/{id} and its errors: the imports page's path
(batch first, files stored, the job runs the import), as an API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY

from orderguard.cases.models import ExceptionCase
from orderguard.intake.models import ImportBatch, ImportRowError
from orderguard.intake.uploads import upload_dir
from orderguard.orders.models import Channel, Order, OrderEvent
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import token_create
from orderguard.tenancy.tests.factories import UserFactory, user_with_role
from orderguard.web.tests.test_imports import generic_with_bad_rows

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports"


@pytest.fixture(autouse=True)
def immediate_huey():  # type: ignore[no-untyped-def]
    """The import job runs inline, inside the request that starts it."""
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


@pytest.fixture
def shop() -> Channel:
    return ChannelFactory(code="shop-a")


@pytest.fixture
def other_shop() -> Channel:
    return ChannelFactory(code="shop-b")


def bearer_client(user: Any) -> Client:
    _token, raw = token_create(user_id=user.pk, name="erp")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def merchant_client(shop: Channel) -> Client:
    return bearer_client(user_with_role("merchant", merchant=shop.merchant, username="shop-user"))


def upload(client: Client, data: dict[str, Any], url: str = URL) -> Any:
    return client.post(url, data=data)


def csv_file(name: str = "orders.csv", data: bytes | None = None) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data if data is not None else generic_with_bad_rows(), "text/csv")


def nothing_written() -> tuple[int, int, int, int]:
    return (
        ImportBatch.objects.count(),
        Order.objects.count(),
        OrderEvent.objects.count(),
        ExceptionCase.objects.count(),
    )


def test_an_upload_answers_202_with_the_batch_and_the_job_imports_it(shop, merchant_client, settings):
    response = upload(merchant_client, {"channel": "shop-a", "format": "generic", "files": [csv_file()]})

    assert response.status_code == 202, response.content
    batch = ImportBatch.objects.get()
    body = response.json()
    assert body == {
        "id": batch.pk,
        "kind": "orders",
        "status": "done",
        "channel": "shop-a",
        "merchant": shop.merchant.code,
        "format": "generic",
        "files": ["orders.csv"],
        "rows_total": batch.rows_total,
        "created": batch.created,
        "updated": 0,
        "unchanged": 0,
        "cases_opened": batch.cases_opened,
        "errors": batch.rows_failed,
        "started_at": body["started_at"],
        "finished_at": body["finished_at"],
    }
    assert (batch.created, batch.rows_failed, batch.actor_label) == (1, 2, "user:shop-user")
    assert not upload_dir(batch.pk).exists()

    got = merchant_client.get(f"{URL}/{batch.pk}")
    assert (got.status_code, got.json()) == (200, body)


def test_the_errors_of_a_batch_are_listed_in_file_and_row_order_with_paging(shop, merchant_client):
    batch_id = upload(merchant_client, {"channel": "shop-a", "files": [csv_file()]}).json()["id"]

    page = merchant_client.get(f"{URL}/{batch_id}/errors?limit=1&offset=1").json()

    rows = list(
        ImportRowError.objects.filter(batch_id=batch_id).values_list(
            "file", "row", "field", "code", "message"
        )
    )
    assert [(e[0], e[1], e[2], e[3]) for e in rows] == [
        ("orders.csv", 3, "quantity", "QUANTITY_INVALID"),
        ("orders.csv", 4, "created_at", "DATETIME_INVALID"),
    ]
    assert page == {
        "total": 2,
        "items": [dict(zip(("file", "row", "field", "code", "message"), rows[1], strict=True))],
    }


def test_several_files_make_one_batch(shop, merchant_client):
    one = b"order_id,sku,quantity\nA-1,MUG-1,1\n"
    two = b"order_id,sku,quantity\nA-2,MUG-1,1\n"
    body = upload(
        merchant_client, {"channel": "shop-a", "files": [csv_file("a.csv", one), csv_file("b.csv", two)]}
    ).json()
    assert (body["files"], body["created"], Order.objects.count()) == (["a.csv", "b.csv"], 2, 2)


@pytest.mark.parametrize("code", ["shop-b", "nope"])
def test_another_merchants_or_a_missing_channel_is_not_found_and_nothing_is_stored(
    shop, other_shop, merchant_client, code
):
    response = upload(merchant_client, {"channel": code, "files": [csv_file()]})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert nothing_written() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": "shop-a"}, "files"),
        ({"files": "x"}, "channel"),
        ({"channel": "shop-a", "format": "excel", "files": "x"}, "format"),
        ({"channel": "shop-a", "files": "x", "dry_run": "1"}, "dry_run"),
    ],
)
def test_a_wrong_upload_is_refused_and_nothing_is_stored(shop, merchant_client, data, field):
    if "files" in data:
        data = {**data, "files": [csv_file()]}
    response = upload(merchant_client, data)
    assert (response.status_code, response.json()["error"]["field"]) == (422, field)
    assert nothing_written() == (0, 0, 0, 0)


def test_a_query_parameter_is_refused(shop, merchant_client):
    response = upload(merchant_client, {"channel": "shop-a", "files": [csv_file()]}, url=URL + "?async=0")
    assert (response.status_code, response.json()["error"]["field"]) == (422, "async")
    assert nothing_written() == (0, 0, 0, 0)


def test_an_upload_over_the_limit_is_refused_before_it_is_read(shop, merchant_client, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024 * 1024
    big = csv_file("big.csv", b"order_id,sku,quantity\n" + b"X" * (1024 * 1024))
    response = upload(merchant_client, {"channel": "shop-a", "files": [big]})
    assert (response.status_code, response.json()) == (
        413,
        {
            "ok": False,
            "error": {
                "code": "BODY_TOO_LARGE",
                "message": "上传的文件合计超过 1 MiB，未导入任何内容",
                "field": "files",
            },
        },
    )
    assert nothing_written() == (0, 0, 0, 0)


def test_a_file_nobody_can_read_fails_the_batch_with_one_error(shop, merchant_client):
    body = upload(merchant_client, {"channel": "shop-a", "files": [csv_file("x.csv", b"")]}).json()
    assert (body["status"], body["errors"], body["created"]) == ("failed", 1, 0)


def test_another_merchants_batch_and_its_errors_are_not_found(shop, other_shop, merchant_client):
    theirs = bearer_client(user_with_role("merchant", merchant=other_shop.merchant))
    batch_id = upload(merchant_client, {"channel": "shop-a", "files": [csv_file()]}).json()["id"]

    assert theirs.get(f"{URL}/{batch_id}").status_code == 404
    assert theirs.get(f"{URL}/{batch_id}/errors").status_code == 404
    assert theirs.get(f"{URL}/{batch_id + 1000}").json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "offset=-1", "offset=10001", "page=2"])
def test_error_paging_outside_its_range_is_refused(shop, merchant_client, query):
    batch_id = upload(merchant_client, {"channel": "shop-a", "files": [csv_file()]}).json()["id"]
    response = merchant_client.get(f"{URL}/{batch_id}/errors?{query}")
    assert (response.status_code, response.json()["error"]["field"]) == (422, query.split("=")[0])


CALLERS = (
    "anonymous",
    "no_role",
    "merchant",
    "other_merchant",
    "operator",
    "cs_agent",
    "tech_oncall",
    "manager",
    "admin",
)
EXPECTED = {"anonymous": 401, "no_role": 403, "merchant": 202, "other_merchant": 404}


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_may_upload_as_decided(shop, other_shop, caller):
    users = {
        "no_role": lambda: UserFactory(),
        "merchant": lambda: user_with_role("merchant", merchant=shop.merchant),
        "other_merchant": lambda: user_with_role("merchant", merchant=other_shop.merchant),
    }
    client = Client()
    if caller != "anonymous":
        client.force_login(users.get(caller, lambda: user_with_role(caller))())
    response = upload(client, {"channel": "shop-a", "files": [csv_file()]})
    expected = EXPECTED.get(caller, 202)
    assert response.status_code == expected
    assert ImportBatch.objects.count() == (1 if expected == 202 else 0)


def test_the_multipart_body_is_not_read_for_a_session_without_csrf(shop):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("merchant", merchant=shop.merchant))
    response = upload(client, {"channel": "shop-a", "files": [csv_file()]})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "CSRF_FAILED")
    assert nothing_written() == (0, 0, 0, 0)


def test_the_error_list_takes_the_same_number_of_queries_for_one_error_or_many(
    shop, merchant_client, django_assert_num_queries
):
    batch = ImportBatch.objects.create(
        kind="orders", merchant=shop.merchant, channel=shop, started_at=shop.created_at
    )
    ImportRowError.objects.bulk_create(
        ImportRowError(batch=batch, file="a.csv", row=n, field="sku", code="FIELD_MISSING", message="x")
        for n in range(2, 60)
    )
    url = f"{URL}/{batch.pk}/errors"
    merchant_client.get(url)
    with django_assert_num_queries(5) as few:
        assert len(merchant_client.get(url + "?limit=1").json()["items"]) == 1
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(merchant_client.get(url + "?limit=200").json()["items"]) == 58
