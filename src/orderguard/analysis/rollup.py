"""The daily rollups of the analysis (S3): `DailyStat` rows recomputed from the case events.

How they are kept current: a periodic task (`rollup_catch_up`, every five minutes) reads the
case events written since its watermark (`RollupState.last_event_id`), and recomputes whole
days: every day those events fall on, plus today and yesterday. Why a task and not a hook in
each writer: every path that opens, closes or reopens a case or flags it overdue (triage of an
import batch, the stock re-check's bulk close, a person's move, the deadline scan) already
writes a CaseEvent in its own transaction, so one reader of the events counts them all and
no writer, the import path least of all, does extra work; a new writer is counted without
being touched. Recomputing a whole day is idempotent (safe to run twice, or on two workers:
the second waits on the first's transaction and writes the same rows). Today and yesterday
are recomputed on every run so that a transaction that commits after a later one (its event
ids below the watermark) is still counted. The report is therefore up to one run behind; it
shows when the rollup last ran.

`rollup_days(first, last)` is also the `orderguard analysis rebuild` command.

A day is the local date (TIME_ZONE) of the event; which event counts what is described on
`DailyStat`. Working time is the working calendar of the warehouse that fulfils the order's
channel (`sla.models.WorkingCalendar`: its hours, its working days, China's statutory holidays
and adjusted working days when it follows them), else the default calendar, else 09:00-18:00
on statutory working days (`sla.services.DEFAULT_WORKING_TIME`); a case's working time is the
working time between its opening and its closing.

The time per step: a step starts at the opening or a reopening (the type's first step, named
by the event) and at each ``step_started`` event (written by every move to a later step: the
stock-out notice, the merchant's decision, a transfer's arrival, a dispute, a special
request's next step); it lasts until the next step starts or the case closes. At each closing
the steps since the last opening or reopening are counted on the step rows (a step entered
twice, its times added).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.db.models.fields.json import KT

from orderguard.analysis import histogram
from orderguard.analysis.choices import Dim
from orderguard.analysis.models import DailyStat, RollupState
from orderguard.cases.choices import CaseEventType, CaseOutcome
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.core.choices import ExceptionType
from orderguard.orders.models import Channel
from orderguard.sla.calendar import WorkingTime
from orderguard.sla.models import WorkingCalendar
from orderguard.sla.services import DEFAULT_WORKING_TIME, FIRST_STEP, working_time_of

log = logging.getLogger(__name__)

COUNTED = (
    CaseEventType.OPENED,
    CaseEventType.RESOLVED,
    CaseEventType.REOPENED,
    CaseEventType.SLA_OVERDUE,
    CaseEventType.ESCALATED,
)
# The events are read this many days at a time (memory stays bounded on a long rebuild).
CHUNK_DAYS = 7
IDS_PER_QUERY = 5000


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """The start of a local day, aware."""
    return datetime.combine(day, time(0), tzinfo=local_tz())


class WorkingTimes:
    """The working time of each channel's warehouse, read once per run."""

    def __init__(self) -> None:
        calendars = {
            c.warehouse_id: working_time_of(c) for c in WorkingCalendar.objects.prefetch_related("days")
        }
        default = calendars.get(None) or DEFAULT_WORKING_TIME
        self._by_channel: dict[int, WorkingTime] = {
            pk: calendars.get(wh) or default for pk, wh in Channel.objects.values_list("pk", "warehouse_id")
        }
        self._default = default

    def of_channel(self, channel_id: int) -> WorkingTime:
        return self._by_channel.get(channel_id, self._default)


@dataclass
class _Acc:
    opened: int = 0
    closed: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    reopened: int = 0
    handling_seconds: int = 0
    working_seconds: int = 0
    handling_hist: dict[str, int] = field(default_factory=dict)
    working_hist: dict[str, int] = field(default_factory=dict)
    steps_closed: int = 0
    steps_late: int = 0
    overdue: int = 0
    escalated: int = 0


Key = tuple[int | None, date, str, str, str]
NUMBERS = (
    "opened",
    "closed",
    "succeeded",
    "failed",
    "cancelled",
    "reopened",
    "handling_seconds",
    "working_seconds",
    "steps_closed",
    "steps_late",
    "overdue",
    "escalated",
)


