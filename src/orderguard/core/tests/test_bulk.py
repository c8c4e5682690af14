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


def test_in_ids_matches_exactly_the_given_keys_bound_as_one_value(channel, django_assert_num_queries):
    """`__in_ids` (core.sql, H1): the keys given, on the primary key and on a foreign key; an
    empty list matches nothing; the whole list is one bound value, past SQLite's cap of bound
    values per statement (32,766)."""
    orders = OrderFactory.create_batch(4, channel=channel)
    wanted = [orders[0].pk, orders[2].pk]
    OrderEvent.objects.create(
        order=orders[2], type="imported", occurred_at=datetime.now(UTC), actor_label="t"
    )

    assert sorted(Order.objects.filter(pk__in_ids=wanted).values_list("pk", flat=True)) == wanted
    assert list(Order.objects.filter(pk__in_ids=[]).values_list("pk", flat=True)) == []
    assert list(OrderEvent.objects.filter(order_id__in_ids=wanted).values_list("order_id", flat=True)) == [
        orders[2].pk
    ]
    many = [orders[1].pk, *range(10**9, 10**9 + 40_000)]
    with django_assert_num_queries(1):
        assert list(Order.objects.filter(pk__in_ids=many).values_list("pk", flat=True)) == [orders[1].pk]


def test_loaded_instances_hold_the_read_fields_and_defer_the_others(channel):
    """`bulk.loaded`: saved instances with the fields read; another field is read from the
    database when touched (as `only()` would), never a silent default."""
    order = OrderFactory(channel=channel, platform_order_id="L1", status="on_hold")
    names = ("id", "status", "merchant_id")
    [loaded] = bulk.loaded(Order, names, Order.objects.filter(pk=order.pk).values_list(*names))

    assert (loaded.pk, loaded.status, loaded.merchant_id) == (order.pk, "on_hold", channel.merchant_id)
    assert loaded._state.adding is False
    assert loaded.get_deferred_fields() >= {"platform_order_id"}
    assert loaded.platform_order_id == "L1"


def test_insert_rows_writes_what_insert_would_without_instances(channel):
    """`bulk.insert_rows`: shared values once, per-row values in order, defaults for the rest;
    datetimes and JSON read back exactly (H1: the re-check's ledger and event rows)."""
    orders = OrderFactory.create_batch(2, channel=channel)
    at = datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)
    with transaction.atomic():
        written = bulk.insert_rows(
            OrderEvent,
            common={"type": "allocated", "occurred_at": at, "actor_label": "system:t"},
            names=("order_id", "data"),
            rows=[(orders[0].pk, {"units": 2, "reason": "到货"}), (orders[1].pk, {"units": 1})],
        )

    assert written == 2
    stored = list(
        OrderEvent.objects.filter(order__in=orders)
        .order_by("order_id")
        .values_list("order_id", "type", "occurred_at", "actor_label", "actor_id", "data")
    )
    assert stored == [
        (orders[0].pk, "allocated", at, "system:t", None, {"units": 2, "reason": "到货"}),
        (orders[1].pk, "allocated", at, "system:t", None, {"units": 1}),
    ]
    assert bulk.insert_rows(OrderEvent, common={}, names=("order_id",), rows=[]) == 0


def test_gc_paused_restores_collection_as_it_was_even_on_error():
    import gc

    assert gc.isenabled()
    with pytest.raises(ValueError), bulk.gc_paused():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with bulk.gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
