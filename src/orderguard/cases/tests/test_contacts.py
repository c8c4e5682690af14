"""Contact attempts and the ladder's automatic rungs (H2.1-H2.3, B2): a person records the calls,
the system sends the SMS and asks the merchant when their time comes, each once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderguard.cases.contacts import contact_record, contacts_advance
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.models import CaseEvent, ContactAttempt, ExceptionCase
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.notifications.models import NotificationChannel, OutboxMessage
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SH)  # a Friday morning


def _case(phone: str = "13800138000", email: str = "shop@merchant.example") -> ExceptionCase:
    channel = ChannelFactory(merchant__contact_email=email)
    order = OrderFactory(channel=channel, recipient_phone=phone, platform_order_id="TB1001")
    return ExceptionCaseFactory(order=order, opened_at=NOW, contact_next="call", contact_next_at=NOW)


@pytest.fixture
def ann():  # type: ignore[no-untyped-def]
    return actor_for(user_with_role("cs_agent", username="ann"))


def _plan(case: ExceptionCase) -> tuple[str, datetime | None, datetime | None]:
    case.refresh_from_db()
    return case.contact_next, case.contact_next_at, case.contact_auto_at


@pytest.fixture
def gateway(db):  # type: ignore[no-untyped-def]
    """The warehouse's SMS gateway for buyer texts."""
    return NotificationChannel.objects.create(
        kind="sms_json", name="短信网关", config={"url": "http://127.0.0.1:9/sms"}, topics=["buyer_sms"]
    )


def test_two_unanswered_calls_then_the_sms_then_the_merchant_without_anyone_remembering(ann, gateway):
    case = _case()

    contact_record(case_id=case.pk, actor=ann, channel="call", outcome="no_answer", note="", now=NOW)
    assert _plan(case) == ("call", NOW + timedelta(minutes=30), None)
    contact_record(
        case_id=case.pk,
        actor=ann,
        channel="call",
        outcome="busy",
        note="占线",
        now=NOW + timedelta(minutes=31),
    )
    assert _plan(case) == ("sms", NOW + timedelta(minutes=31), NOW + timedelta(minutes=31))

    sent = contacts_advance(now=NOW + timedelta(minutes=32))
    again = contacts_advance(now=NOW + timedelta(minutes=33))
    case.refresh_from_db()
    assert (sent.sms, again.sms, case.status, case.waiting_on) == (1, 0, "waiting", "buyer")
    sms = OutboxMessage.objects.get(topic="buyer_sms")
    assert (sms.endpoint_id, sms.recipient, sms.body.startswith("您的订单 TB1001：收货信息有误")) == (
        gateway.pk,
        "13800138000",
        True,
    )
    assert _plan(case) == ("merchant", NOW + timedelta(minutes=152), NOW + timedelta(minutes=152))

    assert contacts_advance(now=NOW + timedelta(minutes=151)).merchant == 0
    asked = contacts_advance(now=NOW + timedelta(minutes=152))
    case.refresh_from_db()
    assert (asked.merchant, case.waiting_on, _plan(case)) == (1, "merchant", ("", None, None))
    mail = OutboxMessage.objects.get(topic="case_merchant")
    assert (mail.recipient, mail.endpoint_id, f"/cases/{case.pk}/" in mail.body) == (
        "shop@merchant.example",
        None,
        True,
    )
    assert list(ContactAttempt.objects.filter(case=case).values_list("type", "outcome", "actor_label")) == [
        ("call", "no_answer", "user:ann"),
        ("call", "busy", "user:ann"),
        ("sms", "sent", "system:ladder"),
        ("merchant", "asked", "system:ladder"),
    ]
    assert list(
        CaseEvent.objects.filter(case=case, type="contacted").values_list("data__outcome", flat=True)
    ) == [
        "no_answer",
        "busy",
        "sent",
        "asked",
    ]


def test_without_a_gateway_for_buyer_texts_the_ladder_goes_from_calls_to_the_merchant(ann):
    case = _case()
    for minute in (0, 31):
        contact_record(
            case_id=case.pk,
            actor=ann,
            channel="call",
            outcome="busy",
            note="",
            now=NOW + timedelta(minutes=minute),
        )

    assert _plan(case) == ("merchant", NOW + timedelta(minutes=31), NOW + timedelta(minutes=31))
    result = contacts_advance(now=NOW + timedelta(minutes=31))
    assert (result.sms, result.merchant) == (0, 1)


def test_a_masked_number_gets_no_sms_and_goes_to_the_merchant(ann, gateway):
    case = _case(phone="138****0000")
    for minute in (0, 31):
        contact_record(
            case_id=case.pk,
            actor=ann,
            channel="call",
            outcome="no_answer",
            note="经平台虚拟号拨打",
            now=NOW + timedelta(minutes=minute),
        )

    result = contacts_advance(now=NOW + timedelta(minutes=32))

    assert (result.sms, result.merchant) == (0, 1)
    assert not OutboxMessage.objects.filter(topic="buyer_correction_sms").exists()


def test_a_buyer_reached_ends_the_ladder(ann):
    case = _case()
    contact_record(
        case_id=case.pk, actor=ann, channel="call", outcome="reached", note="买家给了新地址", now=NOW
    )

    assert _plan(case) == ("", None, None)
    assert contacts_advance(now=NOW + timedelta(days=1)).sms == 0


@pytest.mark.parametrize(
    ("channel", "outcome", "field"),
    [("fax", "sent", "channel"), ("call", "sent", "outcome"), ("sms", "reached", "outcome")],
)
def test_a_contact_that_does_not_fit_is_refused_and_nothing_is_written(ann, channel, outcome, field):
    case = _case()

    with pytest.raises(CaseActionNotAllowed) as refused:
        contact_record(case_id=case.pk, actor=ann, channel=channel, outcome=outcome, note="", now=NOW)

    assert (refused.value.code, refused.value.data["field"]) == ("CONTACT_INVALID", field)
    assert (ContactAttempt.objects.count(), CaseEvent.objects.count()) == (0, 0)
    assert _plan(case) == ("call", NOW, None)


def test_a_merchant_user_records_nothing_and_a_closed_case_takes_no_attempt():
    case = _case()
    shop = actor_for(user_with_role("merchant", merchant=case.merchant))
    with pytest.raises(CaseActionNotAllowed) as refused:
        contact_record(case_id=case.pk, actor=shop, channel="call", outcome="reached", note="", now=NOW)
    assert refused.value.code == "ROLE"

    ExceptionCase.objects.filter(pk=case.pk).update(status="resolved", outcome="succeeded", closed_at=NOW)
    agent = actor_for(user_with_role("cs_agent"))
    with pytest.raises(CaseActionNotAllowed) as closed:
        contact_record(case_id=case.pk, actor=agent, channel="call", outcome="reached", note="", now=NOW)
    assert closed.value.code == "CASE_CLOSED"
    assert ContactAttempt.objects.count() == 0
