"""Automatic re-check (T1, B4, H1.3): stock arrives, waiting orders are allocated again
in payment order, and their stock-out cases close themselves with a logged reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.inventory.models import AllocationPolicy, StockLevel
from orderguard.inventory.selectors import stock_ledger_mismatches
from orderguard.inventory.services import MoveIn, StockIn, stock_levels_set, stock_moves_apply
from orderguard.orders.models import Order, OrderEvent, OrderLine

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def _paid(minute: int) -> str:
    return f"2026-11-25 09:{minute:02d}:00"


def _shop(channel, on_hand: int) -> None:  # type: ignore[no-untyped-def]
    skus_upsert(merchant_id=channel.merchant_id, skus=[SkuIn(code="A"), SkuIn(code="B")])
    ids = dict(channel.merchant.skus.values_list("code", "pk"))
    stock_levels_set(
        merchant_id=channel.merchant_id,
        lines=[
            StockIn(warehouse_id=channel.warehouse_id, sku_id=ids[c], on_hand=on_hand) for c in ("A", "B")
        ],
        now=NOW,
        actor_label="test",
    )


def _status(pid: str) -> tuple[str, list[str], list[str]]:
    order = Order.objects.get(platform_order_id=pid)
    return (
        order.status,
        [f["code"] for f in order.findings],
        list(ExceptionCase.objects.filter(order=order, type="T1").values_list("status", flat=True)),
    )


def test_a_receipt_serves_waiting_orders_in_payment_order_and_closes_their_cases(channel):
    _shop(channel, on_hand=0)
    orders_import(
        files=taobao_export(
            [
                TbOrder("3", [TbItem("A", 2)], paid=_paid(30)),
                TbOrder("1", [TbItem("A", 2)], paid=_paid(10)),
                TbOrder("2", [TbItem("A", 1), TbItem("B", 1)], paid=_paid(20)),
            ]
        ),
        channel=channel,
        now=NOW,
    )
    assert [_status(p)[0] for p in "123"] == ["on_hold"] * 3

    result = stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "A", 4, reason="PO-1")],
        now=LATER,
        actor_label="user:op",
    )

    # 1 (paid first) takes 2; 2 still lacks B; 3 takes the other 2
    assert _status("1") == ("ready", [], ["resolved"])
    assert _status("2") == ("on_hold", ["STOCK_SHORT"], ["open"])
    assert _status("3") == ("ready", [], ["resolved"])
    assert result.recheck is not None
    assert sorted(result.recheck.served) == sorted(
        Order.objects.filter(platform_order_id__in=["1", "3"]).values_list("pk", flat=True)
    )
    closed = CaseEvent.objects.filter(type="resolved").order_by("case__order__platform_order_id")
    assert [(e.case.order.platform_order_id, e.actor_label, e.data["reason"]) for e in closed] == [
        ("1", "user:op", "stock_arrived"),
        ("3", "user:op", "stock_arrived"),
    ]
    assert list(
        OrderEvent.objects.filter(type="allocated")
        .order_by("order__platform_order_id")
        .values_list("order__platform_order_id", "data")
    ) == [
        ("1", {"reason": "stock_arrived", "units": 2, "status": "ready"}),
        ("3", {"reason": "stock_arrived", "units": 2, "status": "ready"}),
    ]
    level = StockLevel.objects.get(sku__code="A")
    assert (level.on_hand, level.allocated) == (4, 4)
    assert stock_ledger_mismatches() == []


def test_a_count_up_and_a_transfer_in_also_serve_waiting_orders(channel):
    _shop(channel, on_hand=0)
    other = WarehouseFactory(code="far")
    orders_import(
        files=taobao_export(
            [TbOrder("1", [TbItem("A", 1)], paid=_paid(1)), TbOrder("2", [TbItem("B", 1)], paid=_paid(2))]
        ),
        channel=channel,
        now=NOW,
    )
    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", "far", "B", 5)],
        now=NOW,
        actor_label="user:op",
    )
    assert _status("2")[0] == "on_hold"  # stock in another warehouse serves nobody here

    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[
            MoveIn("count", channel.warehouse.code, "A", 1),
            MoveIn("transfer", other.code, "B", 1, to_warehouse=channel.warehouse.code),
        ],
        now=LATER,
        actor_label="user:op",
    )

    assert (_status("1"), _status("2")) == (("ready", [], ["resolved"]), ("ready", [], ["resolved"]))


def test_a_back_ordered_order_is_topped_up_when_stock_arrives(channel):
    AllocationPolicy.objects.create(merchant=channel.merchant, short_policy="partial")
    _shop(channel, on_hand=1)
    orders_import(
        files=taobao_export([TbOrder("1", [TbItem("A", 3)], paid=_paid(1))]), channel=channel, now=NOW
    )
    assert _status("1") == ("ready", ["STOCK_BACKORDER"], [])

    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "A", 5)],
        now=LATER,
        actor_label="user:op",
    )

    assert _status("1") == ("ready", [], [])
    assert OrderLine.objects.get().allocated_quantity == 3
    assert StockLevel.objects.get(sku__code="A").allocated == 3


def test_the_queries_of_a_recheck_do_not_grow_with_the_waiting_orders(channel):
    _shop(channel, on_hand=0)
    counts = []
    for n, size in enumerate((3, 30)):
        orders_import(
            files=taobao_export(
                [TbOrder(f"{n}-{i}", [TbItem("A", 1)], paid=_paid(i % 60)) for i in range(size)]
            ),
            channel=channel,
            now=NOW,
        )
        with CaptureQueriesContext(connection) as queries:
            result = stock_moves_apply(
                merchant_id=channel.merchant_id,
                moves=[MoveIn("receipt", channel.warehouse.code, "A", size)],
                now=LATER,
                actor_label="user:op",
            )
        assert result.recheck is not None and len(result.recheck.served) == size
        counts.append(len(queries))

    assert counts[0] == counts[1]
    # the 30 cases opened by one import are closed by one UPDATE, with the same values as one by one
    assert set(
        ExceptionCase.objects.values_list("status", "outcome", "resolution", "closed_at", "handling_seconds")
    ) == {("resolved", "succeeded", "stock_arrived", LATER, 3600)}
    assert CaseEvent.objects.filter(type="resolved").count() == 33


def test_the_stock_moves_of_a_cases_order_are_on_its_timeline(channel):
    """H1.3: the case page and the API show the allocation that served the order beside the
    case's own events."""
    from django.test import Client

    from orderguard.tenancy.tests.factories import user_with_role

    _shop(channel, on_hand=0)
    orders_import(
        files=taobao_export([TbOrder("1", [TbItem("A", 2)], paid=_paid(1))]), channel=channel, now=NOW
    )
    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "A", 2, reason="PO-1")],
        now=LATER,
        actor_label="user:op",
    )
    case = ExceptionCase.objects.get()
    staff = Client()
    staff.force_login(user_with_role("manager"))

    events = staff.get(f"/api/v1/cases/{case.pk}").json()["events"]
    page = staff.get(f"/cases/{case.pk}/").content.decode()

    assert [(e["type"], e["actor"], e["data"].get("quantity"), e["data"].get("reason")) for e in events] == [
        ("opened", "system:intake", None, None),
        ("notified", "system:intake", None, None),
        # told of the stock-out, the merchant decides next (S1)
        ("step_started", "system:intake", None, None),
        ("stock.allocation", "user:op", 2, "stock_arrived"),
        ("resolved", "user:op", None, "stock_arrived"),
    ]
    assert "库存分配：A 2 件" in page
    assert "库存已到，订单已分配，自动解决" in page


