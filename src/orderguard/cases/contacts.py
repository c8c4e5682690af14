"""Contact attempts and the contact ladder's automatic rungs (H2, H3, B2; rules in
`cases.ladder`).

`contact_record` stores what a person did (a call and how it went, an SMS answered, the merchant
answering) and the next rung; `contacts_advance` is the periodic job that sends the SMS and asks
the merchant when their time comes, through the outbox, in the same transaction as the attempt
it logs. Both keep the plan on the case (`contact_next`, `contact_next_at`, `contact_auto_at`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from orderguard.cases import events
from orderguard.cases.choices import OPEN_STATUSES, CaseStatus, WaitingOn
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.cases.ladder import (
    AUTOMATIC,
    DEFAULT_POLICY,
    LADDER_TYPES,
    OUTCOMES_FOR,
    Attempt,
    ContactChannel,
    ContactOutcome,
    LadderPolicy,
    Step,
    next_step,
)
from orderguard.cases.models import OPEN_STATUS_VALUES, CaseEvent, ContactAttempt, ExceptionCase
from orderguard.core import bulk
from orderguard.sla.services import PolicyBook, case_clock_pause
from orderguard.tenancy.access import Actor, visible

LADDER_ACTOR = "system:ladder"
SMS_KINDS = ("sms_aliyun", "sms_json")


def sms_possible(phone: str) -> bool:
    """Whether the order's phone can take an SMS: a plain mainland mobile (a masked number
    cannot, and a platform's virtual number relays calls, not texts)."""
    from orderguard.core import clock
    from orderguard.validation.phone import PhoneKind, check_phone

    result = check_phone(phone, now=clock.now())
    return result.kind == PhoneKind.MOBILE and not result.extension


def _warehouse_of_channel(channel_id: int) -> int | None:
    from orderguard.orders.models import Channel

    return Channel.objects.filter(pk=channel_id).values_list("warehouse_id", flat=True).first()


class SmsEndpoints:
    """The SMS gateways that send buyer texts (enabled, subscribed to the ``buyer_sms`` topic,
    the warehouse's own before the global ones), read once. `warehouse_of_channel` is
    `PolicyBook.warehouse_of_channel` when the caller has one (one query for every channel);
    else one query per channel asked about."""

    def __init__(self, warehouse_of_channel: Callable[[int], int | None] | None = None) -> None:
        from orderguard.notifications.models import NotificationChannel, Topic

        rows = NotificationChannel.objects.filter(kind__in=SMS_KINDS, enabled=True, merchant__isnull=True)
        self._rows = [
            (e.pk, e.warehouse_id) for e in rows.order_by("pk") if Topic.BUYER_SMS in (e.topics or [])
        ]
        self._channels: dict[int, int | None] = {}
        self._warehouse_of_channel = warehouse_of_channel or _warehouse_of_channel

    def for_channel(self, channel_id: int) -> int | None:
        if not self._rows:
            return None
        if channel_id not in self._channels:
            warehouse = self._warehouse_of_channel(channel_id)
            own = [pk for pk, wh in self._rows if wh == warehouse]
            shared = [pk for pk, wh in self._rows if wh is None]
            found = own or shared
            self._channels[channel_id] = found[0] if found else None
        return self._channels[channel_id]


def _attempts(case_ids: Sequence[int]) -> dict[int, list[Attempt]]:
    """The contact attempts of the cases, oldest first (one query)."""
    found: dict[int, list[Attempt]] = {pk: [] for pk in case_ids}
    rows = (
        ContactAttempt.objects.filter(case_id__in=case_ids)
        .order_by("occurred_at", "pk")
        .values_list("case_id", "type", "outcome", "occurred_at")
    )
    for case_id, kind, outcome, at in rows:
        found[case_id].append(Attempt(ContactChannel(kind), ContactOutcome(outcome), at))
    return found


def case_contact_plan(
    case: ExceptionCase,
    *,
    attempts: Sequence[Attempt] | None = None,
    gateways: SmsEndpoints | None = None,
    policy: LadderPolicy = DEFAULT_POLICY,
) -> Step | None:
    """The ladder's next rung for a case (None: not a ladder type, closed, or the ladder ended);
    sets the plan fields on the instance. `attempts` (oldest first) are read when not given."""
    step = None
    if case.type in LADDER_TYPES and case.status in OPEN_STATUSES:
        if attempts is None:
            attempts = _attempts([case.pk])[case.pk]
        step = next_step(
            attempts,
            opened_at=case.opened_at,
            # a plain mobile, and a gateway that sends buyer texts
            sms_possible=sms_possible(case.order.recipient_phone)
            and (gateways or SmsEndpoints()).for_channel(case.order.channel_id) is not None,
            policy=policy,
        )
    case.contact_next = step.channel if step else ""
    case.contact_next_at = step.at if step else None
    case.contact_auto_at = step.at if step and step.channel in AUTOMATIC else None
    return step


