"""Channel histories for the monitoring tests: orders paid at a steady rate, written in bulk."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from orderguard.orders.models import Channel, Order

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = timedelta(days=7)
# a Wednesday; 14:00-15:00 is the channel's busy hour in these tests
BUSY = datetime(2026, 11, 25, 14, 0, tzinfo=SHANGHAI)


def orders_paid(channel: Channel, start: datetime, end: datetime, every: timedelta, prefix: str) -> int:
    """Orders of `channel` paid from `start` (included) to `end` (excluded), one per `every`."""
    rows = []
    moment = start
    n = 0
    while moment < end:
        rows.append(
            Order(
                merchant_id=channel.merchant_id,
                channel=channel,
                platform_order_id=f"{prefix}{n:05d}",
                paid_at=moment,
            )
        )
        moment += every
        n += 1
    Order.objects.bulk_create(rows)
    return n


def busy_history(channel: Channel, *, weeks: int = 4, per_minute: int = 1) -> None:
    """`weeks` past Wednesdays with an order a minute (or `per_minute`) from 12:00 to 16:00, and
    a night with one order at 03:10."""
    every = timedelta(seconds=60 / per_minute)
    for k in range(1, weeks + 1):
        day = BUSY - k * WEEK
        orders_paid(channel, day - timedelta(hours=2), day + timedelta(hours=2), every, f"H{k}-")
        orders_paid(
            channel,
            day - timedelta(hours=11) + timedelta(minutes=10),
            day - timedelta(hours=10, minutes=49),
            timedelta(minutes=30),
            f"N{k}-",
        )
