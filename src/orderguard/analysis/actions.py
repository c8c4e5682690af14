"""Improvement actions (S4): a finding of the analysis becomes an action with an owner, a due
date and an expected effect; its effect is measured in the periods after it started.

Who: managers and admins create actions and change their status; every staff role reads them;
a merchant user reads its own merchant's (not the province-wide ones). Refusals carry a code
(`ActionRefused`) and the field at fault; nothing is written.

The effect: the subject's cases (a SKU's stock-outs T1, a channel's faults T4, a province's or
a merchant's address errors T2), counted from the daily rollups, in the `days` days from
`started_on` against the `days` days before it; `days` is the days since the start (up to
`EFFECT_DAYS`), so both windows have the same length.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from orderguard.analysis.choices import ActionStatus, Dim, FindingKind
from orderguard.analysis.models import DailyStat, ImprovementAction
from orderguard.core.choices import ExceptionType
from orderguard.core.errors import DomainError
from orderguard.orders.models import Channel
from orderguard.tenancy.access import Actor, staff_users
from orderguard.tenancy.models import Merchant, Role

EDITOR_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
EFFECT_DAYS = 30
MAX_EFFECT = 300


class ActionRefused(DomainError):
    code = "ACTION_REFUSED"

    ROLE = "ROLE"
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"

    def __init__(self, *, reason: str, field: str = "") -> None:
        super().__init__(reason, reason=reason, field=field)
        self.reason = reason
        self.field = field


def actions_visible(actor: Actor) -> QuerySet[ImprovementAction]:
    """The actions the actor may see, open ones (planned, in progress) first, then by due date."""
    still_open = Case(
        When(status__in=[ActionStatus.PLANNED, ActionStatus.IN_PROGRESS], then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    qs = ImprovementAction.objects.order_by(still_open, "due_on", "pk")
    if actor.merchant_id is not None:
        return qs.filter(merchant_id=actor.merchant_id)
    return qs


def _merchant_of(kind: str, subject: str, merchant_code: str) -> Merchant | None:
    if kind == FindingKind.AREA_ADDRESS_ERRORS:
        return None
    if kind == FindingKind.CHANNEL_FAULTS:
        channel = Channel.objects.select_related("merchant").filter(code=subject).first()
        if channel is None:
            raise ActionRefused(reason=ActionRefused.INVALID, field="subject")
        return channel.merchant
    code = subject if kind == FindingKind.MERCHANT_ADDRESS_ERRORS else merchant_code
    merchant = Merchant.objects.filter(code=code).first()
    if merchant is None:
        raise ActionRefused(reason=ActionRefused.INVALID, field="merchant")
    return merchant


@transaction.atomic
def action_create(
    *,
    actor: Actor,
    kind: str,
    subject: str,
    merchant_code: str,
    owner_id: int | None,
    due_on: date | None,
    expected_effect: str,
    target_value: int | None,
    now: datetime,
) -> ImprovementAction:
    """Create an action on a finding's subject, starting today. Refused (nothing written):
    not a manager or admin (``ROLE``); an unknown kind, a blank or too long subject or
    effect, an owner who is not active staff, no due date or one in the past, a merchant or
    channel that does not exist (``INVALID``, naming the field)."""
    if actor.role not in EDITOR_ROLES:
        raise ActionRefused(reason=ActionRefused.ROLE)
    if kind not in FindingKind.values:
        raise ActionRefused(reason=ActionRefused.INVALID, field="kind")
    subject = subject.strip()
    if not subject or len(subject) > 100 or "\x00" in subject:
        raise ActionRefused(reason=ActionRefused.INVALID, field="subject")
    effect = expected_effect.strip()
    if not effect or len(effect) > MAX_EFFECT or "\x00" in effect:
        raise ActionRefused(reason=ActionRefused.INVALID, field="expected_effect")
    owner = staff_users().filter(pk=owner_id).first() if owner_id else None
    if owner is None:
        raise ActionRefused(reason=ActionRefused.INVALID, field="owner")
    today = timezone.localdate(now)
    if due_on is None or due_on < today:
        raise ActionRefused(reason=ActionRefused.INVALID, field="due_on")
    merchant = _merchant_of(kind, subject, merchant_code.strip())
    return ImprovementAction.objects.create(
        merchant=merchant,
        kind=kind,
        subject=subject,
        expected_effect=effect,
        target_value=target_value,
        owner=owner,
        owner_label=owner.get_username(),
        due_on=due_on,
        started_on=today,
        status=ActionStatus.PLANNED,
        created_by_label=actor.label,
        created_at=now,
        updated_at=now,
    )


MAX_NOTE = 1000


@transaction.atomic
def action_update(
    *,
    actor: Actor,
    action_id: int,
    now: datetime,
    status: str | None = None,
    owner_id: int | None = None,
    due_on: date | None = None,
    note: str | None = None,
) -> ImprovementAction:
    """Change an action's status, owner, due date or note (what is not given stays). Refused,
    nothing written: not a manager or admin (``ROLE``), an unknown id (``NOT_FOUND``), an
    unknown status, an owner who is not active staff, a new due date in the past or a note
    longer than `MAX_NOTE` (``INVALID``, naming the field)."""
    if actor.role not in EDITOR_ROLES:
        raise ActionRefused(reason=ActionRefused.ROLE)
    action = ImprovementAction.objects.select_for_update().filter(pk=action_id).first()
    if action is None:
        raise ActionRefused(reason=ActionRefused.NOT_FOUND)
    fields = []
    if status is not None:
        if status not in ActionStatus.values:
            raise ActionRefused(reason=ActionRefused.INVALID, field="status")
        action.status = status
        fields.append("status")
    if owner_id is not None:
        owner = staff_users().filter(pk=owner_id).first()
        if owner is None:
            raise ActionRefused(reason=ActionRefused.INVALID, field="owner")
        action.owner, action.owner_label = owner, owner.get_username()
        fields += ["owner", "owner_label"]
    if due_on is not None and due_on != action.due_on:
        if due_on < timezone.localdate(now):
            raise ActionRefused(reason=ActionRefused.INVALID, field="due_on")
        action.due_on = due_on
        fields.append("due_on")
    if note is not None:
        if len(note) > MAX_NOTE or "\x00" in note:
            raise ActionRefused(reason=ActionRefused.INVALID, field="note")
        action.note = note.strip()
        fields.append("note")
    if fields:
        action.updated_at = now
        action.save(update_fields=[*fields, "updated_at"])
    return action


def action_set_status(*, actor: Actor, action_id: int, status: str, now: datetime) -> ImprovementAction:
    """Move an action to `status` (``ROLE`` for other roles, ``NOT_FOUND`` for an unknown id,
    ``INVALID`` naming `status` for an unknown status)."""
    return action_update(actor=actor, action_id=action_id, status=status, now=now)


def action_visible(*, actor: Actor, action_id: int) -> ImprovementAction:
    """One action the actor may see; another merchant's is ``NOT_FOUND`` like a missing one."""
    action = actions_visible(actor).select_related("merchant").filter(pk=action_id).first()
    if action is None:
        raise ActionRefused(reason=ActionRefused.NOT_FOUND)
    return action