def _skus(findings: list[dict[str, Any]]) -> list[str]:
    """The SKUs a stock-out case is about (its findings' `sku`), each once, in order."""
    seen: list[str] = []
    for f in findings or []:
        sku = (f.get("data") or {}).get("sku")
        if sku and sku not in seen:
            seen.append(str(sku)[:100])
    return seen


def _chunked(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield ids[start : start + IDS_PER_QUERY]


def _compute(start: datetime, end: datetime, times: WorkingTimes) -> dict[Key, _Acc]:
    """The rows of the days in [start, end), from the events in that range."""
    tz = local_tz()
    rows = list(
        CaseEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end, type__in=COUNTED)
        .order_by()
        .values_list(
            "type",
            "occurred_at",
            "data",
            "case_id",
            "case__merchant_id",
            "case__type",
            "case__source",
            "case__order__channel_id",
            "case__order__province",
            "case__assignee_id",
            "case__opened_at",
            "case__step",
            "case__due_at",
        )
    )
    closing_ids = sorted({r[3] for r in rows if r[0] == CaseEventType.RESOLVED})
    t1_ids = sorted(
        {r[3] for r in rows if r[5] == ExceptionType.OUT_OF_STOCK and r[0] != CaseEventType.REOPENED}
    )
    skus: dict[int, list[str]] = {}
    for ids in _chunked(t1_ids):
        for pk, findings in ExceptionCase.objects.filter(pk__in=ids).values_list("pk", "findings"):
            skus[pk] = _skus(findings)
    # the steps the deadline scan flagged overdue, per case, with when (for the closings)
    overdue_steps: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for ids in _chunked(closing_ids):
        for case_id, at, data in CaseEvent.objects.filter(
            case_id__in=ids, type=CaseEventType.SLA_OVERDUE, occurred_at__lt=end
        ).values_list("case_id", "occurred_at", "data"):
            overdue_steps[case_id].append((at, str(data.get("step") or "")))
    stretches = _stretches(closing_ids, end)

    acc: dict[Key, _Acc] = defaultdict(_Acc)
    for (
        etype,
        at,
        data,
        case_id,
        merchant_id,
        case_type,
        source,
        channel_id,
        province,
        assignee_id,
        opened_at,
        step,
        due_at,
    ) in rows:
        day = at.astimezone(tz).date()
        base = (merchant_id, day, case_type)
        dims = [
            (Dim.TOTAL, ""),
            (Dim.SOURCE, source),
            (Dim.CHANNEL, str(channel_id)),
            (Dim.PROVINCE, province or ""),
            (Dim.ASSIGNEE, str(assignee_id) if assignee_id else ""),
        ]
        if case_type == ExceptionType.OUT_OF_STOCK:
            dims.extend((Dim.SKU, sku) for sku in skus.get(case_id, []))
        if etype == CaseEventType.OPENED:
            for dim, key in dims:
                acc[(*base, dim, key)].opened += 1
        elif etype == CaseEventType.REOPENED:
            acc[(*base, Dim.TOTAL, "")].reopened += 1
        elif etype == CaseEventType.SLA_OVERDUE:
            acc[(*base, Dim.STEP, str(data.get("step") or ""))].overdue += 1
        elif etype == CaseEventType.ESCALATED:
            acc[(*base, Dim.STEP, str(data.get("step") or ""))].escalated += 1
        else:  # resolved
            outcome = data.get("outcome") or ""
            seconds = data.get("handling_seconds")
            if seconds is None:
                seconds = max(0, int((at - opened_at).total_seconds()))
            working = times.of_channel(channel_id).seconds_between(opened_at, at)
            for dim, key in dims:
                a = acc[(*base, dim, key)]
                a.closed += 1
                a.succeeded += outcome == CaseOutcome.SUCCEEDED
                a.failed += outcome == CaseOutcome.FAILED
                a.cancelled += outcome == CaseOutcome.CANCELLED
                a.handling_seconds += seconds
                a.working_seconds += working
            total = acc[(*base, Dim.TOTAL, "")]
            histogram.add(total.handling_hist, seconds)
            histogram.add(total.working_hist, working)
            stretch = stretches.get((case_id, at))
            since = stretch[0] if stretch is not None else None
            # the steps flagged overdue in this closing's stretch (not before a reopening)
            flagged = {
                s
                for when, s in overdue_steps.get(case_id, [])
                if when <= at and (since is None or when >= since)
            }
            clock = times.of_channel(channel_id)
            spent = _time_per_step(stretch[1] if stretch is not None else [], clock)
            if spent:
                steps = set(spent) | flagged
            else:  # a closing without its steps' events: the first step and the last one
                steps = {FIRST_STEP.get(case_type, ""), *flagged, step or ""} - {""}
            late = set(flagged)
            if step and due_at is not None and at > due_at:
                late.add(step)
            for s in steps:
                a = acc[(*base, Dim.STEP, s)]
                a.steps_closed += 1
                a.steps_late += s in late
                if s in spent:
                    clock_seconds, working_seconds = spent[s]
                    a.handling_seconds += clock_seconds
                    a.working_seconds += working_seconds
                    histogram.add(a.handling_hist, clock_seconds)
                    histogram.add(a.working_hist, working_seconds)
    return _with_warehouse(acc)


