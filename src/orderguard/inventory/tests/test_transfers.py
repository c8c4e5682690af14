"""Transfers in transit (H1.2, B4): a transfer decision ships the stock at once, the orders wait
for it, and receiving it serves them in payment order; bad input is refused with nothing
changed; a transfer in transit is inbound stock with its ETA on the stock alert (D1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from orderguard.cases.models import ExceptionCase
from orderguard.inventory.decisions import StockDecisionRefused, stock_decision_apply
from orderguard.inventory.models import StockAlert, StockLevel, Transfer
from orderguard.inventory.selectors import stock_figures, stock_ledger_mismatches
from orderguard.inventory.tests.test_decisions import (
    LATER,
    _level,
    _merchant_actor,
    _operator,
    _pk,
    _setup,
    _snapshot,
    _state,
)
from orderguard.inventory.transfers import TransferRefused, transfer_cancel, transfer_receive
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Role
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
ARRIVAL = LATER + timedelta(hours=30)


def _decide(channel, **kwargs) -> Transfer:  # type: ignore[no-untyped-def]
    stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="transfer",
        from_warehouse_code="far",
        now=LATER,
        **kwargs,
    )
    return Transfer.objects.get()


def test_a_transfer_in_transit_is_inbound_stock_with_its_eta_on_the_alert(channel):
    _setup(channel, far_a=10)
    level = StockLevel.objects.get(sku__code="A", warehouse=channel.warehouse)
    StockLevel.objects.filter(pk=level.pk).update(safety_stock=2)
    level.refresh_from_db()
    from orderguard.inventory.services import stock_alerts_refresh

    [alert] = stock_alerts_refresh(levels=[level], now=LATER)
    assert (alert.inbound_quantity, alert.inbound_eta) == (0, None)

    _decide(channel, expected_at=ARRIVAL)

    figures = stock_figures(levels=[level], now=LATER)[level.pk]
    assert (figures.inbound_quantity, figures.inbound_eta, figures.open_demand) == (5, ARRIVAL, 5)
    alert = StockAlert.objects.get(stock=level, status="open")
    assert (alert.inbound_quantity, alert.inbound_eta) == (5, ARRIVAL)
    # the source's row: nothing in transit to it
    far = StockLevel.objects.get(sku__code="A", warehouse__code="far")
    assert stock_figures(levels=[far], now=LATER)[far.pk].inbound_quantity == 0

    transfer_receive(actor=_operator(), transfer_id=Transfer.objects.get().pk, now=LATER + timedelta(hours=1))

    figures = stock_figures(levels=[level], now=LATER)[level.pk]
    assert (figures.inbound_quantity, figures.inbound_eta, figures.open_demand) == (0, None, 0)


def test_receiving_twice_is_refused_and_nothing_changes(channel):
    _setup(channel, far_a=10)
    transfer = _decide(channel)
    transfer_receive(actor=_operator(), transfer_id=transfer.pk, now=LATER + timedelta(hours=1))
    before = _snapshot()

    with pytest.raises(TransferRefused) as refused:
        transfer_receive(actor=_operator(), transfer_id=transfer.pk, now=LATER + timedelta(hours=2))

    assert refused.value.code == "ALREADY_RECEIVED"
    assert refused.value.data == {"id": transfer.pk, "arrived_at": LATER + timedelta(hours=1)}
    assert _snapshot() == before
    assert _level(channel, "A") == (5, 5)


def test_a_cancelled_transfer_goes_back_to_the_source_and_cannot_be_received(channel):
    _setup(channel, far_a=10)
    transfer = _decide(channel)
    far = StockLevel.objects.get(sku__code="A", warehouse__code="far").warehouse_id

    cancelled = transfer_cancel(actor=_operator(), transfer_id=transfer.pk, now=LATER + timedelta(hours=1))

    assert cancelled.still_short == sorted(_pk(p) for p in "123")
    assert _level(channel, "A", far) == (10, 0)
    assert [_state(p) for p in "123"] == [("on_hold", ["open"])] * 3
    # the merchant decides again
    assert set(ExceptionCase.objects.values_list("step", flat=True)) == {"merchant_decision"}
    case = ExceptionCase.objects.get(order__platform_order_id="1")
    assert [e.data["movement"] for e in case.events.filter(type="stock_moved").order_by("pk")] == [
        "transfer_out",
        "transfer_cancelled",
    ]
    before = _snapshot()

    with pytest.raises(TransferRefused) as refused:
        transfer_receive(actor=_operator(), transfer_id=transfer.pk, now=LATER + timedelta(hours=2))

    assert refused.value.code == "TRANSFER_CANCELLED"
    assert _snapshot() == before
    assert stock_ledger_mismatches() == []


@pytest.mark.parametrize(
    ("role", "own", "code"),
    [
        (Role.MERCHANT, True, "ROLE"),
        (Role.MERCHANT, False, "TRANSFER_UNKNOWN"),
        (Role.SERVICE_AGENT, None, "ROLE"),
        (Role.TECH_ONCALL, None, "ROLE"),
    ],
)
def test_only_warehouse_stock_staff_receive_and_nothing_changes_otherwise(channel, role, own, code):
    _setup(channel, far_a=10)
    transfer = _decide(channel)
    merchant_id = None
    if own is True:
        merchant_id = channel.merchant_id
    elif own is False:
        merchant_id = ChannelFactory().merchant_id
    actor = Actor(user_id=None, role=role, merchant_id=merchant_id, label="user:x")  # type: ignore[arg-type]
    before = _snapshot()

    for action in (transfer_receive, transfer_cancel):
        with pytest.raises(TransferRefused) as refused:
            action(actor=actor, transfer_id=transfer.pk, now=LATER + timedelta(hours=1))
        assert refused.value.code == code

    assert _snapshot() == before
    assert Transfer.objects.get().status == "in_transit"


def test_stock_the_decisions_orders_do_not_take_serves_the_others_waiting(channel):
    _setup(channel, far_a=10)
    # order 1 is left out of the decision; the transfer of 4 serves 2 and 3, then 1 gets none
    # (it needs 2, 1 is left) and stays waiting for its own decision
    transfer = _decide(channel, quantity=4, exclude_order_ids=[_pk("1")])

    received = transfer_receive(actor=_operator(), transfer_id=transfer.pk, now=LATER + timedelta(hours=1))

    assert received.served == sorted([_pk("2"), _pk("3")])
    assert [_state(p) for p in "123"] == [
        ("on_hold", ["open"]),
        ("ready", ["resolved"]),
        ("ready", ["resolved"]),
    ]
    assert _level(channel, "A") == (4, 3)
    resolved = dict(
        ExceptionCase.objects.filter(status="resolved").values_list("order__platform_order_id", "resolution")
    )
    assert resolved == {"2": "transfer_arrived", "3": "transfer_arrived"}


# --- API -----------------------------------------------------------------------------------------


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("operator", 200, None),
        ("manager", 200, None),
        ("admin", 200, None),
        ("cs_agent", 403, "ROLE"),
        ("tech_oncall", 403, "ROLE"),
        ("merchant", 403, "ROLE"),
        ("other_merchant", 404, "TRANSFER_UNKNOWN"),
    ],
)
def test_each_role_receives_a_transfer_by_api_or_is_refused(channel, role, status, code):
    _setup(channel, far_a=10)
    transfer = _decide(channel)
    if role == "merchant":
        user = user_with_role("merchant", merchant=channel.merchant)
    elif role == "other_merchant":
        user = user_with_role("merchant", merchant=ChannelFactory().merchant)
    else:
        user = user_with_role(role)
    before = _snapshot()

    response = _client(user).post(f"/api/v1/stock/transfers/{transfer.pk}/receive")

    body = response.json()
    assert response.status_code == status, body
    if status == 200:
        orders = sorted(_pk(p) for p in "123")
        assert body["transfer"]["status"] == "arrived"
        assert (body["served_orders"], body["still_short"]) == (orders, [])
        assert sorted(body["closed_cases"]) == sorted(ExceptionCase.objects.values_list("pk", flat=True))
        assert set(ExceptionCase.objects.values_list("resolution", flat=True)) == {"transfer_arrived"}
        again = _client(user).post(f"/api/v1/stock/transfers/{transfer.pk}/receive")
        assert (again.status_code, again.json()["error"]["code"]) == (409, "ALREADY_RECEIVED")
    else:
        assert (body["error"]["code"], body["error"]["field"]) == (code, "transfer_id")
        assert _snapshot() == before


def test_the_transfer_list_shows_a_merchant_its_own(channel):
    _setup(channel, far_a=10)
    transfer = _decide(channel, expected_at=ARRIVAL)
    mine = _client(user_with_role("merchant", merchant=channel.merchant))
    theirs = _client(user_with_role("merchant", merchant=ChannelFactory().merchant))

    body = mine.get("/api/v1/stock/transfers?status=in_transit").json()

    assert body["total"] == 1
    item = body["items"][0]
    assert (item["id"], item["sku"], item["from_warehouse"], item["to_warehouse"], item["quantity"]) == (
        transfer.pk,
        "A",
        "far",
        channel.warehouse.code,
        5,
    )
    assert (item["status"], item["expected_at"], item["arrived_at"]) == (
        "in_transit",
        ARRIVAL.isoformat().replace("+00:00", "Z"),
        None,
    )
    assert mine.get("/api/v1/stock/transfers?status=arrived").json()["total"] == 0
    assert theirs.get("/api/v1/stock/transfers").json() == {"total": 0, "items": []}


# --- bundles (D1, B4) --------------------------------------------------------------------------


def _setup_bundle(channel):  # type: ignore[no-untyped-def]
    """Order 1 wants A x2, order 4 a gift box (2 x A + 1 x B) x1, paid later: both short of A
    at the channel's warehouse (none there), "far" holds 10 of A."""
    from orderguard.catalog.models import Sku
    from orderguard.catalog.tests.factories import BundleItemFactory
    from orderguard.intake.services import orders_import
    from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
    from orderguard.inventory.tests.test_decisions import NOW

    _setup(channel, far_a=10)
    box = Sku.objects.create(merchant=channel.merchant, code="BOX", is_bundle=True)
    ids = dict(channel.merchant.skus.values_list("code", "pk"))
    BundleItemFactory(bundle=box, component_id=ids["A"], quantity=2)
    BundleItemFactory(bundle=box, component_id=ids["B"], quantity=1)
    orders_import(
        files=taobao_export([TbOrder("4", [TbItem("BOX", 1)], paid="2026-11-25 09:40:00")]),
        channel=channel,
        now=NOW,
    )
    assert _state("4") == ("on_hold", ["open"])


