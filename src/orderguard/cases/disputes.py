"""Disputed SKUs (T3, H3.2): the buyer insists the order is right though it does not match what
the warehouse stocks, so the merchant is asked to check its product data.

`sku_disputes_open` runs inside the ``dispute_sku`` move of a product case
(`cases.services.case_transition`): every line the case's findings name gets an open
`catalog.SkuDispute` for its code (one per merchant and code: a second case joins the open
one), a ``sku_disputed`` CaseEvent, and a message to the merchant's contacts in their language.
`sku_dispute_answer` records the merchant's answer once: it is logged on every linked case,
each case waiting on the merchant (with no other dispute still open) resumes (waiting →
in progress, the buyer-confirmation step's clock started again), and the order's marking
clears (only open disputes mark orders). `sku_disputes_withdraw` runs wherever a product case
closes (a person's resolve or cancel, the re-check after changed lines): a dispute that no open
case waits on any more is withdrawn, so the merchant is no longer asked and the marking clears.

Lock order: cases (in pk order), then disputes, in every writer that locks both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import translation
from django.utils.translation import gettext as _

from orderguard.cases import events
from orderguard.cases.choices import OPEN_STATUSES, CaseStatus, WaitingOn
from orderguard.cases.machine import machine_for
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.catalog.models import MERCHANT_ANSWERS, DisputeAnswer, Sku, SkuDispute
from orderguard.core import bulk
from orderguard.core.choices import ExceptionType
from orderguard.core.errors import DomainError, NotFound
from orderguard.orders.models import OrderLine
from orderguard.sla.services import FIRST_STEP, PolicyBook, case_clock_start
from orderguard.tenancy.access import Actor, visible
from orderguard.tenancy.models import Role

# Who answers a dispute: the merchant's own users, and customer service, managers and admins
# recording an answer the merchant gave another way (phone, IM).
ANSWER_ROLES = frozenset({Role.MERCHANT, Role.SERVICE_AGENT, Role.MANAGER, Role.ADMIN})
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.")


class DisputeRefused(DomainError):
    """A dispute action the rules refuse; nothing is written. `code` says why:

    - ``ROLE``: the actor's role may not answer disputes (operators, technical on-call);
    - ``ALREADY_ANSWERED``: the dispute has its answer (`answered_at`);
    - ``WITHDRAWN``: every case that asked closed before the answer (`answered_at`);
    - ``ANSWER_INVALID``: `answer` is not data_fixed, sku_right or other (`field` "answer");
    - ``TEXT_REQUIRED``: the answer "other" needs words (`field` "text");
    - ``TEXT_INVALID``: the text is too long or holds control characters (`field` "text");
    - ``NO_DISPUTED_LINE``: the case's findings name no line with a SKU code to dispute.
    """

    ROLE = "ROLE"
    ALREADY_ANSWERED = "ALREADY_ANSWERED"
    WITHDRAWN = "WITHDRAWN"
    ANSWER_INVALID = "ANSWER_INVALID"
    TEXT_REQUIRED = "TEXT_REQUIRED"
    TEXT_INVALID = "TEXT_INVALID"
    NO_DISPUTED_LINE = "NO_DISPUTED_LINE"

    def __init__(self, *, code: str, **data: Any) -> None:
        self.code = code
        super().__init__(code, **data)


def dispute_refusal_message(exc: DisputeRefused) -> str:
    """A refused dispute action in words (the pages and the API say the same)."""
    return {
        DisputeRefused.ROLE: _("你的角色不能答复商品资料核实"),
        DisputeRefused.ALREADY_ANSWERED: _("这条商品资料核实已经答复过了"),
        DisputeRefused.WITHDRAWN: _("相关异常单都已关闭，这条商品资料核实已撤回，无需答复"),
        DisputeRefused.ANSWER_INVALID: _("请选择答复：商品资料已更正、SKU无误或其他"),
        DisputeRefused.TEXT_REQUIRED: _("选择“其他”时请填写说明"),
        DisputeRefused.TEXT_INVALID: _("说明过长或含有不允许的字符"),
        DisputeRefused.NO_DISPUTED_LINE: _("异常单的问题没有指向可核实的商品行"),
    }.get(exc.code, _("操作未执行"))


def _disputed_codes(case: ExceptionCase) -> list[str]:
    """The SKU codes of the order's lines that the case's findings name, in line order."""
    numbers = sorted(
        {int(m.group(1)) for f in case.findings if (m := _LINE_FIELD.match(str(f.get("field", ""))))}
    )
    codes = (
        OrderLine.objects.filter(order_id=case.order_id, line_no__in=numbers)
        .order_by("line_no")
        .values_list("sku_code", flat=True)
    )
    return list(dict.fromkeys(c.strip() for c in codes if c.strip()))


def _merchant_message(dispute: SkuDispute, case: ExceptionCase, *, now: datetime) -> None:
    """Ask the merchant's contacts (topic ``case_merchant``, else its contact email) to check
    the product data, each in its own language."""
    from orderguard.notifications.endpoints import recipients_for
    from orderguard.notifications.models import Topic
    from orderguard.notifications.services import OutboxIn, outbox_enqueue

    messages = []
    for r in recipients_for(
        topic=Topic.CASE_MERCHANT, merchant_id=case.merchant_id, fallback_email=case.merchant.contact_email
    ):
        with translation.override(r.language):
            text = _("买家坚持订单无误，但与仓库的库存不符：请核对 SKU %(sku)s 的商品资料并答复。") % {
                "sku": dispute.sku_code
            }
        messages.append(
            OutboxIn(
                topic=Topic.CASE_MERCHANT,
                recipient=r.address,
                idempotency_key=f"dispute:{dispute.pk}:case{case.pk}{':' + r.suffix if r.suffix else ''}",
                merchant_id=case.merchant_id,
                endpoint_id=r.endpoint_id,
                language=r.language,
                context={
                    "order": case.order.platform_order_id,
                    "text": text,
                    "link": f"/disputes/{dispute.pk}/",
                },
            )
        )
    outbox_enqueue(messages=messages, now=now)


def sku_disputes_open(
    *, case: ExceptionCase, actor: Actor, buyer_says: str, now: datetime
) -> list[CaseEvent]:
    """Mark the SKUs of a product case disputed with the merchant (inside the ``dispute_sku``
    move, the case row locked); returns the ``sku_disputed`` events to write with the move.

    An open dispute of the same merchant and code gains the case (recognised, not doubled);
    otherwise one opens. Raises DisputeRefused ``NO_DISPUTED_LINE`` when the findings name no
    line with a code (nothing written: the caller's transaction rolls back)."""
    codes = _disputed_codes(case)
    if not codes:
        raise DisputeRefused(code=DisputeRefused.NO_DISPUTED_LINE, case_id=case.pk)
    known = dict(Sku.objects.filter(merchant_id=case.merchant_id, code__in=codes).values_list("code", "pk"))
    found: list[CaseEvent] = []
    for code in codes:
        dispute = (
            SkuDispute.objects.select_for_update()
            .filter(merchant_id=case.merchant_id, sku_code=code, answered_at__isnull=True)
            .first()
        )
        joined = dispute is not None
        if dispute is None:
            try:
                with transaction.atomic():
                    dispute = SkuDispute.objects.create(
                        merchant_id=case.merchant_id,
                        sku_id=known.get(code),
                        sku_code=code,
                        buyer_says=buyer_says,
                        opened_by_id=actor.user_id,
                        opened_by_label=actor.label,
                        opened_at=now,
                    )
            except IntegrityError:
                # another case opened it at the same moment: join that one
                dispute = SkuDispute.objects.select_for_update().get(
                    merchant_id=case.merchant_id, sku_code=code, answered_at__isnull=True
                )
                joined = True
        dispute.cases.add(case)
        found.append(
            events.sku_disputed(
                case,
                at=now,
                actor_label=actor.label,
                actor_id=actor.user_id,
                dispute=dispute.pk,
                sku_code=code,
                step="opened",
                joined=joined,
                buyer_says=buyer_says,
            )
        )
        _merchant_message(dispute, case, now=now)
    return found


def _clean_text(text: str, *, required: bool) -> str:
    from orderguard.cases.errors import CaseActionNotAllowed
    from orderguard.cases.services import _clean_note

    try:
        return _clean_note(text, required=required)
    except CaseActionNotAllowed as exc:
        code = DisputeRefused.TEXT_REQUIRED if exc.code == exc.NOTE_REQUIRED else DisputeRefused.TEXT_INVALID
        raise DisputeRefused(code=code, field="text") from None


@transaction.atomic
def sku_dispute_answer(*, dispute_id: int, actor: Actor, answer: str, text: str, now: datetime) -> SkuDispute:
    """Record the merchant's answer to a disputed SKU (H3.2), once.

    Checked in this order, refused with nothing written: a dispute the actor may not see
    (another merchant's, or missing): `NotFound`; a role that may not answer: DisputeRefused
    ``ROLE``; already answered: ``ALREADY_ANSWERED``; withdrawn (its cases closed first):
    ``WITHDRAWN``; an unknown answer: ``ANSWER_INVALID``; "other" without words:
    ``TEXT_REQUIRED``; bad text: ``TEXT_INVALID``.

    Then, in one transaction (its cases locked in pk order, then the dispute): the answer and
    who gave it; a ``sku_disputed`` event (`step` "answered") on every linked case; each open
    case waiting on the merchant with no other open dispute goes back to in progress (a
    ``status_changed`` event, action ``resume``) with the buyer-confirmation step's deadline
    started again, since the warehouse must now act on the answer.
    """
    found = visible(SkuDispute.objects.all(), actor).filter(pk=dispute_id).first()
    if found is None:
        raise NotFound("not found", model="SkuDispute", id=dispute_id)
    if actor.role not in ANSWER_ROLES:
        raise DisputeRefused(code=DisputeRefused.ROLE, role=actor.role)
    # the cases first, then the dispute: a case's closing locks the case, then its disputes
    # (`sku_disputes_withdraw`), and the opposite order here could deadlock with it
    cases = _lock_cases(list(found.cases.values_list("pk", flat=True)))
    dispute = SkuDispute.objects.select_for_update().get(pk=found.pk)
    joined = set(dispute.cases.values_list("pk", flat=True)) - {c.pk for c in cases}
    if joined:
        # a case joined between the two reads (it committed before the dispute's lock)
        cases = sorted([*cases, *_lock_cases(sorted(joined))], key=lambda c: c.pk)
    if dispute.answered_at is not None:
        code = (
            DisputeRefused.WITHDRAWN
            if dispute.answer == DisputeAnswer.WITHDRAWN
            else DisputeRefused.ALREADY_ANSWERED
        )
        raise DisputeRefused(code=code, answered_at=dispute.answered_at.isoformat())
    if answer not in MERCHANT_ANSWERS:
        raise DisputeRefused(code=DisputeRefused.ANSWER_INVALID, field="answer", value=str(answer)[:50])
    words = _clean_text(text, required=answer == DisputeAnswer.OTHER)
    dispute.answer, dispute.answer_text = answer, words
    dispute.answered_at, dispute.answered_by_id, dispute.answered_by_label = now, actor.user_id, actor.label
    dispute.save(update_fields=["answer", "answer_text", "answered_at", "answered_by", "answered_by_label"])
    still_open = set(
        SkuDispute.cases.through.objects.filter(
            exceptioncase_id__in=[c.pk for c in cases], skudispute__answered_at__isnull=True
        ).values_list("exceptioncase_id", flat=True)
    )
    book = PolicyBook()
    log: list[CaseEvent] = []
    resumed: list[ExceptionCase] = []
    for case in cases:
        log.append(
            events.sku_disputed(
                case,
                at=now,
                actor_label=actor.label,
                actor_id=actor.user_id,
                dispute=dispute.pk,
                sku_code=dispute.sku_code,
                step="answered",
                answer=answer,
                note=words,
            )
        )
        waiting = case.status == CaseStatus.WAITING and case.waiting_on == WaitingOn.MERCHANT
        if not waiting or case.pk in still_open:
            continue
        # the machine's own resume move (waiting → in progress), by whoever answered
        assert CaseStatus.IN_PROGRESS in machine_for(case.type).allowed[CaseStatus.WAITING]
        case.status, case.waiting_on = CaseStatus.IN_PROGRESS, ""
        case_clock_start(case, step=FIRST_STEP[ExceptionType.PRODUCT_ERROR], now=now, policies=book)
        resumed.append(case)
        log.append(
            events.status_changed(
                case,
                at=now,
                actor_label=actor.label,
                actor_id=actor.user_id,
                action="resume",
                source=CaseStatus.WAITING,
                note=words,
                step=case.step,
                due_at=case.due_at.isoformat() if case.due_at else None,
            )
        )
        log.append(events.step_started(case, at=now, actor_label=actor.label, actor_id=actor.user_id))
    bulk.update(
        resumed,
        [
            "status",
            "waiting_on",
            "step",
            "due_at",
            "warn_at",
            "sla_level",
            "sla_next_at",
            "sla_paused_at",
            "sla_remaining_seconds",
        ],
    )
    bulk.insert(log)
    return dispute


def _lock_cases(case_ids: Sequence[int]) -> list[ExceptionCase]:
    return list(
        ExceptionCase.objects.select_for_update(of=("self",))
        .filter(pk__in=case_ids)
        .select_related("order")
        .order_by("pk")
    )


def sku_disputes_withdraw(
    *, cases: Sequence[ExceptionCase], now: datetime, actor_label: str, actor_id: int | None = None
) -> list[CaseEvent]:
    """Withdraw the open disputes of `cases` (just closed, their rows locked by the caller, in
    its transaction) that no other open case waits on: the merchant is no longer asked, the
    orders' marking clears, and a later ``dispute_sku`` opens a fresh dispute. Returns the
    ``sku_disputed`` events (`step` "withdrawn", one per closed case and dispute) for the caller
    to write with its closing. A dispute another open case still waits on stays open. No query
    without product cases; three with."""
    closing = {c.pk: c for c in cases if c.type == ExceptionType.PRODUCT_ERROR}
    if not closing:
        return []
    links = SkuDispute.cases.through.objects.filter(
        exceptioncase_id__in=list(closing), skudispute__answered_at__isnull=True
    )
    # locked before asking who else waits on them: a case joining at this moment (it locks the
    # dispute to join) is then seen, or it finds the dispute withdrawn and opens a fresh one
    disputes = list(
        SkuDispute.objects.select_for_update()
        .filter(pk__in=links.values("skudispute_id"), answered_at__isnull=True)
        .order_by("pk")
    )
    if not disputes:
        return []
    waited_on = set(
        SkuDispute.cases.through.objects.filter(
            skudispute_id__in=[d.pk for d in disputes], exceptioncase__status__in=OPEN_STATUSES
        )
        .exclude(exceptioncase_id__in=list(closing))
        .values_list("skudispute_id", flat=True)
    )
    withdrawn = [d for d in disputes if d.pk not in waited_on]
    for d in withdrawn:
        d.answered_at, d.answer, d.answered_by_id, d.answered_by_label = (
            now,
            DisputeAnswer.WITHDRAWN,
            actor_id,
            actor_label,
        )
    bulk.update(withdrawn, ["answered_at", "answer", "answered_by_id", "answered_by_label"])
    pairs = SkuDispute.cases.through.objects.filter(
        skudispute_id__in=[d.pk for d in withdrawn], exceptioncase_id__in=list(closing)
    ).order_by("exceptioncase_id", "skudispute_id")
    codes = {d.pk: d.sku_code for d in withdrawn}
    return [
        events.sku_disputed(
            closing[case_id],
            at=now,
            actor_label=actor_label,
            actor_id=actor_id,
            dispute=dispute_id,
            sku_code=codes[dispute_id],
            step="withdrawn",
        )
        for case_id, dispute_id in (
            pairs.values_list("exceptioncase_id", "skudispute_id") if withdrawn else []
        )
    ]


def disputes_for_actor(*, actor: Actor, open_only: bool = False) -> Any:
    """The disputes the actor may see (a merchant user its own), open first, newest first."""
    qs = visible(SkuDispute.objects.select_related("merchant", "sku"), actor)
    if open_only:
        qs = qs.filter(answered_at__isnull=True)
    return qs.order_by("-opened_at", "-pk")


def dispute_get(*, actor: Actor, dispute_id: int) -> SkuDispute:
    """One dispute; `NotFound` alike for missing and another merchant's."""
    found = disputes_for_actor(actor=actor).filter(pk=dispute_id).first()
    if found is None:
        raise NotFound("not found", model="SkuDispute", id=dispute_id)
    return found


def open_disputed_codes(*, merchant_id: int, codes: Sequence[str]) -> dict[str, int]:
    """Of `codes`, those with an open dispute of the merchant: code → dispute id (the orders'
    badge)."""
    if not codes:
        return {}
    return dict(
        SkuDispute.objects.filter(
            merchant_id=merchant_id, sku_code__in=list(codes), answered_at__isnull=True
        ).values_list("sku_code", "pk")
    )


def orders_disputed_skus(*, orders: Sequence[Any]) -> dict[int, list[str]]:
    """For each order, the codes of its lines under an open dispute with its merchant, in line
    order (the orders' badge; one query whatever the number of orders)."""
    found: dict[int, list[str]] = {o.pk: [] for o in orders}
    if not found:
        return found
    open_dispute = SkuDispute.objects.filter(
        merchant_id=OuterRef("order__merchant_id"), sku_code=OuterRef("sku_code"), answered_at__isnull=True
    )
    rows = (
        OrderLine.objects.filter(order_id__in=list(found))
        .filter(Exists(open_dispute))
        .order_by("order_id", "line_no")
        .values_list("order_id", "sku_code")
    )
    for order_id, code in rows:
        if code not in found[order_id]:
            found[order_id].append(code)
    return found