PLAN_FIELDS = ["contact_next", "contact_next_at", "contact_auto_at"]


def _attempt(
    case: ExceptionCase,
    *,
    channel: ContactChannel,
    outcome: ContactOutcome,
    note: str,
    at: datetime,
    actor_label: str,
    actor_id: int | None = None,
) -> tuple[ContactAttempt, CaseEvent]:
    row = bulk.new(
        ContactAttempt,
        case=case,
        merchant_id=case.merchant_id,
        type=channel,
        outcome=outcome,
        note=note,
        occurred_at=at,
        actor_id=actor_id,
        actor_label=actor_label,
        data={},
    )
    return row, events.contacted(
        case, at=at, actor_label=actor_label, actor_id=actor_id, channel=channel, outcome=outcome, note=note
    )


@transaction.atomic
def contact_record(
    *, case_id: int, actor: Actor, channel: str, outcome: str, note: str, now: datetime
) -> ContactAttempt:
    """Log a contact attempt a person made and plan the next rung.

    Refused with nothing written (CaseActionNotAllowed): a case the actor may not see:
    `NotFound`; not warehouse staff: ``ROLE``; a closed case: ``CASE_CLOSED``; a channel or an
    outcome that does not exist or does not go with the channel: ``CONTACT_INVALID`` (`field`);
    a bad note: ``NOTE_INVALID``.
    """
    from orderguard.cases.services import _clean_note, _lock_visible, require_staff

    case = _lock_visible(case_id=case_id, actor=actor)
    require_staff(actor)
    if case.status not in OPEN_STATUSES:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.CASE_CLOSED, case_ids=[case.pk])
    if channel not in ContactChannel.values:
        raise CaseActionNotAllowed(code=CaseActionNotAllowed.CONTACT_INVALID, field="channel", value=channel)
    kind = ContactChannel(channel)
    if outcome not in OUTCOMES_FOR[kind]:
        raise CaseActionNotAllowed(
            code=CaseActionNotAllowed.CONTACT_INVALID,
            field="outcome",
            value=outcome,
            allowed=[str(o) for o in OUTCOMES_FOR[kind]],
        )
    text = _clean_note(note, required=False)
    row, event = _attempt(
        case,
        channel=kind,
        outcome=ContactOutcome(outcome),
        note=text,
        at=now,
        actor_label=actor.label,
        actor_id=actor.user_id,
    )
    bulk.insert([row])
    bulk.insert([event])
    case_contact_plan(case)
    case.save(update_fields=[*PLAN_FIELDS, "updated_at"])
    return row


@dataclass
class AdvanceResult:
    sms: int = 0
    merchant: int = 0
    replanned: int = 0
    skipped: list[int] = field(default_factory=list)


def _sms_text(case: ExceptionCase) -> str:
    """What the SMS asks (the ``buyer_sms`` template puts the order number before it)."""
    if case.type == "T3":
        text = _("所购商品的规格需要与您确认，请尽快回电或在购物平台联系客服。【%(shop)s】")
    else:
        text = _("收货信息有误或不完整，请尽快回电或在购物平台修改收货地址，以免延误发货。【%(shop)s】")
    return text % {"shop": case.merchant.name}


def _wait_on(case: ExceptionCase, party: WaitingOn, *, now: datetime, book: PolicyBook) -> CaseEvent | None:
    """The ladder's own move to waiting (allowed from every open status by the machine)."""
    if case.status == CaseStatus.WAITING and case.waiting_on == party:
        return None
    source = case.status
    case.status, case.waiting_on = CaseStatus.WAITING, party
    clock: dict[str, object] = {}
    if case_clock_pause(case, now=now, policies=book):
        clock = {"clock": "paused", "remaining_seconds": case.sla_remaining_seconds}
    action = "wait_buyer" if party == WaitingOn.BUYER else "wait_merchant"
    return events.status_changed(
        case, at=now, actor_label=LADDER_ACTOR, actor_id=None, action=action, source=source, note="", **clock
    )


