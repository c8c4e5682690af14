"""D5: customer-service reports: the order found by id or phone tail, a case of the matching
type opened or joined (never doubled), attachments checked, the reporter told on closing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import case_transition
from orderguard.core.errors import NotFound
from orderguard.feedback.models import ReportAttachment, ServiceReport
from orderguard.feedback.services import (
    ReportRefused,
    Upload,
    order_for_report,
    report_file,
    reports_notify_resolved,
)
from orderguard.notifications.models import NotificationChannel, OutboxMessage
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"x" * 50


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    mine, theirs = ChannelFactory(code="mine"), ChannelFactory(code="theirs")
    order = OrderFactory(channel=mine, platform_order_id="TB1001", phone_normalised="13800001234")
    other = OrderFactory(channel=theirs, platform_order_id="JD2002", phone_normalised="13900001234")
    agent = user_with_role("cs_agent", username="xiaomei")
    return {"order": order, "other": other, "agent": agent, "mine": mine}


def test_a_special_request_opens_a_d5_case_with_a_reported_event(world, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    actor = actor_for(world["agent"])

    result = report_file(
        actor=actor,
        order_id=world["order"].pk,
        kind="special",
        special_kind="courier",
        text="买家要求发顺丰",
        now=NOW,
        attachments=[Upload("聊天截图.png", "image/png", PNG)],
    )

    case = ExceptionCase.objects.get()
    assert (result.created, result.case.pk) == (True, case.pk)
    assert (case.type, case.source, case.order_id) == ("T5", "D5", world["order"].pk)
    report = ServiceReport.objects.get()
    assert case.findings == [
        {
            "code": "SERVICE_REPORT",
            "type": "T5",
            "field": "special",
            "severity": "blocking",
            "source": "D5",
            "data": {"reason": "special_courier", "report": report.pk},
        }
    ]
    assert (report.case_id, report.case_created, report.reporter_label) == (case.pk, True, "user:xiaomei")
    [reported] = CaseEvent.objects.filter(case=case, type="reported")
    assert reported.data == {
        "report": report.pk,
        "kind": "special",
        "special_kind": "courier",
        "text": "买家要求发顺丰",
        "attachments": ["聊天截图.png"],
        "opened": True,
    }
    [att] = ReportAttachment.objects.all()
    assert (att.content_type, att.size, att.merchant_id) == (
        "image/png",
        len(PNG),
        world["order"].merchant_id,
    )
    assert (tmp_path / "media" / att.file.name).read_bytes() == PNG


def test_a_second_report_of_the_same_type_joins_the_open_case(world, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    actor = actor_for(world["agent"])
    first = report_file(actor=actor, order_id=world["order"].pk, kind="address", text="门牌号缺", now=NOW)
    second = report_file(
        actor=actor,
        order_id=world["order"].pk,
        kind="address",
        text="买家说是3单元",
        now=NOW + timedelta(minutes=1),
    )

    assert (first.created, second.created, second.case.pk) == (True, False, first.case.pk)
    assert ExceptionCase.objects.count() == 1
    case = ExceptionCase.objects.get()
    assert (case.type, [f["data"]["report"] for f in case.findings]) == (
        "T2",
        [first.report.pk, second.report.pk],
    )
    assert [e.type for e in CaseEvent.objects.filter(case=case)] == [
        "opened",
        "reported",
        "findings_changed",
        "reported",
    ]


def test_the_order_is_found_by_phone_tail_within_a_merchant_and_ambiguity_lists_the_orders(world):
    actor = actor_for(world["agent"])
    twin = OrderFactory(channel=world["mine"], platform_order_id="TB1002", phone_normalised="13700001234")

    with pytest.raises(ReportRefused) as ambiguous:
        order_for_report(actor=actor, phone_tail="1234", merchant_id=world["order"].merchant_id)
    found = order_for_report(actor=actor, phone_tail="1234", merchant_id=world["other"].merchant_id)
    by_id = order_for_report(actor=actor, platform_order_id=" TB1001 ")

    assert ambiguous.value.code == "ORDER_AMBIGUOUS"
    assert sorted(o.platform_order_id for o in ambiguous.value.candidates) == ["TB1001", "TB1002"]
    assert (found.pk, by_id.pk) == (world["other"].pk, world["order"].pk)
    assert twin.pk != world["order"].pk


@pytest.mark.parametrize(
    ("lookup", "code", "field"),
    [
        ({"platform_order_id": "NOPE"}, "ORDER_NOT_FOUND", "platform_order_id"),
        ({"phone_tail": "12a4", "merchant_id": 1}, "PHONE_TAIL_INVALID", "phone_tail"),
        ({"phone_tail": "1234"}, "SCOPE_REQUIRED", "merchant"),
        ({}, "LOOKUP_EMPTY", "platform_order_id"),
    ],
)
def test_a_lookup_that_finds_no_single_order_is_refused(world, lookup, code, field):
    with pytest.raises(ReportRefused) as refused:
        order_for_report(actor=actor_for(world["agent"]), **lookup)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_merchant_user_reporting_on_another_merchants_order_is_told_not_found(world):
    shop = actor_for(user_with_role("merchant", merchant=world["order"].merchant))
    with pytest.raises(ReportRefused) as refused:
        order_for_report(actor=shop, platform_order_id="JD2002")
    with pytest.raises(NotFound):
        report_file(actor=shop, order_id=world["other"].pk, kind="other", text="x", now=NOW)

    assert refused.value.code == "ORDER_NOT_FOUND"
    assert (ServiceReport.objects.count(), ExceptionCase.objects.count(), CaseEvent.objects.count()) == (
        0,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (Upload("big.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 2048), "ATTACHMENT_TOO_LARGE"),
        (Upload("script.png", "image/png", b"<script>alert(1)</script>"), "ATTACHMENT_TYPE"),
        (Upload("doc.pdf", "image/png", PDF), "ATTACHMENT_TYPE"),
        (Upload("page.html", "text/html", b"<html></html>"), "ATTACHMENT_TYPE"),
    ],
)
def test_a_bad_attachment_refuses_the_report_and_nothing_is_kept(world, settings, tmp_path, upload, code):
    settings.VAR_DIR = tmp_path
    settings.REPORT_ATTACHMENT_MAX_BYTES = 1024
    with pytest.raises(ReportRefused) as refused:
        report_file(
            actor=actor_for(world["agent"]),
            order_id=world["order"].pk,
            kind="product",
            text="颜色不对",
            now=NOW,
            attachments=[Upload("ok.pdf", "application/pdf", PDF), upload],
        )
    assert (refused.value.code, refused.value.field) == (code, "attachments[1]")
    assert (
        ServiceReport.objects.count(),
        ReportAttachment.objects.count(),
        ExceptionCase.objects.count(),
    ) == (
        0,
        0,
        0,
    )
    assert not (tmp_path / "media").exists() or list((tmp_path / "media").rglob("*.*")) == []


def test_a_special_request_needs_its_kind_and_every_report_a_text(world):
    actor = actor_for(world["agent"])
    with pytest.raises(ReportRefused) as no_kind:
        report_file(actor=actor, order_id=world["order"].pk, kind="special", text="x", now=NOW)
    with pytest.raises(ReportRefused) as no_text:
        report_file(actor=actor, order_id=world["order"].pk, kind="other", text="  ", now=NOW)
    with pytest.raises(ReportRefused) as bad_kind:
        report_file(actor=actor, order_id=world["order"].pk, kind="weather", text="x", now=NOW)
    assert [e.value.code for e in (no_kind, no_text, bad_kind)] == [
        "SPECIAL_KIND_INVALID",
        "TEXT_REQUIRED",
        "KIND_INVALID",
    ]
    assert ServiceReport.objects.count() == 0


def test_the_reporter_is_told_in_the_inbox_once_when_the_case_is_resolved(world):
    inbox = NotificationChannel.objects.create(kind="inbox", name="站内消息")
    agent = actor_for(world["agent"])
    result = report_file(
        actor=agent, order_id=world["order"].pk, kind="other", text="买家说包裹破损", now=NOW
    )

    assert reports_notify_resolved(now=NOW) == 0  # the case is open
    case_transition(
        case_id=result.case.pk,
        action="resolve",
        actor=actor_for(user_with_role("manager")),
        now=NOW + timedelta(hours=1),
        note="已补发",
        outcome="succeeded",
    )
    told = reports_notify_resolved(now=NOW + timedelta(hours=1))
    again = reports_notify_resolved(now=NOW + timedelta(hours=2))

    [message] = OutboxMessage.objects.filter(topic="report_resolved")
    assert (told, again) == (1, 0)
    assert (message.recipient, message.endpoint_id, message.idempotency_key) == (
        str(world["agent"].pk),
        inbox.pk,
        f"report:{result.report.pk}:resolved:inbox",
    )
    assert message.subject == f"您反馈的订单 TB1001：异常单 #{result.case.pk} 已处理"
    assert message.body == "结果：成功。已补发"
