"""Order writes that belong to no import: removing a closed order's personal data once the
retention period has passed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from orderguard.core import bulk, clock
from orderguard.orders.choices import OrderEventType
from orderguard.orders.models import Order, OrderEvent
from orderguard.orders.selectors import orders_closed_before

RETENTION_ACTOR = "system:retention"
ANONYMISE_BATCH_SIZE = 1000

# The recipient's personal data on an order and what it becomes. Province, city and district
# stay (reports by region); the town, street address and postcode go.
CLEARED: dict[str, Any] = {
    "recipient_name": "",
    "recipient_phone": "",
    "phone_normalised": "",
    "address_received": {},
    "town": "",
    "address_detail": "",
    "postcode": "",
    # free text written by the buyer or the shop: it often repeats a phone or an address
    "buyer_note": "",
    "seller_note": "",
}
# `division_code` is cut to the district's 6 digits (the town's 9 and 12 go).
DISTRICT_CODE_LENGTH = 6
# Platform fields kept in `extra` that may name or locate the recipient: Shopify's note
# attributes are the buyer's own text; a tracking number finds the parcel's label (name,
# phone, address) on the courier's site.
PERSONAL_EXTRA_KEYS = frozenset({"note_attributes", "tracking_no"})
UPDATED_FIELDS = (*CLEARED, "division_code", "extra", "anonymised_at")


@dataclass(frozen=True, slots=True)
class AnonymiseResult:
    orders: int
    retention_days: int
    dry_run: bool


def orders_anonymise(
    *,
    now: datetime | None = None,
    retention_days: int | None = None,
    batch_size: int = ANONYMISE_BATCH_SIZE,
    dry_run: bool = False,
) -> AnonymiseResult:
    """Remove the recipient's personal data (`CLEARED`, the town of `division_code`, the
    personal keys of `extra`) from every closed order unchanged for `retention_days`
    (`settings.RECIPIENT_RETENTION_DAYS` by default), in batches of `batch_size` orders, each
    one transaction with a fixed number of queries. Each order gets an `anonymised` OrderEvent
    naming the fields that held data (names only); its lines, cases, events and findings stay.
    Safe to run twice or beside itself: an anonymised order is never picked again, and rows
    are locked and checked again inside the batch. `dry_run` only counts the orders due."""
    moment = now or clock.now()
    days = settings.RECIPIENT_RETENTION_DAYS if retention_days is None else retention_days
    due = orders_closed_before(before=moment - timedelta(days=days))
    if dry_run:
        return AnonymiseResult(orders=due.count(), retention_days=days, dry_run=True)
    done = 0
    while True:
        n = _anonymise_batch(due, moment=moment, days=days, size=batch_size)
        done += n
        if n < batch_size:
            return AnonymiseResult(orders=done, retention_days=days, dry_run=False)


@transaction.atomic
def _anonymise_batch(due: QuerySet[Order], *, moment: datetime, days: int, size: int) -> int:
    # locked in pk order and filtered again under the lock: an import may have changed the
    # order meanwhile (PostgreSQL re-checks the conditions of a locked row)
    orders = list(due.select_for_update().order_by("pk")[:size])
    if not orders:
        return 0
    events = []
    for order in orders:
        held = [name for name in CLEARED if getattr(order, name)]
        for name, value in CLEARED.items():
            setattr(order, name, value.copy() if isinstance(value, dict) else value)
        if len(order.division_code) > DISTRICT_CODE_LENGTH:
            order.division_code = order.division_code[:DISTRICT_CODE_LENGTH]
            held.append("division_code")
        extra = _without_personal(order.extra)
        if extra != order.extra:
            order.extra = extra
            held.append("extra")
        order.anonymised_at = moment
        events.append(
            bulk.new(
                OrderEvent,
                order=order,
                type=OrderEventType.ANONYMISED,
                occurred_at=moment,
                actor_label=RETENTION_ACTOR,
                data={"fields": held, "retention_days": days},
            )
        )
    bulk.update(orders, UPDATED_FIELDS)
    bulk.insert(events)
    return len(orders)


def _without_personal(value: Any) -> Any:
    """`value` without the `PERSONAL_EXTRA_KEYS` at any depth (Douyin keeps tracking numbers in
    a list of logistics dicts)."""
    if isinstance(value, dict):
        return {k: _without_personal(v) for k, v in value.items() if k not in PERSONAL_EXTRA_KEYS}
    if isinstance(value, list):
        return [_without_personal(v) for v in value]
    return value