# The events that start a step (the opening and a reopening start the type's first step) and
# the closing that ends the last one.
STEP_STARTS = (CaseEventType.OPENED, CaseEventType.REOPENED, CaseEventType.STEP_STARTED)
Segment = tuple[str, datetime, datetime]


def _stretches(
    case_ids: list[int], end: datetime
) -> dict[tuple[int, datetime], tuple[datetime | None, list[Segment]]]:
    """The stretch each closing of these cases ended: when it began (the opening, or the
    reopening before the closing) and its steps as segments (step, start, end), each step
    lasting until the next step starts or the case closes. Keyed by (case id, closing time).
    One query per `IDS_PER_QUERY` cases, reading the step's name only (not the events' whole
    data)."""
    out: dict[tuple[int, datetime], tuple[datetime | None, list[Segment]]] = {}
    for ids in _chunked(case_ids):
        rows = (
            CaseEvent.objects.filter(
                case_id__in=ids, type__in=(*STEP_STARTS, CaseEventType.RESOLVED), occurred_at__lt=end
            )
            .annotate(step_name=KT("data__step"))
            .order_by("case_id", "occurred_at", "pk")
            .values_list("case_id", "type", "occurred_at", "step_name", "case__type")
        )
        last_case: int | None = None
        current: tuple[str, datetime] | None = None  # the step the case is in, since when
        began: datetime | None = None  # the stretch's opening or reopening
        segments: list[Segment] = []
        for case_id, etype, at, step, case_type in rows:
            if case_id != last_case:
                last_case, current, began, segments = case_id, None, None, []
            if current is not None:
                segments.append((current[0], current[1], at))
            if etype == CaseEventType.RESOLVED:
                out[(case_id, at)] = (began, segments)
                current, began, segments = None, None, []
                continue
            if etype != CaseEventType.STEP_STARTED:
                began, segments = at, []  # an opening or a reopening starts the stretch afresh
            name = step or (FIRST_STEP.get(case_type, "") if etype != CaseEventType.STEP_STARTED else "")
            current = (name, at) if name else None
    return out


def _time_per_step(segments: list[Segment], clock: WorkingTime) -> dict[str, tuple[int, int]]:
    """Clock and working seconds spent in each step (a step entered twice counts both times)."""
    spent: dict[str, tuple[int, int]] = {}
    for step, start, stop in segments:
        seconds = max(0, int((stop - start).total_seconds()))
        working = clock.seconds_between(start, stop) if seconds else 0
        before = spent.get(step, (0, 0))
        spent[step] = (before[0] + seconds, before[1] + working)
    return spent


def _with_warehouse(acc: dict[Key, _Acc]) -> dict[Key, _Acc]:
    """`acc` and, under merchant None, each row added up over the merchants."""
    whole: dict[Key, _Acc] = defaultdict(_Acc)
    for (_merchant, day, case_type, dim, key), a in acc.items():
        w = whole[(None, day, case_type, dim, key)]
        for name in NUMBERS:
            setattr(w, name, getattr(w, name) + getattr(a, name))
        histogram.merge_into(w.handling_hist, a.handling_hist)
        histogram.merge_into(w.working_hist, a.working_hist)
    return {**acc, **whole}


