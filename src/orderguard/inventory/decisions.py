"""The merchant's decision for the orders short of one SKU (H1.2, B4): transfer from another of
its warehouses, substitute another SKU (with the buyer's consent), ship partially, wait for the
restock date, or cancel. One decision applies to every order with an open stock-out case (T1)
for that SKU, but those the merchant excludes; each decision is a `StockDecision` row and a
CaseEvent on every case it touched (H1.3), with what it did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from orderguard.cases import events as case_events
from orderguard.cases.choices import OPEN_STATUSES, CaseEventType, CaseOutcome, CaseStatus
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.models import BundleItem, Sku, Warehouse
from orderguard.core import bulk
from orderguard.core.choices import ExceptionType
from orderguard.core.errors import DomainError
from orderguard.inventory.models import (
    DecisionKind,
    ShortPolicy,
    StockDecision,
    StockLevel,
    Transfer,
    TransferStatus,
)
from orderguard.inventory.selectors import StockSource, bundles_holding, stock_sources_for
from orderguard.inventory.services import (
    QUANTITY_MAX,
    SHORT_POLICY_KEY,
    RecheckResult,
    _whole,
    stock_recheck,
    stock_release,
)
from orderguard.inventory.transfers import (
    IN_TRANSIT_STEP,
    TransferRefused,
    transfer_case_event,
    transfer_ship,
)
from orderguard.orders.choices import OrderEventType, OrderStatus
from orderguard.orders.models import Order, OrderEvent, OrderLine
from orderguard.orders.schema import PlatformState
from orderguard.tenancy.access import Actor, visible
from orderguard.tenancy.models import Role

# Who may record a decision: the merchant's own users, and warehouse staff on its behalf.
DECISION_ROLES = frozenset({Role.MERCHANT, Role.SERVICE_AGENT, Role.MANAGER, Role.ADMIN})
NOTE_MAX_LENGTH = 500
# The deadline step of a case waiting for the restock date (its due time is that date).
RESTOCK_STEP = "restock"
# A transfer's expected arrival when the decision names none.
TRANSFER_HOURS = 24


class StockDecisionRefused(DomainError):
    """A decision the rules refuse; nothing was changed. `code` says why:

    - ``ROLE``: the actor may not decide (operators, technical on-call);
    - ``SKU_UNKNOWN``: no such SKU of the merchant (another merchant's SKU alike: `value`);
    - ``KIND_INVALID``: not one of transfer, substitute, partial, wait, cancel;
    - ``WAREHOUSE_UNKNOWN``: the warehouse or the transfer's source is unknown (`field`);
    - ``WAREHOUSE_REQUIRED``: the SKU's orders wait in several warehouses: name one;
    - ``TRANSFER_SAME_WAREHOUSE``: the source is where the orders wait;
    - ``QUANTITY_INVALID``: a transfer's quantity is not a whole number above 0;
    - ``INSUFFICIENT_STOCK``: the source has less available than the transfer (`available`);
    - ``SUBSTITUTE_UNKNOWN``: no such SKU of the merchant to substitute, or the same SKU;
    - ``CONSENT_REQUIRED``: a substitute without the buyer's consent recorded;
    - ``RESTOCK_INVALID``: wait without a restock time, or one not after now;
    - ``EXPECTED_INVALID``: a transfer expected to arrive no later than now;
    - ``ORDER_UNKNOWN``: an order id (to apply to or exclude) is not the merchant's (`order_id`);
    - ``ORDER_SHIPPED``: an order named is already shipped or cancelled (`order_id`, `status`);
    - ``ORDER_NOT_AFFECTED``: an order named has no open stock-out case for the SKU, or waits
      for a transfer of it on its way;
    - ``NO_AFFECTED_ORDERS``: no open stock-out case of the SKU is left to decide on;
    - ``NOTE_INVALID``: a note too long (`max_length`) or with control characters.
    """

    code = "STOCK_DECISION_REFUSED"

    def __init__(self, code: str, **data: object) -> None:
        super().__init__(code, **data)
        self.code = code


@dataclass
class DecisionResult:
    decision: StockDecision
    order_ids: list[int] = field(default_factory=list)
    served: list[int] = field(default_factory=list)
    still_short: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    cases: list[int] = field(default_factory=list)
    transfer: Transfer | None = None


def _clean(text: str, *, max_length: int = NOTE_MAX_LENGTH) -> str:
    value = (text or "").strip()
    if len(value) > max_length or any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in value):
        raise StockDecisionRefused("NOTE_INVALID", max_length=max_length)
    return value


def waiting_for_transfer(*, sku_ids: set[int], warehouse_id: int | None = None) -> set[tuple[int, int, int]]:
    """(warehouse, SKU, order) of the orders a transfer of one of these SKUs on its way (to
    `warehouse_id` when given) will serve: the orders of the decision that shipped it, whose
    cases wait for it (step ``in_transit``) until it is received or cancelled. One query."""
    transfers = Transfer.objects.filter(
        sku_id__in=sku_ids, status=TransferStatus.IN_TRANSIT, decision__isnull=False
    )
    if warehouse_id is not None:
        transfers = transfers.filter(to_warehouse_id=warehouse_id)
    return {
        (wh, sku, order_id)
        for wh, sku, order_ids in transfers.values_list("to_warehouse_id", "sku_id", "decision__order_ids")
        for order_id in order_ids
    }


def _short_lines(*, merchant_id: int, sku_id: int, warehouse_id: int | None) -> models.QuerySet[OrderLine]:
    """Lines of the merchant's orders to ship that lack stock of the SKU, itself or through a
    bundle holding it, whose order has an open stock-out case (T1), but for the orders a
    transfer of the SKU on its way to their warehouse will serve (`waiting_for_transfer`): a
    second decision on the SKU would ship their units again."""
    lines = OrderLine.objects.filter(
        order__merchant_id=merchant_id,
        sku_id__in={sku_id, *bundles_holding({sku_id})},
        allocated_quantity__lt=F("quantity"),
        order__status__in=[OrderStatus.ON_HOLD, OrderStatus.READY],
        order__platform_state=PlatformState.READY,
        order__cases__type=ExceptionType.OUT_OF_STOCK,
        order__cases__status__in=list(OPEN_STATUSES),
    )
    if warehouse_id is not None:
        lines = lines.filter(order__channel__warehouse_id=warehouse_id)
    # each order waits in its own warehouse, where the transfer goes
    waiting = {
        order for _wh, _sku, order in waiting_for_transfer(sku_ids={sku_id}, warehouse_id=warehouse_id)
    }
    if waiting:
        lines = lines.exclude(order_id__in_ids=sorted(waiting))
    return lines


def short_orders(*, merchant_id: int, sku_id: int, warehouse_id: int | None = None) -> dict[int, int]:
    """Order id -> warehouse id of the merchant's orders to ship that lack stock of this SKU
    (a line of it, or of a bundle holding it, not fully allocated) and have an open stock-out
    case (T1), but those a transfer of the SKU on its way will serve."""
    lines = _short_lines(merchant_id=merchant_id, sku_id=sku_id, warehouse_id=warehouse_id)
    return dict(lines.values_list("order_id", "order__channel__warehouse_id").distinct())


def _case_event(
    case_id: int, *, now: datetime, actor: Actor, decision: StockDecision, **data: object
) -> CaseEvent:
    """The merchant's decision on one case (``decided``; `step` ``decided`` when taken,
    ``applied`` with `short` once the stock was allocated again, ``waiting`` for a restock
    date, ``in_transit`` for a transfer on its way); the merchant's note is `text`."""
    return bulk.new(
        CaseEvent,
        case_id=case_id,
        type=CaseEventType.DECIDED,
        occurred_at=now,
        actor_id=actor.user_id,
        actor_label=actor.label,
        data={"text": decision.note, "decision": decision.pk, "kind": decision.kind, **data},
    )


