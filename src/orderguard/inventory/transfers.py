"""Transfers in transit between warehouses (H1.2, B4): shipped at once, received later.

A merchant's transfer decision (`inventory.decisions`) ships the stock: a ``transfer_out`` at
the source (the goods left), a `Transfer` in transit, and the decision's orders wait for it
(their T1 cases at step ``in_transit``, due at the expected arrival). Warehouse staff receive
it (`transfer_receive`): a ``transfer_in`` at the destination, then the waiting orders are
allocated in payment order (`stock_recheck`) and their cases close as ``transfer_arrived``.
Or they cancel it on the way (`transfer_cancel`): the goods go back to the source and the
cases wait for the merchant's next decision. Every refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models, transaction
from django.utils.translation import gettext as _

from orderguard.cases import events as case_events
from orderguard.cases.choices import OPEN_STATUSES, CaseEventType
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.models import Sku, Warehouse
from orderguard.core import bulk
from orderguard.core.choices import ExceptionType
from orderguard.core.errors import DomainError
from orderguard.inventory.models import (
    AlertStatus,
    MovementKind,
    StockAlert,
    StockDecision,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from orderguard.inventory.selectors import stock_figures
from orderguard.inventory.services import (
    STOCK_ROLES,
    RecheckResult,
    _lock_levels,
    stock_alerts_refresh,
    stock_recheck,
)
from orderguard.tenancy.access import Actor, visible

# The case step of orders waiting for a transfer (its due time is the expected arrival).
IN_TRANSIT_STEP = "in_transit"
TRANSFER_ARRIVED = "transfer_arrived"


class TransferRefused(DomainError):
    """A transfer action the rules refuse; nothing was changed. `code` says why:

    - ``ROLE``: only warehouse operators, managers and admins receive or cancel transfers;
    - ``TRANSFER_UNKNOWN``: no such transfer the actor may see (another merchant's alike);
    - ``ALREADY_RECEIVED``: the transfer arrived already (`arrived_at`);
    - ``TRANSFER_CANCELLED``: the transfer was cancelled (`cancelled_at`);
    - ``INSUFFICIENT_STOCK``: the source has less available than the transfer (`available`).
    """

    code = "TRANSFER_REFUSED"

    def __init__(self, code: str, **data: object) -> None:
        super().__init__(code, **data)
        self.code = code


def transfer_error_message(error: TransferRefused) -> str:
    d = error.data
    messages = {
        "ROLE": lambda: _("只有仓库操作员、主管和管理员可以接收或取消调拨"),
        "TRANSFER_UNKNOWN": lambda: _("找不到该对象"),
        "ALREADY_RECEIVED": lambda: _("调拨 %(id)s 已到货，不能重复接收") % {"id": d.get("id")},
        "TRANSFER_CANCELLED": lambda: _("调拨 %(id)s 已取消") % {"id": d.get("id")},
        "INSUFFICIENT_STOCK": lambda: (
            _("可用库存不足：只有 %(available)s") % {"available": d.get("available")}
        ),
    }
    return str(messages[error.code]())


def _movement(
    transfer: Transfer,
    *,
    warehouse_id: int,
    kind: MovementKind,
    quantity: int,
    now: datetime,
    actor_id: int | None,
    actor_label: str,
    reason: str,
) -> StockMovement:
    return bulk.new(
        StockMovement,
        merchant_id=transfer.merchant_id,
        warehouse_id=warehouse_id,
        sku_id=transfer.sku_id,
        type=kind,
        quantity=quantity,
        reason=reason,
        occurred_at=now,
        actor_id=actor_id,
        actor_label=actor_label,
        data={
            "transfer": transfer.pk,
            "from": transfer.from_warehouse.code,
            "to": transfer.to_warehouse.code,
        },
    )


def transfer_ship(
    *,
    merchant_id: int,
    sku: Sku,
    source: Warehouse,
    target: Warehouse,
    quantity: int,
    now: datetime,
    expected_at: datetime,
    actor: Actor,
    decision: StockDecision | None = None,
) -> Transfer:
    """Ship `quantity` units of `sku` from `source` to `target` in the caller's transaction:
    the source's row locked, its available stock checked (``INSUFFICIENT_STOCK``), a
    ``transfer_out`` written and a `Transfer` in transit made. Alerts of the source refreshed."""
    levels = _lock_levels({(source.pk, sku.pk)})
    level = levels.get((source.pk, sku.pk))
    available = level.available if level is not None else 0
    if level is None or available < quantity:
        raise TransferRefused("INSUFFICIENT_STOCK", available=available, warehouse=source.code)
    transfer = Transfer.objects.create(
        merchant_id=merchant_id,
        sku=sku,
        from_warehouse=source,
        to_warehouse=target,
        quantity=quantity,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
        shipped_at=now,
        expected_at=expected_at,
        decision=decision,
    )
    level.on_hand -= quantity
    bulk.update([level], ["on_hand"])
    reason = f"decision:{decision.pk}" if decision is not None else f"transfer:{transfer.pk}"
    bulk.insert(
        [
            _movement(
                transfer,
                warehouse_id=source.pk,
                kind=MovementKind.TRANSFER_OUT,
                quantity=-quantity,
                now=now,
                actor_id=actor.user_id,
                actor_label=actor.label,
                reason=reason,
            )
        ]
    )
    stock_alerts_refresh(levels=[level], now=now)
    _alerts_inbound_refresh(target_id=target.pk, sku_id=sku.pk, now=now)
    return transfer


def _alerts_inbound_refresh(*, target_id: int, sku_id: int, now: datetime) -> None:
    """An open alert of the destination row shows the transfers now in transit as its inbound
    stock and ETA (D1)."""
    level = StockLevel.objects.filter(warehouse_id=target_id, sku_id=sku_id).first()
    if level is None:
        return
    f = stock_figures(levels=[level], now=now)[level.pk]
    StockAlert.objects.filter(stock=level, status=AlertStatus.OPEN).update(
        inbound_quantity=f.inbound_quantity, inbound_eta=f.inbound_eta, updated_at=now
    )


def transfer_case_event(
    case_id: int, transfer: Transfer, *, movement: str, now: datetime, actor: Actor
) -> CaseEvent:
    """A ``stock_moved`` event on a case whose order waits for the transfer: `movement`
    ``transfer_out`` (shipped, in transit until `expected_at`), ``transfer_in`` (arrived) or
    ``transfer_cancelled`` (the goods went back)."""
    return bulk.new(
        CaseEvent,
        case_id=case_id,
        type=CaseEventType.STOCK_MOVED,
        occurred_at=now,
        actor_id=actor.user_id,
        actor_label=actor.label,
        data={
            "movement": movement,
            "transfer": transfer.pk,
            "decision": transfer.decision_id,
            "sku": transfer.sku.code,
            "quantity": transfer.quantity,
            "from": transfer.from_warehouse.code,
            "to": transfer.to_warehouse.code,
            "expected_at": transfer.expected_at.isoformat(),
        },
    )


def _lock(*, actor: Actor, transfer_id: int) -> Transfer:
    """The transfer, locked, if the actor may act on it (else a refusal, nothing changed)."""
    transfer = (
        visible(Transfer.objects.select_for_update(of=("self",)), actor)
        .select_related("sku", "from_warehouse", "to_warehouse")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise TransferRefused("TRANSFER_UNKNOWN", id=transfer_id)
    if actor.role not in STOCK_ROLES:
        raise TransferRefused("ROLE", role=actor.role)
    if transfer.status == TransferStatus.ARRIVED:
        raise TransferRefused("ALREADY_RECEIVED", id=transfer.pk, arrived_at=transfer.arrived_at)
    if transfer.status == TransferStatus.CANCELLED:
        raise TransferRefused("TRANSFER_CANCELLED", id=transfer.pk, cancelled_at=transfer.cancelled_at)
    return transfer


def _waiting_cases(transfer: Transfer) -> list[ExceptionCase]:
    """The open T1 cases of the orders of the decision the transfer serves, locked."""
    if transfer.decision_id is None:
        return []
    order_ids = StockDecision.objects.filter(pk=transfer.decision_id).values_list("order_ids", flat=True)[0]
    return list(
        ExceptionCase.objects.select_for_update(of=("self",))
        .filter(order_id__in=order_ids, type=ExceptionType.OUT_OF_STOCK, status__in=list(OPEN_STATUSES))
        .order_by("pk")
    )


def _level(transfer: Transfer, pair: tuple[int, int]) -> StockLevel:
    """The stock row (warehouse, SKU) of the transfer's merchant, locked; made when missing."""
    level = _lock_levels({pair}).get(pair)
    if level is None:
        level = StockLevel.objects.create(
            merchant_id=transfer.merchant_id, warehouse_id=pair[0], sku_id=pair[1]
        )
    return level


@dataclass
class TransferResult:
    transfer: Transfer
    served: list[int] = field(default_factory=list)
    still_short: list[int] = field(default_factory=list)
    cases_closed: list[int] = field(default_factory=list)


def _goods_in(
    transfer: Transfer, *, arrived: bool, now: datetime, actor: Actor
) -> tuple[tuple[int, int], list[ExceptionCase]]:
    """The transfer ends: its goods come in at the destination (`arrived`) or back at the source
    (cancelled), a ``transfer_in`` there, the transfer closed and the alerts of both ends
    refreshed. The stock row is locked before the waiting cases, in the order every re-check
    and decision locks them (stock rows, then cases), so that a receipt beside it cannot
    deadlock with it. Returns the (warehouse, SKU) row that gained and the cases, locked."""
    warehouse_id = transfer.to_warehouse_id if arrived else transfer.from_warehouse_id
    pair = (warehouse_id, transfer.sku_id)
    level = _level(transfer, pair)
    cases = _waiting_cases(transfer)
    level.on_hand += transfer.quantity
    bulk.update([level], ["on_hand"])
    bulk.insert(
        [
            _movement(
                transfer,
                warehouse_id=warehouse_id,
                kind=MovementKind.TRANSFER_IN,
                quantity=transfer.quantity,
                now=now,
                actor_id=actor.user_id,
                actor_label=actor.label,
                reason=f"transfer:{transfer.pk}" if arrived else f"transfer_cancelled:{transfer.pk}",
            )
        ]
    )
    if arrived:
        transfer.status, transfer.arrived_at = TransferStatus.ARRIVED, now
    else:
        transfer.status, transfer.cancelled_at = TransferStatus.CANCELLED, now
    transfer.closed_by_label = actor.label
    transfer.save(update_fields=["status", "arrived_at", "cancelled_at", "closed_by_label", "updated_at"])
    stock_alerts_refresh(levels=[level], now=now)
    _alerts_inbound_refresh(target_id=transfer.to_warehouse_id, sku_id=transfer.sku_id, now=now)
    return pair, cases


@transaction.atomic
def transfer_receive(*, actor: Actor, transfer_id: int, now: datetime) -> TransferResult:
    """The transfer arrived: a ``transfer_in`` at the destination, the transfer ``arrived``,
    then the orders of its decision are allocated again in payment order (those served close
    their cases as ``transfer_arrived``), and what is left serves the other orders waiting
    there (``stock_arrived``). Each case of the decision gets a ``stock_moved`` event; those
    still short wait for the merchant's next decision (a fresh deadline)."""
    transfer = _lock(actor=actor, transfer_id=transfer_id)
    pair, cases = _goods_in(transfer, arrived=True, now=now, actor=actor)
    # the arrival on each waiting case's timeline, before what it leads to
    bulk.insert(
        [transfer_case_event(c.pk, transfer, movement="transfer_in", now=now, actor=actor) for c in cases]
    )
    result = TransferResult(transfer=transfer)
    recheck = RecheckResult()
    if cases:
        recheck = stock_recheck(
            pairs={pair},
            now=now,
            actor_label=actor.label,
            order_ids={c.order_id for c in cases},
            reason=TRANSFER_ARRIVED,
        )
    # what the decision's orders did not take serves the others waiting there
    others = stock_recheck(pairs={pair}, now=now, actor_label=actor.label)
    result.cases_closed = sorted({*recheck.cases_closed, *others.cases_closed})
    open_now = set(
        ExceptionCase.objects.filter(
            pk__in=[c.pk for c in cases], status__in=list(OPEN_STATUSES)
        ).values_list("pk", flat=True)
    )
    result.served = sorted(c.order_id for c in cases if c.pk not in open_now)
    result.still_short = sorted(c.order_id for c in cases if c.pk in open_now)
    _next_decision(
        [c for c in cases if c.pk in open_now], warehouse_id=transfer.to_warehouse_id, now=now, actor=actor
    )
    return result


@transaction.atomic
def transfer_cancel(*, actor: Actor, transfer_id: int, now: datetime) -> TransferResult:
    """The transfer will not arrive: the goods go back to the source (a ``transfer_in`` there,
    which may serve orders waiting at the source), the transfer ``cancelled``, and the cases of
    its decision wait for the merchant's next decision (a fresh deadline, a ``stock_moved``
    event each)."""
    transfer = _lock(actor=actor, transfer_id=transfer_id)
    pair, cases = _goods_in(transfer, arrived=False, now=now, actor=actor)
    bulk.insert(
        [
            transfer_case_event(c.pk, transfer, movement="transfer_cancelled", now=now, actor=actor)
            for c in cases
        ]
    )
    _next_decision(cases, warehouse_id=transfer.to_warehouse_id, now=now, actor=actor)
    others = stock_recheck(pairs={pair}, now=now, actor_label=actor.label)
    return TransferResult(
        transfer=transfer, still_short=sorted(c.order_id for c in cases), cases_closed=others.cases_closed
    )


def _next_decision(cases: Sequence[ExceptionCase], *, warehouse_id: int, now: datetime, actor: Actor) -> None:
    """Orders still short once the transfer arrived or was cancelled: the merchant decides
    again, with a fresh deadline (S1), a ``step_started`` event each."""
    from orderguard.sla.services import MERCHANT_DECISION_STEP, cases_clock_start

    cases_clock_start(cases=cases, step=MERCHANT_DECISION_STEP, now=now, warehouse_id=warehouse_id)
    bulk.insert(case_events.steps_started(cases, at=now, actor_label=actor.label, actor_id=actor.user_id))


def transfers_visible(*, actor: Actor, status: str = "", sku: str = "") -> models.QuerySet[Transfer]:
    """Transfers the actor may see (a merchant user its own), newest first."""
    qs = visible(Transfer.objects.select_related("merchant", "sku", "from_warehouse", "to_warehouse"), actor)
    if status:
        qs = qs.filter(status=status)
    if sku:
        qs = qs.filter(sku__code=sku)
    return qs.order_by("-shipped_at", "-pk")
