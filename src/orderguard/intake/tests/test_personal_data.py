"""Personal data through the flow: retention of imported orders, and logs that never hold it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cli import main
from orderguard.intake.tests.taobao_builder import TbItem, TbOrder, taobao_export
from orderguard.intake.webhooks import generic_signature, webhook_receive
from orderguard.orders.models import Order, OrderEvent
from orderguard.orders.services import orders_anonymise

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=181)
CLOSED = "交易关闭"


def import_taobao(channel, orders: list[TbOrder], now: datetime):  # type: ignore[no-untyped-def]
    from orderguard.intake.services import orders_import

    return orders_import(files=taobao_export(orders), channel=channel, now=now)


def case_log() -> list[tuple[str, str, str, str]]:
    return [
        (c.order.platform_order_id, c.type, c.status, c.outcome)
        for c in ExceptionCase.objects.select_related("order").order_by("pk")
    ] + [
        (e.case.order.platform_order_id, e.type, e.actor_label, json.dumps(e.data, sort_keys=True))
        for e in CaseEvent.objects.select_related("case__order").order_by("pk")
    ]


def test_a_closed_imported_order_loses_its_recipient_and_keeps_its_cases_and_events(channel):
    # a paid order with a bad phone opens a case; the platform then closes the order
    order = TbOrder("9001", [TbItem("NOPE-1")], phone="1380013800", note="请打1380013800")
    import_taobao(channel, [order], NOW)
    order.status = CLOSED
    import_taobao(channel, [order], NOW + timedelta(hours=1))
    Order.objects.update(updated_at=NOW + timedelta(hours=1))
    cases_before = case_log()
    assert cases_before[:2] == [
        ("9001", "T2", "cancelled", "cancelled"),
        ("9001", "T3", "cancelled", "cancelled"),
    ]
    assert [e[1] for e in cases_before[2:]] == ["opened", "opened", "resolved", "resolved"]
    events_before = list(OrderEvent.objects.order_by("pk").values_list("type", "data"))

    result = orders_anonymise(now=LATER, retention_days=180)

    o = Order.objects.get()
    assert result.orders == 1
    assert (o.status, o.platform_state, o.recipient_name, o.recipient_phone, o.phone_normalised) == (
        "not_ready",
        "closed",
        "",
        "",
        "",
    )
    assert (o.address_received, o.address_detail, o.town, o.postcode, o.buyer_note) == ({}, "", "", "", "")
    assert (o.province, o.city, o.district) == ("浙江省", "杭州市", "西湖区")
    assert case_log() == cases_before
    assert [t for t, _d in events_before] == ["imported", "updated"]
    assert list(OrderEvent.objects.order_by("pk").values_list("type", "data"))[:2] == events_before
    assert OrderEvent.objects.order_by("pk").last().type == "anonymised"


def test_an_old_export_imported_again_does_not_bring_an_anonymised_recipient_back(channel):
    order = TbOrder("9002", [TbItem("NOPE-1")], status=CLOSED)
    import_taobao(channel, [order], NOW)
    Order.objects.update(updated_at=NOW)
    orders_anonymise(now=LATER, retention_days=180)
    order.address = "浙江省 杭州市 西湖区 文三路100号(310012)"  # the platform's data, as it was

    batch = import_taobao(channel, [order], LATER + timedelta(hours=1))

    o = Order.objects.get()
    assert (batch.created, batch.updated, batch.unchanged) == (0, 0, 1)
    assert (o.recipient_name, o.recipient_phone, o.address_detail, o.address_received) == ("", "", "", {})
    assert list(OrderEvent.objects.order_by("pk").values_list("type", flat=True)) == [
        "imported",
        "anonymised",
    ]


def test_orderguard_anonymise_dry_run_counts_then_the_run_anonymises(channel, capsys, settings):
    settings.RECIPIENT_RETENTION_DAYS = 180
    import_taobao(channel, [TbOrder("9003", [TbItem("NOPE-1")], status=CLOSED)], NOW)
    Order.objects.update(updated_at=NOW - timedelta(days=400))

    dry = main(["anonymise", "--dry-run", "--json"]), json.loads(capsys.readouterr().out)
    untouched = Order.objects.get().recipient_phone
    real = main(["anonymise", "--json"]), json.loads(capsys.readouterr().out)
    again = main(["anonymise", "--json"]), json.loads(capsys.readouterr().out)

    assert dry == (0, {"ok": True, "dry_run": True, "retention_days": 180, "orders": 1})
    assert untouched == "13800138000"
    assert real == (0, {"ok": True, "dry_run": False, "retention_days": 180, "orders": 1})
    assert again == (0, {"ok": True, "dry_run": False, "retention_days": 180, "orders": 0})
    assert Order.objects.get().recipient_phone == ""


# --- logs -----------------------------------------------------------------------------------

PHONE = "13912345678"
NAME = "欧阳娜娜"
STREET = "文三路90号东部软件园3号楼501室"


def logged_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''} {getattr(r, 'data', '')}" for r in records
    )


def test_importing_an_order_logs_neither_its_phone_nor_its_name_nor_its_address(channel, caplog):
    caplog.set_level(logging.DEBUG)
    channel.signing_secret = "new-secret-0123456789"
    channel.previous_signing_secret = "old-secret-0123456789"
    channel.save()
    address = f"浙江省 杭州市 西湖区 {STREET}(310012)"
    bad_phone = TbOrder("8002", [TbItem("NOPE-1")], name=NAME, phone=PHONE[:-1], address=address)

    import_taobao(
        channel,
        [TbOrder("8001", [TbItem("NOPE-1")], name=NAME, phone=PHONE, address=address), bad_phone],
        NOW,
    )
    body = json.dumps(
        {
            "orders": [
                {
                    "order_id": "8003",
                    "paid_at": "2026-11-25 17:00:00",
                    "recipient_name": NAME,
                    "recipient_phone": PHONE,
                    "province": "浙江省",
                    "city": "杭州市",
                    "district": "西湖区",
                    "address": STREET,
                    "lines": [{"sku": "NOPE-1", "quantity": 1}],
                }
            ]
        },
        ensure_ascii=False,
    ).encode()
    timestamp = str(int(NOW.timestamp()))
    headers = {
        "X-OrderGuard-Timestamp": timestamp,
        # signed with the previous secret, and sent twice: both paths log a line
        "X-OrderGuard-Signature": generic_signature(
            secret="old-secret-0123456789", timestamp=timestamp, body=body
        ),
        "X-OrderGuard-Delivery": "evt-1",
    }
    webhook_receive(channel_code=channel.code, headers=headers, body=body, now=NOW)
    webhook_receive(channel_code=channel.code, headers=headers, body=body, now=NOW)

    assert Order.objects.filter(recipient_phone=PHONE).count() == 2
    text = logged_text(caplog.records)
    assert "previous signing secret" in text and "redelivery" in text  # the logs were captured
    for secret in (PHONE, PHONE[-8:], PHONE[:-1], NAME, STREET, "文三路"):
        assert secret not in text