@transaction.atomic
def stock_decision_apply(
    *,
    actor: Actor,
    merchant_id: int,
    sku_code: str,
    kind: str,
    now: datetime,
    warehouse_code: str = "",
    from_warehouse_code: str = "",
    quantity: object = None,
    substitute_sku_code: str = "",
    buyer_consent: bool = False,
    consent_note: str = "",
    restock_at: datetime | None = None,
    expected_at: datetime | None = None,
    note: str = "",
    order_ids: Sequence[int] = (),
    exclude_order_ids: Sequence[int] = (),
) -> DecisionResult:
    """Record the merchant's decision for its orders short of `sku_code` and apply it to each
    (H1.2, B4): every order with an open stock-out case of the SKU (in `warehouse_code` when
    given; only `order_ids` when given), but `exclude_order_ids`, and but the orders a transfer
    of the SKU on its way will serve (an earlier transfer decision's: they wait for it, and a
    second transfer would ship their units again). Orders waiting for a restock date (wait)
    stay affected: nothing is on its way for them, and the merchant may decide again.

    - transfer: `quantity` units (default: what the orders lack beyond what is available) leave
      `from_warehouse_code` for the orders' warehouse (a `Transfer` in transit, expected at
      `expected_at`, by default `TRANSFER_HOURS` from now); the orders wait for it (their
      cases at step ``in_transit``, due then) and are allocated in payment order when it is
      received (`inventory.transfers.transfer_receive`);
    - substitute: the buyer's consent is required; the orders' lines of the SKU become the
      substitute (their stock of the SKU released), and they are allocated again;
    - partial: the orders ship what there is (a back-order for the rest), their cases close;
    - wait: the cases stay open, their deadline step ``restock`` due at `restock_at`;
    - cancel: the orders are cancelled, their stock released, their cases cancelled (their other
      automatic cases too, as for an order the platform closed).

    A merchant user decides only for its own merchant (another merchant's SKU is unknown);
    warehouse staff (customer service, managers, admins) decide on a merchant's behalf. Any
    refusal raises `StockDecisionRefused` and changes nothing."""
    if actor.role not in DECISION_ROLES:
        raise StockDecisionRefused("ROLE", role=actor.role)
    if actor.merchant_id is not None and actor.merchant_id != merchant_id:
        raise StockDecisionRefused("SKU_UNKNOWN", value=sku_code)
    if kind not in DecisionKind.values:
        raise StockDecisionRefused("KIND_INVALID", value=str(kind)[:20])
    note = _clean(note)
    consent_note = _clean(consent_note)
    sku = Sku.objects.filter(merchant_id=merchant_id, code=sku_code).first()
    if sku is None:
        raise StockDecisionRefused("SKU_UNKNOWN", value=sku_code)
    warehouse = None
    if warehouse_code:
        warehouse = Warehouse.objects.filter(code=warehouse_code).first()
        if warehouse is None:
            raise StockDecisionRefused("WAREHOUSE_UNKNOWN", field="warehouse", value=warehouse_code)
    # The rows a concurrent re-check would change are locked before the affected orders are
    # read (in the re-check's order: the SKU's stock rows, then the cases), so that no order is
    # served between the read and the decision.
    list(StockLevel.objects.select_for_update().filter(merchant_id=merchant_id, sku=sku).order_by("pk"))
    locked = {
        c.order_id: c
        for c in ExceptionCase.objects.select_for_update(of=("self",))
        .filter(
            merchant_id=merchant_id,
            type=ExceptionType.OUT_OF_STOCK,
            status__in=list(OPEN_STATUSES),
            order_id__in=_short_lines(
                merchant_id=merchant_id, sku_id=sku.pk, warehouse_id=warehouse.pk if warehouse else None
            ).values("order_id"),
        )
        .order_by("pk")
    }
    affected = {
        pk: wh
        for pk, wh in short_orders(
            merchant_id=merchant_id, sku_id=sku.pk, warehouse_id=warehouse.pk if warehouse else None
        ).items()
        if pk in locked
    }
    named = set(order_ids) | set(exclude_order_ids)
    if named:
        found = dict(Order.objects.filter(merchant_id=merchant_id, pk__in=named).values_list("pk", "status"))
        for pk in sorted(named):
            if pk not in found:
                raise StockDecisionRefused("ORDER_UNKNOWN", order_id=pk)
        for pk in sorted(set(order_ids)):
            if found[pk] in (OrderStatus.SHIPPED, OrderStatus.CANCELLED):
                raise StockDecisionRefused("ORDER_SHIPPED", order_id=pk, status=found[pk])
            if pk not in affected:
                raise StockDecisionRefused("ORDER_NOT_AFFECTED", order_id=pk)
    chosen = set(order_ids) if order_ids else set(affected)
    chosen -= set(exclude_order_ids)
    if not chosen:
        raise StockDecisionRefused("NO_AFFECTED_ORDERS", sku=sku_code)
    warehouses = {affected[pk] for pk in chosen}
    if len(warehouses) > 1:
        raise StockDecisionRefused("WAREHOUSE_REQUIRED", sku=sku_code)
    target_id = warehouses.pop()
    if warehouse is None:
        warehouse = Warehouse.objects.get(pk=target_id)

    decision = StockDecision(
        merchant_id=merchant_id,
        sku=sku,
        warehouse=warehouse,
        kind=kind,
        note=note,
        decided_by_id=actor.user_id,
        decided_by_label=actor.label,
        decided_at=now,
        excluded_order_ids=sorted(set(exclude_order_ids)),
        order_ids=sorted(chosen),
    )
    source = None
    qty = 0
    substitute = None
    expected = None
    if kind == DecisionKind.TRANSFER:
        source = Warehouse.objects.filter(code=from_warehouse_code).first()
        if source is None:
            raise StockDecisionRefused("WAREHOUSE_UNKNOWN", field="from_warehouse", value=from_warehouse_code)
        if source.pk == warehouse.pk:
            raise StockDecisionRefused("TRANSFER_SAME_WAREHOUSE", value=from_warehouse_code)
        if quantity in (None, ""):
            qty = _shortfall(sku_id=sku.pk, warehouse_id=warehouse.pk, order_ids=chosen)
        else:
            whole = _whole(quantity)
            if whole is None or whole <= 0 or whole > QUANTITY_MAX:
                raise StockDecisionRefused("QUANTITY_INVALID", value=str(quantity)[:20])
            qty = whole
        level = StockLevel.objects.filter(warehouse=source, sku=sku).first()
        available = level.available if level else 0
        if available < qty:
            raise StockDecisionRefused("INSUFFICIENT_STOCK", available=available, warehouse=source.code)
        expected = expected_at or now + timedelta(hours=TRANSFER_HOURS)
        if expected <= now:
            raise StockDecisionRefused("EXPECTED_INVALID", value=expected.isoformat())
        decision.from_warehouse, decision.quantity = source, qty
    elif kind == DecisionKind.SUBSTITUTE:
        substitute = Sku.objects.filter(merchant_id=merchant_id, code=substitute_sku_code).first()
        if substitute is None or substitute.pk == sku.pk:
            raise StockDecisionRefused("SUBSTITUTE_UNKNOWN", value=substitute_sku_code)
        if buyer_consent is not True:
            raise StockDecisionRefused("CONSENT_REQUIRED")
        decision.substitute_sku, decision.buyer_consent, decision.consent_note = (
            substitute,
            True,
            consent_note,
        )
    elif kind == DecisionKind.WAIT:
        if restock_at is None or restock_at <= now:
            raise StockDecisionRefused("RESTOCK_INVALID", value=str(restock_at or ""))
        decision.restock_at = restock_at
    decision.save()

    cases = sorted((locked[pk] for pk in chosen), key=lambda c: c.pk)
    result = DecisionResult(decision=decision, order_ids=sorted(chosen), cases=[c.pk for c in cases])
    # the decision on each case's timeline before what it leads to (a re-check closing the case)
    bulk.insert([_case_event(c.pk, now=now, actor=actor, decision=decision, step="decided") for c in cases])
    events: list[CaseEvent] = []
    pair = (warehouse.pk, sku.pk)
    label = actor.label
    recheck: RecheckResult | None = None
    if kind == DecisionKind.TRANSFER:
        assert source is not None and expected is not None
        try:
            transfer = transfer_ship(
                merchant_id=merchant_id,
                sku=sku,
                source=source,
                target=warehouse,
                quantity=qty,
                now=now,
                expected_at=expected,
                actor=actor,
                decision=decision,
            )
        except TransferRefused as exc:  # the stock changed since it was read
            raise StockDecisionRefused("INSUFFICIENT_STOCK", **exc.data) from exc
        # the orders wait for the transfer: their cases at step in_transit, due when it is
        waiting = _cases_wait(cases, step=IN_TRANSIT_STEP, until=expected, now=now, actor=actor)
        events += [
            transfer_case_event(c.pk, transfer, movement="transfer_out", now=now, actor=actor) for c in cases
        ]
        events += waiting
        result.still_short = sorted(chosen)
        result.transfer = transfer
    elif kind == DecisionKind.SUBSTITUTE:
        assert substitute is not None
        orders = list(Order.objects.filter(pk__in=chosen).order_by("pk"))
        released: set[tuple[int, int]] = set()
        stock_release(
            orders=orders, now=now, actor_label=label, reason=f"decision:{decision.pk}", released=released
        )
        OrderLine.objects.filter(order_id__in=chosen, sku_id=sku.pk).update(
            sku_id=substitute.pk, sku_code=substitute.code
        )
        bulk.insert(
            [
                bulk.new(
                    OrderEvent,
                    order_id=o.pk,
                    type=OrderEventType.CORRECTED,
                    occurred_at=now,
                    actor_id=actor.user_id,
                    actor_label=label,
                    data={"decision": decision.pk, "sku": sku.code, "substitute": substitute.code},
                )
                for o in orders
            ]
        )
        recheck = stock_recheck(
            pairs=released | {pair, (warehouse.pk, substitute.pk)},
            now=now,
            actor_label=label,
            order_ids=chosen,
            reason="merchant_substitute",
        )
        # what the orders gave back may serve others waiting for it
        if released:
            stock_recheck(pairs=released, now=now, actor_label=label)
    elif kind == DecisionKind.PARTIAL:
        orders = list(Order.objects.filter(pk__in=chosen).order_by("pk"))
        for o in orders:
            o.extra = {
                **(o.extra if isinstance(o.extra, dict) else {}),
                SHORT_POLICY_KEY: ShortPolicy.PARTIAL,
            }
        bulk.update(orders, ["extra"])
        recheck = stock_recheck(
            pairs={pair}, now=now, actor_label=label, order_ids=chosen, reason="merchant_partial"
        )
    elif kind == DecisionKind.WAIT:
        assert restock_at is not None
        waiting = _cases_wait(cases, step=RESTOCK_STEP, until=restock_at, now=now, actor=actor)
        events += [
            _case_event(
                c.pk,
                now=now,
                actor=actor,
                decision=decision,
                step="waiting",
                restock_at=restock_at.isoformat(),
            )
            for c in cases
        ]
        events += waiting
        result.still_short = sorted(chosen)
    else:  # cancel
        orders = list(Order.objects.filter(pk__in=chosen).order_by("pk"))
        released = set()
        stock_release(
            orders=orders, now=now, actor_label=label, reason=f"decision:{decision.pk}", released=released
        )
        Order.objects.filter(pk__in=chosen).update(status=OrderStatus.CANCELLED)
        bulk.insert(
            [
                bulk.new(
                    OrderEvent,
                    order_id=o.pk,
                    type=OrderEventType.STATUS_CHANGED,
                    occurred_at=now,
                    actor_id=actor.user_id,
                    actor_label=label,
                    data={"from": o.status, "to": OrderStatus.CANCELLED, "decision": decision.pk},
                )
                for o in orders
            ]
        )
        for c in cases:
            c.status, c.outcome, c.resolution = CaseStatus.CANCELLED, CaseOutcome.CANCELLED, "merchant_cancel"
            c.closed_at, c.waiting_on = now, ""
            c.handling_seconds = max(0, int((now - c.opened_at).total_seconds()))
            c.sla_next_at = c.sla_paused_at = c.sla_remaining_seconds = None
            c.contact_next, c.contact_next_at, c.contact_auto_at = "", None, None
        bulk.update(
            cases,
            [
                "status",
                "outcome",
                "resolution",
                "closed_at",
                "waiting_on",
                "handling_seconds",
                "sla_next_at",
                "sla_paused_at",
                "sla_remaining_seconds",
                "contact_next",
                "contact_next_at",
                "contact_auto_at",
            ],
        )
        events += [
            bulk.new(
                CaseEvent,
                case_id=c.pk,
                type=CaseEventType.STATUS_CHANGED,
                occurred_at=now,
                actor_id=actor.user_id,
                actor_label=label,
                data={
                    "to": CaseStatus.CANCELLED.value,
                    "outcome": CaseOutcome.CANCELLED.value,
                    "decision": decision.pk,
                },
            )
            for c in cases
        ]
        # closed like any case: a `resolved` event (outcome, handling time) that the daily
        # figures count (S3) and the timeline shows as the closing
        events += [
            case_events.resolved(
                c, at=now, actor_label=label, actor_id=actor.user_id, reason="merchant_cancel"
            )
            for c in cases
        ]
        result.cancelled = sorted(chosen)
        # the orders will not ship: their other automatic cases (an address to correct, a
        # product to check) are cancelled as for an order the platform closed
        from orderguard.cases.services import OrderFindings, cases_triage
        from orderguard.sla.services import PolicyBook

        cases_triage(
            items=[OrderFindings(order=o, not_ready=True) for o in orders],
            now=now,
            actor_label=label,
            policies=PolicyBook(),
        )
        if released:
            stock_recheck(pairs=released, now=now, actor_label=label)
    if recheck is not None:
        open_t1 = set(
            ExceptionCase.objects.filter(
                order_id__in=chosen, type=ExceptionType.OUT_OF_STOCK, status__in=list(OPEN_STATUSES)
            ).values_list("order_id", flat=True)
        )
        result.still_short = sorted(open_t1)
        result.served = sorted(chosen - open_t1)
        events += [
            _case_event(
                c.pk, now=now, actor=actor, decision=decision, step="applied", short=c.order_id in open_t1
            )
            for c in cases
        ]
        events += _decision_clock_restart(
            [c for c in cases if c.order_id in open_t1], warehouse_id=warehouse.pk, now=now, actor=actor
        )
    bulk.insert(events)
    decision.effect = {
        "served": result.served,
        "still_short": result.still_short,
        "cancelled": result.cancelled,
        "cases": result.cases,
    }
    if result.transfer is not None:
        decision.effect["transfer"] = result.transfer.pk
    StockDecision.objects.filter(pk=decision.pk).update(effect=decision.effect)
    return result


