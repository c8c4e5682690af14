"""Due times of case steps (S1). The business calendar and pauses (B1) come later; for now a
deadline is clock time from the moment the step starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from orderguard.core.choices import ExceptionType
from orderguard.sla.models import SlaPolicy

T = ExceptionType

# The first handling step of each type, and its default limit in minutes (REQUIREMENTS.md S1:
# merchant told of a stock-out within 1 h, buyer contacted within 2 h, outage triaged within
# 30 min; T3 and T5 are the warehouse's own choice). The data migration seeds these rows.
FIRST_STEP: dict[str, str] = {
    T.OUT_OF_STOCK: "notify_merchant",
    T.RECIPIENT_ERROR: "contact_buyer",
    T.PRODUCT_ERROR: "confirm_with_buyer",
    T.SYSTEM_FAULT: "triage",
    T.SPECIAL_REQUEST: "assess_feasibility",
}
DEFAULT_MINUTES: dict[tuple[str, str], int] = {
    (T.OUT_OF_STOCK, "notify_merchant"): 60,
    (T.RECIPIENT_ERROR, "contact_buyer"): 120,
    (T.PRODUCT_ERROR, "confirm_with_buyer"): 120,
    (T.SYSTEM_FAULT, "triage"): 30,
    (T.SPECIAL_REQUEST, "assess_feasibility"): 120,
}


@dataclass(frozen=True, slots=True)
class Deadline:
    step: str
    due_at: datetime
    warn_at: datetime


class PolicyBook:
    """The SLA policies, read once and used for a whole batch (no query per case)."""

    def __init__(self) -> None:
        self._limits: dict[tuple[str, str], tuple[int, int]] = {
            (p.case_type, p.step): (p.minutes, p.warn_before_minutes) for p in SlaPolicy.objects.all()
        }

    def first_deadline(self, *, case_type: str, start: datetime) -> Deadline:
        step = FIRST_STEP[case_type]
        minutes, warn_before = self._limits.get((case_type, step), (DEFAULT_MINUTES[(case_type, step)], 15))
        due = start + timedelta(minutes=minutes)
        warn = due - timedelta(minutes=min(warn_before, minutes))
        return Deadline(step=step, due_at=due, warn_at=warn)
