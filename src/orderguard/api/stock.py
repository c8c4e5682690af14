"""Stock moves API: receipts, adjustments, counts and transfers (warehouse operators, managers,
admins), and the stock ledger (every role, scoped). Registered on the stock router."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema

from orderguard.api.auth import actor
from orderguard.api.catalog import NO_NUL, SLUG, stock_router
from orderguard.api.errors import AUTHENTICATED, ApiError, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_LIMIT, MAX_OFFSET
from orderguard.catalog.models import Sku, Warehouse
from orderguard.core import clock
from orderguard.inventory.decisions import (
    StockDecisionRefused,
    decision_error_message,
    stock_decision_apply,
    stock_decisions,
)
from orderguard.inventory.models import StockDecision, StockMovement, Transfer
from orderguard.inventory.selectors import stock_movements, stock_sources
from orderguard.inventory.services import (
    MOVES_MAX,
    STOCK_ROLES,
    MoveIn,
    StockMoveRefused,
    move_error_message,
    stock_moves_apply,
)
from orderguard.inventory.transfers import (
    TransferRefused,
    transfer_cancel,
    transfer_error_message,
    transfer_receive,
    transfers_visible,
)
from orderguard.tenancy.models import Merchant

# Refusals that depend on the stock as it is now (another request may change it): 409.
CONFLICTS = frozenset({"INSUFFICIENT_STOCK", "BELOW_ALLOCATED"})


class MovementIn(Schema):
    type: Literal["receipt", "adjustment", "count", "transfer"]
    warehouse: str = Field(min_length=1, max_length=50, pattern=SLUG, description="The warehouse's code")
    sku: str = Field(min_length=1, max_length=100, pattern=NO_NUL, description="The merchant's SKU code")
    quantity: int | float = Field(
        description="Whole units: receipt and transfer > 0, count ≥ 0 (counted), adjustment ≠ 0 "
        "(the change); a fraction is refused (QUANTITY_NOT_WHOLE)"
    )
    to_warehouse: str = Field("", max_length=50, pattern=SLUG, description="Transfer only: the destination")
    reason: str = Field("", max_length=200, pattern=NO_NUL, description="Why (kept on the movement)")


class MovementsIn(Schema):
    merchant: Annotated[str, Field(min_length=1, max_length=50, pattern=SLUG)]
    movements: list[MovementIn] = Field(min_length=1, max_length=MOVES_MAX)


class MovementOut(Schema):
    id: int | None
    occurred_at: datetime
    merchant: str
    warehouse: str
    sku: str
    type: str = Field(
        description="receipt, adjustment, count, allocation, release, dispatch, transfer_out, transfer_in"
    )
    quantity: int = Field(description="Change of on hand, or of allocated for allocation/release")
    reason: str
    actor: str
    order_id: int | None


class MovementsOut(Schema):
    movements: list[MovementOut]
    rechecked_orders: int = Field(description="Orders waiting for stock that were allocated again")
    served_orders: list[int] = Field(description="Of those, the orders now holding all their stock")
    closed_cases: list[int] = Field(description="T1 cases that closed themselves (stock arrived)")


class MovementPageOut(Schema):
    total: int
    items: list[MovementOut]


class MovementFilters(Schema):
    sku: str = Field("", max_length=100, pattern=NO_NUL, description="A SKU code (exact)")
    warehouse: str = Field("", max_length=50, pattern=SLUG, description="A warehouse's code")
    order_id: int | None = Field(None, ge=1, le=2**62, description="One order's movements")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _movement(m: StockMovement, codes: dict[int, str], merchants: dict[int, str]) -> dict[str, Any]:
    return {
        "id": m.pk,
        "occurred_at": m.occurred_at,
        "merchant": merchants.get(m.merchant_id, ""),
        "warehouse": codes.get(m.warehouse_id, ""),
        "sku": m.sku.code if "sku" in m._state.fields_cache else "",
        "type": m.type,
        "quantity": m.quantity,
        "reason": m.reason,
        "actor": m.actor_label,
        "order_id": m.order_id,
    }


@stock_router.post(
    "/movements",
    response=with_errors({200: MovementsOut}, *AUTHENTICATED, 400, 404, 409),
    summary="Move stock (receipt, adjustment, count, transfer)",
)
def post_movements(request: HttpRequest, body: MovementsIn) -> dict[str, Any]:
    """All or none: any refused movement refuses the request, naming it as
    ``movements[<index>].<field>``, and nothing changes. Stock that arrives (receipt, transfer
    in, count up) allocates the orders waiting for it at once, in payment order, and closes
    their T1 cases."""
    who = actor(request)
    merchant = Merchant.objects.filter(code=body.merchant).first()
    if merchant is None or (who.merchant_id is not None and who.merchant_id != merchant.pk):
        raise ApiError(404, "NOT_FOUND", _("找不到该对象"), "merchant")
    moves = [
        MoveIn(m.type, m.warehouse, m.sku, m.quantity, to_warehouse=m.to_warehouse, reason=m.reason)
        for m in body.movements
    ]
    try:
        result = stock_moves_apply(merchant_id=merchant.pk, moves=moves, now=clock.now(), actor=who)
    except StockMoveRefused as exc:
        first = exc.errors[0]
        status = 403 if first.code == "ROLE" else 409 if first.code in CONFLICTS else 422
        where = f"movements[{first.index}].{first.field}" if first.index >= 0 else ""
        raise ApiError(status, first.code, move_error_message(first), where) from None
    # codes of what the request named: two queries, not two per stock row
    codes = dict(
        Warehouse.objects.filter(pk__in={lv.warehouse_id for lv in result.levels}).values_list("pk", "code")
    )
    skus = dict(Sku.objects.filter(pk__in={lv.sku_id for lv in result.levels}).values_list("pk", "code"))
    out = []
    for m in result.movements:
        item = _movement(m, codes, {merchant.pk: merchant.code})
        item["sku"] = skus.get(m.sku_id, "")
        out.append(item)
    recheck = result.recheck
    return {
        "movements": out,
        "rechecked_orders": recheck.orders if recheck else 0,
        "served_orders": recheck.served if recheck else [],
        "closed_cases": recheck.cases_closed if recheck else [],
    }


@stock_router.get(
    "/movements", response=with_errors({200: MovementPageOut}, *AUTHENTICATED), summary="The stock ledger"
)
def list_movements(request: HttpRequest, filters: Query[MovementFilters]) -> dict[str, Any]:
    """Newest first; a merchant user sees its own merchant's movements."""
    reject_unknown_query(request, MovementFilters)
    qs = stock_movements(actor=actor(request), order_id=filters.order_id).select_related("merchant")
    if filters.sku:
        qs = qs.filter(sku__code=filters.sku)
    if filters.warehouse:
        qs = qs.filter(warehouse__code=filters.warehouse)
    page = list(qs[filters.offset : filters.offset + filters.limit])
    codes = {m.warehouse_id: m.warehouse.code for m in page}
    merchants = {m.merchant_id: m.merchant.code for m in page}
    return {"total": qs.count(), "items": [_movement(m, codes, merchants) for m in page]}