def _cases_wait(
    cases: Sequence[ExceptionCase], *, step: str, until: datetime, now: datetime, actor: Actor
) -> list[CaseEvent]:
    """The cases wait for stock due at `until` (a restock date, a transfer's arrival): their
    step's deadline and next alert are then, from alert level 0. Returns their
    ``step_started`` events, to be written."""
    for c in cases:
        c.step, c.due_at, c.warn_at = step, until, until
        c.sla_level, c.sla_next_at = 0, until
        c.sla_paused_at = c.sla_remaining_seconds = None
    bulk.update(
        list(cases),
        ["step", "due_at", "warn_at", "sla_level", "sla_next_at", "sla_paused_at", "sla_remaining_seconds"],
    )
    return case_events.steps_started(cases, at=now, actor_label=actor.label, actor_id=actor.user_id)


def _decision_clock_restart(
    cases: Sequence[ExceptionCase], *, warehouse_id: int, now: datetime, actor: Actor
) -> list[CaseEvent]:
    """Orders still short after a decision (a transfer of less than they lack, a substitute
    short too): the merchant answered, so the deadline for the next decision starts afresh
    from now, alerts from level 0 (S1), instead of escalating the answer already given.
    Returns their ``step_started`` events, to be written."""
    from orderguard.sla.services import MERCHANT_DECISION_STEP, cases_clock_start

    cases_clock_start(cases=cases, step=MERCHANT_DECISION_STEP, now=now, warehouse_id=warehouse_id)
    return case_events.steps_started(cases, at=now, actor_label=actor.label, actor_id=actor.user_id)