def test_open_demand_counts_the_units_orders_need_through_a_bundle(channel):
    _setup_bundle(channel)
    level = StockLevel.objects.get(sku__code="A", warehouse=channel.warehouse)
    b = StockLevel.objects.get(sku__code="B", warehouse=channel.warehouse)

    figures = stock_figures(levels=[level, b], now=LATER)

    # orders 1 (2), 2 (1), 3 (2) and the box of order 4 (2 x A, 1 x B)
    assert (figures[level.pk].open_demand, figures[b.pk].open_demand) == (2 + 1 + 2 + 2, 1 + 1)


def test_a_decision_counts_the_orders_short_through_a_bundle(channel):
    from orderguard.inventory.decisions import short_skus

    _setup_bundle(channel)
    staff = Actor(user_id=None, role=Role.MANAGER, merchant_id=None, label="user:boss")  # type: ignore[arg-type]
    [short] = [s for s in short_skus(actor=staff, now=LATER) if s.sku_code == "A"]
    assert short.order_ids == sorted(_pk(p) for p in "1234")

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="transfer",
        from_warehouse_code="far",
        now=LATER,
    )

    assert result.order_ids == sorted(_pk(p) for p in "1234")
    # what they lack: 2 + 1 + 2 for the plain lines, 2 for the box
    assert result.decision.quantity == 7
    received = transfer_receive(actor=_operator(), transfer_id=Transfer.objects.get().pk, now=LATER)
    assert received.served == sorted(_pk(p) for p in "1234")
    assert _state("4") == ("ready", ["resolved"])
    assert _level(channel, "A") == (7, 7)
    assert stock_ledger_mismatches() == []


