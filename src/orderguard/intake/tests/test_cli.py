"""The `orderguard` command: import, cases and their stable --json output."""

from __future__ import annotations

import json

import pytest

from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.cli import main
from orderguard.intake.models import ImportBatch
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.orders.models import Order

pytestmark = pytest.mark.django_db


def _write(tmp_path, files):  # type: ignore[no-untyped-def]
    paths = []
    for f in files:
        path = tmp_path / f.name
        path.write_bytes(f.data)
        paths.append(str(path))
    return paths


def run(capsys, *argv):  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if "--json" in argv else out


def test_import_orders_prints_the_batch_as_json(channel, tmp_path, capsys):
    skus_upsert(merchant_id=channel.merchant_id, skus=[SkuIn(code="A")])
    paths = _write(tmp_path, taobao_export([TbOrder("1", [TbItem("A")]), TbOrder("2", [TbItem("NOPE")])]))

    code, data = run(capsys, "import", "orders", *paths, "--channel", channel.code, "--json")

    assert code == 0
    assert {
        k: data[k]
        for k in (
            "ok",
            "kind",
            "format",
            "status",
            "rows",
            "created",
            "updated",
            "unchanged",
            "failed",
            "cases_opened",
            "errors",
        )
    } == {
        "ok": True,
        "kind": "orders",
        "format": "taobao",
        "status": "done",
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "cases_opened": 2,
        "errors": [],
    }
    assert sorted(data["files"]) == sorted(p.rsplit("/", 1)[1] for p in paths)


def test_import_with_rejected_rows_exits_1_and_lists_them(channel, tmp_path, capsys):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,sku,quantity\n1,A,x\n", encoding="utf-8")

    code, data = run(capsys, "import", "orders", str(path), "--channel", channel.code, "--json")

    assert code == 1
    assert [(e["file"], e["row"], e["field"], e["code"]) for e in data["errors"]] == [
        ("orders.csv", 2, "quantity", "QUANTITY_INVALID")
    ]
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["import", "orders", "{file}", "--channel", "nope", "--json"], "UNKNOWN_CHANNEL"),
        (["import", "catalog", "{file}", "--merchant", "nope", "--json"], "UNKNOWN_MERCHANT"),
        (["import", "orders", "/no/such/file.csv", "--channel", "{channel}", "--json"], "FILE_NOT_FOUND"),
        (["import", "orders", "{file}", "--json"], "USAGE"),
        (["import", "catalog", "{file}", "{file}", "--merchant", "{merchant}", "--json"], "USAGE"),
    ],
)
def test_bad_usage_exits_2_with_a_coded_error_and_imports_nothing(channel, tmp_path, capsys, argv, code):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,sku,quantity\n1,A,1\n", encoding="utf-8")
    args = [a.format(file=path, channel=channel.code, merchant=channel.merchant.code) for a in argv]

    exit_code, data = run(capsys, *args)

    assert (exit_code, data["ok"], data["error"]["code"]) == (2, False, code)
    assert (Order.objects.count(), ImportBatch.objects.count()) == (0, 0)


def test_cases_lists_open_cases_by_due_time_as_json(channel, tmp_path, capsys):
    paths = _write(tmp_path, taobao_export([TbOrder("7", [TbItem("NOPE")], phone="1380013800")]))
    main(["import", "orders", *paths, "--channel", channel.code, "--json"])
    capsys.readouterr()

    code, data = run(capsys, "cases", "--json")

    assert code == 0
    assert data["total"] == 2
    assert [
        (c["type"], c["status"], c["source"], c["order"], c["channel"], c["step"], c["codes"])
        for c in data["cases"]
    ] == [
        ("T2", "open", "D2", "7", channel.code, "contact_buyer", ["PHONE_BAD_LENGTH"]),
        ("T3", "open", "D2", "7", channel.code, "confirm_with_buyer", ["SKU_UNKNOWN"]),
    ]
    code, data = run(capsys, "cases", "--type", "T3", "--json")
    assert [c["codes"] for c in data["cases"]] == [["SKU_UNKNOWN"]]


def test_user_and_token_commands_make_a_user_whose_token_opens_the_api(channel, capsys, client):
    code, made = run(
        capsys, "user", "shop-a-bot", "--role", "merchant", "--merchant", channel.merchant.code, "--json"
    )
    assert (code, made["ok"], made["role"]) == (0, True, "merchant")
    code, token = run(capsys, "token", "shop-a-bot", "--name", "ERP", "--json")
    assert (code, token["name"], token["token"][:11]) == (0, "ERP", token["prefix"])

    response = client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {token['token']}")

    assert (response.status_code, response.json()) == (200, {"total": 0, "items": []})


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["user", "x", "--role", "king", "--json"], "role"),
        (["user", "x", "--role", "merchant", "--merchant", "nope", "--json"], "merchant"),
        (["user", "x", "--role", "operator", "--merchant", "{merchant}", "--json"], "merchant"),
        (["token", "nobody", "--name", "ERP", "--json"], "username"),
    ],
)
def test_bad_user_and_token_requests_exit_2_and_create_nothing(channel, capsys, argv, field):
    from django.contrib.auth.models import User

    from orderguard.tenancy.models import ApiToken

    code, data = run(capsys, *[a.format(merchant=channel.merchant.code) for a in argv])

    assert (code, data["ok"], data["error"]["code"]) == (2, False, "INVALID_INPUT")
    assert (User.objects.count(), ApiToken.objects.count()) == (0, 0)