def _shortfall(*, sku_id: int, warehouse_id: int, order_ids: set[int]) -> int:
    """Units of the SKU these orders still lack (their lines of it, and of bundles holding it:
    bundles times units per bundle) beyond what the warehouse has available (1 at least, so
    that a transfer always moves something)."""
    bundles = bundles_holding({sku_id})
    wanted = sum(
        (q - a) * (bundles[line_sku][sku_id] if line_sku in bundles else 1)
        for line_sku, q, a in OrderLine.objects.filter(
            order_id__in=order_ids, sku_id__in={sku_id, *bundles}
        ).values_list("sku_id", "quantity", "allocated_quantity")
    )
    level = StockLevel.objects.filter(warehouse_id=warehouse_id, sku_id=sku_id).first()
    return max(1, wanted - (level.available if level else 0))


def decision_error_message(error: StockDecisionRefused) -> str:
    """A refused decision in words for people (callers map the code)."""
    d = error.data
    messages = {
        "ROLE": lambda: _("只有商家用户、客服、仓库主管和管理员可以处理缺货"),
        "SKU_UNKNOWN": lambda: _("该商家没有 SKU“%(value)s”") % {"value": d.get("value")},
        "KIND_INVALID": lambda: _("处理方式应为调拨、换货、有货先发、等待补货或取消"),
        "WAREHOUSE_UNKNOWN": lambda: _("仓库“%(value)s”不存在") % {"value": d.get("value")},
        "WAREHOUSE_REQUIRED": lambda: _("该 SKU 的订单在多个仓库等待，请指定仓库"),
        "TRANSFER_SAME_WAREHOUSE": lambda: _("调出和调入不能是同一个仓库"),
        "QUANTITY_INVALID": lambda: _("数量必须是大于 0 的整数"),
        "INSUFFICIENT_STOCK": lambda: (
            _("可用库存不足：只有 %(available)s") % {"available": d.get("available")}
        ),
        "SUBSTITUTE_UNKNOWN": lambda: _("替换商品不存在或与原商品相同"),
        "CONSENT_REQUIRED": lambda: _("换货须先取得买家同意"),
        "RESTOCK_INVALID": lambda: _("请填写晚于现在的预计补货时间"),
        "EXPECTED_INVALID": lambda: _("预计到货时间须晚于现在"),
        "ORDER_UNKNOWN": lambda: _("找不到该对象"),
        "ORDER_SHIPPED": lambda: _("订单 %(order_id)s 已发货或已取消") % {"order_id": d.get("order_id")},
        "ORDER_NOT_AFFECTED": lambda: (
            _("订单 %(order_id)s 没有该 SKU 的缺货异常") % {"order_id": d.get("order_id")}
        ),
        "NO_AFFECTED_ORDERS": lambda: _("该 SKU 没有待处理的缺货订单"),
        "NOTE_INVALID": lambda: _("原因过长或含有不允许的字符"),
    }
    return str(messages[error.code]())