def test_a_re_check_serves_the_merchants_priority_orders_first(channel):
    from orderguard.catalog.models import Sku
    from orderguard.orders.tests.factories import OrderFactory, OrderLineFactory

    AllocationPolicy.objects.create(merchant=channel.merchant, expedited_first=True)
    _shop(channel, on_hand=0)
    sku = Sku.objects.get(code="A")
    early = OrderFactory(channel=channel, status="on_hold", paid_at=NOW - timedelta(hours=2))
    express = OrderFactory(
        channel=channel, status="on_hold", paid_at=NOW - timedelta(hours=1), service_level="加急"
    )
    for order in (early, express):
        OrderLineFactory(order=order, line_no=1, sku=sku, quantity=1)

    result = stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "A", 1)],
        now=LATER,
        actor_label="user:op",
    )

    assert result.recheck is not None
    assert (result.recheck.orders, result.recheck.served) == (2, [express.pk])
    assert list(OrderLine.objects.order_by("order_id").values_list("order_id", "allocated_quantity")) == [
        (early.pk, 0),
        (express.pk, 1),
    ]


def test_a_few_units_arriving_read_only_the_first_round_of_waiting_orders(channel, monkeypatch):
    monkeypatch.setattr("orderguard.inventory.services.RECHECK_BATCH", 5)
    _shop(channel, on_hand=0)
    orders_import(
        files=taobao_export([TbOrder(str(i), [TbItem("A", 1)], paid=_paid(i % 60)) for i in range(12)]),
        channel=channel,
        now=NOW,
    )

    result = stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "A", 2)],
        now=LATER,
        actor_label="user:op",
    )

    assert result.recheck is not None
    # rounds of 5: the stock was used up in the first, so the other 7 orders were never read
    assert (result.recheck.orders, len(result.recheck.served)) == (5, 2)
    served = set(
        Order.objects.filter(pk__in=result.recheck.served).values_list("platform_order_id", flat=True)
    )
    assert served == {"0", "1"}


def test_stock_given_back_by_a_cancelled_order_serves_the_next_waiting_one(channel):
    """A case never stays open for an order that can ship: the platform closes the order that
    held the stock, the import gives it back, and the waiting order takes it at once."""
    _shop(channel, on_hand=2)
    first = TbOrder("1", [TbItem("A", 2)], paid=_paid(1))
    waiting = TbOrder("2", [TbItem("A", 1)], paid=_paid(2))
    orders_import(files=taobao_export([first, waiting]), channel=channel, now=NOW)
    assert (_status("1")[0], _status("2")) == ("ready", ("on_hold", ["STOCK_SHORT"], ["open"]))

    first.status = "交易关闭"
    orders_import(files=taobao_export([first, waiting]), channel=channel, now=LATER)

    assert _status("1") == ("not_ready", [], [])
    assert _status("2") == ("ready", [], ["resolved"])
    level = StockLevel.objects.get(sku__code="A")
    assert (level.on_hand, level.allocated) == (2, 1)
    assert stock_ledger_mismatches() == []
