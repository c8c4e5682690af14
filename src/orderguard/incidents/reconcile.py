"""Manual mode and reconciliation (H4.2, B3).

While an incident is active on a channel, urgent orders are entered by hand: they go through
the generic JSON flow (`intake.submit.orders_submit`: checks, stock, cases, like any order),
are flagged `Order.is_manual`, and get a `ManualOrder` row.

When the platform's own copy arrives (an import or a webhook: `intake.services.orders_import`
calls `manual_reconcile` at its end, and so does the periodic monitoring job):

- entered with the platform's order id, the copy is the same (channel, platform order id):
  the import updates the manual order itself and it is matched (`platform_id`);
- otherwise the candidates are the channel's other orders, received after the manual one,
  with the same normalised phone and the same SKUs and quantities, paid within
  `MANUAL_MATCH_WINDOW_HOURS` of it. One candidate is merged (`phone_lines`); two or more, one
  claimed by two manual orders, or one for a manual order cancelled since, are a conflict left
  to a person (`manual_settle`); none leaves it waiting.

Merging keeps one order: the manual order's row, which holds the stock allocation and any
dispatch, takes the platform's order id and platform fields (status, times, notes, extra);
the copy gives its stock back, is cancelled under a renamed id, and its open cases are
cancelled. Both orders and their cases log the merge (`merged`). Nothing is shipped twice:
the copy never ships once merged, and an order already shipped is never taken as a copy.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from orderguard.cases.choices import OPEN_STATUSES, CaseEventType, CaseOutcome, CaseStatus
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import cases_close
from orderguard.core import bulk
from orderguard.core.errors import NotFound
from orderguard.incidents.models import (
    ACTIVE_STATUSES,
    Incident,
    IncidentEventType,
    ManualOrder,
    ManualStatus,
)
from orderguard.incidents.services import IncidentRefused, _event
from orderguard.orders.choices import OrderEventType, OrderStatus
from orderguard.orders.models import Channel, Order, OrderEvent
from orderguard.tenancy.access import Actor, visible
from orderguard.tenancy.models import Role

MANUAL_ROLES = frozenset({Role.OPERATOR, Role.SERVICE_AGENT, Role.TECH_ONCALL, Role.MANAGER, Role.ADMIN})
# What a hand-entered order must have (the generic layout asks less: a file may fill it later)
REQUIRED = ("recipient_name", "recipient_phone", "address")
# platform fields the merged order takes from the copy
PLATFORM_FIELDS = (
    "platform_status",
    "platform_state",
    "placed_at",
    "paid_at",
    "buyer_note",
    "seller_note",
    "extra",
)
MANUAL_PREFIX = "MANUAL-"


@dataclass(frozen=True)
class ManualLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ManualIn:
    """One order typed in by hand. `order_id` is the platform's order id when known (then the
    platform's copy is recognised by it), else empty (an id ``MANUAL-…`` is given)."""

    recipient_name: str
    recipient_phone: str
    address: str
    lines: Sequence[ManualLine]
    province: str = ""
    city: str = ""
    district: str = ""
    order_id: str = ""
    paid_at: datetime | None = None
    buyer_note: str = ""
    service_level: str = ""


FIELD_LABELS = {
    "channel": _("渠道"),
    "order_id": _("平台订单号"),
    "recipient_name": _("收货人"),
    "recipient_phone": _("联系电话"),
    "address": _("详细地址"),
    "lines": _("商品"),
    "sku": _("商品编码"),
    "quantity": _("数量"),
}


def _required(field: str, where: str = "") -> IncidentRefused:
    return IncidentRefused(
        "FIELD_REQUIRED",
        _("请填写%(field)s") % {"field": FIELD_LABELS.get(field, field)},
        field=where or field,
    )


def active_incident_for(channel_id: int) -> Incident | None:
    return (
        Incident.objects.filter(channel_id=channel_id, status__in=ACTIVE_STATUSES)
        .order_by("opened_at", "pk")
        .first()
    )


