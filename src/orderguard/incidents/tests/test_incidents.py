"""Incident handling (T4, H4.1, H4.3): acknowledge, assign, updates to the merchants and the
warehouse team, platform-support contacts, resolve with the T4 cases; refusals change nothing;
merchant users read only the incidents touching their channels."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from orderguard.cases.models import ExceptionCase
from orderguard.incidents.models import Incident, IncidentEvent, IncidentStatus, PlatformContact
from orderguard.incidents.services import (
    IncidentRefused,
    Signal,
    incident_acknowledge,
    incident_contact,
    incident_link_orders,
    incident_resolve,
    incident_signal,
    incident_update,
)
from orderguard.incidents.tests.helpers import BUSY
from orderguard.notifications.models import MerchantContact, NotificationChannel, OutboxMessage, Topic
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    channel = ChannelFactory(code="tb-yoyo")
    channel.merchant.contact_email = "ops@yoyo.example"
    channel.merchant.save()
    channel.warehouse.alert_email = "team@wh.example"
    channel.warehouse.save()
    incident, _opened = incident_signal(
        signal=Signal(
            kind="channel_silent",
            title="渠道 tb-yoyo 停止来单",
            detail="d",
            channel_id=channel.pk,
            started_at=BUSY,
        ),
        now=BUSY + timedelta(minutes=6),
    )
    return {
        "channel": channel,
        "incident": incident,
        "oncall": user_with_role("tech_oncall", username="oncall"),
        "operator": user_with_role("operator", username="op"),
        "shop": user_with_role("merchant", merchant=channel.merchant, username="shop"),
    }


def test_acknowledge_records_who_and_when_and_a_second_is_refused(world):
    oncall = actor_for(world["oncall"])
    at = BUSY + timedelta(minutes=10)

    incident = incident_acknowledge(incident_id=world["incident"].pk, actor=oncall, now=at)

    assert (incident.status, incident.acknowledged_at, incident.acknowledged_by_id, incident.assignee_id) == (
        IncidentStatus.ACKNOWLEDGED,
        at,
        world["oncall"].pk,
        world["oncall"].pk,
    )
    with pytest.raises(IncidentRefused) as refused:
        incident_acknowledge(incident_id=incident.pk, actor=oncall, now=at + timedelta(minutes=1))
    assert refused.value.code == "STATUS"
    assert IncidentEvent.objects.filter(incident=incident, type="acknowledged").count() == 1


def test_an_operator_may_not_act_and_nothing_changes(world):
    before = OutboxMessage.objects.count()
    with pytest.raises(IncidentRefused) as refused:
        incident_update(
            incident_id=world["incident"].pk, actor=actor_for(world["operator"]), text="x", now=BUSY
        )
    assert refused.value.code == "ROLE"
    assert list(world["incident"].events.values_list("type", flat=True)) == ["opened"]
    assert OutboxMessage.objects.count() == before


def test_an_update_reaches_the_merchant_and_the_warehouse_team(world):
    robot = NotificationChannel.objects.create(
        kind="inbox", name="yoyo bell", merchant=world["channel"].merchant
    )
    MerchantContact.objects.create(
        merchant=world["channel"].merchant, topic=Topic.OUTAGE, channel=robot, address="7"
    )

    event = incident_update(
        incident_id=world["incident"].pk,
        actor=actor_for(world["oncall"]),
        text="淘宝接口限流，已联系平台",
        now=BUSY + timedelta(minutes=12),
    )

    sent = OutboxMessage.objects.filter(topic=Topic.OUTAGE).order_by("pk")
    assert [(m.recipient, m.merchant_id, m.subject) for m in sent] == [
        ("7", world["channel"].merchant_id, "故障通知：渠道 tb-yoyo 停止来单"),
        ("team@wh.example", None, "故障通知：渠道 tb-yoyo 停止来单"),
    ]
    assert "淘宝接口限流，已联系平台" in sent[0].body
    assert event.data == {"note": "淘宝接口限流，已联系平台", "number": 1, "notified": 2}


def test_an_empty_update_names_the_field_and_sends_nothing(world):
    with pytest.raises(IncidentRefused) as refused:
        incident_update(
            incident_id=world["incident"].pk, actor=actor_for(world["oncall"]), text="  ", now=BUSY
        )
    assert (refused.value.code, refused.value.field, str(refused.value)) == (
        "FIELD_REQUIRED",
        "note",
        "请填写进展说明",
    )
    assert OutboxMessage.objects.filter(topic=Topic.OUTAGE).count() == 0


def test_a_platform_contact_is_recorded_and_on_the_timeline(world):
    incident_contact(
        incident_id=world["incident"].pk,
        actor=actor_for(world["oncall"]),
        contact="淘宝开放平台 张工",
        via="工单系统",
        ticket_ref="TOP-20261125-88",
        notes="确认接口故障",
        now=BUSY + timedelta(minutes=15),
    )
    row = PlatformContact.objects.get()
    assert (row.contact, row.via, row.ticket_ref, row.notes, row.actor_label) == (
        "淘宝开放平台 张工",
        "工单系统",
        "TOP-20261125-88",
        "确认接口故障",
        "user:oncall",
    )
    with pytest.raises(IncidentRefused) as refused:
        incident_contact(
            incident_id=world["incident"].pk,
            actor=actor_for(world["oncall"]),
            contact="x",
            via="",
            ticket_ref="",
            notes="",
            now=BUSY,
        )
    assert refused.value.field == "via"
    assert PlatformContact.objects.count() == 1


def test_resolving_closes_the_t4_cases_and_tells_the_merchant(world):
    order = OrderFactory(channel=world["channel"], paid_at=BUSY + timedelta(minutes=2))
    incident = world["incident"]
    assert incident_link_orders(incident=incident, now=BUSY + timedelta(minutes=20)) == 1
    case = ExceptionCase.objects.get(order=order)
    assert (case.type, case.source, case.status) == ("T4", "D3", "open")

    at = BUSY + timedelta(minutes=40)
    incident = incident_resolve(
        incident_id=incident.pk, actor=actor_for(world["oncall"]), text="平台已恢复推送", now=at
    )

    assert (incident.status, incident.resolved_at, incident.resolved_by_id, incident.resolution) == (
        "resolved",
        at,
        world["oncall"].pk,
        "平台已恢复推送",
    )
    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution) == ("resolved", "succeeded", "平台已恢复推送")
    assert sorted(OutboxMessage.objects.filter(topic=Topic.OUTAGE).values_list("recipient", flat=True)) == [
        "ops@yoyo.example",
        "team@wh.example",
    ]
    with pytest.raises(IncidentRefused):
        incident_resolve(incident_id=incident.pk, actor=actor_for(world["oncall"]), text="again", now=at)
    assert IncidentEvent.objects.filter(incident=incident, type="resolved").count() == 1


def test_resolving_leaves_no_buyer_contact_or_alert_planned_on_the_closed_cases(world):
    order = OrderFactory(channel=world["channel"], paid_at=BUSY + timedelta(minutes=2))
    incident_link_orders(incident=world["incident"], now=BUSY + timedelta(minutes=20))
    planned = BUSY + timedelta(hours=2)
    ExceptionCase.objects.filter(order=order).update(
        contact_next="sms", contact_next_at=planned, contact_auto_at=planned
    )

    incident_resolve(
        incident_id=world["incident"].pk,
        actor=actor_for(world["oncall"]),
        text="平台已恢复推送",
        now=BUSY + timedelta(minutes=40),
    )

    assert list(
        ExceptionCase.objects.filter(order=order).values_list(
            "status", "contact_next", "contact_next_at", "contact_auto_at", "sla_next_at"
        )
    ) == [("resolved", "", None, None, None)]


def test_a_new_fault_after_resolution_is_a_new_incident(world):
    incident_resolve(
        incident_id=world["incident"].pk,
        actor=actor_for(world["oncall"]),
        text="ok",
        now=BUSY + timedelta(hours=1),
    )
    again, opened = incident_signal(
        signal=Signal(kind="channel_silent", title="t", detail="d", channel_id=world["channel"].pk),
        now=BUSY + timedelta(hours=2),
    )
    assert opened is True
    assert again.pk != world["incident"].pk
    assert Incident.objects.count() == 2


def test_pages_let_the_oncall_acknowledge_update_and_resolve(world):
    client = Client()
    client.force_login(world["oncall"])
    pk = world["incident"].pk

    page = client.get(f"/incidents/{pk}/")
    assert page.status_code == 200
    assert "渠道 tb-yoyo 停止来单" in page.content.decode()
    assert client.post(f"/incidents/{pk}/acknowledge").status_code == 302
    assert client.post(f"/incidents/{pk}/update", {"note": "处理中"}).status_code == 302
    assert client.post(f"/incidents/{pk}/resolve", {"resolution": "好了"}).status_code == 302

    incident = Incident.objects.get(pk=pk)
    assert (incident.status, incident.resolution) == ("resolved", "好了")
    assert list(incident.events.values_list("type", flat=True)) == [
        "opened",
        "acknowledged",
        "update",
        "resolved",
    ]


def test_a_merchant_reads_its_incident_without_buttons_and_not_another(world):
    client = Client()
    client.force_login(world["shop"])
    pk = world["incident"].pk
    page = client.get(f"/incidents/{pk}/").content.decode()
    assert "渠道 tb-yoyo 停止来单" in page
    assert 'id="ack-form"' not in page
    other = ChannelFactory(code="other")
    theirs, _o = incident_signal(
        signal=Signal(kind="channel_silent", title="other", detail="", channel_id=other.pk), now=BUSY
    )
    assert client.get(f"/incidents/{theirs.pk}/").status_code == 404
    listed = client.get("/api/v1/incidents").json()
    assert [i["id"] for i in listed["items"]] == [pk]
    assert (
        client.post(f"/api/v1/incidents/{pk}/acknowledge", "{}", content_type="application/json").status_code
        == 403
    )
    assert Incident.objects.get(pk=pk).status == "open"


def test_the_api_acknowledges_updates_records_a_contact_and_resolves(world):
    client = Client()
    client.force_login(world["oncall"])
    pk = world["incident"].pk

    ack = client.post(
        f"/api/v1/incidents/{pk}/acknowledge", {"note": "看到了"}, content_type="application/json"
    )
    assert (ack.status_code, ack.json()["status"], ack.json()["acknowledged_by"]) == (
        200,
        "acknowledged",
        "oncall",
    )
    again = client.post(f"/api/v1/incidents/{pk}/acknowledge", {}, content_type="application/json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "STATUS")
    upd = client.post(f"/api/v1/incidents/{pk}/updates", {"note": "限流"}, content_type="application/json")
    assert [e["type"] for e in upd.json()["events"]] == ["opened", "acknowledged", "update"]
    contact = client.post(
        f"/api/v1/incidents/{pk}/contacts",
        {"contact": "张工", "via": "电话", "ticket_ref": "T-1"},
        content_type="application/json",
    )
    assert contact.json()["contacts"][0]["ticket_ref"] == "T-1"
    done = client.post(
        f"/api/v1/incidents/{pk}/resolve", {"resolution": "恢复"}, content_type="application/json"
    )
    assert (done.status_code, done.json()["status"], done.json()["resolved_by"]) == (
        200,
        "resolved",
        "oncall",
    )
    got = client.get(f"/api/v1/incidents/{pk}").json()
    assert (got["merchants"], got["resolution"]) == ([world["channel"].merchant.code], "恢复")


def test_assign_to_staff_and_a_merchant_user_is_refused_without_change(world):
    client = Client()
    client.force_login(world["oncall"])
    pk = world["incident"].pk

    refused = client.post(
        f"/api/v1/incidents/{pk}/assign", {"assignee": "shop"}, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["error"]["code"], refused.json()["error"]["field"]) == (
        422,
        "ASSIGNEE_NOT_ELIGIBLE",
        "assignee",
    )
    assert Incident.objects.get(pk=pk).assignee_id is None

    done = client.post(f"/api/v1/incidents/{pk}/assign", {"assignee": "op"}, content_type="application/json")
    assert (done.status_code, done.json()["assignee"]) == (200, "op")
    event = IncidentEvent.objects.get(incident_id=pk, type="assigned")
    assert event.data == {"assignee": "op", "previous": ""}
