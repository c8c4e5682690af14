"""Correcting an order's recipient data: the order runs again through the checks, allocation
and triage of an import, and a refused correction writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.core.errors import NotFound
from orderguard.intake.errors import CorrectionRefused
from orderguard.intake.services import order_correct
from orderguard.intake.tests.correction_world import (
    IMPORTED_AT,
    NO_PROVINCE,
    block_suggestions,
    import_orders,
)
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder
from orderguard.inventory.models import StockLevel, StockMovement
from orderguard.inventory.services import StockIn, stock_levels_set
from orderguard.orders.models import Order, OrderEvent, OrderLine
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
NOW = IMPORTED_AT
LATER = NOW + timedelta(hours=1)


@pytest.fixture
def shop(channel):  # type: ignore[no-untyped-def]
    return block_suggestions(channel)


def _import(channel, *orders: TbOrder) -> None:  # type: ignore[no-untyped-def]
    import_orders(channel, *orders)


def _order(platform_id: str) -> Order:
    return Order.objects.get(platform_order_id=platform_id)


def _codes(order: Order) -> list[str]:
    return [f["code"] for f in Order.objects.get(pk=order.pk).findings]


def _order_events(order: Order) -> list[tuple[str, str, dict]]:
    return [(e.type, e.actor_label, e.data) for e in OrderEvent.objects.filter(order=order).order_by("pk")]


def _snapshot(order: Order) -> tuple:
    o = Order.objects.get(pk=order.pk)
    return (
        o.status,
        o.recipient_name,
        o.province,
        o.city,
        o.address_received,
        o.findings,
        o.updated_at,
        OrderEvent.objects.filter(order=order).count(),
        CaseEvent.objects.count(),
        list(ExceptionCase.objects.order_by("pk").values_list("pk", "status", "findings")),
        list(StockLevel.objects.order_by("pk").values_list("pk", "allocated")),
    )


@pytest.fixture
def agent():  # type: ignore[no-untyped-def]
    return actor_for(user_with_role("cs_agent", username="ann"))


def test_accepting_the_suggested_province_resolves_the_address_case(shop, agent):
    _import(shop, TbOrder("2001", [TbItem("MUG", 1)], address=NO_PROVINCE))
    order = _order("2001")
    case = ExceptionCase.objects.get(order=order)
    assert (order.status, case.type, case.status, _codes(order)) == (
        "on_hold",
        "T2",
        "open",
        ["ADDRESS_LEVEL_SUGGESTED"],
    )

    done = order_correct(order_id=order.pk, actor=agent, changes={"province": "浙江省"}, now=LATER)

    assert (done.changed, [c.pk for c in done.triage.closed]) == (["province"], [case.pk])
    order.refresh_from_db()
    assert (order.status, order.province, order.city, order.district, order.findings) == (
        "ready",
        "浙江省",
        "杭州市",
        "西湖区",
        [],
    )
    assert order.address_received["province"] == "浙江省"
    assert _order_events(order)[1:] == [
        (
            "corrected",
            "user:ann",
            {"changed": ["province"], "reason": "", "status": "ready", "codes": []},
        )
    ]
    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution, case.closed_at) == (
        "resolved",
        "succeeded",
        "recheck_passed",
        LATER,
    )
    assert [(e.type, e.actor_label, e.data) for e in CaseEvent.objects.filter(case=case).order_by("pk")][
        1:
    ] == [
        (
            "resolved",
            "user:ann",
            {"outcome": "succeeded", "reason": "recheck_passed", "handling_seconds": 3600},
        )
    ]
    # the order still holds its mug: released and allocated again in the same transaction
    assert list(StockLevel.objects.values_list("on_hand", "allocated")) == [(10, 1)]


def test_a_correction_that_leaves_a_blocking_finding_keeps_the_case_open_with_new_findings(shop, agent):
    _import(shop, TbOrder("2002", [TbItem("MUG", 1)], address=NO_PROVINCE))
    order = _order("2002")
    case = ExceptionCase.objects.get(order=order)

    done = order_correct(
        order_id=order.pk, actor=agent, changes={"province": "江苏省"}, reason="买家来电", now=LATER
    )

    assert (done.changed, done.triage.closed, done.triage.updated) == (["province"], [], [case])
    case.refresh_from_db()
    assert (case.status, [f["code"] for f in case.findings]) == ("open", ["ADDRESS_CONFLICT"])
    assert (_order(order.platform_order_id).status, _codes(order)) == (
        "on_hold",
        ["ADDRESS_CONFLICT", "ADDRESS_POSTCODE_MISMATCH"],
    )
    assert _order_events(order)[1][2] == {
        "changed": ["province"],
        "reason": "买家来电",
        "status": "on_hold",
        "codes": ["ADDRESS_CONFLICT", "ADDRESS_POSTCODE_MISMATCH"],
    }


def test_the_event_names_the_changed_fields_never_their_values(shop, agent):
    _import(shop, TbOrder("2003", [TbItem("MUG", 1)]))
    order = _order("2003")

    done = order_correct(
        order_id=order.pk,
        actor=agent,
        changes={"recipient_name": "李四", "recipient_phone": "13900139000", "address_detail": "文三路91号"},
        now=LATER,
    )

    assert done.changed == ["recipient_name", "recipient_phone", "address_detail"]
    order.refresh_from_db()
    assert (order.recipient_name, order.recipient_phone, order.address_detail, order.status) == (
        "李四",
        "13900139000",
        "文三路91号",
        "ready",
    )
    event = OrderEvent.objects.filter(order=order).order_by("pk").last()
    assert event is not None
    assert (event.type, event.data["changed"]) == (
        "corrected",
        ["recipient_name", "recipient_phone", "address_detail"],
    )
    assert all(text not in str(event.data) for text in ("李四", "13900139000", "文三路91号"))


def test_values_equal_to_the_current_ones_change_nothing(shop, agent):
    _import(shop, TbOrder("2004", [TbItem("MUG", 1)], address=NO_PROVINCE))
    order = _order("2004")
    before = _snapshot(order)

    done = order_correct(
        order_id=order.pk,
        actor=agent,
        changes={"city": "杭州市", "district": " 西湖区 ", "recipient_name": "张三"},
        now=LATER,
    )

    assert done.changed == []
    assert _snapshot(order) == before


def test_a_field_that_is_not_recipient_data_is_refused_and_nothing_is_written(shop, agent):
    _import(shop, TbOrder("2005", [TbItem("MUG", 1)], address=NO_PROVINCE))
    order = _order("2005")
    before = _snapshot(order)

    with pytest.raises(CorrectionRefused) as refused:
        order_correct(
            order_id=order.pk,
            actor=agent,
            changes={"province": "浙江省", "seller_note": "x", "buyer_note": "y"},
            now=LATER,
        )

    assert (refused.value.code, refused.value.fields) == (
        "FIELD_NOT_CORRECTABLE",
        ["buyer_note", "seller_note"],
    )
    assert _snapshot(order) == before


def test_a_value_too_long_is_refused_and_nothing_is_written(shop, agent):
    _import(shop, TbOrder("2006", [TbItem("MUG", 1)], address=NO_PROVINCE))
    order = _order("2006")
    before = _snapshot(order)

    with pytest.raises(CorrectionRefused) as refused:
        order_correct(order_id=order.pk, actor=agent, changes={"province": "浙" * 51}, now=LATER)

    assert (refused.value.code, refused.value.fields) == ("VALUE_INVALID", ["province"])
    assert _snapshot(order) == before


@pytest.mark.parametrize("status", ["cancelled", "shipped"])
def test_a_cancelled_or_shipped_order_is_refused_and_nothing_is_written(shop, agent, status):
    _import(shop, TbOrder("2009", [TbItem("MUG", 1)], address=NO_PROVINCE))
    Order.objects.filter(platform_order_id="2009").update(status=status)
    order = _order("2009")
    before = _snapshot(order)

    with pytest.raises(CorrectionRefused) as refused:
        order_correct(order_id=order.pk, actor=agent, changes={"province": "浙江省"}, now=LATER)

    # correcting it would put it back in the flow (a cancelled order on hold again)
    assert (refused.value.code, refused.value.data["status"]) == ("ORDER_CLOSED", status)
    assert _snapshot(order) == before


def test_a_merchant_user_may_not_correct_its_own_order_and_nothing_is_written(shop):
    _import(shop, TbOrder("2007", [TbItem("MUG", 1)], address=NO_PROVINCE))
    order = _order("2007")
    before = _snapshot(order)
    merchant_user = actor_for(user_with_role("merchant", merchant=shop.merchant))

    with pytest.raises(CorrectionRefused) as refused:
        order_correct(order_id=order.pk, actor=merchant_user, changes={"province": "浙江省"}, now=LATER)

    assert refused.value.code == "ROLE"
    assert _snapshot(order) == before


def test_another_merchants_order_is_not_found_like_a_missing_one(shop):
    _import(shop, TbOrder("2008", [TbItem("MUG", 1)], address=NO_PROVINCE))
    order = _order("2008")
    before = _snapshot(order)
    stranger = actor_for(user_with_role("merchant", merchant=ChannelFactory().merchant))

    for order_id in (order.pk, order.pk + 1000):
        with pytest.raises(NotFound):
            order_correct(order_id=order_id, actor=stranger, changes={"province": "浙江省"}, now=LATER)

    assert _snapshot(order) == before


def test_the_queries_of_a_correction_do_not_grow_with_the_lines_or_the_findings(shop, agent):
    cups = [SkuIn(code=f"CUP-{n}", name=f"杯{n}") for n in range(5)]
    skus_upsert(merchant_id=shop.merchant_id, skus=cups)
    ids = dict(shop.merchant.skus.values_list("code", "pk"))
    stock_levels_set(
        merchant_id=shop.merchant_id,
        lines=[StockIn(warehouse_id=shop.warehouse_id, sku_id=ids[c.code], on_hand=10) for c in cups],
        now=NOW,
        actor_label="test",
    )
    _import(
        shop,
        TbOrder("2010", [TbItem("MUG", 1)], address=NO_PROVINCE),
        TbOrder("2011", [TbItem(c.code, 1) for c in cups], address=NO_PROVINCE, phone="1380013800", name="x"),
    )
    small, large = _order("2010"), _order("2011")
    counts = []
    for order in (small, large):
        with CaptureQueriesContext(connection) as queries:
            order_correct(order_id=order.pk, actor=agent, changes={"province": "浙江省"}, now=LATER)
        counts.append(len(queries))

    assert (_codes(small), len(_codes(large)) > 1) == ([], True)
    # the policies and calendars, the merchant's allocation policy, and the orders waiting for
    # the stock given back (none)
    assert counts == [32, 32]


def _mug_short_after(shop, *, waiting: bool) -> tuple[Order, Order | None]:  # type: ignore[no-untyped-def]
    """One mug in stock, held by order 2020 (its address without province, its case open), then
    (when `waiting`) order 2021 paid later and short of it (its stock-out case open); then the
    mug is made inactive, so that the correction of 2020 no longer allocates it."""
    mug = shop.merchant.skus.get(code="MUG")
    stock_levels_set(
        merchant_id=shop.merchant_id,
        lines=[StockIn(warehouse_id=shop.warehouse_id, sku_id=mug.pk, on_hand=1)],
        now=NOW,
        actor_label="test",
    )
    orders = [TbOrder("2020", [TbItem("MUG", 1)], address=NO_PROVINCE)]
    if waiting:
        orders.append(TbOrder("2021", [TbItem("MUG", 1)], paid="2026-11-25 09:30:00"))
    _import(shop, *orders)
    skus_upsert(merchant_id=shop.merchant_id, skus=[SkuIn(code="MUG", name="马克杯", active=False)])
    return _order("2020"), (_order("2021") if waiting else None)


def test_stock_a_corrected_order_gives_back_serves_the_order_waiting_for_it(shop, agent):
    holder, waiting = _mug_short_after(shop, waiting=True)
    assert waiting is not None
    t1 = ExceptionCase.objects.get(order=waiting)
    assert (waiting.status, _codes(waiting), t1.type, t1.status) == ("on_hold", ["STOCK_SHORT"], "T1", "open")
    assert list(StockLevel.objects.values_list("on_hand", "allocated")) == [(1, 1)]
    logged = CaseEvent.objects.filter(case=t1).count()

    order_correct(order_id=holder.pk, actor=agent, changes={"province": "浙江省"}, now=LATER)

    # the corrected order's mug is now inactive: it holds nothing, and the mug serves 2021
    assert (_order("2020").status, _codes(holder)) == ("on_hold", ["SKU_INACTIVE"])
    assert list(OrderLine.objects.filter(order=holder).values_list("sku_id", "allocated_quantity")) == [
        (None, 0)
    ]
    assert list(OrderLine.objects.filter(order=waiting).values_list("allocated_quantity", flat=True)) == [1]
    assert list(StockLevel.objects.values_list("on_hand", "allocated")) == [(1, 1)]
    assert (_order("2021").status, _codes(waiting)) == ("ready", [])
    t1.refresh_from_db()
    assert (t1.status, t1.outcome, t1.resolution, t1.closed_at) == (
        "resolved",
        "succeeded",
        "stock_arrived",
        LATER,
    )
    assert [(e.type, e.actor_label, e.data) for e in CaseEvent.objects.filter(case=t1).order_by("pk")][
        logged:
    ] == [
        (
            "resolved",
            "user:ann",
            {"outcome": "succeeded", "reason": "stock_arrived", "handling_seconds": 3600},
        )
    ]
    assert _order_events(waiting)[1:] == [
        ("allocated", "user:ann", {"reason": "stock_arrived", "units": 1, "status": "ready"})
    ]
    assert list(
        StockMovement.objects.filter(order_id__in=[holder.pk, waiting.pk])
        .order_by("pk")
        .values_list("order_id", "type", "quantity")
    ) == [(holder.pk, "allocation", 1), (holder.pk, "release", -1), (waiting.pk, "allocation", 1)]


def test_stock_a_corrected_order_gives_back_with_nobody_waiting_stays_available(shop, agent):
    holder, _none = _mug_short_after(shop, waiting=False)
    order_correct(order_id=holder.pk, actor=agent, changes={"province": "浙江省"}, now=LATER)

    assert list(StockLevel.objects.values_list("on_hand", "allocated")) == [(1, 0)]
    assert list(
        StockMovement.objects.filter(order_id=holder.pk).order_by("pk").values_list("type", "quantity")
    ) == [("allocation", 1), ("release", -1)]
    assert [e[0] for e in _order_events(holder)] == ["imported", "corrected"]
    assert Order.objects.count() == 1
    # the address case resolved, the product case opened: nothing else
    assert list(ExceptionCase.objects.order_by("pk").values_list("type", "status")) == [
        ("T2", "resolved"),
        ("T3", "open"),
    ]