class SourcesFilters(Schema):
    sku: str = Field(min_length=1, max_length=100, pattern=NO_NUL, description="The SKU's code")
    merchant: str = Field(
        "", max_length=50, pattern=SLUG, description="The merchant's code (staff); a merchant user: its own"
    )


class StockSourceOut(Schema):
    warehouse: str
    available: int
    open_demand: int = Field(description="Units the orders shipping from this warehouse still lack")
    spare: int = Field(description="available - open_demand, at least 0: what a transfer may take")
    inbound_quantity: int
    inbound_eta: datetime | None


class SourcesOut(Schema):
    merchant: str
    sku: str
    items: list[StockSourceOut]


@stock_router.get(
    "/sources",
    response=with_errors({200: SourcesOut}, *AUTHENTICATED, 404),
    summary="Where a SKU is: each warehouse's available, open demand and spare stock",
)
def list_sources(request: HttpRequest, filters: Query[SourcesFilters]) -> dict[str, Any]:
    """For a stock-out (H1.2): which of the merchant's warehouses have the SKU to spare for a
    transfer, the most spare first. A merchant user reads its own SKUs (another merchant's code
    is 404); staff name the merchant."""
    reject_unknown_query(request, SourcesFilters)
    who = actor(request)
    if who.merchant_id is not None:
        merchant = Merchant.objects.filter(pk=who.merchant_id).first()
        if filters.merchant and (merchant is None or merchant.code != filters.merchant):
            merchant = None
    else:
        merchant = Merchant.objects.filter(code=filters.merchant).first() if filters.merchant else None
    if merchant is None:
        raise ApiError(404, "NOT_FOUND", _("找不到该对象"), "merchant")
    if not Sku.objects.filter(merchant=merchant, code=filters.sku).exists():
        raise ApiError(404, "NOT_FOUND", _("找不到该对象"), "sku")
    sources = stock_sources(merchant_id=merchant.pk, sku_code=filters.sku, now=clock.now())
    return {
        "merchant": merchant.code,
        "sku": filters.sku,
        "items": [
            {
                "warehouse": s.warehouse,
                "available": s.available,
                "open_demand": s.open_demand,
                "spare": s.spare,
                "inbound_quantity": s.inbound_quantity,
                "inbound_eta": s.inbound_eta,
            }
            for s in sources
        ],
    }