def manual_order_enter(*, actor: Actor, channel: Channel, data: ManualIn, now: datetime) -> Order:
    """Enter one urgent order by hand while `channel` has an active incident. Missing fields are
    refused naming the field (`FIELD_REQUIRED`, `lines[<i>].sku`); an order id the channel
    already has is refused (`DUPLICATE`): nothing is written in either case."""
    if actor.role not in MANUAL_ROLES:
        raise IncidentRefused("ROLE", _("只有仓库员工可以手工录单"))
    incident = active_incident_for(channel.pk)
    if incident is None:
        raise IncidentRefused(
            "NO_INCIDENT", _("该渠道没有进行中的故障，订单请按平台正常导入"), field="channel"
        )
    for name in REQUIRED:
        if not str(getattr(data, name) or "").strip():
            raise _required(name)
    if not data.lines:
        raise _required("lines")
    for i, line in enumerate(data.lines):
        if not line.sku.strip():
            raise _required("sku", f"lines[{i}].sku")
        if not isinstance(line.quantity, int) or line.quantity < 1:
            raise IncidentRefused("FIELD_INVALID", _("数量必须是大于 0 的整数"), field=f"lines[{i}].quantity")
    order_id = data.order_id.strip()
    if order_id and Order.objects.filter(channel=channel, platform_order_id=order_id).exists():
        raise IncidentRefused(
            "DUPLICATE", _("该渠道已有订单 %(id)s，无需手工录入") % {"id": order_id}, field="order_id"
        )
    entered = order_id or f"{MANUAL_PREFIX}{now:%Y%m%d}-{secrets.token_hex(3).upper()}"
    from orderguard.intake.services import MANUAL_ACTOR_PREFIX
    from orderguard.intake.submit import Outcome, orders_submit

    body: dict[str, Any] = {
        "order_id": entered,
        "paid_at": (data.paid_at or now).isoformat(),
        "recipient_name": data.recipient_name.strip(),
        "recipient_phone": data.recipient_phone.strip(),
        "province": data.province.strip(),
        "city": data.city.strip(),
        "district": data.district.strip(),
        "address": data.address.strip(),
        "buyer_note": data.buyer_note,
        "service_level": data.service_level,
        "lines": [{"sku": li.sku.strip(), "quantity": li.quantity} for li in data.lines],
    }
    with transaction.atomic():
        submitted = orders_submit(
            channel=channel, orders=[body], actor_label=f"{MANUAL_ACTOR_PREFIX}{actor.label}", now=now
        )
        answer = submitted.orders[0]
        if answer.outcome == Outcome.REFUSED or answer.order is None:
            error = answer.errors[0] if answer.errors else None
            # the refused order leaves no batch behind
            transaction.set_rollback(True)
            raise IncidentRefused(
                error.code if error else "INVALID_INPUT",
                error.message if error else _("订单无法录入"),
                field=(error.field.removeprefix("orders[0].") if error else ""),
            )
        Order.objects.filter(pk=answer.order).update(is_manual=True)
        order = Order.objects.get(pk=answer.order)
        ManualOrder.objects.create(
            order=order,
            incident=incident,
            channel=channel,
            merchant_id=channel.merchant_id,
            entered_id=entered,
            entered_at=now,
        )
        incident.orders.add(order)
        _event(
            incident,
            IncidentEventType.MANUAL_ORDER,
            now,
            actor.label,
            actor.user_id,
            order=order.pk,
            platform_order_id=entered,
        ).save()
    return order


def _lines_key(lines: Sequence[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    counts: Counter[str] = Counter()
    for sku, qty in lines:
        counts[sku] += qty
    return tuple(sorted(counts.items()))


def _candidates(
    channel_id: int, manuals: Sequence[ManualOrder], lines: dict[int, tuple[tuple[str, int], ...]]
) -> dict[int, list[Order]]:
    """Each manual order's candidates (by `ManualOrder.pk`): the channel's later orders, not
    manual, not cancelled or shipped, with the same normalised phone and the same lines, paid
    within the window. Two queries for all of them."""
    window = timedelta(hours=settings.MANUAL_MATCH_WINDOW_HOURS)
    phones = {m.order.phone_normalised for m in manuals if m.order.phone_normalised}
    if not phones:
        return {}
    nearby = list(
        Order.objects.filter(
            channel_id=channel_id,
            is_manual=False,
            pk__gt=min(m.order_id for m in manuals),
            phone_normalised__in=phones,
        )
        .exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.SHIPPED])
        .order_by("pk")
    )
    their_lines = _lines_of([o.pk for o in nearby])
    found: dict[int, list[Order]] = {}
    for manual in manuals:
        order = manual.order
        if not order.phone_normalised:
            continue
        paid = order.paid_at
        found[manual.pk] = [
            o
            for o in nearby
            if o.pk > order.pk
            and o.phone_normalised == order.phone_normalised
            and (paid is None or (o.paid_at is not None and abs(o.paid_at - paid) <= window))
            and their_lines.get(o.pk, ()) == lines.get(order.pk, ())
        ]
    return found