def test_a_decision_locks_the_cases_before_it_reads_the_affected_orders(channel):
    """A re-check serving an order between the read of the affected orders and the decision
    would be decided on twice: the cases are locked (FOR UPDATE on PostgreSQL) first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _setup(channel, far_a=10)
    with CaptureQueriesContext(connection) as queries:
        stock_decision_apply(
            actor=_merchant_actor(channel),
            merchant_id=channel.merchant_id,
            sku_code="A",
            kind="wait",
            restock_at=LATER + timedelta(days=1),
            now=LATER,
        )
    sqls = [q["sql"] for q in queries.captured_queries]
    lock = next(i for i, q in enumerate(sqls) if q.startswith('SELECT "cases_exceptioncase"'))
    read = next(
        i for i, q in enumerate(sqls) if q.startswith('SELECT DISTINCT "orders_orderline"."order_id"')
    )
    assert lock < read
    if connection.vendor == "postgresql":
        assert sqls[lock].endswith('FOR UPDATE OF "cases_exceptioncase"')


@pytest.mark.parametrize("action", [transfer_receive, transfer_cancel])
def test_receiving_or_cancelling_locks_the_stock_row_before_the_cases(channel, action):
    """A receipt at the same row locks the row, then (its re-check) the cases of the orders it
    serves: a transfer ending beside it must take them in that order too, or each would wait
    for the other (a deadlock on PostgreSQL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _setup(channel, far_a=10)
    transfer = _decide(channel)
    with CaptureQueriesContext(connection) as queries:
        action(actor=_operator(), transfer_id=transfer.pk, now=LATER + timedelta(hours=1))
    sqls = [q["sql"] for q in queries.captured_queries]
    row = next(i for i, q in enumerate(sqls) if q.startswith('SELECT "inventory_stocklevel"'))
    cases = next(i for i, q in enumerate(sqls) if q.startswith('SELECT "cases_exceptioncase"'))
    assert row < cases
    if connection.vendor == "postgresql":
        assert sqls[row].endswith("FOR UPDATE")
        assert sqls[cases].endswith('FOR UPDATE OF "cases_exceptioncase"')


# --- a second decision while a transfer is on its way ------------------------------------------


def _order_short_since(channel) -> int:  # type: ignore[no-untyped-def]
    """Order 4 (A x3), paid after the first transfer was decided, short of A."""
    from orderguard.intake.services import orders_import
    from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export

    orders_import(
        files=taobao_export([TbOrder("4", [TbItem("A", 3)], paid="2026-11-25 10:30:00")]),
        channel=channel,
        now=LATER,
    )
    assert _state("4") == ("on_hold", ["open"])
    return _pk("4")


def _waiting_cases() -> list[tuple[str, str, str, object]]:
    return list(
        ExceptionCase.objects.filter(type="T1")
        .order_by("order__platform_order_id")
        .values_list("order__platform_order_id", "status", "step", "due_at")
    )


def test_a_second_transfer_decision_leaves_out_the_orders_waiting_for_the_first(channel):
    from orderguard.cases.models import CaseEvent
    from orderguard.inventory.decisions import short_orders, short_skus

    _setup(channel, far_a=10)
    first = _decide(channel, expected_at=ARRIVAL)
    assert (first.quantity, first.decision.order_ids) == (5, sorted(_pk(p) for p in "123"))
    fourth = _order_short_since(channel)
    waiting = [(p, "open", "in_transit", ARRIVAL) for p in "123"]
    assert _waiting_cases()[:3] == waiting
    first_events = list(
        CaseEvent.objects.filter(case__order__platform_order_id__in="123").order_by("pk").values_list("pk")
    )
    staff = Actor(user_id=None, role=Role.MANAGER, merchant_id=None, label="user:boss")  # type: ignore[arg-type]

    # the page and the selector: A waits for a decision for order 4 only
    assert [(s.sku_code, s.order_ids) for s in short_skus(actor=staff, now=LATER)] == [("A", [fourth])]
    sku_a = StockLevel.objects.get(sku__code="A", warehouse=channel.warehouse).sku_id
    assert short_orders(merchant_id=channel.merchant_id, sku_id=sku_a) == {fourth: channel.warehouse_id}

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="transfer",
        from_warehouse_code="far",
        now=LATER + timedelta(minutes=5),
        expected_at=ARRIVAL + timedelta(hours=2),
    )

    # order 4 alone, and the 3 units it lacks (not 2 + 1 + 2 again)
    assert (result.order_ids, result.cases, result.decision.order_ids) == (
        [fourth],
        [ExceptionCase.objects.get(order_id=fourth).pk],
        [fourth],
    )
    assert (result.decision.quantity, result.transfer.quantity if result.transfer else None) == (3, 3)
    far = StockLevel.objects.get(sku__code="A", warehouse__code="far").warehouse_id
    assert _level(channel, "A", far) == (2, 0)
    # the first transfer's orders still wait for it, their timelines untouched
    assert _waiting_cases() == [*waiting, ("4", "open", "in_transit", ARRIVAL + timedelta(hours=2))]
    assert (
        list(
            CaseEvent.objects.filter(case__order__platform_order_id__in="123")
            .order_by("pk")
            .values_list("pk")
        )
        == first_events
    )
    assert short_skus(actor=staff, now=LATER) == []

    # each transfer serves its own orders
    assert transfer_receive(actor=_operator(), transfer_id=first.pk, now=ARRIVAL).served == sorted(
        _pk(p) for p in "123"
    )
    assert _state("4") == ("on_hold", ["open"])
    assert transfer_receive(actor=_operator(), transfer_id=result.transfer.pk, now=ARRIVAL).served == [fourth]
    assert _level(channel, "A") == (8, 8)
    assert stock_ledger_mismatches() == []