# --- the merchant's decision per short SKU (H1.2, B4) -------------------------------------------

# Refusals that depend on the stock or the orders as they are now: 409.
DECISION_CONFLICTS = frozenset(
    {"INSUFFICIENT_STOCK", "ORDER_SHIPPED", "ORDER_NOT_AFFECTED", "NO_AFFECTED_ORDERS"}
)
DECISION_NOT_FOUND = frozenset({"SKU_UNKNOWN", "ORDER_UNKNOWN"})


class DecisionIn(Schema):
    merchant: str = Field(
        "", max_length=50, pattern=SLUG, description="The merchant's code (staff); a merchant user: its own"
    )
    sku: str = Field(min_length=1, max_length=100, pattern=NO_NUL, description="The short SKU's code")
    kind: Literal["transfer", "substitute", "partial", "wait", "cancel"]
    warehouse: str = Field(
        "", max_length=50, pattern=SLUG, description="Where the orders wait (when several)"
    )
    from_warehouse: str = Field("", max_length=50, pattern=SLUG, description="transfer: the source")
    quantity: int | float | None = Field(None, description="transfer: units (default: what the orders lack)")
    substitute_sku: str = Field(
        "", max_length=100, pattern=NO_NUL, description="substitute: the SKU shipped instead"
    )
    buyer_consent: bool = Field(False, description="substitute: the buyer agreed (required)")
    consent_note: str = Field(
        "", max_length=500, pattern=NO_NUL, description="substitute: how the buyer agreed"
    )
    restock_at: datetime | None = Field(None, description="wait: when the stock is expected")
    expected_at: datetime | None = Field(
        None, description="transfer: when it is expected to arrive (default: in 24 hours)"
    )
    note: str = Field("", max_length=500, pattern=NO_NUL)
    order_ids: list[int] = Field(default_factory=list, max_length=5000, description="Only these orders")
    exclude_order_ids: list[int] = Field(default_factory=list, max_length=5000, description="Orders left out")


class DecisionOut(Schema):
    id: int
    merchant: str
    sku: str
    kind: str
    warehouse: str
    from_warehouse: str
    quantity: int | None
    substitute_sku: str
    buyer_consent: bool
    restock_at: datetime | None
    note: str
    decided_by: str
    decided_at: datetime
    order_ids: list[int]
    excluded_order_ids: list[int]
    effect: dict[str, Any] = Field(
        description="served, still_short, cancelled (order ids), cases (case ids), transfer (its id)"
    )


class DecisionPageOut(Schema):
    total: int
    items: list[DecisionOut]


