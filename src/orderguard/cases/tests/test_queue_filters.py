"""The work queue's step and SKU filters (S3's drill-down from the report): a step the case
went through, and a SKU the order needs itself or through a bundle."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderguard.cases import events
from orderguard.cases.models import ExceptionCase
from orderguard.cases.selectors import QueueFilters, cases_for_queue, cases_list
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.catalog.tests.factories import BundleItemFactory, SkuFactory
from orderguard.core import bulk
from orderguard.orders.tests.factories import OrderFactory, OrderLineFactory
from orderguard.tenancy.access import Actor, actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")


def bj(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=BJ)


def _t1(*steps: str, closed_at: datetime | None = None, **kw) -> ExceptionCase:  # type: ignore[no-untyped-def]
    """A T1 case opened in `steps[0]` that moved on to each later step (its events as the
    services write them), closed at `closed_at` if given."""
    opened = kw.pop("opened_at", bj(16, 10))
    case = ExceptionCaseFactory(type="T1", step=steps[0], opened_at=opened, **kw)
    written = [events.opened(case, at=opened, actor_label="system:test")]
    for n, step in enumerate(steps[1:], start=1):
        case.step = step
        written.append(
            events.step_started(case, at=opened + timedelta(minutes=10 * n), actor_label="system:test")
        )
    if closed_at is not None:
        case.status, case.outcome, case.closed_at = "resolved", "succeeded", closed_at
        case.due_at = case.warn_at = case.sla_next_at = None
    case.save()
    bulk.insert(written)
    return case


@pytest.fixture
def olga() -> Actor:
    return actor_for(user_with_role("operator", username="olga"))


def _ids(actor: Actor, filters: QueueFilters) -> list[int]:
    rows, _next = cases_for_queue(actor=actor, filters=filters, limit=50)
    return [c.pk for c in rows]


def test_the_step_filter_lists_the_open_and_closed_cases_that_went_through_the_step(olga):
    waiting = _t1("notify_merchant", "merchant_decision")
    told = _t1("notify_merchant", opened_at=bj(17, 10))
    decided = _t1("notify_merchant", "merchant_decision", closed_at=bj(17, 10))
    notified_only = _t1("notify_merchant", closed_at=bj(18, 10))
    # an alert names a step too, but starts none
    told.step = "merchant_decision"
    bulk.insert([events.sla_alerted(told, at=bj(17, 12), level=2, recipients=[], due_at=None)])

    assert _ids(olga, QueueFilters(step="merchant_decision")) == [waiting.pk]
    assert _ids(olga, QueueFilters(step="notify_merchant")) == [waiting.pk, told.pk]
    assert _ids(olga, QueueFilters(status="closed", step="merchant_decision")) == [decided.pk]
    assert _ids(olga, QueueFilters(status="closed", step="notify_merchant")) == [notified_only.pk, decided.pk]
    # latest opened first, then the highest id
    assert _ids(olga, QueueFilters(status="all", step="merchant_decision")) == [decided.pk, waiting.pk]
    assert _ids(olga, QueueFilters(status="closed", step="restock")) == []


def test_a_reopened_case_went_through_the_step_its_reopening_names(olga):
    case = _t1("notify_merchant", closed_at=bj(16, 11))
    case.step = "restock"
    bulk.insert(
        [events.reopened(case, at=bj(16, 12), actor_label="ann", actor_id=None, source="resolved", note="")]
    )

    assert _ids(olga, QueueFilters(status="closed", step="restock")) == [case.pk]


def test_the_sku_filter_finds_a_bundles_order_by_its_component(olga):
    # a T1 case of an order of a bundle names the component that is out of stock
    component = SkuFactory(code="SKU-C")
    bundle = SkuFactory(merchant=component.merchant, code="BOX-1", is_bundle=True)
    BundleItemFactory(bundle=bundle, component=component, quantity=2)
    bundle_order = OrderFactory(channel__merchant=component.merchant)
    OrderLineFactory(order=bundle_order, sku=bundle)
    plain_order = OrderFactory(channel__merchant=component.merchant)
    OrderLineFactory(order=plain_order, sku=component)
    other_order = OrderFactory(channel__merchant=component.merchant)
    OrderLineFactory(order=other_order, sku=SkuFactory(merchant=component.merchant, code="SKU-Z"))
    finding = [{"code": "T1", "data": {"sku": "SKU-C"}}]
    by_bundle = ExceptionCaseFactory(order=bundle_order, type="T1", step="notify_merchant", findings=finding)
    by_line = ExceptionCaseFactory(order=plain_order, type="T1", step="notify_merchant", findings=finding)
    ExceptionCaseFactory(order=other_order, type="T1", step="notify_merchant")

    listed = _ids(olga, QueueFilters(case_type="T1", sku_code="SKU-C"))

    assert sorted(listed) == sorted([by_bundle.pk, by_line.pk])
    assert _ids(olga, QueueFilters(case_type="T1", sku_code="BOX-1")) == [by_bundle.pk]
    assert sorted(c.pk for c in cases_list(status="all", sku_code="SKU-C")) == sorted(
        [by_bundle.pk, by_line.pk]
    )
