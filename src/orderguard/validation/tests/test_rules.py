"""Rules as configuration: a merchant's overrides, the import applying them, the dry run."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.intake.tests.test_flow import day_of_orders, outcome, shop  # noqa: F401
from orderguard.orders.models import Order, OrderEvent
from orderguard.tenancy.tests.factories import MerchantFactory
from orderguard.validation.models import RuleOverride
from orderguard.validation.rules import (
    FIXED_CODES,
    RuleChangeRefused,
    rule_overrides_for,
    rules_dry_run,
    rules_effective,
    rules_set,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def settings_of(merchant_id):  # type: ignore[no-untyped-def]
    return {r.code: (r.severity, r.overridden) for r in rules_effective(merchant_id=merchant_id)}


def test_without_overrides_every_rule_has_its_default():
    merchant = MerchantFactory()

    rules = {r.code: r for r in rules_effective(merchant_id=merchant.pk)}

    assert (
        rules["PHONE_MASKED"].severity,
        rules["PHONE_MASKED"].default,
        rules["PHONE_MASKED"].overridden,
    ) == (
        "warning",
        "warning",
        False,
    )
    assert (rules["STOCK_SHORT"].configurable, rules["NAME_MISSING"].configurable) == (False, True)
    assert rules_effective(merchant_id=None) == rules_effective(merchant_id=merchant.pk)


def test_a_merchant_sets_blocking_warning_and_off_and_only_its_own_rules_change():
    merchant, other = MerchantFactory(), MerchantFactory()

    rules_set(
        merchant_id=merchant.pk,
        severities={
            "PHONE_MASKED": "blocking",
            "PHONE_BAD_LENGTH": "warning",
            "SPECIAL_EXPRESS_REQUESTED": "off",
        },
        actor_label="user:boss",
    )

    mine = settings_of(merchant.pk)
    assert (mine["PHONE_MASKED"], mine["PHONE_BAD_LENGTH"], mine["SPECIAL_EXPRESS_REQUESTED"]) == (
        ("blocking", True),
        ("warning", True),
        ("off", True),
    )
    assert rule_overrides_for(merchant_id=merchant.pk) == {
        "PHONE_MASKED": "blocking",
        "PHONE_BAD_LENGTH": "warning",
        "SPECIAL_EXPRESS_REQUESTED": "off",
    }
    assert set(RuleOverride.objects.values_list("changed_by", flat=True)) == {"user:boss"}
    assert rule_overrides_for(merchant_id=other.pk) == {}


def test_default_or_the_rules_own_severity_removes_the_override():
    merchant = MerchantFactory()
    rules_set(
        merchant_id=merchant.pk,
        severities={"PHONE_MASKED": "off", "PHONE_BAD_LENGTH": "warning"},
        actor_label="t",
    )

    rules_set(
        merchant_id=merchant.pk,
        severities={"PHONE_MASKED": "default", "PHONE_BAD_LENGTH": "blocking"},
        actor_label="t",
    )

    assert RuleOverride.objects.count() == 0
    assert settings_of(merchant.pk)["PHONE_MASKED"] == ("warning", False)


@pytest.mark.parametrize(
    ("severities", "error", "rule"),
    [
        ({"PHONE_MASKED": "off", "NO_SUCH_RULE": "warning"}, "RULE_UNKNOWN", "NO_SUCH_RULE"),
        ({"PHONE_MASKED": "off", "STOCK_SHORT": "warning"}, "RULE_NOT_CONFIGURABLE", "STOCK_SHORT"),
        ({"PHONE_MASKED": "off", "SKU_UNKNOWN": "off"}, "RULE_NOT_CONFIGURABLE", "SKU_UNKNOWN"),
        ({"PHONE_MASKED": "off", "NAME_MISSING": "fatal"}, "SEVERITY_INVALID", "NAME_MISSING"),
    ],
)
def test_a_bad_change_is_refused_whole(severities, error, rule):
    merchant = MerchantFactory()
    rules_set(merchant_id=merchant.pk, severities={"NAME_MASKED": "blocking"}, actor_label="t")

    with pytest.raises(RuleChangeRefused) as refused:
        rules_set(merchant_id=merchant.pk, severities=severities, actor_label="t")

    assert (refused.value.code, refused.value.rule) == (error, rule)
    assert rule_overrides_for(merchant_id=merchant.pk) == {"NAME_MASKED": "blocking"}


def test_stock_and_line_resolution_codes_are_the_fixed_ones():
    assert {
        "STOCK_SHORT",
        "STOCK_LOW",
        "SKU_MISSING",
        "SKU_UNKNOWN",
        "SKU_INACTIVE",
        "SKU_ATTRIBUTES_MISMATCH",
        "SKU_VARIANT_NOT_STOCKED",
        "SKU_VARIANT_AMBIGUOUS",
        "BUNDLE_COMPONENT_INACTIVE",
    } == FIXED_CODES


def test_the_import_applies_the_merchants_overrides(shop):  # noqa: F811
    rules_set(
        merchant_id=shop.merchant_id,
        severities={
            "PHONE_MASKED": "blocking",
            "SPECIAL_COURIER_REQUESTED": "off",
            "NAME_MISSING": "warning",
        },
        actor_label="t",
    )

    orders_import(files=taobao_export(day_of_orders()), channel=shop, now=NOW)

    got = outcome()
    assert (got["1004"], got["1008"], got["1011"]) == (
        ("on_hold", ["T2"], ["PHONE_MASKED"]),
        ("ready", [], []),
        ("ready", [], ["NAME_MISSING"]),
    )
    assert Order.objects.get(platform_order_id="1004").findings[0]["severity"] == "blocking"
    assert got["1003"] == ("on_hold", ["T2"], ["PHONE_BAD_LENGTH"])


def test_the_import_reads_the_overrides_once_whatever_the_number_of_chunks(shop, settings):  # noqa: F811
    settings.IMPORT_CHUNK_SIZE = 2
    rules_set(merchant_id=shop.merchant_id, severities={"PHONE_MASKED": "blocking"}, actor_label="t")

    with CaptureQueriesContext(connection) as queries:
        orders_import(files=taobao_export(day_of_orders()), channel=shop, now=NOW)

    assert sum("validation_ruleoverride" in q["sql"] for q in queries.captured_queries) == 1


def _state():  # type: ignore[no-untyped-def]
    return (
        list(Order.objects.order_by("pk").values_list("status", "findings")),
        OrderEvent.objects.count(),
        list(RuleOverride.objects.values_list("code", "severity")),
    )


def test_dry_run_of_turning_a_blocking_rule_off_lists_the_orders_it_would_release(shop):  # noqa: F811
    orders_import(files=taobao_export(day_of_orders()), channel=shop, now=NOW)
    before = _state()
    courier = Order.objects.get(platform_order_id="1008").pk

    report = rules_dry_run(
        merchant_id=shop.merchant_id, code="SPECIAL_COURIER_REQUESTED", severity="off", days=7, now=NOW
    )

    assert (report.current, report.proposed, report.orders_checked, report.orders_with_finding) == (
        "blocking",
        "off",
        10,
        1,
    )
    assert report.counts == {"no_longer_flagged": 1, "no_longer_blocking": 1, "would_release": 1}
    assert report.samples == {
        "no_longer_flagged": [courier],
        "no_longer_blocking": [courier],
        "would_release": [courier],
    }
    assert _state() == before


def test_dry_run_of_making_a_warning_blocking_counts_the_orders_it_would_hold(shop):  # noqa: F811
    orders = [*day_of_orders(), TbOrder("1012", [TbItem("NOPE-2")], phone="138****0001")]
    orders_import(files=taobao_export(orders), channel=shop, now=NOW)
    masked = Order.objects.get(platform_order_id="1004").pk
    unknown_sku = Order.objects.get(platform_order_id="1012").pk

    report = rules_dry_run(
        merchant_id=shop.merchant_id, code="PHONE_MASKED", severity="blocking", days=1, now=NOW
    )

    assert report.orders_with_finding == 2
    # 1012 is held by its unknown SKU already: it turns blocking, but its hold does not change
    assert report.counts == {"newly_blocking": 2, "would_hold": 1}
    assert report.samples == {"newly_blocking": [masked, unknown_sku], "would_hold": [masked]}


def test_dry_run_of_turning_a_rule_back_on_counts_newly_flagged_orders(shop):  # noqa: F811
    rules_set(merchant_id=shop.merchant_id, severities={"PHONE_VIRTUAL": "off"}, actor_label="t")
    orders_import(files=taobao_export(day_of_orders()), channel=shop, now=NOW)
    virtual = Order.objects.get(platform_order_id="1010").pk

    report = rules_dry_run(
        merchant_id=shop.merchant_id, code="PHONE_VIRTUAL", severity="default", days=1, now=NOW
    )

    assert (report.current, report.proposed) == ("off", "warning")
    assert report.counts == {"newly_flagged": 1}
    assert report.samples == {"newly_flagged": [virtual]}
    assert rule_overrides_for(merchant_id=shop.merchant_id) == {"PHONE_VIRTUAL": "off"}


def test_dry_run_only_reads_orders_paid_within_the_days_asked(shop):  # noqa: F811
    orders_import(files=taobao_export(day_of_orders()), channel=shop, now=NOW)

    report = rules_dry_run(
        merchant_id=shop.merchant_id,
        code="PHONE_MASKED",
        severity="off",
        days=1,
        now=datetime(2026, 11, 30, tzinfo=UTC),
    )

    assert (report.orders_checked, report.counts) == (0, {})


def test_dry_run_refuses_what_rules_set_refuses_and_days_out_of_range():
    merchant = MerchantFactory()

    with pytest.raises(RuleChangeRefused) as refused:
        rules_dry_run(merchant_id=merchant.pk, code="NOPE", severity="off", days=7, now=NOW)
    assert refused.value.code == "RULE_UNKNOWN"
    with pytest.raises(ValueError):
        rules_dry_run(merchant_id=merchant.pk, code="PHONE_MASKED", severity="off", days=91, now=NOW)


def test_the_command_line_dry_run_prints_the_report_as_json(shop, capsys, monkeypatch):  # noqa: F811
    from orderguard.cli import main

    orders_import(files=taobao_export(day_of_orders()), channel=shop, now=NOW)
    monkeypatch.setattr("orderguard.core.clock.now", lambda: NOW)
    courier = Order.objects.get(platform_order_id="1008").pk
    argv = ["rules", "dry-run", "--merchant", shop.merchant.code, "--code", "SPECIAL_COURIER_REQUESTED"]

    code = main([*argv, "--severity", "warning", "--days", "2", "--json"])

    data = json.loads(capsys.readouterr().out)
    assert (code, data["current"], data["proposed"], data["orders_checked"]) == (0, "blocking", "warning", 10)
    assert data["counts"] == {
        "newly_flagged": 0,
        "no_longer_flagged": 0,
        "newly_blocking": 0,
        "no_longer_blocking": 1,
        "would_hold": 0,
        "would_release": 1,
    }
    assert data["samples"]["would_release"] == [courier]
    assert RuleOverride.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--merchant", "nobody", "--code", "PHONE_MASKED", "--severity", "off"], "NOT_FOUND"),
        (["--code", "NOPE", "--severity", "off"], "RULE_UNKNOWN"),
        (["--code", "PHONE_MASKED", "--severity", "loud"], "SEVERITY_INVALID"),
        (["--code", "PHONE_MASKED", "--severity", "off", "--days", "0"], "INVALID_INPUT"),
    ],
)
def test_the_command_line_dry_run_refuses_bad_input(channel, capsys, args, error):
    from orderguard.cli import main

    merchant = [] if "--merchant" in args else ["--merchant", channel.merchant.code]

    code = main(["rules", "dry-run", *merchant, *args, "--json"])

    assert (code, json.loads(capsys.readouterr().out)["error"]["code"]) == (2, error)


def test_an_imported_bundle_with_an_inactive_component_is_held_and_takes_no_stock(shop):  # noqa: F811
    from orderguard.catalog.services import SkuIn, skus_upsert
    from orderguard.inventory.models import StockLevel

    skus_upsert(
        merchant_id=shop.merchant_id,
        skus=[
            SkuIn(code="PAN-20", name="煎锅 20cm", attributes={"规格": "20cm"}, active=False),
            SkuIn(code="SET", components=[("TS-RED-S", 1), ("PAN-20", 1)]),
        ],
    )

    orders_import(files=taobao_export([TbOrder("7001", [TbItem("SET", 1)])]), channel=shop, now=NOW)

    assert outcome()["7001"] == ("on_hold", ["T3"], ["BUNDLE_COMPONENT_INACTIVE"])
    assert Order.objects.get(platform_order_id="7001").findings[0]["data"] == {
        "line": 1,
        "sku": "SET",
        "components": ["PAN-20"],
    }
    assert set(StockLevel.objects.values_list("allocated", flat=True)) == {0}
