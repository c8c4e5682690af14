"""Manual mode and reconciliation (H4.2, B3): urgent orders entered by hand while a channel is
down, matched with the platform's copy when it arrives; nothing lost, nothing shipped twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from orderguard.cases.models import CaseEvent
from orderguard.catalog.tests.factories import SkuFactory
from orderguard.incidents.models import IncidentEvent, ManualOrder
from orderguard.incidents.reconcile import ManualIn, ManualLine, manual_order_enter, manual_settle
from orderguard.incidents.services import IncidentRefused, Signal, incident_resolve, incident_signal
from orderguard.incidents.tests.helpers import BUSY
from orderguard.intake.models import ImportBatch
from orderguard.intake.submit import orders_submit
from orderguard.inventory.models import StockLevel
from orderguard.orders.models import Order, OrderEvent
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
PHONE = "13912345678"


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    channel = ChannelFactory(code="tb-yoyo")
    sku = SkuFactory(merchant=channel.merchant, code="MUG-1")
    level = StockLevel.objects.create(
        merchant=channel.merchant, warehouse=channel.warehouse, sku=sku, on_hand=10
    )
    incident, _o = incident_signal(
        signal=Signal(kind="channel_silent", title="t", detail="", channel_id=channel.pk, started_at=BUSY),
        now=BUSY + timedelta(minutes=6),
    )
    agent = user_with_role("cs_agent", username="agent")
    return {
        "channel": channel,
        "level": level,
        "incident": incident,
        "agent": actor_for(agent),
        "user": agent,
    }


def manual(**changes):  # type: ignore[no-untyped-def]
    values = {
        "recipient_name": "张三",
        "recipient_phone": PHONE,
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路90号1幢101室",
        "lines": [ManualLine(sku="MUG-1", quantity=2)],
    }
    values.update(changes)
    return ManualIn(**values)


def platform_copy(channel, *order_ids, phone=PHONE, quantity=2, at=None):  # type: ignore[no-untyped-def]
    """The platform's own orders arriving in one import (as a webhook or a pull)."""
    return orders_submit(
        channel=channel,
        actor_label="system:intake",
        now=at or BUSY + timedelta(hours=1),
        orders=[
            {
                "order_id": order_id,
                "paid_at": (BUSY + timedelta(minutes=8)).isoformat(),
                "recipient_name": "张三",
                "recipient_phone": phone,
                "province": "浙江省",
                "city": "杭州市",
                "district": "西湖区",
                "address": "文三路90号1幢101室",
                "buyer_note": "尽快发货",
                "lines": [{"sku": "MUG-1", "quantity": quantity}],
            }
            for order_id in order_ids
        ],
    )


def live_orders(channel):  # type: ignore[no-untyped-def]
    return list(Order.objects.filter(channel=channel).exclude(status="cancelled").order_by("pk"))


def test_a_manual_order_with_a_missing_field_names_it_and_writes_nothing(world):
    with pytest.raises(IncidentRefused) as refused:
        manual_order_enter(
            actor=world["agent"], channel=world["channel"], data=manual(recipient_phone=""), now=BUSY
        )
    assert (refused.value.code, refused.value.field, str(refused.value)) == (
        "FIELD_REQUIRED",
        "recipient_phone",
        "请填写联系电话",
    )
    with pytest.raises(IncidentRefused) as no_sku:
        manual_order_enter(
            actor=world["agent"],
            channel=world["channel"],
            data=manual(lines=[ManualLine(sku=" ", quantity=1)]),
            now=BUSY,
        )
    assert no_sku.value.field == "lines[0].sku"
    assert (Order.objects.count(), ManualOrder.objects.count(), ImportBatch.objects.count()) == (0, 0, 0)


def test_a_manual_order_with_an_unknown_sku_is_held_by_the_checks_like_any_order(world):
    order = manual_order_enter(
        actor=world["agent"],
        channel=world["channel"],
        data=manual(lines=[ManualLine(sku="NOPE", quantity=1)]),
        now=BUSY,
    )
    assert (order.is_manual, order.status) == (True, "on_hold")
    assert list(order.cases.values_list("type", flat=True)) == ["T3"]


def test_no_manual_entry_without_an_active_incident(world):
    other = ChannelFactory(code="jd-ok")
    with pytest.raises(IncidentRefused) as refused:
        manual_order_enter(actor=world["agent"], channel=other, data=manual(), now=BUSY)
    assert (refused.value.code, refused.value.field) == ("NO_INCIDENT", "channel")
    assert Order.objects.count() == 0


