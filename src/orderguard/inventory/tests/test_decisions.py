"""The merchant's decision per short SKU (H1.2, B4, H1.3): transfer, substitute, partial, wait,
cancel, applied to every order with an open stock-out case of the SKU but those excluded; bad
input refused with nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.services import SkuIn, skus_upsert
from orderguard.catalog.tests.factories import WarehouseFactory
from orderguard.intake.services import orders_import
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.inventory.decisions import StockDecisionRefused, stock_decision_apply
from orderguard.inventory.models import StockDecision, StockLevel, StockMovement, Transfer
from orderguard.inventory.selectors import stock_ledger_mismatches
from orderguard.inventory.services import MoveIn, StockIn, stock_levels_set, stock_moves_apply
from orderguard.inventory.transfers import transfer_receive
from orderguard.orders.models import Order, OrderLine
from orderguard.tenancy.access import Actor
from orderguard.tenancy.models import Merchant, Role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def _merchant_actor(channel) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(user_id=None, role=Role.MERCHANT, merchant_id=channel.merchant_id, label="user:shop")  # type: ignore[arg-type]


def _operator() -> Actor:
    return Actor(user_id=None, role=Role.OPERATOR, merchant_id=None, label="user:op")


def _setup(channel, *, on_hand_a: int = 0, far_a: int = 0):  # type: ignore[no-untyped-def]
    """Orders 1 (A x2), 2 (A x1 + B x1), 3 (A x2) paid in that order, A short at the channel's
    warehouse; warehouse "far" holds `far_a` of A."""
    skus_upsert(merchant_id=channel.merchant_id, skus=[SkuIn(code="A"), SkuIn(code="B"), SkuIn(code="C")])
    ids = dict(channel.merchant.skus.values_list("code", "pk"))
    far = WarehouseFactory(code="far")
    stock_levels_set(
        merchant_id=channel.merchant_id,
        lines=[
            StockIn(warehouse_id=channel.warehouse_id, sku_id=ids["A"], on_hand=on_hand_a),
            StockIn(warehouse_id=channel.warehouse_id, sku_id=ids["B"], on_hand=5),
            StockIn(warehouse_id=channel.warehouse_id, sku_id=ids["C"], on_hand=3),
            StockIn(warehouse_id=far.pk, sku_id=ids["A"], on_hand=far_a),
        ],
        now=NOW,
        actor_label="test",
    )
    orders_import(
        files=taobao_export(
            [
                TbOrder("1", [TbItem("A", 2)], paid="2026-11-25 09:10:00"),
                TbOrder("2", [TbItem("A", 1), TbItem("B", 1)], paid="2026-11-25 09:20:00"),
                TbOrder("3", [TbItem("A", 2)], paid="2026-11-25 09:30:00"),
            ]
        ),
        channel=channel,
        now=NOW,
    )
    return far


def _pk(pid: str) -> int:
    return Order.objects.get(platform_order_id=pid).pk


def _state(pid: str) -> tuple[str, list[str]]:
    order = Order.objects.get(platform_order_id=pid)
    return order.status, list(
        ExceptionCase.objects.filter(order=order, type="T1").values_list("status", flat=True)
    )


def _level(channel, code: str, warehouse_id: int | None = None) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    lv = StockLevel.objects.get(sku__code=code, warehouse_id=warehouse_id or channel.warehouse_id)
    return lv.on_hand, lv.allocated


def _snapshot():  # type: ignore[no-untyped-def]
    return (
        list(Order.objects.order_by("pk").values_list("pk", "status", "findings")),
        list(OrderLine.objects.order_by("pk").values_list("pk", "sku_code", "allocated_quantity")),
        list(ExceptionCase.objects.order_by("pk").values_list("pk", "status", "step", "due_at")),
        CaseEvent.objects.count(),
        StockMovement.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "allocated")),
        StockDecision.objects.count(),
        list(Transfer.objects.order_by("pk").values_list("pk", "status", "arrived_at", "cancelled_at")),
    )


def test_transfer_ships_at_once_and_serves_the_orders_in_payment_order_when_received(channel):
    _setup(channel, far_a=10)
    assert [_state(p) for p in "123"] == [("on_hold", ["open"])] * 3

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="transfer",
        from_warehouse_code="far",
        now=LATER,
        note="从远仓调货",
    )

    # default quantity: what the three orders lack (2 + 1 + 2); it left the source at once
    assert result.decision.quantity == 5
    transfer = Transfer.objects.get()
    assert (
        transfer.status,
        transfer.quantity,
        transfer.from_warehouse.code,
        transfer.to_warehouse_id,
        transfer.decision_id,
        transfer.created_by_label,
        transfer.shipped_at,
        transfer.expected_at,
        transfer.arrived_at,
    ) == (
        "in_transit",
        5,
        "far",
        channel.warehouse_id,
        result.decision.pk,
        "user:shop",
        LATER,
        LATER + timedelta(hours=24),
        None,
    )
    assert result.decision.effect["transfer"] == transfer.pk
    assert _level(
        channel, "A", StockLevel.objects.get(sku__code="A", warehouse__code="far").warehouse_id
    ) == (5, 0)
    assert _level(channel, "A") == (0, 0)
    # the orders wait for the transfer: still held, their cases due at its expected arrival
    assert [_state(p) for p in "123"] == [("on_hold", ["open"])] * 3
    assert result.served == [] and result.still_short == sorted(_pk(p) for p in "123")
    assert [
        (c.step, c.due_at, c.sla_next_at)
        for c in ExceptionCase.objects.filter(type="T1").order_by("order__platform_order_id")
    ] == [("in_transit", LATER + timedelta(hours=24), LATER + timedelta(hours=24))] * 3
    case = ExceptionCase.objects.get(order__platform_order_id="1")
    assert [(e.type, e.data.get("step") or e.data.get("movement")) for e in case.events.order_by("pk")][
        -3:
    ] == [
        ("decided", "decided"),
        ("stock_moved", "transfer_out"),
        ("step_started", "in_transit"),
    ]
    assert case.events.get(type="stock_moved").data == {
        "movement": "transfer_out",
        "transfer": transfer.pk,
        "decision": result.decision.pk,
        "sku": "A",
        "quantity": 5,
        "from": "far",
        "to": channel.warehouse.code,
        "expected_at": (LATER + timedelta(hours=24)).isoformat(),
    }

    received = transfer_receive(actor=_operator(), transfer_id=transfer.pk, now=LATER + timedelta(hours=2))

    assert [_state(p) for p in "123"] == [("ready", ["resolved"])] * 3
    assert received.served == sorted(_pk(p) for p in "123") and received.still_short == []
    transfer.refresh_from_db()
    assert (transfer.status, transfer.arrived_at, transfer.closed_by_label) == (
        "arrived",
        LATER + timedelta(hours=2),
        "user:op",
    )
    assert _level(channel, "A") == (5, 5)
    moves = StockMovement.objects.filter(type__in=["transfer_out", "transfer_in"]).order_by("pk")
    assert [(m.type, m.quantity, m.reason) for m in moves] == [
        ("transfer_out", -5, f"decision:{result.decision.pk}"),
        ("transfer_in", 5, f"transfer:{transfer.pk}"),
    ]
    # allocated in payment order: order 1 first
    allocations = StockMovement.objects.filter(type="allocation", sku__code="A").order_by("pk")
    assert [m.order.platform_order_id for m in allocations] == ["1", "2", "3"]
    assert [e.data["movement"] for e in case.events.filter(type="stock_moved").order_by("pk")] == [
        "transfer_out",
        "transfer_in",
    ]
    assert case.events.filter(type="resolved").get().data["reason"] == "transfer_arrived"
    assert stock_ledger_mismatches() == []


def test_transfer_of_less_serves_the_earliest_paid_and_excluded_orders_stay(channel):
    _setup(channel, far_a=10)

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="transfer",
        from_warehouse_code="far",
        quantity="2",
        exclude_order_ids=[_pk("1")],
        now=LATER,
    )
    received = transfer_receive(actor=_operator(), transfer_id=Transfer.objects.get().pk, now=LATER)

    # order 1 is excluded: order 2 (paid next) takes 1, order 3 cannot be served whole
    assert result.order_ids == sorted([_pk("2"), _pk("3")])
    assert _state("1") == ("on_hold", ["open"])
    assert _state("2") == ("ready", ["resolved"])
    assert _state("3") == ("on_hold", ["open"])
    assert received.served == [_pk("2")] and received.still_short == [_pk("3")]
    assert _level(channel, "A") == (2, 1)
    # the merchant answered: the next decision for order 3 is due afresh from now, not escalated
    from orderguard.sla.services import PolicyBook

    fresh = PolicyBook().deadline(
        case_type="T1", step="merchant_decision", start=LATER, warehouse_id=channel.warehouse_id
    )
    still = ExceptionCase.objects.get(order__platform_order_id="3", status="open")
    assert (still.step, still.sla_level, still.due_at, still.sla_next_at) == (
        "merchant_decision",
        0,
        fresh.due_at,
        fresh.warn_at,
    )
    assert fresh.due_at > LATER
    assert not CaseEvent.objects.filter(case__order__platform_order_id="1", type="decided").exists()
    assert StockDecision.objects.get().excluded_order_ids == [_pk("1")]


def test_substitute_changes_the_lines_and_allocates_the_substitute(channel):
    _setup(channel)

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="substitute",
        substitute_sku_code="C",
        buyer_consent=True,
        consent_note="买家旺旺同意",
        order_ids=[_pk("1"), _pk("2")],
        now=LATER,
    )

    assert list(
        OrderLine.objects.filter(order__platform_order_id="1").values_list("sku_code", "allocated_quantity")
    ) == [("C", 2)]
    assert sorted(
        OrderLine.objects.filter(order__platform_order_id="2").values_list("sku_code", "allocated_quantity")
    ) == [("B", 1), ("C", 1)]
    assert [_state(p) for p in "123"] == [
        ("ready", ["resolved"]),
        ("ready", ["resolved"]),
        ("on_hold", ["open"]),
    ]
    assert _level(channel, "C") == (3, 3)
    assert _level(channel, "B") == (5, 1)
    assert result.decision.buyer_consent is True and result.decision.consent_note == "买家旺旺同意"
    assert result.served == sorted([_pk("1"), _pk("2")])
    assert stock_ledger_mismatches() == []


def test_partial_ships_what_arrives_and_back_orders_the_rest(channel):
    _setup(channel)

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="partial",
        order_ids=[_pk("1")],
        now=LATER,
    )

    # nothing of A to ship yet: the order stays held, its case open
    assert result.served == [] and result.still_short == [_pk("1")]
    assert _state("1") == ("on_hold", ["open"])
    assert Order.objects.get(platform_order_id="1").extra["short_policy"] == "partial"

    # one unit arrives: order 1 (paid first) ships it and back-orders the other, its case closes
    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "A", 1)],
        now=LATER + timedelta(hours=1),
        actor_label="user:op",
    )
    order = Order.objects.get(platform_order_id="1")
    assert order.status == "ready"
    assert [f["code"] for f in order.findings] == ["STOCK_BACKORDER"]
    assert order.lines.get().allocated_quantity == 1
    assert _state("1") == ("ready", ["resolved"])
    assert _state("2") == ("on_hold", ["open"])
    assert _level(channel, "A") == (1, 1)

    # the next unit tops it up, and it is not held again meanwhile
    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "A", 1)],
        now=LATER + timedelta(hours=2),
        actor_label="user:op",
    )
    order.refresh_from_db()
    assert order.status == "ready" and order.findings == [] and order.lines.get().allocated_quantity == 2
    assert stock_ledger_mismatches() == []


def test_wait_keeps_the_cases_open_due_at_the_restock_time(channel):
    _setup(channel)
    restock = LATER + timedelta(days=3)

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="wait",
        restock_at=restock,
        now=LATER,
    )

    cases = ExceptionCase.objects.filter(type="T1").order_by("order__platform_order_id")
    assert [(c.status, c.step, c.due_at, c.sla_next_at) for c in cases] == [
        ("open", "restock", restock, restock)
    ] * 3
    assert result.still_short == sorted(_pk(p) for p in "123")
    assert result.decision.restock_at == restock
    assert [e.data["step"] for e in cases[0].events.filter(type="decided")] == ["decided", "waiting"]


def test_cancel_cancels_orders_releases_stock_and_cancels_cases(channel):
    _setup(channel, on_hand_a=1)
    # the one unit of A went to order 2 (the only one it serves whole): 1 and 3 wait
    assert _state("2") == ("ready", [])

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="cancel",
        now=LATER,
    )

    assert [Order.objects.get(platform_order_id=p).status for p in "123"] == [
        "cancelled",
        "ready",
        "cancelled",
    ]
    assert [
        (c.status, c.outcome, c.resolution, c.closed_at, c.sla_next_at)
        for c in ExceptionCase.objects.filter(type="T1").order_by("order__platform_order_id")
    ] == [("cancelled", "cancelled", "merchant_cancel", LATER, None)] * 2
    assert result.cancelled == sorted([_pk("1"), _pk("3")])
    assert list(
        CaseEvent.objects.filter(type="status_changed", case__order__platform_order_id="1").values_list(
            "data", flat=True
        )
    ) == [{"to": "cancelled", "outcome": "cancelled", "decision": result.decision.pk}]
    assert _level(channel, "A") == (1, 1)
    assert stock_ledger_mismatches() == []


def test_cancel_releases_what_the_orders_held(channel):
    _setup(channel)
    # order 2 backordered: it holds B while it waits for A
    OrderLine.objects.filter(order__platform_order_id="2", sku_code="B").update(allocated_quantity=1)
    b = StockLevel.objects.get(sku__code="B", warehouse_id=channel.warehouse_id)
    StockLevel.objects.filter(pk=b.pk).update(allocated=1)
    StockMovement.objects.create(
        merchant_id=channel.merchant_id,
        warehouse_id=channel.warehouse_id,
        sku_id=b.sku_id,
        type="allocation",
        quantity=1,
        order_id=_pk("2"),
        occurred_at=NOW,
        actor_label="test",
    )

    stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="cancel",
        order_ids=[_pk("2")],
        now=LATER,
    )

    assert _level(channel, "B") == (5, 0)
    release = StockMovement.objects.get(type="release")
    assert (release.order_id, release.quantity) == (_pk("2"), -1)
    assert stock_ledger_mismatches() == []


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"sku_code": "NOPE", "kind": "wait", "restock_at": LATER + timedelta(days=1)}, "SKU_UNKNOWN"),
        (
            {"sku_code": "A", "kind": "transfer", "from_warehouse_code": "far", "quantity": 11},
            "INSUFFICIENT_STOCK",
        ),
        (
            {"sku_code": "A", "kind": "transfer", "from_warehouse_code": "far", "quantity": 1.5},
            "QUANTITY_INVALID",
        ),
        ({"sku_code": "A", "kind": "transfer", "from_warehouse_code": "nowhere"}, "WAREHOUSE_UNKNOWN"),
        ({"sku_code": "A", "kind": "substitute", "substitute_sku_code": "C"}, "CONSENT_REQUIRED"),
        (
            {"sku_code": "A", "kind": "substitute", "substitute_sku_code": "ZZ", "buyer_consent": True},
            "SUBSTITUTE_UNKNOWN",
        ),
        ({"sku_code": "A", "kind": "wait"}, "RESTOCK_INVALID"),
        ({"sku_code": "A", "kind": "refund"}, "KIND_INVALID"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(channel, kwargs, code):
    _setup(channel, far_a=10)
    before = _snapshot()

    with pytest.raises(StockDecisionRefused) as err:
        stock_decision_apply(
            actor=_merchant_actor(channel), merchant_id=channel.merchant_id, now=LATER, **kwargs
        )

    assert err.value.code == code
    assert _snapshot() == before


def test_a_decision_on_a_shipped_order_is_refused(channel):
    _setup(channel, far_a=10)
    Order.objects.filter(platform_order_id="1").update(status="shipped")
    before = _snapshot()

    with pytest.raises(StockDecisionRefused) as err:
        stock_decision_apply(
            actor=_merchant_actor(channel),
            merchant_id=channel.merchant_id,
            sku_code="A",
            kind="cancel",
            order_ids=[_pk("1"), _pk("2")],
            now=LATER,
        )

    assert (err.value.code, err.value.data["order_id"]) == ("ORDER_SHIPPED", _pk("1"))
    assert _snapshot() == before


def test_another_merchants_sku_is_unknown_to_a_merchant_user(channel):
    _setup(channel, far_a=10)
    other = Merchant.objects.create(code="other", name="Other")
    outsider = Actor(user_id=None, role=Role.MERCHANT, merchant_id=other.pk, label="user:other")  # type: ignore[arg-type]
    before = _snapshot()

    with pytest.raises(StockDecisionRefused) as err:
        stock_decision_apply(
            actor=outsider, merchant_id=channel.merchant_id, sku_code="A", kind="cancel", now=LATER
        )
    assert err.value.code == "SKU_UNKNOWN"
    # nor can it decide for its own merchant on a SKU it does not have
    with pytest.raises(StockDecisionRefused) as err:
        stock_decision_apply(actor=outsider, merchant_id=other.pk, sku_code="A", kind="cancel", now=LATER)
    assert err.value.code == "SKU_UNKNOWN"
    operator = Actor(user_id=None, role=Role.OPERATOR, merchant_id=None, label="user:op")  # type: ignore[arg-type]
    with pytest.raises(StockDecisionRefused) as err:
        stock_decision_apply(
            actor=operator, merchant_id=channel.merchant_id, sku_code="A", kind="cancel", now=LATER
        )
    assert err.value.code == "ROLE"
    assert _snapshot() == before


def test_staff_decide_on_the_merchants_behalf(channel):
    _setup(channel, far_a=10)
    agent = Actor(user_id=None, role=Role.SERVICE_AGENT, merchant_id=None, label="user:cs")  # type: ignore[arg-type]

    result = stock_decision_apply(
        actor=agent,
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="transfer",
        from_warehouse_code="far",
        now=LATER,
    )

    assert result.decision.decided_by_label == "user:cs"
    assert Transfer.objects.get().created_by_label == "user:cs"
    assert [_state(p) for p in "123"] == [("on_hold", ["open"])] * 3


def test_a_merchant_who_does_not_decide_in_time_is_escalated(channel):
    """H1.2: the stock-out notice starts the case's ``merchant_decision`` step (4 working hours
    by its SLA policy); past it the deadline scan marks the case overdue, then escalates it."""
    from orderguard.sla.services import PolicyBook, deadlines_scan

    _setup(channel)
    deadline = PolicyBook().deadline(
        case_type="T1", step="merchant_decision", start=NOW, warehouse_id=channel.warehouse_id
    )
    cases = list(ExceptionCase.objects.filter(type="T1").order_by("pk"))
    assert [(c.step, c.due_at, c.sla_level) for c in cases] == [("merchant_decision", deadline.due_at, 0)] * 3
    assert deadline.due_at > NOW + timedelta(hours=4)  # working hours: the evening does not count

    deadlines_scan(now=deadline.due_at + timedelta(minutes=1))
    deadlines_scan(now=deadline.due_at + timedelta(minutes=62))

    for c in cases:
        kinds = list(
            CaseEvent.objects.filter(case=c, type__in=["sla_overdue", "escalated"]).values_list(
                "type", flat=True
            )
        )
        assert kinds == ["sla_overdue", "escalated"], kinds
    assert list(ExceptionCase.objects.filter(type="T1").values_list("sla_level", flat=True)) == [3, 3, 3]


def test_a_decision_in_time_leaves_nothing_to_escalate(channel):
    from orderguard.sla.services import PolicyBook, deadlines_scan

    _setup(channel, far_a=10)
    stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="transfer",
        from_warehouse_code="far",
        now=LATER,
    )
    deadline = PolicyBook().deadline(
        case_type="T1", step="merchant_decision", start=NOW, warehouse_id=channel.warehouse_id
    )

    deadlines_scan(now=deadline.due_at + timedelta(hours=2))

    assert not CaseEvent.objects.filter(type__in=["sla_overdue", "escalated"]).exists()


@pytest.mark.parametrize("kind", ["substitute", "partial"])
def test_the_case_timeline_shows_the_decision_before_the_closing_it_leads_to(channel, kind):
    """H1.3: the log reads in order: decided, then resolved by the re-check it started, then
    what it did."""
    _setup(channel, on_hand_a=1)  # the one unit went to order 2
    # one more unit: not enough for order 1 or 3 (two each), so it stays available
    stock_moves_apply(
        merchant_id=channel.merchant_id,
        moves=[MoveIn("receipt", channel.warehouse.code, "A", 1)],
        now=NOW,
        actor_label="user:op",
    )
    assert _level(channel, "A") == (2, 1)
    stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind=kind,
        substitute_sku_code="C" if kind == "substitute" else "",
        buyer_consent=kind == "substitute",
        order_ids=[_pk("1")],
        now=LATER,
    )

    case = ExceptionCase.objects.get(order__platform_order_id="1", type="T1")
    assert [
        (e.type, e.data.get("step") or e.data.get("reason"))
        for e in case.events.filter(occurred_at=LATER).order_by("occurred_at", "pk")
    ] == [("decided", "decided"), ("resolved", f"merchant_{kind}"), ("decided", "applied")]


def test_a_case_cancelled_by_the_decision_is_logged_as_closed(channel):
    """A closing is a `resolved` event (outcome, handling time): the daily figures count the
    cases closed from it, and the timeline shows it as the case's end."""
    _setup(channel)

    result = stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="cancel",
        order_ids=[_pk("1")],
        now=LATER,
    )

    case = ExceptionCase.objects.get(order__platform_order_id="1", type="T1")
    assert [
        (e.type, e.actor_label, e.data)
        for e in case.events.filter(occurred_at=LATER).exclude(type="decided").order_by("pk")
    ] == [
        (
            "status_changed",
            "user:shop",
            {"to": "cancelled", "outcome": "cancelled", "decision": result.decision.pk},
        ),
        (
            "resolved",
            "user:shop",
            {"outcome": "cancelled", "reason": "merchant_cancel", "handling_seconds": 3600},
        ),
    ]


