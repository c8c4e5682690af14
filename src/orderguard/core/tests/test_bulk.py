"""core.bulk: reserved keys and batch writes give the same rows as the ORM would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from orderguard.core import bulk
from orderguard.orders.models import Order, OrderEvent
from orderguard.orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_reserved_keys_never_reuse_a_deleted_rows_key(channel):
    orders = OrderFactory.create_batch(3, channel=channel)
    highest = orders[-1].pk
    Order.objects.filter(pk=highest).delete()

    with transaction.atomic():
        keys = bulk.reserve_ids(Order, 2)

    assert keys == [highest + 1, highest + 2]


@pytest.mark.django_db(transaction=True)
def test_reserving_keys_outside_a_transaction_is_refused_on_sqlite(channel):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keys come from the sequence, in or out of a transaction")
    with pytest.raises(RuntimeError, match="transaction"):
        bulk.reserve_ids(Order, 1)


def test_inserted_rows_read_back_exactly_as_written(channel):
    paid = datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)
    with transaction.atomic():
        [pk] = bulk.reserve_ids(Order, 1)
        order = bulk.new(
            Order,
            pk=pk,
            merchant_id=channel.merchant_id,
            channel=channel,
            platform_order_id="X1",
            paid_at=paid,
            recipient_name="林**",
            findings=[{"code": "PHONE_MASKED", "data": {"tail": "0000"}}],
            address_received={"raw": "浙江省 杭州市", "country": "CN"},
        )
        bulk.insert([order])
        bulk.insert(
            [bulk.new(OrderEvent, order=order, type="imported", occurred_at=paid, actor_label="t", data={})]
        )

    stored = Order.objects.get(pk=pk)
    assert (stored.platform_order_id, stored.paid_at, stored.recipient_name) == ("X1", paid, "林**")
    assert stored.findings == [{"code": "PHONE_MASKED", "data": {"tail": "0000"}}]
    assert stored.address_received == {"raw": "浙江省 杭州市", "country": "CN"}
    assert (stored.status, stored.extra, stored.is_manual, stored.placed_at) == ("received", {}, False, None)
    assert stored.created_at == stored.updated_at
    assert list(OrderEvent.objects.values_list("order_id", "type")) == [(pk, "imported")]


def test_update_writes_the_fields_and_moves_updated_at(channel):
    order = OrderFactory(channel=channel, recipient_name="张三")
    before = order.updated_at
    order.recipient_name = "李四"
    order.status = "ready"
    order.findings = [{"code": "X"}]

    bulk.update([order], ["recipient_name", "findings"])

    stored = Order.objects.get(pk=order.pk)
    assert (stored.recipient_name, stored.findings, stored.status) == ("李四", [{"code": "X"}], "received")
    assert stored.updated_at > before
    assert stored.updated_at - before < timedelta(minutes=1)
