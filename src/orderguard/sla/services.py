"""Deadlines of case steps (S1, S2, B1): due times on the warehouse's working time, clocks that
pause while a case waits on the buyer or the merchant, and the scan that warns, flags overdue and
escalates.

A step's clock: `due_at` is `minutes` of the policy's time after the step starts (working time
of the warehouse's calendar when `business_hours`, else the clock); `warn_at` is `warn_percent`
of the way there. The alerts of a case go up one level at a time (`ExceptionCase.sla_level`):

======  ===========================  =====================================================
level   when                         who is told (through the outbox, logged on the case)
======  ===========================  =====================================================
1       `warn_at`                    the owner (the assignee; the managers if nobody owns it)
2       `due_at` (overdue)           the owner
3       due + `escalate_after`       the owner's team lead (`Membership.lead`)
4       due + 2 x `escalate_after`   the managers
======  ===========================  =====================================================

`sla_next_at` is when the next level is due, so the scan reads one partial index over the open
cases. A worker that was down does not replay the levels it missed: the scan goes straight to
the highest level whose time has come and sends that one.

Concurrency: the scan claims its batch under row locks (`SKIP LOCKED` on PostgreSQL; SQLite's
IMMEDIATE transactions serialise it), writes the new levels, the case events and the outbox rows
in one transaction, and each message's idempotency key names the case, the step, the level and
the due time: two workers scanning at once never send a level twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from orderguard.core import bulk
from orderguard.core.choices import ExceptionType
from orderguard.sla.calendar import CLOCK, EVERY_DAY, MINUTES_PER_DAY, WorkingTime
from orderguard.sla.models import SlaPolicy, WorkingCalendar

if TYPE_CHECKING:
    from orderguard.cases.models import ExceptionCase

log = logging.getLogger(__name__)

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
# After the stock-out notice (H1.1) the merchant decides what its orders do (H1.2).
MERCHANT_DECISION_STEP = "merchant_decision"
# T3 (H3.2): the merchant answers a disputed SKU (seeded by catalog/0003).
MERCHANT_ANSWER_STEP = "merchant_answer"
DEFAULT_MINUTES: dict[tuple[str, str], int] = {
    (T.OUT_OF_STOCK, "notify_merchant"): 60,
    (T.OUT_OF_STOCK, MERCHANT_DECISION_STEP): 240,
    (T.RECIPIENT_ERROR, "contact_buyer"): 120,
    (T.PRODUCT_ERROR, "confirm_with_buyer"): 120,
    (T.PRODUCT_ERROR, MERCHANT_ANSWER_STEP): 480,
    (T.SYSTEM_FAULT, "triage"): 30,
    (T.SPECIAL_REQUEST, "assess_feasibility"): 120,
    # H5: the later steps of a special request (seeded by migration 0006)
    (T.SPECIAL_REQUEST, "quote"): 60,
    (T.SPECIAL_REQUEST, "buyer_confirmation"): 240,
    (T.SPECIAL_REQUEST, "assign_owner"): 60,
    (T.SPECIAL_REQUEST, "fulfil"): 480,
    (T.SPECIAL_REQUEST, "offer_alternative"): 240,
}
# Without a calendar row: the statutory calendar, 09:00 to 18:00 Beijing time.
DEFAULT_WORKING_TIME = WorkingTime(start=9 * 60, end=18 * 60, statutory=True)

WARNED, OVERDUE, TEAM_LEAD, MANAGER = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class Policy:
    case_type: str
    step: str
    minutes: int
    warn_percent: int = 75
    business_hours: bool = False
    pause_while_waiting: bool = True
    escalate_after_minutes: int = 60


@dataclass(frozen=True, slots=True)
class Deadline:
    step: str
    due_at: datetime
    warn_at: datetime

    @property
    def next_at(self) -> datetime:
        """When a fresh step's first alert (the warning) is due."""
        return self.warn_at


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def working_time_of(calendar: WorkingCalendar) -> WorkingTime:
    """The pure calendar of a `WorkingCalendar` row (its `days` prefetched or queried)."""
    try:
        tz = ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("calendar %s: unknown time zone %r, Asia/Shanghai used", calendar.pk, calendar.timezone)
        tz = ZoneInfo("Asia/Shanghai")
    start, end = _minutes(calendar.day_starts), _minutes(calendar.day_ends)
    if end == 0:
        end = MINUTES_PER_DAY  # 00:00 as the end is midnight
    weekdays = frozenset(int(ch) - 1 for ch in calendar.weekdays if ch in "1234567") or EVERY_DAY
    return WorkingTime(
        tz=tz,
        start=start,
        end=end,
        statutory=calendar.follows_statutory,
        weekdays=weekdays,
        overrides={day.date: day.working for day in calendar.days.all()},
    )


