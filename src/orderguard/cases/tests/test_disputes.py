"""H3.2: the buyer insists the order is right, so the SKU is disputed with the merchant; the
merchant's answer is logged on every linked case, the case resumes and the marking clears. The
deadline of the merchant's answer escalates, and reminders reach each person in their language."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.cases.disputes import (
    DisputeRefused,
    open_disputed_codes,
    sku_dispute_answer,
)
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.machine import ActionName
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import case_transition
from orderguard.catalog.models import SkuDispute
from orderguard.core.errors import NotFound
from orderguard.intake.tests.product_world import IMPORTED_AT, order_for_xl, tee_shop
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.sla.services import deadlines_scan
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.models import UserPreference

pytestmark = pytest.mark.django_db
LATER = IMPORTED_AT + timedelta(minutes=20)


@pytest.fixture
def shop(channel):  # type: ignore[no-untyped-def]
    channel.merchant.contact_email = "ops@tee.example"
    channel.merchant.save()
    return tee_shop(channel)


@pytest.fixture
def agent():  # type: ignore[no-untyped-def]
    return actor_for(user_with_role("cs_agent", username="ann", email="ann@wh.example"))


def _dispute(case: ExceptionCase, actor, note: str = "买家坚持要XL码") -> ExceptionCase:  # type: ignore[no-untyped-def]
    return case_transition(case_id=case.pk, action=ActionName.DISPUTE_SKU, actor=actor, now=LATER, note=note)


def _events(case: ExceptionCase) -> list[tuple[str, str, dict]]:
    return [(e.type, e.actor_label, e.data) for e in CaseEvent.objects.filter(case=case).order_by("pk")][1:]


def test_the_buyer_insists_the_sku_is_disputed_and_the_case_waits_on_the_merchant_with_its_deadline(
    shop, agent
):
    _order, case = order_for_xl(shop, "TB1")

    _dispute(case, agent)

    case.refresh_from_db()
    assert (case.status, case.waiting_on, case.step) == ("waiting", "merchant", "merchant_answer")
    # 8 working hours from 10:20 on a Wednesday (Shanghai): 7:40 that day, 0:20 on Thursday
    assert case.due_at == IMPORTED_AT + timedelta(hours=23, minutes=20)
    assert case.sla_paused_at is None
    dispute = SkuDispute.objects.get()
    assert (dispute.sku_code, dispute.sku_id, dispute.buyer_says, dispute.opened_by_label) == (
        "TEE-XL",
        None,
        "买家坚持要XL码",
        "user:ann",
    )
    assert list(dispute.cases.values_list("pk", flat=True)) == [case.pk]
    assert open_disputed_codes(merchant_id=shop.merchant_id, codes=["TEE-XL", "TEE-M"]) == {
        "TEE-XL": dispute.pk
    }
    assert _events(case) == [
        (
            "status_changed",
            "user:ann",
            {
                "action": "dispute_sku",
                "from": "open",
                "to": "waiting",
                "note": "买家坚持要XL码",
                "waiting_on": "merchant",
                "step": "merchant_answer",
                "due_at": case.due_at.isoformat(),
            },
        ),
        # the merchant's answer is the case's step now, with its deadline (S1, S3)
        ("step_started", "user:ann", {"step": "merchant_answer", "due_at": case.due_at.isoformat()}),
        # the dispute asks the merchant: the contact ladder ends
        ("contacted", "user:ann", {"channel": "merchant", "outcome": "asked", "note": "买家坚持要XL码"}),
        (
            "sku_disputed",
            "user:ann",
            {
                "dispute": dispute.pk,
                "sku_code": "TEE-XL",
                "step": "opened",
                "joined": False,
                "buyer_says": "买家坚持要XL码",
            },
        ),
    ]
    message = OutboxMessage.objects.get(topic="case_merchant")
    assert (message.recipient, message.subject) == ("ops@tee.example", "请协助处理订单 TB1")
    assert "请核对 SKU TEE-XL 的商品资料并答复" in message.body


def test_a_second_case_about_the_same_code_joins_the_open_dispute(shop, agent):
    _order1, first = order_for_xl(shop, "TB1")
    _order2, second = order_for_xl(shop, "TB2")
    _dispute(first, agent)

    _dispute(second, agent, note="也要XL")

    dispute = SkuDispute.objects.get()
    assert sorted(dispute.cases.values_list("pk", flat=True)) == [first.pk, second.pk]
    assert _events(second)[-1][2]["joined"] is True


def test_the_merchant_answers_the_answer_is_logged_on_every_case_they_resume_and_the_marking_clears(
    shop, agent
):
    _o1, first = order_for_xl(shop, "TB1")
    _o2, second = order_for_xl(shop, "TB2")
    _dispute(first, agent)
    _dispute(second, agent)
    dispute = SkuDispute.objects.get()
    merchant = actor_for(user_with_role("merchant", merchant=shop.merchant, username="yoyo"))
    answered_at = LATER + timedelta(hours=1)

    sku_dispute_answer(
        dispute_id=dispute.pk, actor=merchant, answer="data_fixed", text="已补上XL码", now=answered_at
    )

    dispute.refresh_from_db()
    assert (dispute.answer, dispute.answer_text, dispute.answered_at, dispute.answered_by_label) == (
        "data_fixed",
        "已补上XL码",
        answered_at,
        "user:yoyo",
    )
    assert open_disputed_codes(merchant_id=shop.merchant_id, codes=["TEE-XL"]) == {}
    for case in (first, second):
        case.refresh_from_db()
        assert (case.status, case.waiting_on, case.step) == ("in_progress", "", "confirm_with_buyer")
        assert case.due_at == answered_at + timedelta(hours=2)
        assert [
            (t, a, d.get("step"), d.get("answer"), d.get("action")) for t, a, d in _events(case)[-3:]
        ] == [
            ("sku_disputed", "user:yoyo", "answered", "data_fixed", None),
            ("status_changed", "user:yoyo", "confirm_with_buyer", None, "resume"),
            ("step_started", "user:yoyo", "confirm_with_buyer", None, None),
        ]


def test_answering_twice_another_merchants_dispute_or_a_bad_answer_changes_nothing(shop, agent):
    _order, case = order_for_xl(shop, "TB1")
    _dispute(case, agent)
    dispute = SkuDispute.objects.get()
    merchant = actor_for(user_with_role("merchant", merchant=shop.merchant))
    other = actor_for(user_with_role("merchant", merchant=ChannelFactory().merchant))
    operator = actor_for(user_with_role("operator"))
    events_before = CaseEvent.objects.count()

    with pytest.raises(NotFound):
        sku_dispute_answer(dispute_id=dispute.pk, actor=other, answer="sku_right", text="", now=LATER)
    with pytest.raises(DisputeRefused) as refused:
        sku_dispute_answer(dispute_id=dispute.pk, actor=operator, answer="sku_right", text="", now=LATER)
    assert refused.value.code == "ROLE"
    with pytest.raises(DisputeRefused) as refused:
        sku_dispute_answer(dispute_id=dispute.pk, actor=merchant, answer="maybe", text="", now=LATER)
    assert refused.value.code == "ANSWER_INVALID"
    with pytest.raises(DisputeRefused) as refused:
        sku_dispute_answer(dispute_id=dispute.pk, actor=merchant, answer="other", text="  ", now=LATER)
    assert refused.value.code == "TEXT_REQUIRED"
    dispute.refresh_from_db()
    assert (dispute.answered_at, dispute.answer) == (None, "")
    assert CaseEvent.objects.count() == events_before

    sku_dispute_answer(dispute_id=dispute.pk, actor=merchant, answer="sku_right", text="", now=LATER)
    after_first = CaseEvent.objects.count()
    with pytest.raises(DisputeRefused) as refused:
        sku_dispute_answer(dispute_id=dispute.pk, actor=merchant, answer="data_fixed", text="", now=LATER)
    assert refused.value.code == "ALREADY_ANSWERED"
    dispute.refresh_from_db()
    assert dispute.answer == "sku_right"
    assert CaseEvent.objects.count() == after_first


def test_a_move_the_product_machine_does_not_have_or_a_disputed_case_disputed_again_is_refused(shop, agent):
    _order, case = order_for_xl(shop, "TB1")
    with pytest.raises(CaseActionNotAllowed) as refused:
        case_transition(case_id=case.pk, action=ActionName.WAIT_MERCHANT, actor=agent, now=LATER)
    assert (refused.value.code, refused.value.data["target"]) == ("TRANSITION_NOT_ALLOWED", "")
    _dispute(case, agent)
    before = (CaseEvent.objects.count(), SkuDispute.objects.count(), OutboxMessage.objects.count())

    with pytest.raises(CaseActionNotAllowed) as refused:
        _dispute(case, agent)

    assert refused.value.code == "TRANSITION_NOT_ALLOWED"
    assert (CaseEvent.objects.count(), SkuDispute.objects.count(), OutboxMessage.objects.count()) == before


def test_a_merchant_user_disputes_nothing_and_a_dispute_needs_what_the_buyer_says(shop, agent):
    _order, case = order_for_xl(shop, "TB1")
    merchant = actor_for(user_with_role("merchant", merchant=shop.merchant))
    with pytest.raises(CaseActionNotAllowed) as refused:
        _dispute(case, merchant)
    assert refused.value.code == "ROLE"
    with pytest.raises(CaseActionNotAllowed) as refused:
        _dispute(case, agent, note="")
    assert refused.value.code == "NOTE_REQUIRED"
    case.refresh_from_db()
    assert (case.status, SkuDispute.objects.count(), CaseEvent.objects.filter(case=case).count()) == (
        "open",
        0,
        1,
    )


def test_an_unanswered_dispute_escalates_and_each_person_reads_the_reminder_in_their_language(shop, agent):
    """S2, B1: past the merchant_answer deadline the scan flags the case overdue; the same alert
    reaches an English reader and a zh-Hans reader each in their language (exact subjects)."""
    _order, case = order_for_xl(shop, "TB1")
    _dispute(case, agent)
    case.refresh_from_db()
    boss = user_with_role("manager", username="boss", email="boss@wh.example")
    UserPreference.objects.create(user=boss, language="en")
    # nobody owns the case: the managers are told (one in English, one in zh-Hans)
    user_with_role("manager", username="chief", email="chief@wh.example")
    OutboxMessage.objects.all().delete()

    result = deadlines_scan(now=case.due_at + timedelta(minutes=1))

    assert dict(result.alerted) == {2: 1}
    sent = sorted(OutboxMessage.objects.values_list("recipient", "language", "subject"))
    assert sent == [
        ("boss@wh.example", "en", f"[Overdue] Case #{case.pk}"),
        ("chief@wh.example", "zh-hans", f"【已超时】异常单 #{case.pk}"),
    ]
    english = OutboxMessage.objects.get(recipient="boss@wh.example")
    assert english.body.startswith(f"Case #{case.pk} (Product details error) is due at 11-26 09:20.")
    assert _events(case)[-1][0:2] == ("sla_overdue", "system:sla")
    assert _events(case)[-1][2]["step"] == "merchant_answer"


def test_the_ladders_request_to_the_merchant_asks_about_the_product_in_each_contacts_language(shop, agent):
    """H3, B2: a product case whose buyer cannot be reached asks the merchant about the product
    (not the address), an English contact in English and a zh-Hans one in zh-Hans."""
    from orderguard.cases.contacts import contact_record, contacts_advance
    from orderguard.notifications.models import MerchantContact, NotificationChannel

    mail = NotificationChannel.objects.create(kind="email", name="mail", merchant=shop.merchant, config={})
    for address, language in (("en@tee.example", "en"), ("zh@tee.example", "zh-hans")):
        MerchantContact.objects.create(
            merchant=shop.merchant, topic="case_merchant", channel=mail, address=address, language=language
        )
    _order, case = order_for_xl(shop, "TB9")
    contact_record(case_id=case.pk, actor=agent, channel="call", outcome="not_exist", note="", now=LATER)

    assert contacts_advance(now=LATER).merchant == 1

    sent = dict(OutboxMessage.objects.filter(topic="case_merchant").values_list("recipient", "body"))
    assert sent == {
        "en@tee.example": "We could not reach the buyer by phone or SMS: please contact the buyer on the "
        f"platform to confirm the product variant they want, and reply.\n/cases/{case.pk}/",
        "zh@tee.example": f"电话和短信都未联系上买家，请通过平台联系买家确认所购商品的规格并回复。\n/cases/{case.pk}/",
    }


def test_a_dispute_whose_only_case_closes_another_way_is_withdrawn_and_the_marking_clears(shop, agent):
    _order, case = order_for_xl(shop, "TB1")
    _dispute(case, agent)
    dispute = SkuDispute.objects.get()
    closed_at = LATER + timedelta(minutes=30)

    case_transition(
        case_id=case.pk,
        action=ActionName.CANCEL,
        actor=agent,
        now=closed_at,
        note="买家取消了订单",
    )

    dispute.refresh_from_db()
    assert (dispute.answer, dispute.answered_at, dispute.answered_by_label, dispute.answer_text) == (
        "withdrawn",
        closed_at,
        "user:ann",
        "",
    )
    assert open_disputed_codes(merchant_id=shop.merchant_id, codes=["TEE-XL"]) == {}
    assert [(t, a, d.get("step"), d.get("dispute")) for t, a, d in _events(case)[-2:]] == [
        ("resolved", "user:ann", None, None),
        ("sku_disputed", "user:ann", "withdrawn", dispute.pk),
    ]
    # the merchant's answer comes too late: refused, nothing written
    merchant = actor_for(user_with_role("merchant", merchant=shop.merchant))
    events_before = CaseEvent.objects.count()
    with pytest.raises(DisputeRefused) as refused:
        sku_dispute_answer(dispute_id=dispute.pk, actor=merchant, answer="sku_right", text="", now=closed_at)
    assert refused.value.code == "WITHDRAWN"
    assert CaseEvent.objects.count() == events_before
    # the buyer insists again on the reopened case: a fresh dispute opens
    manager = actor_for(user_with_role("manager"))
    case_transition(
        case_id=case.pk, action=ActionName.REOPEN, actor=manager, now=closed_at, note="买家又要了"
    )
    _dispute(case, agent)
    assert SkuDispute.objects.filter(answered_at__isnull=True).exclude(pk=dispute.pk).count() == 1


def test_a_dispute_stays_open_while_another_case_still_waits_on_it(shop, agent):
    _o1, first = order_for_xl(shop, "TB1")
    _o2, second = order_for_xl(shop, "TB2")
    _dispute(first, agent)
    _dispute(second, agent)
    dispute = SkuDispute.objects.get()

    case_transition(
        case_id=first.pk,
        action=ActionName.RESOLVE,
        actor=agent,
        now=LATER,
        outcome="failed",
        note="买家不要了",
    )

    dispute.refresh_from_db()
    assert (dispute.answered_at, dispute.answer) == (None, "")
    assert "withdrawn" not in [d.get("step") for _t, _a, d in _events(first)]
    # the merchant's answer still reaches both cases; only the open one resumes
    merchant = actor_for(user_with_role("merchant", merchant=shop.merchant))
    sku_dispute_answer(dispute_id=dispute.pk, actor=merchant, answer="sku_right", text="", now=LATER)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("resolved", "in_progress")


def test_changed_lines_that_close_the_product_case_withdraw_its_dispute(shop, agent):
    from orderguard.intake.services import order_lines_change

    order, case = order_for_xl(shop, "TB1")
    _dispute(case, agent)
    dispute = SkuDispute.objects.get()

    done = order_lines_change(
        order_id=order.pk,
        actor=agent,
        lines=[{"sku_code": "TEE-M", "quantity": 1}],
        reason="买家改要M码",
        now=LATER,
    )

    assert [c.pk for c in done.triage.closed] == [case.pk]
    dispute.refresh_from_db()
    assert (dispute.answer, dispute.answered_at) == ("withdrawn", LATER)
    assert [(t, d.get("step")) for t, _a, d in _events(case)[-2:]] == [
        ("resolved", None),
        ("sku_disputed", "withdrawn"),
    ]


def test_disputing_ends_the_contact_ladder_so_the_merchant_is_not_told_the_buyer_is_unreachable(shop, agent):
    from orderguard.cases.contacts import contact_record, contacts_advance
    from orderguard.cases.models import ContactAttempt

    # given two calls that did not get through: the ladder's next rung asks the merchant at once
    _order, case = order_for_xl(shop, "TB1")
    for minutes in (1, 2):
        contact_record(
            case_id=case.pk,
            actor=agent,
            channel="call",
            outcome="no_answer",
            note="",
            now=IMPORTED_AT + timedelta(minutes=minutes),
        )
    case.refresh_from_db()
    assert case.contact_next == "merchant"

    # when the buyer answers in the platform's chat and insists, and the ladder's job runs after
    _dispute(case, agent)
    advanced = contacts_advance(now=LATER + timedelta(minutes=1))

    # then the dispute is the merchant's request: the ladder ended, nothing more was sent
    case.refresh_from_db()
    assert (advanced.sms, advanced.merchant) == (0, 0)
    assert (case.status, case.waiting_on, case.contact_next, case.contact_auto_at) == (
        "waiting",
        "merchant",
        "",
        None,
    )
    assert list(ContactAttempt.objects.filter(case=case).values_list("type", "outcome", "actor_label")) == [
        ("call", "no_answer", "user:ann"),
        ("call", "no_answer", "user:ann"),
        ("merchant", "asked", "user:ann"),
    ]
    assert not OutboxMessage.objects.filter(idempotency_key__startswith=f"ladder:{case.pk}:").exists()