class DecisionFilters(Schema):
    sku: str = Field("", max_length=100, pattern=NO_NUL, description="A SKU code (exact)")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _decision(d: StockDecision) -> dict[str, Any]:
    return {
        "id": d.pk,
        "merchant": d.merchant.code,
        "sku": d.sku.code,
        "kind": d.kind,
        "warehouse": d.warehouse.code if d.warehouse else "",
        "from_warehouse": d.from_warehouse.code if d.from_warehouse else "",
        "quantity": d.quantity,
        "substitute_sku": d.substitute_sku.code if d.substitute_sku else "",
        "buyer_consent": d.buyer_consent,
        "restock_at": d.restock_at,
        "note": d.note,
        "decided_by": d.decided_by_label,
        "decided_at": d.decided_at,
        "order_ids": d.order_ids,
        "excluded_order_ids": d.excluded_order_ids,
        "effect": d.effect,
    }


@stock_router.post(
    "/decisions",
    response=with_errors({200: DecisionOut}, *AUTHENTICATED, 400, 404, 409),
    summary="Decide for the orders short of one SKU (transfer, substitute, partial, wait, cancel)",
)
def post_decision(request: HttpRequest, body: DecisionIn) -> dict[str, Any]:
    """One decision for every order with an open stock-out case of the SKU (H1.2, B4), but
    `exclude_order_ids` (or only `order_ids`). A merchant user decides for its own SKUs
    (another merchant's is 404); customer service, managers and admins on the merchant's
    behalf. Refused: nothing changes (409 when the stock or orders are in the way)."""
    who = actor(request)
    if who.merchant_id is not None:
        merchant = Merchant.objects.filter(pk=who.merchant_id).first()
        if body.merchant and (merchant is None or merchant.code != body.merchant):
            merchant = None
    else:
        merchant = Merchant.objects.filter(code=body.merchant).first() if body.merchant else None
    if merchant is None:
        raise ApiError(404, "NOT_FOUND", _("找不到该对象"), "merchant")
    try:
        result = stock_decision_apply(
            actor=who,
            merchant_id=merchant.pk,
            sku_code=body.sku,
            kind=body.kind,
            now=clock.now(),
            warehouse_code=body.warehouse,
            from_warehouse_code=body.from_warehouse,
            quantity=body.quantity,
            substitute_sku_code=body.substitute_sku,
            buyer_consent=body.buyer_consent,
            consent_note=body.consent_note,
            restock_at=body.restock_at,
            expected_at=body.expected_at,
            note=body.note,
            order_ids=body.order_ids,
            exclude_order_ids=body.exclude_order_ids,
        )
    except StockDecisionRefused as exc:
        status = (
            403
            if exc.code == "ROLE"
            else 404
            if exc.code in DECISION_NOT_FOUND
            else 409
            if exc.code in DECISION_CONFLICTS
            else 422
        )
        raise ApiError(
            status, exc.code, decision_error_message(exc), str(exc.data.get("field", ""))
        ) from None
    decision = stock_decisions(actor=who).get(pk=result.decision.pk)
    return _decision(decision)


@stock_router.get(
    "/decisions",
    response=with_errors({200: DecisionPageOut}, *AUTHENTICATED),
    summary="The decisions taken for short SKUs",
)
def list_decisions(request: HttpRequest, filters: Query[DecisionFilters]) -> dict[str, Any]:
    """Newest first; a merchant user sees its own merchant's decisions."""
    reject_unknown_query(request, DecisionFilters)
    qs = stock_decisions(actor=actor(request), sku=filters.sku)
    page = list(qs[filters.offset : filters.offset + filters.limit])
    return {"total": qs.count(), "items": [_decision(d) for d in page]}


# --- transfers in transit (H1.2, B4) ------------------------------------------------------------


class TransferOut(Schema):
    id: int
    merchant: str
    sku: str
    from_warehouse: str
    to_warehouse: str
    quantity: int
    status: str = Field(description="in_transit, arrived, cancelled")
    created_by: str
    shipped_at: datetime
    expected_at: datetime
    arrived_at: datetime | None
    cancelled_at: datetime | None
    decision: int | None = Field(description="The stock-out decision it serves")


class TransferPageOut(Schema):
    total: int
    items: list[TransferOut]