def _subject_rows(action: ImprovementAction) -> QuerySet[DailyStat]:
    mine: dict[str, Any] = (
        {"merchant_id": action.merchant_id} if action.merchant_id else {"merchant__isnull": True}
    )
    if action.kind == FindingKind.SKU_STOCKOUTS:
        return DailyStat.objects.filter(
            **mine,
            case_type=ExceptionType.OUT_OF_STOCK,
            dim=Dim.SKU,
            key=action.subject,
        )
    if action.kind == FindingKind.CHANNEL_FAULTS:
        channel = Channel.objects.filter(code=action.subject).values_list("pk", flat=True).first()
        return DailyStat.objects.filter(
            **mine,
            case_type=ExceptionType.SYSTEM_FAULT,
            dim=Dim.CHANNEL,
            key=str(channel),
        )
    if action.kind == FindingKind.AREA_ADDRESS_ERRORS:
        return DailyStat.objects.filter(
            merchant__isnull=True,
            case_type=ExceptionType.RECIPIENT_ERROR,
            dim=Dim.PROVINCE,
            key=action.subject,
        )
    return DailyStat.objects.filter(**mine, case_type=ExceptionType.RECIPIENT_ERROR, dim=Dim.TOTAL)


def action_effect(action: ImprovementAction, *, today: date) -> dict[str, Any]:
    """The subject's cases in the days since the action started against as many days before
    (see the module); `days` 0 on the day it starts (nothing to compare yet)."""
    days = min(EFFECT_DAYS, (today - action.started_on).days)
    if days <= 0:
        return {"days": 0, "before": None, "after": None, "change": None}
    start = action.started_on
    sums = _subject_rows(action).aggregate(
        before=Sum("opened", filter=Q(day__gte=start - timedelta(days=days), day__lt=start)),
        after=Sum("opened", filter=Q(day__gte=start, day__lt=start + timedelta(days=days))),
    )
    before, after = sums["before"] or 0, sums["after"] or 0
    change = None if before == 0 else round(100 * (after - before) / before, 1)
    return {"days": days, "before": before, "after": after, "change": change}


def actions_with_effect(*, actor: Actor, today: date, limit: int = 50) -> list[dict[str, Any]]:
    """The actions the actor may see, open ones first, each with its effect so far (one query
    per action: fine for the few dozen a warehouse tracks)."""
    out = []
    for a in actions_visible(actor).select_related("merchant")[:limit]:
        out.append(
            {
                "id": a.pk,
                "kind": a.kind,
                "kind_label": str(FindingKind(a.kind).label),
                "subject": a.subject,
                "merchant": a.merchant.code if a.merchant else None,
                "expected_effect": a.expected_effect,
                "target_value": a.target_value,
                "owner": a.owner_label,
                "due_on": a.due_on.isoformat(),
                "started_on": a.started_on.isoformat(),
                "status": a.status,
                "status_label": str(ActionStatus(a.status).label),
                "overdue": a.status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS) and a.due_on < today,
                "effect": action_effect(a, today=today),
            }
        )
    return out


def action_owners() -> list[User]:
    return list(staff_users().order_by("username"))