def test_the_short_skus_are_read_in_the_same_queries_however_many_there_are(channel):
    """The decision page lists up to 50 short SKUs, each with the warehouses holding it: one
    set of queries for all of them, not one per SKU."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orderguard.inventory.decisions import short_skus

    _setup(channel)
    staff = Actor(user_id=None, role=Role.MANAGER, merchant_id=None, label="user:boss")
    with CaptureQueriesContext(connection) as one:
        first = short_skus(actor=staff, now=LATER)
    orders_import(
        files=taobao_export(
            [
                TbOrder("4", [TbItem("B", 9)], paid="2026-11-25 09:40:00"),
                TbOrder("5", [TbItem("C", 9)], paid="2026-11-25 09:50:00"),
            ]
        ),
        channel=channel,
        now=NOW,
    )
    with CaptureQueriesContext(connection) as three:
        found = short_skus(actor=staff, now=LATER)

    assert [s.sku_code for s in first] == ["A"]
    assert [(s.sku_code, s.available, s.sources) for s in found] == [("A", 0, []), ("B", 5, []), ("C", 3, [])]
    assert found[0].order_ids == sorted(_pk(p) for p in "123")
    assert len(three.captured_queries) == len(one.captured_queries)


def test_a_line_held_while_another_sku_is_short_does_not_list_its_sku_as_short(channel):
    """Order 2 (A x1 + B x1) is held for A; B is there (5), so B is not a short SKU: the page
    offers no decision on it."""
    from orderguard.inventory.decisions import short_skus

    _setup(channel)
    staff = Actor(user_id=None, role=Role.MANAGER, merchant_id=None, label="user:boss")

    found = short_skus(actor=staff, now=LATER)

    assert [(s.sku_code, s.order_ids) for s in found] == [("A", sorted(_pk(p) for p in "123"))]


def test_cancelling_the_orders_cancels_their_other_automatic_cases(channel):
    """An order cancelled for want of stock will not ship: its address case (T2) is not left
    open for an agent to chase."""
    _setup(channel)
    orders_import(
        files=taobao_export([TbOrder("4", [TbItem("A", 1)], phone="123", paid="2026-11-25 09:40:00")]),
        channel=channel,
        now=NOW,
    )
    assert sorted(
        ExceptionCase.objects.filter(order__platform_order_id="4").values_list("type", "status")
    ) == [("T1", "open"), ("T2", "open")]

    stock_decision_apply(
        actor=_merchant_actor(channel),
        merchant_id=channel.merchant_id,
        sku_code="A",
        kind="cancel",
        order_ids=[_pk("4")],
        now=LATER,
    )

    assert sorted(
        ExceptionCase.objects.filter(order__platform_order_id="4").values_list(
            "type", "status", "outcome", "resolution", "closed_at"
        )
    ) == [
        ("T1", "cancelled", "cancelled", "merchant_cancel", LATER),
        ("T2", "cancelled", "cancelled", "order_not_ready", LATER),
    ]
    t2 = ExceptionCase.objects.get(order__platform_order_id="4", type="T2")
    assert [(e.type, e.data["reason"]) for e in t2.events.filter(type="resolved")] == [
        ("resolved", "order_not_ready")
    ]
    # the others are untouched
    assert _state("1") == ("on_hold", ["open"])