class PolicyBook:
    """The SLA policies and working calendars, read once and used for a whole batch (no query
    per case)."""

    def __init__(self) -> None:
        self._policies: dict[tuple[str, str], Policy] = {
            (p.case_type, p.step): Policy(
                case_type=p.case_type,
                step=p.step,
                minutes=p.minutes,
                warn_percent=p.warn_percent,
                business_hours=p.business_hours,
                pause_while_waiting=p.pause_while_waiting,
                escalate_after_minutes=p.escalate_after_minutes,
            )
            for p in SlaPolicy.objects.all()
        }
        self._calendars: dict[int | None, WorkingTime] = {
            c.warehouse_id: working_time_of(c) for c in WorkingCalendar.objects.prefetch_related("days")
        }
        self._warehouse_of_channel: dict[int, int] | None = None
        self._memo: dict[tuple[str, str, datetime, int | None], Deadline] = {}

    def policy(self, case_type: str, step: str) -> Policy:
        found = self._policies.get((case_type, step))
        if found is not None:
            return found
        minutes = DEFAULT_MINUTES.get((case_type, step), 120)
        return Policy(case_type=case_type, step=step, minutes=minutes)

    def working_time(self, policy: Policy, warehouse_id: int | None) -> WorkingTime:
        if not policy.business_hours:
            return CLOCK
        return self._calendars.get(warehouse_id) or self._calendars.get(None) or DEFAULT_WORKING_TIME

    def warehouse_of_channel(self, channel_id: int) -> int | None:
        if self._warehouse_of_channel is None:
            from orderguard.orders.models import Channel

            self._warehouse_of_channel = dict(Channel.objects.values_list("pk", "warehouse_id"))
        return self._warehouse_of_channel.get(channel_id)

    def deadline(
        self, *, case_type: str, step: str, start: datetime, warehouse_id: int | None = None
    ) -> Deadline:
        key = (case_type, step, start, warehouse_id)
        found = self._memo.get(key)
        if found is None:
            policy = self.policy(case_type, step)
            clock = self.working_time(policy, warehouse_id)
            seconds = policy.minutes * 60
            found = Deadline(
                step=step,
                due_at=clock.add(start, seconds),
                warn_at=clock.add(start, seconds * policy.warn_percent / 100),
            )
            if len(self._memo) > 10_000:
                self._memo.clear()
            self._memo[key] = found
        return found

    def first_deadline(self, *, case_type: str, start: datetime, warehouse_id: int | None = None) -> Deadline:
        return self.deadline(
            case_type=case_type, step=FIRST_STEP[case_type], start=start, warehouse_id=warehouse_id
        )


def next_alert_at(
    *, level: int, warn_at: datetime | None, due_at: datetime | None, escalate_after: int
) -> datetime | None:
    """When the alert after `level` is due; None after the last level or without a deadline."""
    if due_at is None:
        return None
    if level == 0:
        return warn_at or due_at
    if level == WARNED:
        return due_at
    if level in (OVERDUE, TEAM_LEAD):
        return due_at + timedelta(minutes=escalate_after * (level - 1))
    return None


# --- the clock of one case (called inside the case's transaction, the row locked) -------------


def _case_clock(case: ExceptionCase, policies: PolicyBook) -> tuple[Policy, WorkingTime]:
    policy = policies.policy(case.type, case.step)
    warehouse_id = policies.warehouse_of_channel(case.order.channel_id)
    return policy, policies.working_time(policy, warehouse_id)


# The fields a step's clock writes.
CLOCK_FIELDS = [
    "step",
    "due_at",
    "warn_at",
    "sla_level",
    "sla_next_at",
    "sla_paused_at",
    "sla_remaining_seconds",
]