def rollup_days(*, first: date, last: date) -> int:
    """Recompute the `DailyStat` rows of the local days `first`..`last` (inclusive) from the
    case events; returns the number of rows written. Each chunk of days is replaced in one
    transaction (readers see the old rows or the new ones, never half)."""
    if last < first:
        return 0
    times = WorkingTimes()
    written = 0
    day = first
    while day <= last:
        chunk_last = min(last, day + timedelta(days=CHUNK_DAYS - 1))
        start, end = day_start(day), day_start(chunk_last + timedelta(days=1))
        acc = _compute(start, end, times)
        objs = [
            DailyStat(
                merchant_id=k[0],
                day=k[1],
                case_type=k[2],
                dim=k[3],
                key=k[4],
                opened=a.opened,
                closed=a.closed,
                succeeded=a.succeeded,
                failed=a.failed,
                cancelled=a.cancelled,
                reopened=a.reopened,
                handling_seconds=a.handling_seconds,
                working_seconds=a.working_seconds,
                handling_hist=a.handling_hist,
                working_hist=a.working_hist,
                steps_closed=a.steps_closed,
                steps_late=a.steps_late,
                overdue=a.overdue,
                escalated=a.escalated,
            )
            for k, a in acc.items()
        ]
        with transaction.atomic():
            DailyStat.objects.filter(day__gte=day, day__lte=chunk_last).delete()
            DailyStat.objects.bulk_create(objs, batch_size=2000)
        written += len(objs)
        day = chunk_last + timedelta(days=1)
    return written


@dataclass(frozen=True, slots=True)
class CatchUp:
    days: list[date]
    rows: int
    last_event_id: int


def rollup_catch_up(*, now: datetime) -> CatchUp:
    """Count the case events written since the watermark: recompute the days they fall on,
    and today and yesterday (`now`, local), then move the watermark. Safe to run twice."""
    state, _created = RollupState.objects.get_or_create(pk=1)
    new = CaseEvent.objects.filter(pk__gt=state.last_event_id).order_by()
    top = new.aggregate(Max("pk"))["pk__max"]
    today = now.astimezone(local_tz()).date()
    days = {today, today - timedelta(days=1)}
    if top is not None:
        tz = local_tz()
        # the distinct days of the new events (usually one or two), without reading them all
        cursor_day: date | None = None
        while True:
            qs = new.filter(pk__lte=top)
            if cursor_day is not None:
                qs = qs.filter(occurred_at__gte=day_start(cursor_day + timedelta(days=1)))
            at = qs.order_by("occurred_at").values_list("occurred_at", flat=True).first()
            if at is None:
                break
            cursor_day = at.astimezone(tz).date()
            days.add(cursor_day)
    rows = 0
    for run in _runs(sorted(days)):
        rows += rollup_days(first=run[0], last=run[-1])
    if top is not None:
        RollupState.objects.filter(pk=1, last_event_id__lt=top).update(last_event_id=top)
    RollupState.objects.filter(pk=1).update(ran_at=now)
    return CatchUp(days=sorted(days), rows=rows, last_event_id=top or state.last_event_id)


def _runs(days: list[date]) -> list[list[date]]:
    """Consecutive days grouped: [1, 2, 3, 7] -> [[1, 2, 3], [7]]."""
    runs: list[list[date]] = []
    for d in days:
        if runs and d - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


def rollup_state() -> RollupState | None:
    return RollupState.objects.filter(pk=1).first()


@dataclass(frozen=True, slots=True)
class Rebuilt:
    first: date | None
    last: date | None
    rows: int


def rollup_rebuild(*, first: date | None = None, last: date | None = None) -> Rebuilt:
    """`orderguard analysis rebuild`: recompute `first`..`last` (default: from the first case
    event's day to the last one's) and move the watermark to the newest event when the whole
    history was recomputed."""
    tz = local_tz()
    top = CaseEvent.objects.order_by().aggregate(Max("pk"))["pk__max"]
    whole = first is None and last is None
    if first is None or last is None:
        ends = CaseEvent.objects.order_by("occurred_at").values_list("occurred_at", flat=True)
        earliest, latest = ends.first(), ends.last()
        if earliest is None or latest is None:
            return Rebuilt(first=None, last=None, rows=0)
        first = first or earliest.astimezone(tz).date()
        last = last or latest.astimezone(tz).date()
    rows = rollup_days(first=first, last=last)
    if whole and top is not None:
        RollupState.objects.get_or_create(pk=1)
        RollupState.objects.filter(pk=1, last_event_id__lt=top).update(last_event_id=top)
    return Rebuilt(first=first, last=last, rows=rows)
