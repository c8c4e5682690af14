"""`orders_submit`: orders of one API request as one batch, all kept or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orderguard.intake import services
from orderguard.intake.errors import FileRejected
from orderguard.intake.models import ImportBatch, ImportRowError
from orderguard.intake.submit import OrdersRejected, Outcome, orders_submit
from orderguard.orders.models import Order, OrderEvent

pytestmark = pytest.mark.django_db


def order(order_id: str, **fields: Any) -> dict[str, Any]:
    return {"order_id": order_id, "lines": [{"sku": "MUG-1", "quantity": 1}], **fields}


def test_each_order_is_answered_by_its_position(channel):
    first = orders_submit(channel=channel, orders=[order("A"), order("B", lines=[])], actor_label="user:erp")
    again = orders_submit(channel=channel, orders=[order("A"), order("C")], actor_label="user:erp")

    a, c = Order.objects.get(platform_order_id="A"), Order.objects.get(platform_order_id="C")
    assert [(o.index, o.platform_order_id, o.outcome, o.order) for o in first.orders] == [
        (0, "A", Outcome.CREATED, a.pk),
        (1, "B", Outcome.REFUSED, None),
    ]
    assert [(e.row, e.field, e.code) for e in first.orders[1].errors] == [(2, "orders[1].lines", "NO_LINES")]
    assert [(o.outcome, o.order) for o in again.orders] == [
        (Outcome.UNCHANGED, a.pk),
        (Outcome.CREATED, c.pk),
    ]
    assert (first.count(Outcome.CREATED), again.count(Outcome.UNCHANGED)) == (1, 1)


def test_orders_that_cannot_be_read_as_a_whole_keep_nothing(channel, monkeypatch):
    class Unreadable:
        format = "generic"

        def read(self, files: list[Any]) -> Iterator[Any]:
            raise FileRejected(file="request", code="FILE_JSON_SHAPE", message="不是订单")
            yield  # a generator, like the real adapters

    monkeypatch.setattr(services, "get_adapter", lambda name: Unreadable())

    with pytest.raises(OrdersRejected) as caught:
        orders_submit(channel=channel, orders=[order("A")], actor_label="user:erp")

    assert (caught.value.code, caught.value.message) == ("FILE_JSON_SHAPE", "不是订单")
    assert (ImportBatch.objects.count(), ImportRowError.objects.count(), Order.objects.count()) == (0, 0, 0)


def test_a_failure_inside_the_flow_keeps_nothing_not_even_the_batch(channel, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker lost")

    monkeypatch.setattr(services, "cases_triage", broken)

    with pytest.raises(RuntimeError):
        orders_submit(channel=channel, orders=[order("A")], actor_label="user:erp")

    assert (ImportBatch.objects.count(), Order.objects.count(), OrderEvent.objects.count()) == (0, 0, 0)