def _lines_of(order_ids: Sequence[int]) -> dict[int, tuple[tuple[str, int], ...]]:
    from orderguard.orders.models import OrderLine

    raw: dict[int, list[tuple[str, int]]] = {}
    for order_id, sku, qty in OrderLine.objects.filter(order_id__in=order_ids).values_list(
        "order_id", "sku_code", "quantity"
    ):
        raw.setdefault(order_id, []).append((sku, qty))
    return {k: _lines_key(v) for k, v in raw.items()}


@dataclass
class ReconcileResult:
    matched: list[int]
    conflicts: list[int]
    waiting: list[int]


def manual_reconcile(
    *, channel_id: int, now: datetime, actor_label: str = "system:reconcile"
) -> ReconcileResult:
    """Match the channel's waiting manual orders with what the platform sent (see the module)."""
    result = ReconcileResult([], [], [])
    if not ManualOrder.objects.filter(channel_id=channel_id, status=ManualStatus.PENDING).exists():
        return result
    with transaction.atomic():
        pending = list(
            ManualOrder.objects.select_for_update()
            .filter(channel_id=channel_id, status=ManualStatus.PENDING)
            .select_related("order")
            .order_by("pk")
        )
        by_id = [m for m in pending if _entered_with_platform_id(m)]
        imported = _imported_after([m.order_id for m in by_id])
        for manual in by_id:
            # entered with the platform's id: an import since then updated this very order
            if manual.order.import_batch_id is not None and manual.order_id in imported:
                _mark_matched(manual, manual.order, by="platform_id", now=now, actor_label=actor_label)
                result.matched.append(manual.pk)
            else:
                result.waiting.append(manual.pk)
        by_match = [m for m in pending if not _entered_with_platform_id(m)]
        found = _candidates(channel_id, by_match, _lines_of([m.order_id for m in by_match]))
        # an order claimed by two manual orders is merged into neither: which one it belongs
        # to is for a person to say
        claims = Counter(o.pk for orders in found.values() for o in orders)
        for manual in by_match:
            candidates = found.get(manual.pk, [])
            # one candidate no other manual order claims is the copy; more, or a manual order
            # cancelled since (the merge would cancel the platform's live order too), is for a
            # person to settle
            sure = (
                len(candidates) == 1
                and claims[candidates[0].pk] == 1
                and manual.order.status != OrderStatus.CANCELLED
            )
            if sure and _merge(
                manual, manual.order, candidates[0], by="phone_lines", now=now, actor_label=actor_label
            ):
                result.matched.append(manual.pk)
            elif candidates and not sure:
                manual.status = ManualStatus.CONFLICT
                manual.candidates = [o.pk for o in candidates]
                manual.save(update_fields=["status", "candidates"])
                result.conflicts.append(manual.pk)
            else:
                result.waiting.append(manual.pk)
    return result


def _entered_with_platform_id(manual: ManualOrder) -> bool:
    return manual.order.platform_order_id == manual.entered_id and not manual.entered_id.startswith(
        MANUAL_PREFIX
    )


def _imported_after(order_ids: Sequence[int]) -> set[int]:
    """Of `order_ids`, those an import other than the manual entry's own wrote since (an
    `updated` event by an actor that is not the manual entry)."""
    from orderguard.intake.services import MANUAL_ACTOR_PREFIX

    if not order_ids:
        return set()
    return set(
        OrderEvent.objects.filter(order_id__in=order_ids, type=OrderEventType.UPDATED)
        .exclude(actor_label__startswith=MANUAL_ACTOR_PREFIX)
        .values_list("order_id", flat=True)
    )


