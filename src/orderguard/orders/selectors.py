"""Order reads, scoped by `tenancy.access` (the retention job's query excepted: it runs for no one)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from orderguard.orders.choices import OrderStatus
from orderguard.orders.models import Order
from orderguard.orders.schema import PlatformState
from orderguard.tenancy.access import Actor, get_visible, visible


def orders_search(*, actor: Actor, q: str = "", status: str = "") -> QuerySet[Order]:
    """Orders the actor may see, newest payment first. `q` is a platform order id (exact), or
    the last four digits of the recipient's phone, or a SKU code on one of its lines."""
    qs = visible(Order.objects.select_related("channel"), actor).order_by("-paid_at", "-pk")
    if status:
        qs = qs.filter(status=status)
    q = q.strip()
    if q:
        match = Q(platform_order_id=q) | Q(lines__sku_code=q)
        if q.isdigit() and len(q) == 4:
            match |= Q(phone_normalised__endswith=q)
        qs = qs.filter(match).distinct()
    return qs


def order_get(*, actor: Actor, order_id: int) -> Order:
    return get_visible(Order.objects.select_related("channel"), actor, order_id)


def orders_closed_before(*, before: datetime) -> QuerySet[Order]:
    """Closed orders (shipped, cancelled, or closed on the platform) not changed since `before`
    whose personal data is still there. Open orders are never in it."""
    return Order.objects.filter(
        Q(status__in=[OrderStatus.SHIPPED, OrderStatus.CANCELLED]) | Q(platform_state=PlatformState.CLOSED),
        anonymised_at__isnull=True,
        updated_at__lt=before,
    )