class TransferActionOut(Schema):
    transfer: TransferOut
    served_orders: list[int] = Field(description="Orders of its decision now holding all their stock")
    still_short: list[int] = Field(description="Orders of its decision still short")
    closed_cases: list[int] = Field(description="T1 cases closed (transfer_arrived, stock_arrived)")


class TransferFilters(Schema):
    status: Literal["", "in_transit", "arrived", "cancelled"] = ""
    sku: str = Field("", max_length=100, pattern=NO_NUL, description="A SKU code (exact)")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _transfer(t: Transfer) -> dict[str, Any]:
    return {
        "id": t.pk,
        "merchant": t.merchant.code,
        "sku": t.sku.code,
        "from_warehouse": t.from_warehouse.code,
        "to_warehouse": t.to_warehouse.code,
        "quantity": t.quantity,
        "status": t.status,
        "created_by": t.created_by_label,
        "shipped_at": t.shipped_at,
        "expected_at": t.expected_at,
        "arrived_at": t.arrived_at,
        "cancelled_at": t.cancelled_at,
        "decision": t.decision_id,
    }


@stock_router.get(
    "/transfers",
    response=with_errors({200: TransferPageOut}, *AUTHENTICATED),
    summary="Transfers between warehouses (in transit, arrived, cancelled)",
)
def list_transfers(request: HttpRequest, filters: Query[TransferFilters]) -> dict[str, Any]:
    """Newest first; a merchant user sees its own merchant's."""
    reject_unknown_query(request, TransferFilters)
    qs = transfers_visible(actor=actor(request), status=filters.status, sku=filters.sku)
    page = list(qs[filters.offset : filters.offset + filters.limit])
    return {"total": qs.count(), "items": [_transfer(t) for t in page]}


def _transfer_action(request: HttpRequest, transfer_id: int, action: Any) -> dict[str, Any]:
    who = actor(request)
    try:
        result = action(actor=who, transfer_id=transfer_id, now=clock.now())
    except TransferRefused as exc:
        status = 404 if exc.code == "TRANSFER_UNKNOWN" else 403 if exc.code == "ROLE" else 409
        raise ApiError(status, exc.code, transfer_error_message(exc), "transfer_id") from None
    transfer = transfers_visible(actor=who).get(pk=result.transfer.pk)
    return {
        "transfer": _transfer(transfer),
        "served_orders": result.served,
        "still_short": result.still_short,
        "closed_cases": result.cases_closed,
    }


@stock_router.post(
    "/transfers/{transfer_id}/receive",
    response=with_errors({200: TransferActionOut}, *AUTHENTICATED, 404, 409),
    summary="Receive a transfer: its stock arrives and serves the orders waiting for it",
)
def post_transfer_receive(request: HttpRequest, transfer_id: int) -> dict[str, Any]:
    """Warehouse operators, managers and admins (others 403 ``ROLE``; another merchant's
    transfer 404). A ``transfer_in`` at the destination, then the orders of its decision are
    allocated in payment order and their cases close (``transfer_arrived``). 409
    ``ALREADY_RECEIVED``, ``TRANSFER_CANCELLED``; nothing changes when refused."""
    return _transfer_action(request, transfer_id, transfer_receive)


@stock_router.post(
    "/transfers/{transfer_id}/cancel",
    response=with_errors({200: TransferActionOut}, *AUTHENTICATED, 404, 409),
    summary="Cancel a transfer in transit: its stock goes back to the source",
)
def post_transfer_cancel(request: HttpRequest, transfer_id: int) -> dict[str, Any]:
    """Warehouse operators, managers and admins; the orders of its decision wait for the
    merchant's next decision. 409 ``ALREADY_RECEIVED``, ``TRANSFER_CANCELLED``."""
    return _transfer_action(request, transfer_id, transfer_cancel)


__all__ = [
    "STOCK_ROLES",
    "list_decisions",
    "list_movements",
    "list_sources",
    "list_transfers",
    "post_decision",
    "post_movements",
    "post_transfer_cancel",
    "post_transfer_receive",
]
