"""One writer per case event type, called inside the service's transaction (append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orderguard.cases.choices import CaseEventType
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.core import bulk


def _event(
    case: ExceptionCase, type: CaseEventType, at: datetime, actor_label: str, **data: Any
) -> CaseEvent:
    return bulk.new(CaseEvent, case=case, type=type, occurred_at=at, actor_label=actor_label, data=data)


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


def resolved(case: ExceptionCase, *, at: datetime, actor_label: str, reason: str) -> CaseEvent:
    return _event(case, CaseEventType.RESOLVED, at, actor_label, outcome=case.outcome, reason=reason)


def notified(case: ExceptionCase, *, at: datetime, actor_label: str, topic: str, key: str) -> CaseEvent:
    return _event(case, CaseEventType.NOTIFIED, at, actor_label, topic=topic, outbox_key=key)


def assigned(
    case: ExceptionCase, *, at: datetime, actor_label: str, assignee: str, previous: str | None
) -> CaseEvent:
    return _event(case, CaseEventType.ASSIGNED, at, actor_label, assignee=assignee, previous=previous)
