"""One writer per case event type, called inside the service's transaction (append-only)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from orderguard.cases.choices import CaseEventType
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.core import bulk


def _event(
    case: ExceptionCase,
    type: CaseEventType,
    at: datetime,
    actor_label: str,
    actor_id: int | None = None,
    **data: Any,
) -> CaseEvent:
    return bulk.new(
        CaseEvent, case=case, type=type, occurred_at=at, actor_label=actor_label, actor_id=actor_id, data=data
    )


def opened(case: ExceptionCase, *, at: datetime, actor_label: str) -> CaseEvent:
    return _event(
        case,
        CaseEventType.OPENED,
        at,
        actor_label,
        codes=[f["code"] for f in case.findings],
        source=case.source,
        step=case.step,
        due_at=case.due_at.isoformat() if case.due_at else None,
    )


def findings_changed(case: ExceptionCase, *, at: datetime, actor_label: str, before: list[str]) -> CaseEvent:
    return _event(
        case,
        CaseEventType.FINDINGS_CHANGED,
        at,
        actor_label,
        before=before,
        after=[f["code"] for f in case.findings],
    )


def resolved(
    case: ExceptionCase,
    *,
    at: datetime,
    actor_label: str,
    reason: str,
    actor_id: int | None = None,
    source: str | None = None,
    note: str | None = None,
) -> CaseEvent:
    """A case closed (resolved or cancelled): `reason` is the triage's close reason or the
    action taken by a person, who also gives `note` (the resolution)."""
    extra: dict[str, Any] = {}
    if source is not None:
        extra["from"] = source
    if note is not None:
        extra["note"] = note
    return _event(
        case,
        CaseEventType.RESOLVED,
        at,
        actor_label,
        actor_id,
        outcome=case.outcome,
        reason=reason,
        handling_seconds=case.handling_seconds,
        **extra,
    )


def status_changed(
    case: ExceptionCase,
    *,
    at: datetime,
    actor_label: str,
    actor_id: int | None,
    action: str,
    source: str,
    note: str,
    **clock: Any,
) -> CaseEvent:
    """A move between open statuses; `waiting_on` names the party a waiting case waits for;
    `clock` says whether the step's clock paused (with the working seconds left) or resumed
    (with the new deadline)."""
    extra: dict[str, Any] = {"waiting_on": case.waiting_on} if case.waiting_on else {}
    extra.update(clock)
    return _event(
        case,
        CaseEventType.STATUS_CHANGED,
        at,
        actor_label,
        actor_id,
        action=action,
        **{"from": source, "to": case.status},
        note=note,
        **extra,
    )


def reopened(
    case: ExceptionCase, *, at: datetime, actor_label: str, actor_id: int | None, source: str, note: str
) -> CaseEvent:
    return _event(
        case,
        CaseEventType.REOPENED,
        at,
        actor_label,
        actor_id,
        **{"from": source, "to": case.status},
        note=note,
        step=case.step,
        due_at=case.due_at.isoformat() if case.due_at else None,
    )


def step_started(
    case: ExceptionCase, *, at: datetime, actor_label: str, actor_id: int | None = None
) -> CaseEvent:
    """S1/S3: the case moved on to its step `case.step` (its clock just started: `due_at` is the
    step's deadline, if it has one). The opening and a reopening name their step themselves."""
    return _event(
        case,
        CaseEventType.STEP_STARTED,
        at,
        actor_label,
        actor_id,
        step=case.step,
        due_at=case.due_at.isoformat() if case.due_at else None,
    )


def steps_started(
    cases: Iterable[ExceptionCase], *, at: datetime, actor_label: str, actor_id: int | None = None
) -> list[CaseEvent]:
    """`step_started` of each case."""
    return [step_started(c, at=at, actor_label=actor_label, actor_id=actor_id) for c in cases]


def note_added(
    case: ExceptionCase, *, at: datetime, actor_label: str, actor_id: int | None, text: str
) -> CaseEvent:
    return _event(case, CaseEventType.NOTE, at, actor_label, actor_id, text=text)


def revealed(
    case: ExceptionCase, *, at: datetime, actor_label: str, actor_id: int | None, fields: list[str]
) -> CaseEvent:
    """Who saw which recipient fields in clear; never the values."""
    return _event(case, CaseEventType.REVEALED, at, actor_label, actor_id, fields=fields)


def notified(case: ExceptionCase, *, at: datetime, actor_label: str, topic: str, key: str) -> CaseEvent:
    return _event(case, CaseEventType.NOTIFIED, at, actor_label, topic=topic, outbox_key=key)


def assigned(
    case: ExceptionCase,
    *,
    at: datetime,
    actor_label: str,
    assignee: str,
    previous: str | None,
    actor_id: int | None = None,
) -> CaseEvent:
    return _event(
        case, CaseEventType.ASSIGNED, at, actor_label, actor_id, assignee=assignee, previous=previous
    )


SLA_ACTOR = "system:sla"
_SLA_TYPES = {
    1: CaseEventType.SLA_WARNED,
    2: CaseEventType.SLA_OVERDUE,
    3: CaseEventType.ESCALATED,
    4: CaseEventType.ESCALATED,
}


def sla_alerted(
    case: ExceptionCase, *, at: datetime, level: int, recipients: list[str], due_at: datetime | None
) -> CaseEvent:
    """S2: the deadline scan warned (1), flagged overdue (2) or escalated (3 team lead,
    4 manager); `recipients` are the people told, by user name."""
    return _event(
        case,
        _SLA_TYPES[level],
        at,
        SLA_ACTOR,
        level=level,
        step=case.step,
        due_at=due_at.isoformat() if due_at else None,
        recipients=recipients,
    )


def contacted(
    case: ExceptionCase,
    *,
    at: datetime,
    actor_label: str,
    actor_id: int | None,
    channel: str,
    outcome: str,
    note: str,
) -> CaseEvent:
    """A contact attempt (H2, B2): the channel, its outcome and the note; never the number."""
    return _event(
        case, CaseEventType.CONTACTED, at, actor_label, actor_id, channel=channel, outcome=outcome, note=note
    )


def sku_disputed(
    case: ExceptionCase, *, at: datetime, actor_label: str, actor_id: int | None, dispute: int, **data: Any
) -> CaseEvent:
    """H3.2: a SKU of the case disputed with the merchant (`step` "opened", with what the buyer
    says), the merchant's answer (`step` "answered", with `answer` and its `note`), or the
    dispute withdrawn because its cases closed before the answer (`step` "withdrawn")."""
    return _event(case, CaseEventType.SKU_DISPUTED, at, actor_label, actor_id, dispute=dispute, **data)


def lines_changed(
    case: ExceptionCase,
    *,
    at: datetime,
    actor_label: str,
    actor_id: int | None,
    before: list[list[Any]],
    after: list[list[Any]],
    reason: str,
) -> CaseEvent:
    """H3.1: the order's lines replaced, as [sku code, quantity] pairs before and after."""
    return _event(
        case,
        CaseEventType.LINES_CHANGED,
        at,
        actor_label,
        actor_id,
        before=before,
        after=after,
        reason=reason,
    )


def audited(
    case: ExceptionCase, *, at: datetime, actor_label: str, actor_id: int | None, **data: Any
) -> CaseEvent:
    """D4: a daily sample audit failed the order on checklist items (`data`: the audit, its
    line, the items and their notes)."""
    return _event(case, CaseEventType.AUDITED, at, actor_label, actor_id, **data)


def reported(
    case: ExceptionCase, *, at: datetime, actor_label: str, actor_id: int | None, **data: Any
) -> CaseEvent:
    """D5: a customer-service report on the case's order (`data`: the report, its kind, text
    and attachments)."""
    return _event(case, CaseEventType.REPORTED, at, actor_label, actor_id, **data)
