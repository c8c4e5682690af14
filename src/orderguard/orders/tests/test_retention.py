"""Retention: a closed order's recipient data is removed after the period, open orders never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderguard.orders.choices import OrderStatus
from orderguard.orders.models import Order, OrderEvent
from orderguard.orders.schema import PlatformState
from orderguard.orders.services import orders_anonymise
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 6, 1, 3, 30, tzinfo=UTC)

RECIPIENT = {
    "recipient_name": "张三",
    "recipient_phone": "13800138000",
    "phone_normalised": "13800138000",
    "phone_kind": "mobile",
    "address_received": {
        "raw": "浙江省 杭州市 西湖区 文三路90号东部软件园3号楼501室(310012)",
        "province": "",
        "city": "",
        "district": "",
        "town": "",
        "detail": "",
        "postcode": "",
        "country": "CN",
    },
    "country": "CN",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "town": "西溪街道",
    "address_detail": "文三路90号东部软件园3号楼501室",
    "postcode": "310012",
    "division_code": "330106004",
    "buyer_note": "到了打13800138000",
    "seller_note": "老客户张三",
    "extra": {
        "shop_name": "悠悠服饰",
        "tracking_no": "SF1234567890",
        "note_attributes": {"gift_message": "给张三"},
        "logistics": [{"company": "SF", "company_name": "顺丰", "tracking_no": "SF1234567890"}],
    },
}
FIELDS = list(RECIPIENT)
FINDING = {
    "code": "PHONE_BAD_LENGTH",
    "type": "T2",
    "field": "recipient_phone",
    "severity": "blocking",
    "source": "D2",
    "data": {"digits": 10},
}


def order(platform_order_id: str, *, days_ago: int, status: str, state: str = PlatformState.READY) -> Order:
    channel = ChannelFactory(code="shop")
    made = OrderFactory(
        channel=channel,
        platform_order_id=platform_order_id,
        status=status,
        platform_state=state,
        findings=[FINDING],
        **RECIPIENT,
    )
    OrderLineFactory(order=made, line_no=1, sku_code="TS-RED-M", sku=None)
    # updated_at is auto_now: age the order with a queryset update
    Order.objects.filter(pk=made.pk).update(updated_at=NOW - timedelta(days=days_ago))
    return made


def values(o: Order) -> dict[str, object]:
    o.refresh_from_db()
    return {name: getattr(o, name) for name in FIELDS}


ANONYMISED = {
    "recipient_name": "",
    "recipient_phone": "",
    "phone_normalised": "",
    "phone_kind": "mobile",
    "address_received": {},
    "country": "CN",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "town": "",
    "address_detail": "",
    "postcode": "",
    "division_code": "330106",
    "buyer_note": "",
    "seller_note": "",
    "extra": {
        "shop_name": "悠悠服饰",
        "logistics": [{"company": "SF", "company_name": "顺丰"}],
    },
}


def test_closed_orders_past_the_period_lose_their_recipient_data_and_open_ones_keep_it(settings):
    settings.RECIPIENT_RETENTION_DAYS = 180
    shipped = order("S-OLD", days_ago=181, status=OrderStatus.SHIPPED, state=PlatformState.SHIPPED)
    cancelled = order("C-OLD", days_ago=200, status=OrderStatus.CANCELLED)
    closed = order("X-OLD", days_ago=365, status=OrderStatus.NOT_READY, state=PlatformState.CLOSED)
    shipped_recently = order("S-NEW", days_ago=179, status=OrderStatus.SHIPPED, state=PlatformState.SHIPPED)
    open_orders = [
        order("R-OLD", days_ago=400, status=OrderStatus.READY),
        order("H-OLD", days_ago=400, status=OrderStatus.ON_HOLD),
        order("U-OLD", days_ago=400, status=OrderStatus.NOT_READY, state=PlatformState.UNPAID),
        order("F-OLD", days_ago=400, status=OrderStatus.NOT_READY, state=PlatformState.REFUNDING),
        order("N-OLD", days_ago=400, status=OrderStatus.RECEIVED),
    ]

    result = orders_anonymise(now=NOW)

    assert (result.orders, result.retention_days, result.dry_run) == (3, 180, False)
    for o in (shipped, cancelled, closed):
        assert values(o) == ANONYMISED
        assert o.anonymised_at == NOW
    for o in (shipped_recently, *open_orders):
        assert values(o) == RECIPIENT
        assert o.anonymised_at is None


def test_an_anonymised_order_keeps_its_status_lines_findings_and_gets_one_event_without_personal_data():
    o = order("S-OLD", days_ago=181, status=OrderStatus.SHIPPED, state=PlatformState.SHIPPED)

    orders_anonymise(now=NOW, retention_days=180)

    o.refresh_from_db()
    assert (o.status, o.platform_state, o.platform_order_id, o.findings) == (
        "shipped",
        "shipped",
        "S-OLD",
        [FINDING],
    )
    assert list(o.lines.values_list("line_no", "sku_code", "quantity")) == [(1, "TS-RED-M", 1)]
    assert list(
        OrderEvent.objects.filter(order=o).values_list("type", "actor_label", "occurred_at", "data")
    ) == [
        (
            "anonymised",
            "system:retention",
            NOW,
            {
                "fields": [
                    "recipient_name",
                    "recipient_phone",
                    "phone_normalised",
                    "address_received",
                    "town",
                    "address_detail",
                    "postcode",
                    "buyer_note",
                    "seller_note",
                    "division_code",
                    "extra",
                ],
                "retention_days": 180,
            },
        )
    ]


def test_running_it_twice_changes_nothing_more():
    o = order("S-OLD", days_ago=181, status=OrderStatus.SHIPPED, state=PlatformState.SHIPPED)
    orders_anonymise(now=NOW, retention_days=180)
    o.refresh_from_db()
    after_first = (values(o), o.anonymised_at, o.updated_at)

    second = orders_anonymise(now=NOW + timedelta(days=1), retention_days=180)

    o.refresh_from_db()
    assert second.orders == 0
    assert (values(o), o.anonymised_at, o.updated_at) == after_first
    assert OrderEvent.objects.filter(order=o).count() == 1


def test_a_dry_run_counts_the_orders_due_and_changes_nothing():
    o = order("S-OLD", days_ago=181, status=OrderStatus.SHIPPED, state=PlatformState.SHIPPED)
    order("R-OLD", days_ago=400, status=OrderStatus.READY)

    result = orders_anonymise(now=NOW, retention_days=180, dry_run=True)

    assert (result.orders, result.dry_run) == (1, True)
    assert values(o) == RECIPIENT
    assert OrderEvent.objects.count() == 0


def test_the_period_comes_from_the_setting(settings):
    settings.RECIPIENT_RETENTION_DAYS = 30
    o = order("S-OLD", days_ago=31, status=OrderStatus.SHIPPED, state=PlatformState.SHIPPED)

    assert orders_anonymise(now=NOW).orders == 1
    assert values(o) == ANONYMISED


def test_orders_are_anonymised_in_batches_with_a_fixed_number_of_queries_each():
    def queries_for(count: int, prefix: str, batch_size: int) -> int:
        for n in range(count):
            order(f"{prefix}{n}", days_ago=181, status=OrderStatus.SHIPPED, state=PlatformState.SHIPPED)
        with CaptureQueriesContext(connection) as ctx:
            assert orders_anonymise(now=NOW, retention_days=180, batch_size=batch_size).orders == count
        return len(ctx.captured_queries)

    one_batch_of_2 = queries_for(2, "A", 50)
    one_batch_of_40 = queries_for(40, "B", 50)
    three_batches_of_7 = queries_for(7, "C", 3)

    assert one_batch_of_2 == one_batch_of_40
    assert three_batches_of_7 == 3 * one_batch_of_2
    assert Order.objects.filter(anonymised_at__isnull=True).count() == 0


def test_the_daily_job_anonymises_what_is_due_now(settings):
    from orderguard.orders.tasks import orders_anonymise_periodic

    settings.RECIPIENT_RETENTION_DAYS = 180
    o = order("S-OLD", days_ago=0, status=OrderStatus.SHIPPED, state=PlatformState.SHIPPED)
    Order.objects.filter(pk=o.pk).update(updated_at=datetime.now(UTC) - timedelta(days=181))

    orders_anonymise_periodic.call_local()

    assert values(o) == ANONYMISED
    runs_at = orders_anonymise_periodic.task_class().validate_datetime
    assert (runs_at(datetime(2027, 6, 1, 3, 30)), runs_at(datetime(2027, 6, 1, 4, 30))) == (True, False)


def test_an_anonymised_order_still_reads_in_the_api_with_an_empty_recipient(client):
    from orderguard.tenancy.tests.factories import user_with_role

    o = order("S-OLD", days_ago=181, status=OrderStatus.SHIPPED, state=PlatformState.SHIPPED)
    orders_anonymise(now=NOW, retention_days=180)
    client.force_login(user_with_role("cs_agent", username="agent"))

    response = client.get(f"/api/v1/orders/{o.pk}")

    assert response.status_code == 200
    assert response.json()["recipient"] == {
        "name": "",
        "phone": "",
        "country": "CN",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "",
    }