def _mark_matched(manual: ManualOrder, order: Order, *, by: str, now: datetime, actor_label: str) -> None:
    manual.status = ManualStatus.MATCHED
    manual.matched_platform_id = order.platform_order_id
    manual.matched_by = by
    manual.candidates = []
    manual.settled_at = now
    manual.settled_by_label = actor_label
    manual.save(
        update_fields=[
            "status",
            "matched_platform_id",
            "matched_by",
            "candidates",
            "settled_at",
            "settled_by_label",
        ]
    )
    rows: list[CaseEvent] = [
        bulk.new(
            CaseEvent,
            case=case,
            type=CaseEventType.MERGED,
            occurred_at=now,
            actor_label=actor_label,
            data={"platform_order_id": order.platform_order_id, "by": by},
        )
        for case in ExceptionCase.objects.filter(order=order).order_by("pk")
    ]
    bulk.insert(rows)
    OrderEvent(
        order=order,
        type=OrderEventType.MERGED,
        occurred_at=now,
        actor_label=actor_label,
        data={"platform_order_id": order.platform_order_id, "by": by, "manual": manual.entered_id},
    ).save()


def _merge(
    manual: ManualOrder, order: Order, copy: Order, *, by: str, now: datetime, actor_label: str
) -> bool:
    """Fold the platform's `copy` into the manual `order` (see the module docstring). False
    (nothing written) when the copy shipped or was cancelled since it was chosen."""
    from orderguard.inventory.services import stock_release

    locked = {
        o.pk: o for o in Order.objects.select_for_update().filter(pk__in=[order.pk, copy.pk]).order_by("pk")
    }
    order, copy = locked[order.pk], locked[copy.pk]
    if copy.status in (OrderStatus.CANCELLED, OrderStatus.SHIPPED):
        return False
    stock_release(orders=[copy], now=now, actor_label=actor_label, reason="merged")
    platform_id = copy.platform_order_id
    copy.platform_order_id = f"{platform_id}~merged{copy.pk}"[:64]
    copy.status = OrderStatus.CANCELLED
    copy.save(update_fields=["platform_order_id", "status", "updated_at"])
    order.platform_order_id = platform_id
    for name in PLATFORM_FIELDS:
        setattr(order, name, getattr(copy, name))
    order.save(update_fields=["platform_order_id", *PLATFORM_FIELDS, "updated_at"])
    # the copy's lines hold nothing any more; its open cases go with it
    from orderguard.orders.models import OrderLine

    OrderLine.objects.filter(order=copy).update(allocated_quantity=0)
    cases = list(
        ExceptionCase.objects.select_for_update(of=("self",))
        .filter(order=copy, status__in=OPEN_STATUSES)
        .order_by("pk")
    )
    cases_close(
        cases,
        status=CaseStatus.CANCELLED,
        outcome=CaseOutcome.CANCELLED,
        resolution="merged",
        reason="merged",
        now=now,
        actor_label=actor_label,
    )
    bulk.insert(
        [
            bulk.new(
                CaseEvent,
                case=case,
                type=CaseEventType.MERGED,
                occurred_at=now,
                actor_label=actor_label,
                data={"into_order": order.pk, "platform_order_id": platform_id},
            )
            for case in ExceptionCase.objects.filter(order=copy).order_by("pk")
        ]
    )
    OrderEvent(
        order=copy,
        type=OrderEventType.MERGED,
        occurred_at=now,
        actor_label=actor_label,
        data={"into_order": order.pk, "platform_order_id": platform_id, "by": by},
    ).save()
    _mark_matched(manual, order, by=by, now=now, actor_label=actor_label)
    incident = manual.incident
    if incident is not None:
        incident.orders.remove(copy)
        incident.orders.add(order)
    return True