def test_a_manual_order_is_processed_normally_and_flagged(world):
    order = manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=8)
    )

    order.refresh_from_db()
    assert order.is_manual is True
    assert order.platform_order_id.startswith("MANUAL-20261125-")
    assert list(order.lines.values_list("sku_code", "quantity", "allocated_quantity")) == [("MUG-1", 2, 2)]
    world["level"].refresh_from_db()
    assert world["level"].allocated == 2
    m = ManualOrder.objects.get()
    assert (m.status, m.incident_id, m.entered_id) == (
        "pending",
        world["incident"].pk,
        order.platform_order_id,
    )
    assert list(world["incident"].orders.all()) == [order]
    assert IncidentEvent.objects.filter(type="manual_order").count() == 1


def test_the_platforms_copy_is_merged_into_the_manual_order_and_nothing_ships_twice(world):
    order = manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=8)
    )
    case_ids = list(order.cases.values_list("pk", flat=True))

    platform_copy(world["channel"], "TB-777")

    live = live_orders(world["channel"])
    assert [(o.pk, o.platform_order_id, o.is_manual, o.buyer_note) for o in live] == [
        (order.pk, "TB-777", True, "尽快发货")
    ]
    copy = Order.objects.get(channel=world["channel"], status="cancelled")
    assert copy.platform_order_id == f"TB-777~merged{copy.pk}"
    assert list(copy.lines.values_list("allocated_quantity", flat=True)) == [0]
    world["level"].refresh_from_db()
    assert world["level"].allocated == 2  # the manual order's allocation, once
    m = ManualOrder.objects.get()
    assert (m.status, m.matched_platform_id, m.matched_by) == ("matched", "TB-777", "phone_lines")
    assert OrderEvent.objects.filter(type="merged").count() == 2
    assert CaseEvent.objects.filter(case_id__in=case_ids, type="merged").count() == len(case_ids)

    # the same platform order again (a redelivery): it lands on the merged order, never a second one
    platform_copy(world["channel"], "TB-777", at=BUSY + timedelta(hours=2))
    assert [o.pk for o in live_orders(world["channel"])] == [order.pk]
    world["level"].refresh_from_db()
    assert world["level"].allocated == 2


def test_the_daily_audit_never_draws_the_platforms_copy_merged_away(world):
    from orderguard.audits.services import audit_draw

    order = manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=8)
    )
    platform_copy(world["channel"], "TB-777")
    copy = Order.objects.get(channel=world["channel"], status="cancelled")

    audit = audit_draw(
        warehouse_id=world["channel"].warehouse_id, day=BUSY.date(), now=BUSY + timedelta(days=1), seed=4
    ).audit

    # both paid that day; the copy will never be packed: a population of 1 (the default plan's
    # minimum of 10 is capped at it), the manual order drawn surely
    assert copy.paid_at.astimezone(BUSY.tzinfo).date() == BUSY.date()
    assert (audit.population, audit.planned, audit.drawn) == (1, 1, 1)
    assert list(audit.lines.values_list("order_id", "inclusion")) == [(order.pk, 1.0)]


def test_a_manual_order_entered_with_the_platforms_id_is_matched_by_it(world):
    order = manual_order_enter(
        actor=world["agent"],
        channel=world["channel"],
        data=manual(order_id="TB-900"),
        now=BUSY + timedelta(minutes=8),
    )
    platform_copy(world["channel"], "TB-900")

    assert [o.pk for o in live_orders(world["channel"])] == [order.pk]
    assert Order.objects.count() == 1
    m = ManualOrder.objects.get()
    assert (m.status, m.matched_by) == ("matched", "platform_id")
    with pytest.raises(IncidentRefused) as refused:
        manual_order_enter(
            actor=world["agent"], channel=world["channel"], data=manual(order_id="TB-900"), now=BUSY
        )
    assert (refused.value.code, refused.value.field) == ("DUPLICATE", "order_id")
    assert Order.objects.count() == 1


