"""The stock ledger (T1, D1): receipts, adjustments, counts and transfers by people and files,
each with who and why; refused input changes nothing; stock rows agree with their ledger."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderguard.catalog.tests.factories import SkuFactory, WarehouseFactory
from orderguard.inventory.models import MovementKind, StockLevel, StockMovement
from orderguard.inventory.selectors import stock_ledger_mismatches
from orderguard.inventory.services import (
    AllocationRequest,
    MoveError,
    MoveIn,
    StockMoveRefused,
    stock_allocate,
    stock_dispatch,
    stock_moves_apply,
    stock_release,
)
from orderguard.orders.tests.factories import OrderFactory, OrderLineFactory
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Role

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
OPERATOR = Actor(user_id=None, role=Role.OPERATOR, merchant_id=None, label="user:op")  # type: ignore[arg-type]


def _snapshot() -> tuple[list[tuple[int, int, int, int]], int]:
    levels = list(
        StockLevel.objects.order_by("pk").values_list("warehouse_id", "sku_id", "on_hand", "allocated")
    )
    return levels, StockMovement.objects.count()


def test_each_move_is_a_movement_with_who_and_why(channel):
    merchant = channel.merchant
    WarehouseFactory(code="north")
    WarehouseFactory(code="south")
    SkuFactory(merchant=merchant, code="MUG")

    stock_moves_apply(
        merchant_id=merchant.pk,
        moves=[
            MoveIn("receipt", "north", "MUG", 10, reason="PO-1"),
            MoveIn("adjustment", "north", "MUG", -1, reason="broken"),
            MoveIn("transfer", "north", "MUG", 4, to_warehouse="south", reason="rebalance"),
            MoveIn("count", "south", "MUG", 3, reason="cycle count"),
        ],
        now=T0,
        actor=OPERATOR,
    )

    rows = list(
        StockMovement.objects.order_by("pk").values_list(
            "warehouse__code", "type", "quantity", "actor_label", "reason"
        )
    )
    assert rows == [
        ("north", MovementKind.RECEIPT, 10, "user:op", "PO-1"),
        ("north", MovementKind.ADJUSTMENT, -1, "user:op", "broken"),
        ("north", MovementKind.TRANSFER_OUT, -4, "user:op", "rebalance"),
        ("south", MovementKind.TRANSFER_IN, 4, "user:op", "rebalance"),
        ("south", MovementKind.COUNT, -1, "user:op", "cycle count"),
    ]
    out, into = StockMovement.objects.filter(type__startswith="transfer").order_by("pk")
    assert out.data["transfer"] == into.data["transfer"]
    assert (out.data["to"], into.data["from"]) == ("south", "north")
    levels = {
        lv.warehouse.code: (lv.on_hand, lv.allocated) for lv in StockLevel.objects.select_related("warehouse")
    }
    assert levels == {"north": (5, 0), "south": (3, 0)}
    assert stock_ledger_mismatches() == []


def test_a_receipt_takes_its_quantity_off_the_inbound(channel):
    sku = SkuFactory(merchant=channel.merchant, code="PAN")
    StockLevel.objects.create(
        merchant=channel.merchant, warehouse=channel.warehouse, sku=sku, inbound_quantity=5, inbound_eta=T0
    )

    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "PAN", 3)],
        now=T0,
        actor_label="system:test",
    )
    level = StockLevel.objects.get()
    assert (level.on_hand, level.inbound_quantity, level.inbound_eta) == (3, 2, T0)

    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "PAN", 4)],
        now=T0,
        actor_label="system:test",
    )
    level.refresh_from_db()
    assert (level.on_hand, level.inbound_quantity, level.inbound_eta) == (7, 0, None)


def test_bad_moves_are_refused_naming_each_one_and_nothing_changes(channel):
    merchant = channel.merchant
    north = WarehouseFactory(code="north")
    WarehouseFactory(code="south")
    mug = SkuFactory(merchant=merchant, code="MUG")
    SkuFactory(code="THEIRS")  # another merchant's
    StockLevel.objects.create(merchant=merchant, warehouse=north, sku=mug, on_hand=2)
    before = _snapshot()

    with pytest.raises(StockMoveRefused) as refused:
        stock_moves_apply(
            merchant_id=merchant.pk,
            moves=[
                MoveIn("receipt", "north", "MUG", 5),  # fine alone, but the call is refused whole
                MoveIn("receipt", "north", "MUG", -3),
                MoveIn("receipt", "north", "MUG", 1.5),
                MoveIn("receipt", "nowhere", "MUG", 1),
                MoveIn("receipt", "north", "THEIRS", 1),
                MoveIn("transfer", "north", "MUG", 1, to_warehouse="north"),
                MoveIn("melt", "north", "MUG", 1),
                MoveIn("count", "north", "MUG", "ten"),
            ],
            now=T0,
            actor=OPERATOR,
        )

    assert refused.value.errors == [
        MoveError(1, "quantity", "QUANTITY_INVALID", {"value": -3}),
        MoveError(2, "quantity", "QUANTITY_NOT_WHOLE", {"value": "1.5"}),
        MoveError(3, "warehouse", "WAREHOUSE_UNKNOWN", {"value": "nowhere"}),
        MoveError(4, "sku", "SKU_UNKNOWN", {"value": "THEIRS"}),
        MoveError(5, "to_warehouse", "TRANSFER_SAME_WAREHOUSE", {"value": "north"}),
        MoveError(6, "type", "KIND_INVALID", {"value": "melt"}),
        MoveError(7, "quantity", "QUANTITY_NOT_WHOLE", {"value": "ten"}),
    ]
    assert _snapshot() == before


def test_a_transfer_from_a_warehouse_without_the_stock_is_refused_and_nothing_changes(channel):
    merchant = channel.merchant
    north = WarehouseFactory(code="north")
    WarehouseFactory(code="south")
    mug = SkuFactory(merchant=merchant, code="MUG")
    StockLevel.objects.create(merchant=merchant, warehouse=north, sku=mug, on_hand=5, allocated=3)
    before = _snapshot()

    with pytest.raises(StockMoveRefused) as refused:
        stock_moves_apply(
            merchant_id=merchant.pk,
            moves=[
                MoveIn("transfer", "north", "MUG", 1, to_warehouse="south"),
                MoveIn("transfer", "north", "MUG", 2, to_warehouse="south"),  # only 1 left free
                MoveIn("count", "north", "MUG", 2),  # below the 3 allocated
            ],
            now=T0,
            actor=OPERATOR,
        )

    assert refused.value.errors == [
        MoveError(1, "quantity", "INSUFFICIENT_STOCK", {"available": 1}),
        MoveError(2, "quantity", "BELOW_ALLOCATED", {"allocated": 3}),
    ]
    assert _snapshot() == before
    assert not StockLevel.objects.filter(warehouse__code="south").exists()


@pytest.mark.parametrize("role", [Role.MERCHANT, Role.SERVICE_AGENT, Role.TECH_ONCALL])
def test_only_warehouse_stock_staff_move_stock(channel, role):
    SkuFactory(merchant=channel.merchant, code="MUG")
    who = Actor(user_id=None, role=role, merchant_id=channel.merchant_id, label="user:x")  # type: ignore[arg-type]

    with pytest.raises(StockMoveRefused) as refused:
        stock_moves_apply(
            merchant_id=channel.merchant_id,
            moves=[MoveIn("receipt", channel.warehouse.code, "MUG", 1)],
            now=T0,
            actor=who,
        )

    assert [e.code for e in refused.value.errors] == ["ROLE"]
    assert _snapshot() == ([], 0)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "adjustment", "count", "transfer", "allocate", "release", "dispatch"]),
        st.integers(0, 1),  # warehouse
        st.integers(-4, 8),  # quantity
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_on_hand_and_allocated_always_agree_with_the_ledger(channel, ops):
    """After any sequence of moves and order allocations, releases and dispatches, every stock
    row equals the sum of its movements, and nothing is ever negative or over-allocated."""
    with transaction.atomic():
        merchant = channel.merchant
        warehouses = [channel.warehouse, WarehouseFactory()]
        SkuFactory(merchant=merchant, code="X")
        sku = merchant.skus.get(code="X")
        held = []
        for n, (op, w, qty) in enumerate(ops):
            wh, other = warehouses[w], warehouses[1 - w]
            at = T0 + timedelta(minutes=n)
            if op in ("receipt", "adjustment", "count", "transfer"):
                move = MoveIn(op, wh.code, "X", qty, to_warehouse=other.code if op == "transfer" else "")
                with contextlib.suppress(StockMoveRefused):
                    stock_moves_apply(merchant_id=merchant.pk, moves=[move], now=at, actor=OPERATOR)
            elif op == "allocate" and qty > 0 and w == 0:
                order = OrderFactory(channel=channel, paid_at=at)
                line = OrderLineFactory(order=order, line_no=1, sku=sku, quantity=qty)
                result = stock_allocate(
                    requests=[AllocationRequest(order=order, lines=[line], warehouse_id=wh.pk)],
                    now=at,
                    actor_label="test",
                )
                if order.pk in result.allocated:
                    held.append(order)
            elif op in ("release", "dispatch") and held:
                order = held.pop(0)
                serve = stock_release if op == "release" else stock_dispatch
                serve(orders=[order], now=at, actor_label="test", reason=op)
        assert stock_ledger_mismatches() == []
        for level in StockLevel.objects.all():
            assert 0 <= level.allocated <= level.on_hand
        transaction.set_rollback(True)
