"""H3.1: changing an order's lines (the buyer chose wrongly). The order runs again through the
checks, allocation and triage; the product case resolves only when the product checks pass; a
refused change writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.core.errors import NotFound
from orderguard.intake.errors import LinesRefused
from orderguard.intake.services import order_lines_change
from orderguard.intake.tests.product_world import IMPORTED_AT, order_for_xl, tee_shop
from orderguard.inventory.models import StockLevel, StockMovement
from orderguard.orders.models import Order, OrderEvent, OrderLine
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
LATER = IMPORTED_AT + timedelta(minutes=30)


@pytest.fixture
def agent():  # type: ignore[no-untyped-def]
    return actor_for(user_with_role("cs_agent", username="ann"))


def _lines(order: Order) -> list[tuple[str, int, int]]:
    return list(
        OrderLine.objects.filter(order=order)
        .order_by("line_no")
        .values_list("sku_code", "quantity", "allocated_quantity")
    )


def _stock(channel, code: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    level = StockLevel.objects.get(warehouse_id=channel.warehouse_id, sku__code=code)
    return level.on_hand, level.allocated


def _snapshot(order: Order, case: ExceptionCase) -> tuple:
    o = Order.objects.get(pk=order.pk)
    c = ExceptionCase.objects.get(pk=case.pk)
    return (
        o.status,
        o.findings,
        _lines(order),
        c.status,
        CaseEvent.objects.filter(case=case).count(),
        OrderEvent.objects.filter(order=order).count(),
        StockMovement.objects.count(),
        ExceptionCase.objects.count(),
    )


def test_the_buyer_chose_wrongly_the_line_becomes_the_right_size_and_the_case_resolves(channel, agent):
    shop = tee_shop(channel)
    order, case = order_for_xl(shop, "TB1")
    assert (order.status, [f["code"] for f in order.findings]) == ("on_hold", ["SKU_UNKNOWN"])

    done = order_lines_change(
        order_id=order.pk,
        actor=agent,
        lines=[{"sku_code": "TEE-M", "quantity": "2"}],
        reason="买家要M码",
        now=LATER,
    )

    assert done.changed is True
    assert [c.pk for c in done.triage.closed] == [case.pk]
    assert _lines(order) == [("TEE-M", 2, 2)]
    assert Order.objects.get(pk=order.pk).status == "ready"
    assert _stock(shop, "TEE-M") == (5, 2)
    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution) == ("resolved", "succeeded", "lines_changed")
    log = [(e.type, e.actor_label, e.data) for e in CaseEvent.objects.filter(case=case).order_by("pk")][1:]
    assert log == [
        (
            "lines_changed",
            "user:ann",
            {"before": [["TEE-XL", 1]], "after": [["TEE-M", 2]], "reason": "买家要M码"},
        ),
        (
            "resolved",
            "user:ann",
            {"outcome": "succeeded", "reason": "lines_changed", "handling_seconds": 1800},
        ),
    ]
    last = OrderEvent.objects.filter(order=order).order_by("pk").last()
    assert (last.type, last.actor_label, last.data) == (
        "corrected",
        "user:ann",
        {
            "changed": ["lines"],
            "before": [["TEE-XL", 1]],
            "after": [["TEE-M", 2]],
            "reason": "买家要M码",
            "status": "ready",
            "codes": [],
        },
    )


def test_a_new_sku_that_is_short_opens_a_stock_out_case_and_the_product_case_resolves(channel, agent):
    shop = tee_shop(channel, stock={"TEE-S": 0, "TEE-M": 5})
    order, case = order_for_xl(shop, "TB2")

    done = order_lines_change(
        order_id=order.pk, actor=agent, lines=[{"sku_code": "TEE-S", "quantity": 1}], now=LATER
    )

    assert [c.pk for c in done.triage.closed] == [case.pk]
    assert [(c.type, c.status) for c in done.triage.opened] == [("T1", "open")]
    assert Order.objects.get(pk=order.pk).status == "on_hold"
    assert [f["code"] for f in Order.objects.get(pk=order.pk).findings] == ["STOCK_SHORT"]


def test_stock_the_old_lines_held_is_given_back(channel, agent):
    shop = tee_shop(channel)
    order, _case = order_for_xl(shop, "TB3")
    order_lines_change(
        order_id=order.pk, actor=agent, lines=[{"sku_code": "TEE-M", "quantity": 2}], now=LATER
    )
    assert _stock(shop, "TEE-M") == (5, 2)

    order_lines_change(
        order_id=order.pk, actor=agent, lines=[{"sku_code": "TEE-S", "quantity": 1}], now=LATER
    )

    assert _stock(shop, "TEE-M") == (5, 0)
    assert _stock(shop, "TEE-S") == (5, 1)
    assert _lines(order) == [("TEE-S", 1, 1)]


def test_the_same_lines_again_write_nothing(channel, agent):
    shop = tee_shop(channel)
    order, case = order_for_xl(shop, "TB4")
    order_lines_change(
        order_id=order.pk, actor=agent, lines=[{"sku_code": "TEE-M", "quantity": 1}], now=LATER
    )
    before = _snapshot(order, case)

    done = order_lines_change(
        order_id=order.pk, actor=agent, lines=[{"sku_code": "TEE-M", "quantity": 1}], now=LATER
    )

    assert done.changed is False
    assert _snapshot(order, case) == before


@pytest.mark.parametrize(
    ("lines", "code", "field"),
    [
        ([{"sku_code": "NOPE", "quantity": 1}], "SKU_UNKNOWN", "lines[0].sku_code"),
        ([{"sku_code": "", "quantity": 1}], "SKU_UNKNOWN", "lines[0].sku_code"),
        (
            [{"sku_code": "TEE-M", "quantity": 1}, {"sku_code": "MUG", "quantity": 1}],
            "SKU_INACTIVE",
            "lines[1].sku_code",
        ),
        ([{"sku_code": "TEE-M", "quantity": 0}], "QUANTITY_INVALID", "lines[0].quantity"),
        ([{"sku_code": "TEE-M", "quantity": -2}], "QUANTITY_INVALID", "lines[0].quantity"),
        ([{"sku_code": "TEE-M", "quantity": 1.5}], "QUANTITY_INVALID", "lines[0].quantity"),
        ([{"sku_code": "TEE-M", "quantity": "1.5"}], "QUANTITY_INVALID", "lines[0].quantity"),
        ([{"sku_code": "TEE-M", "quantity": True}], "QUANTITY_INVALID", "lines[0].quantity"),
        ([{"sku_code": "TEE-M"}], "QUANTITY_INVALID", "lines[0].quantity"),
        ([], "LINES_INVALID", "lines"),
    ],
)
def test_bad_lines_are_refused_naming_the_line_and_field_and_nothing_changes(
    channel, agent, lines, code, field
):
    shop = tee_shop(channel)
    order, case = order_for_xl(shop, "TB5")
    before = _snapshot(order, case)

    with pytest.raises(LinesRefused) as refused:
        order_lines_change(order_id=order.pk, actor=agent, lines=lines, now=LATER)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert _snapshot(order, case) == before


@pytest.mark.parametrize("status", ["shipped", "cancelled"])
def test_a_shipped_or_cancelled_order_keeps_its_lines(channel, agent, status):
    shop = tee_shop(channel)
    order, case = order_for_xl(shop, "TB6")
    Order.objects.filter(pk=order.pk).update(status=status)
    before = _snapshot(order, case)

    with pytest.raises(LinesRefused) as refused:
        order_lines_change(
            order_id=order.pk, actor=agent, lines=[{"sku_code": "TEE-M", "quantity": 1}], now=LATER
        )

    assert refused.value.code == "ORDER_CLOSED"
    assert _snapshot(order, case) == before


def test_a_merchant_user_changes_no_lines_and_another_merchant_finds_no_order(channel):
    shop = tee_shop(channel)
    order, case = order_for_xl(shop, "TB7")
    before = _snapshot(order, case)
    own = actor_for(user_with_role("merchant", merchant=shop.merchant))
    other = actor_for(user_with_role("merchant", merchant=ChannelFactory().merchant))

    with pytest.raises(LinesRefused) as refused:
        order_lines_change(
            order_id=order.pk, actor=own, lines=[{"sku_code": "TEE-M", "quantity": 1}], now=LATER
        )
    assert refused.value.code == "ROLE"
    with pytest.raises(NotFound):
        order_lines_change(
            order_id=order.pk, actor=other, lines=[{"sku_code": "TEE-M", "quantity": 1}], now=LATER
        )
    assert _snapshot(order, case) == before