def test_two_candidates_are_a_conflict_that_a_person_settles(world):
    order = manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=8)
    )
    orders_submit(
        channel=world["channel"],
        actor_label="system:intake",
        now=BUSY + timedelta(hours=1),
        orders=[
            {
                "order_id": oid,
                "paid_at": (BUSY + timedelta(minutes=8)).isoformat(),
                "recipient_name": "张三",
                "recipient_phone": PHONE,
                "address": "浙江省杭州市西湖区文三路90号1幢101室",
                "lines": [{"sku": "MUG-1", "quantity": 2}],
            }
            for oid in ("TB-1", "TB-2")
        ],
    )

    m = ManualOrder.objects.get()
    first, second = Order.objects.filter(platform_order_id__in=["TB-1", "TB-2"]).order_by("platform_order_id")
    assert (m.status, m.candidates) == ("conflict", [first.pk, second.pk])
    assert len(live_orders(world["channel"])) == 3  # not merged: a person decides

    client = Client()
    client.force_login(world["user"])
    page = client.get("/reconciliation/").content.decode()
    assert f'data-manual="{m.pk}" data-status="conflict"' in page
    with pytest.raises(IncidentRefused):
        manual_settle(
            actor=world["agent"], manual_id=m.pk, choice=str(order.pk), now=BUSY + timedelta(hours=2)
        )
    assert ManualOrder.objects.get().status == "conflict"

    assert client.post(f"/reconciliation/{m.pk}/settle", {"choice": str(second.pk)}).status_code == 302

    m.refresh_from_db()
    assert (m.status, m.matched_platform_id, m.matched_by) == ("matched", "TB-2", "person")
    assert sorted(o.platform_order_id for o in live_orders(world["channel"])) == ["TB-1", "TB-2"]
    order.refresh_from_db()
    assert order.platform_order_id == "TB-2"
    world["level"].refresh_from_db()
    assert world["level"].allocated == 4  # the manual order's 2 and TB-1's 2: TB-2's copy gave its back


def test_one_copy_matching_two_manual_orders_is_a_conflict_not_a_silent_pick(world):
    # the same buyer's two identical urgent orders, entered by hand; the platform sends one back
    first = manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=8)
    )
    second = manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=9)
    )

    platform_copy(world["channel"], "TB-1")

    copy = Order.objects.get(platform_order_id="TB-1")
    assert list(ManualOrder.objects.order_by("order_id").values_list("order_id", "status", "candidates")) == [
        (first.pk, "conflict", [copy.pk]),
        (second.pk, "conflict", [copy.pk]),
    ]
    assert [o.pk for o in live_orders(world["channel"])] == [first.pk, second.pk, copy.pk]
    assert OrderEvent.objects.filter(type="merged").count() == 0

    # a person settles: the copy goes to the first, the second stays on its own
    manual_settle(
        actor=world["agent"], manual_id=first.manual.pk, choice=str(copy.pk), now=BUSY + timedelta(hours=2)
    )
    manual_settle(
        actor=world["agent"], manual_id=second.manual.pk, choice="separate", now=BUSY + timedelta(hours=2)
    )
    assert [(o.pk, o.platform_order_id) for o in live_orders(world["channel"])] == [
        (first.pk, "TB-1"),
        (second.pk, second.platform_order_id),
    ]


def test_a_manual_order_cancelled_since_is_not_merged_with_the_live_platform_order(world):
    order = manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=8)
    )
    Order.objects.filter(pk=order.pk).update(status="cancelled")

    platform_copy(world["channel"], "TB-1")

    copy = Order.objects.get(platform_order_id="TB-1")
    assert [o.platform_order_id for o in live_orders(world["channel"])] == ["TB-1"]
    m = ManualOrder.objects.get()
    assert (m.status, m.candidates) == ("conflict", [copy.pk])
    assert OrderEvent.objects.filter(type="merged").count() == 0


def test_keeping_a_conflict_separate(world):
    manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=8)
    )
    platform_copy(world["channel"], "TB-1", "TB-2")
    m = ManualOrder.objects.get()
    assert m.status == "conflict"
    settled = manual_settle(
        actor=world["agent"], manual_id=m.pk, choice="separate", now=BUSY + timedelta(hours=2)
    )
    assert (settled.status, settled.settled_by_label) == ("separate", "user:agent")
    assert len(live_orders(world["channel"])) == 3