def case_clock_start(
    case: ExceptionCase, *, step: str, now: datetime, policies: PolicyBook, warehouse_id: int | None = None
) -> None:
    """Start `step` of a case now: a fresh deadline, alerts from level 0, the clock running
    (on the calendar of `warehouse_id`, else of the warehouse of the case's order)."""
    if warehouse_id is None:
        warehouse_id = policies.warehouse_of_channel(case.order.channel_id)
    deadline = policies.deadline(case_type=case.type, step=step, start=now, warehouse_id=warehouse_id)
    case.step, case.due_at, case.warn_at = deadline.step, deadline.due_at, deadline.warn_at
    case.sla_level, case.sla_next_at = 0, deadline.next_at
    case.sla_paused_at = case.sla_remaining_seconds = None


def cases_clock_start(*, cases: Sequence[ExceptionCase], step: str, now: datetime, warehouse_id: int) -> None:
    """Start `step` now for cases of one warehouse and write their clocks in one `executemany`."""
    if not cases:
        return
    policies = PolicyBook()
    for case in cases:
        case_clock_start(case, step=step, now=now, policies=policies, warehouse_id=warehouse_id)
    bulk.update(list(cases), CLOCK_FIELDS)


def case_clock_pause(case: ExceptionCase, *, now: datetime, policies: PolicyBook) -> bool:
    """Stop the step's clock while the case waits on someone, when its policy says so; the
    working time left is kept (0 when already overdue). Returns whether it paused."""
    if case.due_at is None or case.sla_paused_at is not None:
        return False
    policy, clock = _case_clock(case, policies)
    if not policy.pause_while_waiting:
        return False
    case.sla_remaining_seconds = clock.seconds_between(now, case.due_at)
    case.sla_paused_at = now
    case.due_at = case.warn_at = case.sla_next_at = None
    return True


def case_clock_resume(case: ExceptionCase, *, now: datetime, policies: PolicyBook) -> bool:
    """Run a paused clock again: the deadline is the working time left after now; the warning
    point keeps its share of the step's time. Returns whether it resumed."""
    if case.sla_paused_at is None:
        return False
    policy, clock = _case_clock(case, policies)
    remaining = case.sla_remaining_seconds or 0
    tail = policy.minutes * 60 * (100 - policy.warn_percent) / 100
    case.due_at = clock.add(now, remaining)
    case.warn_at = clock.add(now, max(0.0, remaining - tail))
    case.sla_next_at = next_alert_at(
        level=case.sla_level,
        warn_at=case.warn_at,
        due_at=case.due_at,
        escalate_after=policy.escalate_after_minutes,
    )
    case.sla_paused_at = case.sla_remaining_seconds = None
    return True


def case_clock_stop(case: ExceptionCase) -> None:
    """A closed case has no alerts to come."""
    case.sla_next_at = case.sla_paused_at = case.sla_remaining_seconds = None


# --- the scan ------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    alerted: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # level -> cases
    messages: int = 0

    @property
    def cases(self) -> int:
        return sum(self.alerted.values())


def _people(cases: Sequence[ExceptionCase]) -> tuple[dict[int, int], list[User]]:
    """Each assignee's team lead, and the managers (one query each)."""
    from orderguard.tenancy.models import Membership, Role

    assignees = {c.assignee_id for c in cases if c.assignee_id}
    leads = dict(
        Membership.objects.filter(user_id__in=assignees, lead__isnull=False).values_list("user_id", "lead_id")
    )
    managers = list(
        User.objects.filter(membership__role=Role.MANAGER, is_active=True)
        .order_by("pk")
        .only("pk", "email", "username")
    )
    return leads, managers


def _recipients(
    case: ExceptionCase, level: int, *, leads: dict[int, int], users: dict[int, User], managers: list[User]
) -> list[User]:
    owner = [users[case.assignee_id]] if case.assignee_id and case.assignee_id in users else []
    if level in (WARNED, OVERDUE):
        return owner or managers
    if level == TEAM_LEAD:
        lead = leads.get(case.assignee_id) if case.assignee_id else None
        return [users[lead]] if lead in users else managers
    return managers


def _context(case: ExceptionCase, level: int, language: str) -> dict[str, str]:
    """The variables of the reminder's template (topics ``overdue`` and ``escalation``), their
    words in the recipient's `language` (the template is chosen in it too)."""
    due = case.due_at.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%m-%d %H:%M") if case.due_at else "-"
    with translation.override(language):
        return _context_words(case, level, due)


