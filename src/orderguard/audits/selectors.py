"""Daily sample audit reads (D4): staff only; a merchant user sees nothing of the audits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet

from orderguard.audits.models import AuditLine, DailyAudit, LineStatus
from orderguard.audits.sampling import Estimate, estimate
from orderguard.core.errors import NotFound
from orderguard.tenancy.access import Actor


def audits_visible(*, actor: Actor) -> QuerySet[DailyAudit]:
    """The audits the actor may read: all for warehouse staff, none for a merchant user."""
    if not actor.is_staff_role:
        return DailyAudit.objects.none()
    return DailyAudit.objects.select_related("warehouse").order_by("-day", "warehouse__code")


def audit_get(*, actor: Actor, audit_id: int) -> DailyAudit:
    """One audit; `NotFound` alike for a missing one and for a merchant user."""
    audit = audits_visible(actor=actor).filter(pk=audit_id).first()
    if audit is None:
        raise NotFound("not found", model="DailyAudit", id=audit_id)
    return audit


def audit_lines(*, audit: DailyAudit) -> QuerySet[AuditLine]:
    return (
        AuditLine.objects.filter(audit=audit)
        .select_related("order", "order__channel", "merchant")
        .prefetch_related("cases")
        .order_by("rank")
    )


@dataclass(frozen=True, slots=True)
class AuditSummary:
    audit: DailyAudit
    pending: int
    estimate: Estimate


def audit_summaries(audits: list[DailyAudit]) -> list[AuditSummary]:
    """Each audit with its lines still to check and its failed-share estimate over the lines
    confirmed so far (see `audits.sampling.estimate`); one query for all of them."""
    rows: dict[int, list[tuple[bool, float]]] = defaultdict(list)
    pending: dict[int, int] = defaultdict(int)
    for audit_id, status, inclusion in AuditLine.objects.filter(audit__in=[a.pk for a in audits]).values_list(
        "audit_id", "status", "inclusion"
    ):
        if status == LineStatus.PENDING:
            pending[audit_id] += 1
        else:
            rows[audit_id].append((status == LineStatus.FAILED, inclusion))
    return [
        AuditSummary(audit=a, pending=pending[a.pk], estimate=estimate(rows[a.pk], weighted=a.weighted))
        for a in audits
    ]