def test_an_order_waiting_for_a_transfer_named_in_a_second_decision_is_refused(channel):
    _setup(channel, far_a=10)
    _decide(channel)
    _order_short_since(channel)
    before = _snapshot()

    with pytest.raises(StockDecisionRefused) as refused:
        stock_decision_apply(
            actor=_merchant_actor(channel),
            merchant_id=channel.merchant_id,
            sku_code="A",
            kind="transfer",
            from_warehouse_code="far",
            now=LATER,
            order_ids=[_pk("1")],
        )

    assert (refused.value.code, refused.value.data) == ("ORDER_NOT_AFFECTED", {"order_id": _pk("1")})
    assert _snapshot() == before


def test_once_the_transfer_is_cancelled_its_orders_are_affected_again(channel):
    _setup(channel, far_a=10)
    transfer = _decide(channel)
    with pytest.raises(StockDecisionRefused) as refused:
        _decide(channel)
    assert refused.value.code == "NO_AFFECTED_ORDERS"
    transfer_cancel(actor=_operator(), transfer_id=transfer.pk, now=LATER + timedelta(hours=1))

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="transfer",
        from_warehouse_code="far",
        now=LATER + timedelta(hours=2),
    )

    assert (result.order_ids, result.decision.quantity) == (sorted(_pk(p) for p in "123"), 5)


def test_orders_waiting_for_a_restock_date_stay_affected_by_a_later_decision(channel):
    _setup(channel, far_a=10)
    stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="wait",
        restock_at=LATER + timedelta(days=3),
        now=LATER,
    )
    assert {step for _p, _s, step, _d in _waiting_cases()} == {"restock"}

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="transfer",
        from_warehouse_code="far",
        now=LATER + timedelta(hours=1),
    )

    # nothing is on its way for them: the transfer covers them, all they lack
    assert (result.order_ids, result.decision.quantity) == (sorted(_pk(p) for p in "123"), 5)