def contacts_advance(*, now: datetime, limit: int = 200, policies: PolicyBook | None = None) -> AdvanceResult:
    """Take the automatic rungs that are due (B2): the SMS to the buyer, then the request to
    the merchant; each is logged as a contact attempt and an event, and the case waits on
    that party. Idempotent, safe on two workers (rows claimed under lock, `SKIP LOCKED` on
    PostgreSQL), the outbox keys name the case and the rung."""
    from orderguard.notifications.endpoints import recipients_for
    from orderguard.notifications.models import Topic
    from orderguard.notifications.services import OutboxIn, outbox_enqueue

    book = policies or PolicyBook()
    gateways = SmsEndpoints(book.warehouse_of_channel)
    result = AdvanceResult()
    while True:
        with transaction.atomic():
            due = ExceptionCase.objects.filter(
                status__in_literals=OPEN_STATUS_VALUES,
                contact_auto_at__isnull=False,
                contact_auto_at__lte=now,
            ).order_by("contact_auto_at", "pk")
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            ids = list(due.values_list("pk", flat=True)[:limit])
            if not ids:
                return result
            cases = list(
                ExceptionCase.objects.filter(pk__in=ids).select_related("order", "merchant").order_by("pk")
            )
            history = _attempts(ids)
            attempts, log, messages = [], [], []
            for case in cases:
                step = case_contact_plan(case, attempts=history[case.pk], gateways=gateways)
                if step is None or step.channel not in AUTOMATIC or step.at > now:
                    result.replanned += 1
                    continue
                if step.channel == ContactChannel.SMS:
                    messages.append(
                        OutboxIn(
                            topic=Topic.BUYER_SMS,
                            recipient=case.order.recipient_phone,
                            idempotency_key=f"ladder:{case.pk}:sms",
                            merchant_id=case.merchant_id,
                            endpoint_id=gateways.for_channel(case.order.channel_id),
                            context={"order": case.order.platform_order_id, "text": _sms_text(case)},
                        )
                    )
                    row, event = _attempt(
                        case,
                        channel=ContactChannel.SMS,
                        outcome=ContactOutcome.SENT,
                        note="",
                        at=now,
                        actor_label=LADDER_ACTOR,
                    )
                    party = WaitingOn.BUYER
                    result.sms += 1
                else:
                    # the merchant's contacts for the topic, else its contact email (H2.3)
                    told = recipients_for(
                        topic=Topic.CASE_MERCHANT,
                        merchant_id=case.merchant_id,
                        fallback_email=case.merchant.contact_email,
                    )
                    for r in told:
                        # the words in the contact's own language, like the template around them
                        with translation.override(r.language):
                            ask = (
                                _("电话和短信都未联系上买家，请通过平台联系买家确认所购商品的规格并回复。")
                                if case.type == "T3"
                                else _("电话和短信都未联系上买家，请通过平台联系买家并回复正确的收货信息。")
                            )
                        messages.append(
                            OutboxIn(
                                topic=Topic.CASE_MERCHANT,
                                recipient=r.address,
                                idempotency_key=f"ladder:{case.pk}:merchant{':' + r.suffix if r.suffix else ''}",
                                merchant_id=case.merchant_id,
                                endpoint_id=r.endpoint_id,
                                language=r.language,
                                context={
                                    "order": case.order.platform_order_id,
                                    "text": ask,
                                    "link": f"/cases/{case.pk}/",
                                },
                            )
                        )
                    row, event = _attempt(
                        case,
                        channel=ContactChannel.MERCHANT,
                        outcome=ContactOutcome.ASKED,
                        note="" if told else _("商家未设置联系人，已列入商家待办"),
                        at=now,
                        actor_label=LADDER_ACTOR,
                    )
                    party = WaitingOn.MERCHANT
                    result.merchant += 1
                attempts.append(row)
                history[case.pk].append(Attempt(ContactChannel(row.type), ContactOutcome(row.outcome), now))
                log.append(event)
                moved = _wait_on(case, party, now=now, book=book)
                if moved is not None:
                    log.append(moved)
            bulk.insert(attempts)
            outbox_enqueue(messages=messages, now=now)
            # the plan after the rung just taken
            for case in cases:
                case_contact_plan(case, attempts=history[case.pk], gateways=gateways)
            bulk.update(
                cases,
                [
                    *PLAN_FIELDS,
                    "status",
                    "waiting_on",
                    "due_at",
                    "warn_at",
                    "sla_next_at",
                    "sla_paused_at",
                    "sla_remaining_seconds",
                ],
            )
            bulk.insert(log)
        if len(ids) < limit:
            return result


def contacts_for_case(*, actor: Actor, case: ExceptionCase) -> Sequence[ContactAttempt]:
    """The case's contact attempts, oldest first (the case is already visible to `actor`)."""
    return list(visible(ContactAttempt.objects.filter(case=case), actor).order_by("occurred_at", "pk"))
