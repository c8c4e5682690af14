"""Order reads, always scoped by `tenancy.access`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet

from orderguard.orders.choices import OrderStatus
from orderguard.orders.models import Order, OrderEvent, OrderLine
from orderguard.orders.schema import PlatformState
from orderguard.tenancy.access import Actor, get_visible, visible
from orderguard.tenancy.models import Merchant

# A prefix shorter than this matches too much to be a search: it is looked up exactly only.
MIN_PREFIX = 4
# The highest code point: ``prefix <= id < prefix + MAX_CHAR`` is exactly "starts with prefix"
# under a byte-order collation (SQLite's BINARY), and is what a B-tree index can seek.
MAX_CHAR = "\U0010ffff"


def _matching_ids(scope: QuerySet[Order], q: str, *, personal: bool = True) -> QuerySet[Any, Any]:
    """Keys of the orders `q` may name, one indexed lookup per kind of search, combined with
    UNION (an OR over a join would make the database read every order of the merchant):

    - platform order id, exactly, or as a prefix from `MIN_PREFIX` characters;
    - the phone's last four digits (`phone_tail`), when `q` is four digits;
    - the recipient's name, exactly;
    - a SKU code on one of the order's lines (the caller's scope filters these orders).
    Without `personal`, the name and the phone digits are not searched."""
    if len(q) >= MIN_PREFIX:
        if connection.vendor == "postgresql":
            # LIKE 'prefix%' seeks the varchar_pattern_ops index whatever the collation
            by_id = scope.filter(platform_order_id__startswith=q)
        else:
            by_id = scope.filter(platform_order_id__gte=q, platform_order_id__lt=q + MAX_CHAR)
    else:
        by_id = scope.filter(platform_order_id=q)
    branches: list[QuerySet[Any, Any]] = [by_id.values("pk")]
    if personal:
        branches.append(scope.filter(recipient_name=q).values("pk"))
        if len(q) == 4 and q.isascii() and q.isdigit():
            branches.append(scope.filter(phone_tail=q).values("pk"))
    branches.append(OrderLine.objects.filter(sku_code=q).values("order_id"))
    first, *rest = branches
    return first.union(*rest)


def _scope(actor: Actor) -> QuerySet[Order]:
    """The actor's orders, in a form every search index can seek: a merchant user's own, and for
    staff every merchant's, as ``merchant IN (...)`` so the indexes that start with the merchant
    are searched once per merchant instead of read whole."""
    qs = visible(Order.objects.order_by(), actor)
    if actor.merchant_id is None:
        qs = qs.filter(merchant_id__in=Merchant.objects.values("pk"))
    return qs


def orders_search(
    *, actor: Actor, q: str = "", status: str = "", channel_code: str = "", personal: bool = True
) -> QuerySet[Order]:
    """Orders the actor may see, newest payment first (unpaid last), optionally narrowed by
    status, channel code and a search `q`: a platform order id (exact, or its beginning from
    four characters), the last four digits of the recipient's phone, the recipient's name
    (exact), or a SKU code on one of its lines. `personal=False` searches neither name nor
    phone (for a search whose text travels in a URL)."""
    qs = visible(Order.objects.select_related("channel", "merchant"), actor).order_by(
        F("paid_at").desc(nulls_last=True), "-pk"
    )
    if status:
        qs = qs.filter(status=status)
    if channel_code:
        qs = qs.filter(channel__code=channel_code)
    q = q.strip()
    if q:
        qs = qs.filter(pk__in=_matching_ids(_scope(actor), q, personal=personal))
    return qs


@dataclass(frozen=True, slots=True)
class OrderCursor:
    """Where the next page starts: the last order shown (its payment time and key)."""

    paid_at: datetime | None
    pk: int


def orders_page(
    *,
    actor: Actor,
    q: str = "",
    status: str = "",
    channel_code: str = "",
    after: OrderCursor | None = None,
    limit: int = 50,
) -> tuple[list[Order], OrderCursor | None]:
    """One page of `orders_search`, after `after` (keyset: no COUNT, no OFFSET), and the cursor
    of the next page (None on the last)."""
    qs = orders_search(actor=actor, q=q, status=status, channel_code=channel_code)
    if after is not None:
        if after.paid_at is None:
            qs = qs.filter(paid_at__isnull=True, pk__lt=after.pk)
        else:
            qs = qs.filter(
                Q(paid_at__lt=after.paid_at)
                | Q(paid_at=after.paid_at, pk__lt=after.pk)
                | Q(paid_at__isnull=True)
            )
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], OrderCursor(paid_at=last.paid_at, pk=last.pk)


def order_get(*, actor: Actor, order_id: int) -> Order:
    """The order `order_id` if the actor may see it; `NotFound` alike for missing and not theirs."""
    return get_visible(Order.objects.select_related("channel", "merchant"), actor, order_id)


def order_lines(*, order: Order) -> list[OrderLine]:
    """The order's lines in line order, with their catalogue SKU."""
    return list(order.lines.select_related("sku").order_by("line_no"))


def order_events(*, order: Order) -> list[OrderEvent]:
    """The order's log, oldest first."""
    return list(order.events.order_by("occurred_at", "pk"))


def orders_closed_before(*, before: datetime) -> QuerySet[Order]:
    """Closed orders (shipped, cancelled, or closed on the platform) not changed since `before`
    whose personal data is still there. Open orders are never in it (the retention job's query:
    it runs for no one, so it is not scoped)."""
    return Order.objects.filter(
        Q(status__in=[OrderStatus.SHIPPED, OrderStatus.CANCELLED]) | Q(platform_state=PlatformState.CLOSED),
        anonymised_at__isnull=True,
        updated_at__lt=before,
    )