def _context_words(case: ExceptionCase, level: int, due: str) -> dict[str, str]:
    states = {
        WARNED: _("即将超时"),
        OVERDUE: _("已超时"),
        TEAM_LEAD: _("超时升级至组长"),
        MANAGER: _("超时升级至主管"),
    }
    return {
        "case": f"#{case.pk}",
        "type": str(case.get_type_display()),
        "due": due,
        "state": str(states[level]),
        "link": f"/cases/{case.pk}/",
    }


def deadlines_scan(*, now: datetime, limit: int = 500, policies: PolicyBook | None = None) -> ScanResult:
    """Raise the alert level of every open case whose next alert is due, in batches of `limit`
    (S2). Idempotent; safe to run on two workers at once (see the module's docstring)."""
    from orderguard.cases import events
    from orderguard.cases.models import OPEN_STATUS_VALUES, ExceptionCase
    from orderguard.notifications.models import NotificationChannel, Topic
    from orderguard.notifications.services import OutboxIn, outbox_enqueue, user_languages

    book = policies or PolicyBook()
    result = ScanResult()
    # the bell: the in-app inbox, when the warehouse has one switched on
    inbox = (
        NotificationChannel.objects.filter(kind="inbox", enabled=True, merchant__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    while True:
        with transaction.atomic():
            due = ExceptionCase.objects.filter(
                status__in_literals=OPEN_STATUS_VALUES, sla_next_at__isnull=False, sla_next_at__lte=now
            ).order_by("sla_next_at", "pk")
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            ids = list(due.values_list("pk", flat=True)[:limit])
            if not ids:
                return result
            # only what the alert needs (not the order: a tick over many cases stays small)
            cases = list(
                ExceptionCase.objects.filter(pk__in=ids)
                .only(
                    "pk",
                    "type",
                    "step",
                    "status",
                    "assignee_id",
                    "due_at",
                    "warn_at",
                    "sla_level",
                    "sla_next_at",
                )
                .order_by("pk")
            )
            leads, managers = _people(cases)
            wanted = {c.assignee_id for c in cases if c.assignee_id} | set(leads.values())
            users = {u.pk: u for u in User.objects.filter(pk__in=wanted, is_active=True)}
            users.update({m.pk: m for m in managers})
            # each person reads the reminder in the language of their pages
            languages = user_languages(users)
            messages: list[OutboxIn] = []
            log_rows = []
            for case in cases:
                policy = book.policy(case.type, case.step)
                before = level = case.sla_level
                next_at = case.sla_next_at
                # straight to the highest level whose time has come
                while next_at is not None and next_at <= now and level < MANAGER:
                    level += 1
                    next_at = next_alert_at(
                        level=level,
                        warn_at=case.warn_at,
                        due_at=case.due_at,
                        escalate_after=policy.escalate_after_minutes,
                    )
                # after the last level nothing more is due (also for a row written otherwise)
                case.sla_level, case.sla_next_at = level, next_at if level < MANAGER else None
                if level == before:
                    continue
                told = _recipients(case, level, leads=leads, users=users, managers=managers)
                contexts = {lang: _context(case, level, lang) for lang in {languages[u.pk] for u in told}}
                stamp = int(case.due_at.timestamp()) if case.due_at else 0
                topic = Topic.OVERDUE if level in (WARNED, OVERDUE) else Topic.ESCALATION
                for user in told:
                    key = f"sla:{case.pk}:{case.step}:{level}:{stamp}:{user.pk}"
                    language = languages[user.pk]
                    if user.email:
                        messages.append(
                            OutboxIn(
                                topic=topic,
                                recipient=user.email,
                                idempotency_key=key,
                                language=language,
                                context=contexts[language],
                            )
                        )
                    if inbox is not None:
                        messages.append(
                            OutboxIn(
                                topic=topic,
                                recipient=str(user.pk),
                                idempotency_key=f"{key}:inbox",
                                endpoint_id=inbox,
                                language=language,
                                context=contexts[language],
                            )
                        )
                log_rows.append(
                    events.sla_alerted(
                        case, at=now, level=level, recipients=[u.username for u in told], due_at=case.due_at
                    )
                )
                result.alerted[level] += 1
            bulk.update(cases, ["sla_level", "sla_next_at"])
            result.messages += outbox_enqueue(messages=messages, now=now)
            bulk.insert(log_rows)
        if len(ids) < limit:
            return result
