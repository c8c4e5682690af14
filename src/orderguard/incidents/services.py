"""Incident writes (T4, H4.1, H4.3, B3): faults folded into one incident each, the on-call
alarm, the orders a channel fault touches (with their T4 cases), acknowledge, assign, updates
to merchants and the warehouse team, platform-support contacts, resolve, and the triage
deadline's escalation.

Every write runs in one transaction under a row lock on the incident; notices go through the
outbox in the same transaction, with keys that make a repeat (a second worker, a retried job)
send nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from orderguard.cases import events as case_events
from orderguard.cases.choices import OPEN_STATUSES, CaseEventType, CaseOutcome, CaseStatus
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import cases_close
from orderguard.core import bulk
from orderguard.core.choices import DetectionSource, ExceptionType
from orderguard.core.errors import DomainError, NotFound
from orderguard.incidents.models import (
    ACTIVE_STATUSES,
    Incident,
    IncidentEvent,
    IncidentEventType,
    IncidentKind,
    IncidentSeverity,
    IncidentStatus,
    PlatformContact,
)
from orderguard.notifications.endpoints import recipients_for
from orderguard.notifications.models import NotificationChannel, Topic
from orderguard.notifications.services import OutboxIn, outbox_enqueue
from orderguard.orders.models import Channel, Order
from orderguard.sla.services import PolicyBook
from orderguard.tenancy.access import Actor, staff_users
from orderguard.tenancy.models import Merchant, Role

# The on-call alarm's topic (a warehouse or global endpoint subscribes to it by name, like any
# topic; the on-call staff get it by email and in the inbox).
TOPIC_ONCALL = Topic.ONCALL_ALARM.value
TRIAGE_STEP = "triage"
# Who works incidents: the technical on-call team, managers and admins. Other staff read them.
INCIDENT_ROLES = frozenset({Role.TECH_ONCALL, Role.MANAGER, Role.ADMIN})
# Severity by kind: OrderGuard itself down stops everything; a silent channel stops its orders.
SEVERITY = {
    IncidentKind.DATABASE: IncidentSeverity.CRITICAL,
    IncidentKind.QUEUE: IncidentSeverity.CRITICAL,
    IncidentKind.WORKER: IncidentSeverity.CRITICAL,
    IncidentKind.DISK: IncidentSeverity.CRITICAL,
    IncidentKind.CHANNEL_SILENT: IncidentSeverity.CRITICAL,
    IncidentKind.IMPORT_ERRORS: IncidentSeverity.MAJOR,
    IncidentKind.WEBHOOK_ERRORS: IncidentSeverity.MAJOR,
    IncidentKind.CHANNEL_SLOW: IncidentSeverity.MAJOR,
    IncidentKind.OUTBOX_BACKLOG: IncidentSeverity.MAJOR,
    IncidentKind.MANUAL: IncidentSeverity.MAJOR,
}
NOTE_MAX = 2000
# escalation levels of an incident nobody acknowledged: 1 overdue (on-call again and the
# managers), 2 still nobody (managers again); then nothing more
LAST_LEVEL = 2


class IncidentRefused(DomainError):
    """A refused incident action. `code`: ``ROLE`` (the actor may not), ``STATUS`` (not from
    this status; `status`), ``NOTE_REQUIRED`` / ``FIELD_REQUIRED`` / ``FIELD_INVALID``
    (`field`), ``ASSIGNEE_NOT_ELIGIBLE``."""

    def __init__(self, code: str, message: str, *, field: str = "", **data: Any) -> None:
        self.code = code
        self.field = field
        super().__init__(message, field=field, **data)


@dataclass(frozen=True)
class Signal:
    """A fault seen now. `fingerprint` names the fault (kind and channel or component)."""

    kind: str
    title: str
    detail: str
    channel_id: int | None = None
    started_at: datetime | None = None

    @property
    def fingerprint(self) -> str:
        return f"{self.kind}:{self.channel_id}" if self.channel_id else str(self.kind)


def _event(
    incident: Incident, type: str, at: datetime, actor_label: str, actor_id: int | None = None, **data: Any
) -> IncidentEvent:
    return bulk.new(
        IncidentEvent,
        incident=incident,
        type=type,
        occurred_at=at,
        actor_label=actor_label,
        actor_id=actor_id,
        data=data,
    )


def _oncall_users() -> list[User]:
    return list(
        User.objects.filter(is_active=True, membership__role=Role.TECH_ONCALL)
        .order_by("pk")
        .only("pk", "email", "username")
    )


def _managers() -> list[User]:
    return list(
        User.objects.filter(is_active=True, membership__role=Role.MANAGER)
        .order_by("pk")
        .only("pk", "email", "username")
    )


def _inbox_endpoint() -> int | None:
    return (
        NotificationChannel.objects.filter(kind="inbox", enabled=True, merchant__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def _alarm_context(incident: Incident, state: str) -> dict[str, str]:
    zone = _zone()
    return {
        "title": incident.title,
        "detail": incident.detail,
        "state": state,
        "severity": str(incident.get_severity_display()),
        "opened": incident.opened_at.astimezone(zone).strftime("%m-%d %H:%M"),
        "due": incident.due_at.astimezone(zone).strftime("%m-%d %H:%M"),
        "link": f"/incidents/{incident.pk}/",
    }


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _staff_messages(
    incident: Incident, users: Iterable[User], *, key: str, state: str, inbox: int | None
) -> list[OutboxIn]:
    """The alarm to each of `users` (email and the bell) and to the endpoints subscribed to the
    on-call topic (the channel's warehouse's, and global ones)."""
    context = _alarm_context(incident, state)
    out: list[OutboxIn] = []
    for user in users:
        if user.email:
            out.append(
                OutboxIn(
                    topic=TOPIC_ONCALL,
                    recipient=user.email,
                    idempotency_key=f"{key}:u{user.pk}",
                    context=context,
                )
            )
        if inbox is not None:
            out.append(
                OutboxIn(
                    topic=TOPIC_ONCALL,
                    recipient=str(user.pk),
                    idempotency_key=f"{key}:u{user.pk}:inbox",
                    endpoint_id=inbox,
                    context=context,
                )
            )
    warehouse_id = incident.channel.warehouse_id if incident.channel is not None else None
    for r in recipients_for(topic=TOPIC_ONCALL, warehouse_id=warehouse_id):
        out.append(
            OutboxIn(
                topic=TOPIC_ONCALL,
                recipient=r.address,
                endpoint_id=r.endpoint_id,
                idempotency_key=f"{key}:{r.suffix or 'default'}",
                language=r.language,
                context=context,
            )
        )
    return out


# --- signals -----------------------------------------------------------------------------


def _active_locked(fingerprint: str) -> Incident | None:
    return (
        Incident.objects.select_for_update()
        .filter(fingerprint=fingerprint, status__in=ACTIVE_STATUSES)
        .first()
    )


def _fold(incident: Incident | None, signal: Signal, now: datetime) -> Incident:
    """A repeated signal of an active incident: counted, the last signal time and detail
    updated; a fault seen again after it cleared goes on the timeline."""
    assert incident is not None
    was_cleared = incident.cleared_at is not None
    incident.last_signal_at, incident.signal_count, incident.cleared_at = now, incident.signal_count + 1, None
    incident.detail = signal.detail
    incident.save(update_fields=["last_signal_at", "signal_count", "cleared_at", "detail"])
    if was_cleared:
        bulk.insert(
            [_event(incident, IncidentEventType.SIGNAL, now, "system:monitoring", detail=signal.detail)]
        )
    return incident


def incident_signal(
    *, signal: Signal, now: datetime, policies: PolicyBook | None = None
) -> tuple[Incident, bool]:
    """Open an incident for `signal`, or fold it into the active one of the same fingerprint.
    A new incident alarms the on-call team at once (outbox). Returns (incident, opened)."""
    with transaction.atomic():
        found = _active_locked(signal.fingerprint)
        if found is not None:
            return _fold(found, signal, now), False
        book = policies or PolicyBook()
        channel = Channel.objects.filter(pk=signal.channel_id).first() if signal.channel_id else None
        deadline = book.deadline(
            case_type=ExceptionType.SYSTEM_FAULT,
            step=TRIAGE_STEP,
            start=now,
            warehouse_id=channel.warehouse_id if channel else None,
        )
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    fingerprint=signal.fingerprint,
                    kind=signal.kind,
                    severity=SEVERITY.get(IncidentKind(signal.kind), IncidentSeverity.MAJOR),
                    title=signal.title[:300],
                    detail=signal.detail,
                    channel=channel,
                    started_at=signal.started_at or now,
                    opened_at=now,
                    last_signal_at=now,
                    due_at=deadline.due_at,
                    escalation_next_at=deadline.due_at,
                )
        except IntegrityError:  # another worker opened it at the same moment: this signal folds in
            return _fold(_active_locked(signal.fingerprint), signal, now), False
        if channel is not None:
            incident.merchants.add(channel.merchant_id)
        bulk.insert(
            [
                _event(
                    incident,
                    IncidentEventType.OPENED,
                    now,
                    "system:monitoring",
                    kind=signal.kind,
                    detail=signal.detail,
                    due_at=incident.due_at.isoformat(),
                )
            ]
        )
        outbox_enqueue(
            messages=_staff_messages(
                incident,
                _oncall_users(),
                key=f"incident:{incident.pk}:opened",
                state=str(_("新故障")),
                inbox=_inbox_endpoint(),
            ),
            now=now,
        )
        return incident, True


def incidents_clear(*, seen: set[str], now: datetime) -> int:
    """Mark active monitoring incidents whose fault was not seen now as cleared (once each, on
    the timeline). A person still resolves them; a fault seen again folds back in."""
    stale = list(
        Incident.objects.filter(status__in=ACTIVE_STATUSES, cleared_at__isnull=True)
        .exclude(kind=IncidentKind.MANUAL)
        .exclude(fingerprint__in=seen)
        .order_by("pk")
    )
    for incident in stale:
        incident.cleared_at = now
    bulk.update(stale, ["cleared_at"])
    bulk.insert([_event(i, IncidentEventType.CLEARED, now, "system:monitoring") for i in stale])
    return len(stale)


# --- orders ------------------------------------------------------------------------------


def incident_link_orders(*, incident: Incident, now: datetime, policies: PolicyBook | None = None) -> int:
    """Link the channel's orders paid since the fault began (the orders it touches) and give
    each a T4 case from monitoring (D3), or mark its open T4 case with the incident. Batch:
    a fixed number of queries whatever the number of orders. Returns how many were new."""
    if incident.channel_id is None:
        return 0
    # the fault window: from its start until the fault cleared (orders paid while it lasted
    # arrive late, after the channel came back) or the incident was resolved
    end = incident.resolved_at or incident.cleared_at or now
    linked = set(incident.orders.values_list("pk", flat=True))
    fresh = list(
        Order.objects.filter(
            channel_id=incident.channel_id,
            is_manual=False,
            paid_at__gt=incident.started_at,
            paid_at__lte=end,
        )
        .exclude(pk__in=linked)
        .only("pk", "merchant_id", "channel_id")
        .order_by("pk")
    )
    if not fresh:
        return 0
    incident.orders.add(*fresh)
    incident.merchants.add(*{o.merchant_id for o in fresh})
    book = policies or PolicyBook()
    existing = {
        c.order_id: c
        for c in ExceptionCase.objects.filter(
            order_id__in=[o.pk for o in fresh], type=ExceptionType.SYSTEM_FAULT, status__in=OPEN_STATUSES
        )
    }
    opened: list[ExceptionCase] = []
    case_rows: list[CaseEvent] = []
    finding = {
        "code": "SYSTEM_FAULT",
        "type": ExceptionType.SYSTEM_FAULT,
        "severity": "blocking",
        "source": DetectionSource.MONITORING,
        "field": "",
        "data": {"incident": incident.pk},
    }
    for order in fresh:
        if order.pk in existing:
            continue
        deadline = book.first_deadline(
            case_type=ExceptionType.SYSTEM_FAULT,
            start=now,
            warehouse_id=book.warehouse_of_channel(order.channel_id),
        )
        opened.append(
            bulk.new(
                ExceptionCase,
                merchant_id=order.merchant_id,
                order=order,
                type=ExceptionType.SYSTEM_FAULT,
                status=CaseStatus.OPEN,
                source=DetectionSource.MONITORING,
                findings=[finding],
                step=deadline.step,
                due_at=deadline.due_at,
                warn_at=deadline.warn_at,
                sla_next_at=deadline.next_at,
                opened_at=now,
            )
        )
    if opened:
        for case, pk in zip(opened, bulk.reserve_ids(ExceptionCase, len(opened)), strict=True):
            case.pk = pk
        bulk.insert(opened)
        case_rows.extend(case_events.opened(c, at=now, actor_label="system:monitoring") for c in opened)
    for case in [*opened, *existing.values()]:
        case_rows.append(
            bulk.new(
                CaseEvent,
                case=case,
                type=CaseEventType.INCIDENT,
                occurred_at=now,
                actor_label="system:monitoring",
                data={"incident": incident.pk, "title": incident.title},
            )
        )
    bulk.insert(case_rows)
    bulk.insert(
        [_event(incident, IncidentEventType.ORDERS_LINKED, now, "system:monitoring", count=len(fresh))]
    )
    return len(fresh)


# --- people's actions ----------------------------------------------------------------------


def _require(actor: Actor) -> None:
    if actor.role not in INCIDENT_ROLES:
        raise IncidentRefused("ROLE", _("只有技术值班、仓库主管和管理员可以处理故障"))


def _clean(text: str, *, field: str, required: bool, max_length: int = NOTE_MAX) -> str:
    text = (text or "").strip()
    if required and not text:
        raise IncidentRefused(
            "FIELD_REQUIRED", _("请填写%(field)s") % {"field": FIELD_NAMES.get(field, field)}, field=field
        )
    if len(text) > max_length:
        raise IncidentRefused(
            "FIELD_INVALID",
            _("%(field)s不能超过 %(max)d 个字符")
            % {"field": FIELD_NAMES.get(field, field), "max": max_length},
            field=field,
        )
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text):
        raise IncidentRefused(
            "FIELD_INVALID",
            _("%(field)s含有控制字符") % {"field": FIELD_NAMES.get(field, field)},
            field=field,
        )
    return text


FIELD_NAMES = {
    "note": _("进展说明"),
    "title": _("标题"),
    "detail": _("详情"),
    "contact": _("联系人"),
    "via": _("联系方式"),
    "ticket_ref": _("工单号"),
    "notes": _("备注"),
    "resolution": _("处理结果"),
}


def _lock(*, incident_id: int, actor: Actor) -> Incident:
    found = visible_incidents(actor).select_for_update(of=("self",)).filter(pk=incident_id).first()
    if found is None:
        raise NotFound("not found", model="Incident", id=incident_id)
    return found


def visible_incidents(actor: Actor) -> QuerySet[Incident]:
    """The incidents `actor` may see: staff all, a merchant user those touching its merchant."""
    qs = Incident.objects.all()
    if actor.merchant_id is not None:
        qs = qs.filter(merchants=actor.merchant_id)
    return qs


def incident_acknowledge(*, incident_id: int, actor: Actor, now: datetime, note: str = "") -> Incident:
    """open → acknowledged (H4.1: the technical team has it): the triage deadline is met and
    the escalation stops. Refused from any other status (nothing changes)."""
    _require(actor)
    note = _clean(note, field="note", required=False)
    with transaction.atomic():
        incident = _lock(incident_id=incident_id, actor=actor)
        if incident.status != IncidentStatus.OPEN:
            raise IncidentRefused(
                "STATUS",
                _("故障当前状态为“%(status)s”，不能确认") % {"status": incident.get_status_display()},
                status=incident.status,
            )
        incident.status = IncidentStatus.ACKNOWLEDGED
        incident.acknowledged_at, incident.acknowledged_by_id = now, actor.user_id
        incident.escalation_next_at = None
        if incident.assignee_id is None:
            incident.assignee_id = actor.user_id
        incident.save(
            update_fields=["status", "acknowledged_at", "acknowledged_by", "escalation_next_at", "assignee"]
        )
        bulk.insert(
            [
                _event(
                    incident,
                    IncidentEventType.ACKNOWLEDGED,
                    now,
                    actor.label,
                    actor.user_id,
                    note=note,
                    late=now > incident.due_at,
                )
            ]
        )
    return incident


def incident_assign(*, incident_id: int, assignee_id: int, actor: Actor, now: datetime) -> Incident:
    _require(actor)
    assignee = staff_users().filter(pk=assignee_id).first()
    if assignee is None:
        raise IncidentRefused("ASSIGNEE_NOT_ELIGIBLE", _("只能指派给在职的仓库员工"), field="assignee")
    with transaction.atomic():
        incident = _lock(incident_id=incident_id, actor=actor)
        if incident.status == IncidentStatus.RESOLVED:
            raise IncidentRefused("STATUS", _("故障已恢复，不能再指派"), status=incident.status)
        previous = incident.assignee.username if incident.assignee_id and incident.assignee else ""
        incident.assignee = assignee
        incident.save(update_fields=["assignee"])
        bulk.insert(
            [
                _event(
                    incident,
                    IncidentEventType.ASSIGNED,
                    now,
                    actor.label,
                    actor.user_id,
                    assignee=assignee.username,
                    previous=previous,
                )
            ]
        )
    return incident


def _merchant_messages(incident: Incident, *, key: str, text: str, state: str) -> list[OutboxIn]:
    """The update to each affected merchant (its outage contacts, else its contact email) and to
    the warehouse team (the channel's warehouse: its alert email and endpoints on the topic)."""
    context = {"title": incident.title, "detail": text, "state": state}
    out: list[OutboxIn] = []
    merchants = Merchant.objects.filter(pk__in=incident.merchants.values("pk")).order_by("pk")
    for merchant in merchants:
        for r in recipients_for(
            topic=Topic.OUTAGE, merchant_id=merchant.pk, fallback_email=merchant.contact_email
        ):
            out.append(
                OutboxIn(
                    topic=Topic.OUTAGE,
                    recipient=r.address,
                    endpoint_id=r.endpoint_id,
                    merchant_id=merchant.pk,
                    language=r.language,
                    idempotency_key=f"{key}:m{merchant.pk}:{r.suffix or 'default'}",
                    context=context,
                )
            )
    warehouse = incident.channel.warehouse if incident.channel_id and incident.channel else None
    for r in recipients_for(
        topic=Topic.OUTAGE,
        warehouse_id=warehouse.pk if warehouse else None,
        fallback_email=warehouse.alert_email if warehouse else "",
    ):
        out.append(
            OutboxIn(
                topic=Topic.OUTAGE,
                recipient=r.address,
                endpoint_id=r.endpoint_id,
                language=r.language,
                idempotency_key=f"{key}:w:{r.suffix or 'default'}",
                context=context,
            )
        )
    return out


def incident_update(*, incident_id: int, actor: Actor, text: str, now: datetime) -> IncidentEvent:
    """A progress update (H4.3): on the timeline and sent to the affected merchants and the
    warehouse team through the outbox."""
    _require(actor)
    text = _clean(text, field="note", required=True)
    with transaction.atomic():
        incident = _lock(incident_id=incident_id, actor=actor)
        if incident.status == IncidentStatus.RESOLVED:
            raise IncidentRefused("STATUS", _("故障已恢复，不能再发布进展"), status=incident.status)
        # numbered under the incident's row lock: the n-th update's notices have their own keys
        number = incident.events.filter(type=IncidentEventType.UPDATE).count() + 1
        sent = outbox_enqueue(
            messages=_merchant_messages(
                incident, key=f"incident:{incident.pk}:update:{number}", text=text, state=str(_("处理中"))
            ),
            now=now,
        )
        event = _event(
            incident,
            IncidentEventType.UPDATE,
            now,
            actor.label,
            actor.user_id,
            note=text,
            number=number,
            notified=sent,
        )
        event.save()
    return event


def incident_contact(
    *, incident_id: int, actor: Actor, contact: str, via: str, ticket_ref: str, notes: str, now: datetime
) -> PlatformContact:
    """A contact with the platform's technical support (H4.3), on the timeline."""
    _require(actor)
    contact = _clean(contact, field="contact", required=True, max_length=200)
    via = _clean(via, field="via", required=True, max_length=100)
    ticket_ref = _clean(ticket_ref, field="ticket_ref", required=False, max_length=100)
    notes = _clean(notes, field="notes", required=False)
    with transaction.atomic():
        incident = _lock(incident_id=incident_id, actor=actor)
        row = PlatformContact.objects.create(
            incident=incident,
            contact=contact,
            via=via,
            ticket_ref=ticket_ref,
            notes=notes,
            occurred_at=now,
            actor_label=actor.label,
        )
        bulk.insert(
            [
                _event(
                    incident,
                    IncidentEventType.CONTACT,
                    now,
                    actor.label,
                    actor.user_id,
                    contact=contact,
                    via=via,
                    ticket_ref=ticket_ref,
                    notes=notes,
                )
            ]
        )
    return row


def incident_resolve(*, incident_id: int, actor: Actor, text: str, now: datetime) -> Incident:
    """→ resolved (from open or acknowledged): who and when, the resolution on the timeline and
    to the merchants and the warehouse team; the incident's T4 cases are resolved and the
    orders paid during the fault are linked one last time. Manual orders of the channel are
    reconciled with what the platform sent since."""
    _require(actor)
    text = _clean(text, field="resolution", required=True)
    with transaction.atomic():
        incident = _lock(incident_id=incident_id, actor=actor)
        if incident.status == IncidentStatus.RESOLVED:
            raise IncidentRefused("STATUS", _("故障已经恢复"), status=incident.status)
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at, incident.resolved_by_id = now, actor.user_id
        incident.resolution = text
        incident.escalation_next_at = None
        if incident.acknowledged_at is None:
            incident.acknowledged_at, incident.acknowledged_by_id = now, actor.user_id
        incident.save(
            update_fields=[
                "status",
                "resolved_at",
                "resolved_by",
                "resolution",
                "escalation_next_at",
                "acknowledged_at",
                "acknowledged_by",
            ]
        )
        incident_link_orders(incident=incident, now=now)
        closed = _close_cases(incident, now=now, actor=actor, text=text)
        bulk.insert(
            [
                _event(
                    incident,
                    IncidentEventType.RESOLVED,
                    now,
                    actor.label,
                    actor.user_id,
                    note=text,
                    closed_cases=len(closed),
                )
            ]
        )
        outbox_enqueue(
            messages=_merchant_messages(
                incident, key=f"incident:{incident.pk}:resolved", text=text, state=str(_("已恢复"))
            ),
            now=now,
        )
    if incident.channel_id is not None:
        from orderguard.incidents.reconcile import manual_reconcile

        manual_reconcile(channel_id=incident.channel_id, now=now)
    return incident


def _close_cases(incident: Incident, *, now: datetime, actor: Actor, text: str) -> list[ExceptionCase]:
    cases = list(
        ExceptionCase.objects.select_for_update(of=("self",))
        .filter(
            order__in=incident.orders.all(),
            type=ExceptionType.SYSTEM_FAULT,
            source=DetectionSource.MONITORING,
            status__in=OPEN_STATUSES,
        )
        .order_by("pk")
    )
    cases_close(
        cases,
        status=CaseStatus.RESOLVED,
        outcome=CaseOutcome.SUCCEEDED,
        resolution=text,
        reason="incident_resolved",
        now=now,
        actor_label=actor.label,
        actor_id=actor.user_id,
    )
    return cases


# --- the triage deadline -------------------------------------------------------------------


def incidents_escalate(*, now: datetime, policies: PolicyBook | None = None) -> int:
    """Escalate each open (unacknowledged) incident past its triage deadline once per level:
    level 1 at the deadline (the on-call team again and the managers), level 2 one escalation
    interval later (the managers). Row claims (`SKIP LOCKED` on PostgreSQL) and outbox keys per
    level: two workers never send a level twice. Returns how many incidents moved."""
    book = policies or PolicyBook()
    interval = timedelta(minutes=book.policy(ExceptionType.SYSTEM_FAULT, TRIAGE_STEP).escalate_after_minutes)
    moved = 0
    with transaction.atomic():
        due = Incident.objects.filter(
            status=IncidentStatus.OPEN, escalation_next_at__isnull=False, escalation_next_at__lte=now
        ).order_by("escalation_next_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        else:
            due = due.select_for_update()
        incidents = list(due.select_related("channel")[:200])
        if not incidents:
            return 0
        oncall, managers, inbox = _oncall_users(), _managers(), _inbox_endpoint()
        messages: list[OutboxIn] = []
        rows: list[IncidentEvent] = []
        for incident in incidents:
            level = incident.escalation_level + 1
            told = [*oncall, *managers] if level == 1 else managers
            state = str(_("超时未确认")) if level == 1 else str(_("超时未确认，升级至主管"))
            messages += _staff_messages(
                incident, told, key=f"incident:{incident.pk}:escalated:{level}", state=state, inbox=inbox
            )
            incident.escalation_level = level
            incident.escalation_next_at = None if level >= LAST_LEVEL else now + interval
            rows.append(
                _event(
                    incident,
                    IncidentEventType.ESCALATED,
                    now,
                    "system:sla",
                    level=level,
                    recipients=[u.username for u in told],
                )
            )
            moved += 1
        bulk.update(incidents, ["escalation_level", "escalation_next_at"])
        bulk.insert(rows)
        outbox_enqueue(messages=messages, now=now)
    return moved


def incident_list(actor: Actor, *, status: str = "") -> QuerySet[Incident]:
    qs = visible_incidents(actor).select_related("channel", "assignee")
    if status == "active":
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("-opened_at", "-pk")