def stock_decisions(*, actor: Actor, sku: str = "") -> models.QuerySet[StockDecision]:
    """Decisions the actor may see (a merchant user its own merchant's), newest first."""
    qs = visible(
        StockDecision.objects.select_related(
            "merchant", "sku", "warehouse", "from_warehouse", "substitute_sku"
        ),
        actor,
    )
    if sku:
        qs = qs.filter(sku__code=sku)
    return qs.order_by("-decided_at", "-pk")


@dataclass
class ShortSku:
    """A SKU whose orders wait for a decision, in one warehouse: the orders (ids), the stock
    there (available, inbound and its ETA), and the warehouses holding it (`stock_sources`)."""

    merchant_id: int
    merchant_code: str
    sku_code: str
    warehouse_code: str
    order_ids: list[int]
    available: int = 0
    inbound_quantity: int = 0
    inbound_eta: datetime | None = None
    sources: list[StockSource] = field(default_factory=list)


SHORT_SKUS_SHOWN = 50


def short_skus(*, actor: Actor, now: datetime, limit: int = SHORT_SKUS_SHOWN) -> list[ShortSku]:
    """The SKUs whose orders have open stock-out cases (T1) and lack their stock, per merchant
    and warehouse, those with the most orders first; a merchant user sees its own. An order
    counts for each SKU of its lines (a bundle's: each component) the warehouse cannot give
    it, not for a line merely held while another SKU is short, nor for a SKU a transfer on its
    way will bring it (`waiting_for_transfer`)."""
    rows = visible(
        OrderLine.objects.filter(
            sku_id__isnull=False,
            allocated_quantity__lt=F("quantity"),
            order__status__in=[OrderStatus.ON_HOLD, OrderStatus.READY],
            order__platform_state=PlatformState.READY,
            order__cases__type=ExceptionType.OUT_OF_STOCK,
            order__cases__status__in=list(OPEN_STATUSES),
        ),
        actor,
        merchant_field="order__merchant",
    ).values_list(
        "order__merchant_id",
        "order__merchant__code",
        "sku_id",
        "sku__code",
        "order__channel__warehouse_id",
        "order__channel__warehouse__code",
        "order_id",
        "quantity",
        "allocated_quantity",
    )
    found = list(rows)
    # a line is short of those of its SKUs (itself, or a bundle's components) the warehouse
    # cannot give it: an order held for one SKU does not make its other lines' SKUs short
    parts: dict[int, list[tuple[int, str, int]]] = {}
    for bundle, component, ccode, per in BundleItem.objects.filter(
        bundle_id__in={r[2] for r in found}
    ).values_list("bundle_id", "component_id", "component__code", "quantity"):
        parts.setdefault(bundle, []).append((component, ccode, per))
    free = {
        (w, sku): on_hand - allocated
        for w, sku, on_hand, allocated in StockLevel.objects.filter(
            sku_id__in={c for p in parts.values() for c, _cc, _per in p} | {r[2] for r in found},
            warehouse_id__in={r[4] for r in found},
        ).values_list("warehouse_id", "sku_id", "on_hand", "allocated")
    }
    # an order a transfer on its way will serve waits for it, not for a decision
    in_transit = waiting_for_transfer(
        sku_ids={c for p in parts.values() for c, _cc, _per in p} | {r[2] for r in found}
    )
    groups: dict[tuple[int, str, int, str, int, str], set[int]] = {}
    for m, mcode, sku, code, wh, whcode, order, quantity, allocated in found:
        for component, ccode, per in parts.get(sku) or [(sku, code, 1)]:
            if (wh, component, order) in in_transit:
                continue
            if free.get((wh, component), 0) < per * (quantity - allocated):
                groups.setdefault((m, mcode, component, ccode, wh, whcode), set()).add(order)
    top = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0][1], kv[0][3], kv[0][5]))[:limit]
    # every warehouse's stock of the SKUs shown, the one the orders wait in among them
    sources = stock_sources_for(sku_ids={k[2] for k, _v in top}, now=now)
    out = []
    for (m, mcode, sku, code, _wh, whcode), orders in top:
        here = next((s for s in sources.get(sku, ()) if s.warehouse == whcode), None)
        out.append(
            ShortSku(
                merchant_id=m,
                merchant_code=mcode,
                sku_code=code,
                warehouse_code=whcode,
                order_ids=sorted(orders),
                available=here.available if here else 0,
                inbound_quantity=here.inbound_quantity if here else 0,
                inbound_eta=here.inbound_eta if here else None,
                sources=[s for s in sources.get(sku, ()) if s.warehouse != whcode and s.available > 0],
            )
        )
    return out