def manual_settle(*, actor: Actor, manual_id: int, choice: str, now: datetime) -> ManualOrder:
    """A person settles a conflict: merge with one of its candidates (`choice` = that order's
    id) or keep the manual order separate (`choice` = "separate"). Refused (nothing changes)
    for a manual order that is not a conflict or a choice that is not one of its candidates."""
    if actor.role not in MANUAL_ROLES:
        raise IncidentRefused("ROLE", _("只有仓库员工可以处理对账冲突"))
    with transaction.atomic():
        manual = (
            visible(ManualOrder.objects.select_for_update(of=("self",)), actor)
            .select_related("order", "incident")
            .filter(pk=manual_id)
            .first()
        )
        if manual is None:
            raise NotFound("not found", model="ManualOrder", id=manual_id)
        if manual.status != ManualStatus.CONFLICT:
            raise IncidentRefused(
                "STATUS",
                _("该手工订单不是待确认的冲突（%(status)s）") % {"status": manual.get_status_display()},
                field="choice",
            )
        label = actor.label
        if choice == "separate":
            manual.status = ManualStatus.SEPARATE
            manual.settled_at, manual.settled_by_label = now, label
            manual.save(update_fields=["status", "settled_at", "settled_by_label"])
            return manual
        if not choice.isdigit() or int(choice) not in manual.candidates:
            raise IncidentRefused("FIELD_INVALID", _("请选择候选订单之一，或保持独立"), field="choice")
        copy = Order.objects.filter(pk=int(choice), is_manual=False).first()
        if copy is None or not _merge(manual, manual.order, copy, by="person", now=now, actor_label=label):
            raise IncidentRefused("FIELD_INVALID", _("该候选订单已合并或已发货"), field="choice")
        manual.refresh_from_db()
        return manual


def manual_orders(actor: Actor, *, status: str = "") -> QuerySet[ManualOrder]:
    qs = visible(ManualOrder.objects.all(), actor).select_related("order", "channel", "incident")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-entered_at", "-pk")


# The columns of the manual-entry spreadsheet: the generic layout (docs/formats/generic.md), so
# the file goes through the same import as any generic file.
TEMPLATE_COLUMNS = (
    "order_id",
    "paid_at",
    "recipient_name",
    "recipient_phone",
    "province",
    "city",
    "district",
    "address",
    "buyer_note",
    "sku",
    "quantity",
)


def manual_template_xlsx() -> bytes:
    """An empty spreadsheet with the generic layout's columns, to fill in while offline."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "orders"
    sheet.append(list(TEMPLATE_COLUMNS))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class ManualUpload:
    batch_id: int
    entered: list[int]  # order ids flagged manual
    existing: list[int]  # orders the channel had already (left as they are)
    refused: int  # rows refused by the import (the batch's row errors name them)


def manual_orders_upload(
    *, actor: Actor, channel: Channel, name: str, data: bytes, now: datetime
) -> ManualUpload:
    """A filled manual-entry spreadsheet (or any generic file) imported as manual orders while
    the channel has an active incident: the import's own rules and row errors apply; the orders
    it created are flagged manual and reconciled later like one entered in the form. Orders the
    channel already had are left as they are (never flagged)."""
    if actor.role not in MANUAL_ROLES:
        raise IncidentRefused("ROLE", _("只有仓库员工可以手工录单"))
    incident = active_incident_for(channel.pk)
    if incident is None:
        raise IncidentRefused(
            "NO_INCIDENT", _("该渠道没有进行中的故障，订单请按平台正常导入"), field="channel"
        )
    from orderguard.intake.adapters.base import SourceFile
    from orderguard.intake.services import MANUAL_ACTOR_PREFIX, Outcomes, orders_import

    outcomes: Outcomes = {}
    with transaction.atomic():
        batch = orders_import(
            files=[SourceFile(name=name, data=data)],
            channel=channel,
            format="generic",
            actor_label=f"{MANUAL_ACTOR_PREFIX}{actor.label}",
            now=now,
            outcomes=outcomes,
        )
        created = sorted({pk for outcome, pk in outcomes.values() if outcome == "created"})
        existing = sorted({pk for outcome, pk in outcomes.values() if outcome != "created"})
        Order.objects.filter(pk__in=created).update(is_manual=True)
        orders = list(Order.objects.filter(pk__in=created).order_by("pk"))
        ManualOrder.objects.bulk_create(
            [
                ManualOrder(
                    order=o,
                    incident=incident,
                    channel=channel,
                    merchant_id=channel.merchant_id,
                    entered_id=o.platform_order_id,
                    entered_at=now,
                )
                for o in orders
            ]
        )
        incident.orders.add(*orders)
        bulk.insert(
            [
                _event(
                    incident,
                    IncidentEventType.MANUAL_ORDER,
                    now,
                    actor.label,
                    actor.user_id,
                    order=o.pk,
                    platform_order_id=o.platform_order_id,
                )
                for o in orders
            ]
        )
    return ManualUpload(batch_id=batch.pk, entered=created, existing=existing, refused=batch.rows_failed)