def test_the_reconciliation_report_and_its_download(world):
    manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=8)
    )
    manual_order_enter(
        actor=world["agent"],
        channel=world["channel"],
        data=manual(recipient_phone="13800001111", order_id="=1+2"),
        now=BUSY + timedelta(minutes=9),
    )
    platform_copy(world["channel"], "TB-777")
    client = Client()
    client.force_login(world["user"])

    report = client.get("/api/v1/incidents/reconciliation").json()
    assert report["counts"] == {"pending": 1, "matched": 1, "conflict": 0, "separate": 0}
    assert sorted((i["status"], i["platform_order_id"][:7]) for i in report["items"]) == [
        ("matched", "TB-777"),
        ("pending", "=1+2"),
    ]
    xlsx = client.get("/reconciliation.xlsx")
    assert xlsx["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert len(rows) == 3
    assert sorted(r[4] for r in rows[1:]) == ["已合并", "等待平台订单"]
    # an id typed in that a spreadsheet would run as a formula is written as text
    assert "'=1+2" in [r[1] for r in rows[1:]]


def test_the_manual_entry_page_names_a_missing_field(world):
    client = Client()
    client.force_login(world["user"])
    pk = world["incident"].pk
    answer = client.post(
        f"/incidents/{pk}/manual",
        {
            "recipient_name": "张三",
            "recipient_phone": PHONE,
            "address": "",
            "sku_0": "MUG-1",
            "quantity_0": "1",
        },
    )
    assert answer.status_code == 422
    assert "请填写详细地址" in answer.content.decode()
    assert Order.objects.count() == 0
    ok = client.post(
        f"/incidents/{pk}/manual",
        {
            "recipient_name": "张三",
            "recipient_phone": PHONE,
            "address": "浙江省杭州市西湖区文三路90号",
            "sku_0": "MUG-1",
            "quantity_0": "1",
        },
    )
    assert ok.status_code == 302
    assert Order.objects.get().is_manual is True


def test_resolving_the_incident_reconciles_the_channel(world):
    order = manual_order_enter(
        actor=world["agent"], channel=world["channel"], data=manual(), now=BUSY + timedelta(minutes=8)
    )
    # the copy arrives through a path that did not reconcile (e.g. the job was not yet run)
    ManualOrder.objects.update(status="pending")
    oncall = actor_for(user_with_role("tech_oncall", username="oncall"))
    platform_copy(world["channel"], "TB-5")
    incident_resolve(
        incident_id=world["incident"].pk, actor=oncall, text="恢复", now=BUSY + timedelta(hours=3)
    )
    assert [o.pk for o in live_orders(world["channel"])] == [order.pk]


def _sheet(rows):  # type: ignore[no-untyped-def]
    from io import BytesIO

    from openpyxl import load_workbook

    from orderguard.incidents.reconcile import manual_template_xlsx

    book = load_workbook(BytesIO(manual_template_xlsx()))
    for row in rows:
        book.active.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_filled_template_is_imported_as_manual_orders_and_bad_rows_are_named(world):
    client = Client()
    client.force_login(world["user"])
    template = client.get("/incidents/manual-orders.xlsx")
    from io import BytesIO

    from openpyxl import load_workbook

    header = next(load_workbook(BytesIO(template.content)).active.iter_rows(values_only=True))
    assert header[:4] == ("order_id", "paid_at", "recipient_name", "recipient_phone")
    data = _sheet(
        [
            ["M-1", "", "张三", PHONE, "浙江省", "杭州市", "西湖区", "文三路90号", "", "MUG-1", 1],
            ["M-2", "", "李四", "13800001111", "浙江省", "杭州市", "西湖区", "文三路91号", "", "MUG-1", "x"],
        ]
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    answer = client.post(
        f"/incidents/{world['incident'].pk}/manual/upload",
        {"file": SimpleUploadedFile("urgent.xlsx", data)},
        follow=True,
    )

    assert "已录入 1 个手工订单；0 个订单渠道已有，未改为手工订单；1 行被拒绝" in answer.content.decode()
    m = ManualOrder.objects.get()
    assert (m.entered_id, m.order.is_manual, m.status) == ("M-1", True, "pending")
    batch = ImportBatch.objects.get()
    assert list(batch.errors.values_list("row", "field")) == [(3, "quantity")]
    assert Order.objects.count() == 1


def test_reconciling_many_waiting_manual_orders_takes_as_many_queries_as_one(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orderguard.incidents.reconcile import manual_reconcile

    def entered(n: int) -> None:
        for i in range(n):
            manual_order_enter(
                actor=world["agent"],
                channel=world["channel"],
                data=manual(recipient_phone=f"1391234{i:04d}"),
                now=BUSY + timedelta(minutes=8),
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as run:
            result = manual_reconcile(channel_id=world["channel"].pk, now=BUSY + timedelta(hours=1))
        assert (result.matched, result.conflicts) == ([], [])
        return len(run.captured_queries)

    entered(1)
    one = queries()
    entered(5)
    assert queries() == one
