"""The daily rollups (S3) equal a straight computation from the cases and their events, and
the periodic catch-up keeps them so."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orderguard.analysis import histogram
from orderguard.analysis.models import DailyStat, RollupState
from orderguard.analysis.rollup import rollup_catch_up, rollup_rebuild
from orderguard.analysis.tests.factories import generate_history
from orderguard.cases.machine import ActionName
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import case_transition
from orderguard.sla.services import DEFAULT_WORKING_TIME
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.models import Membership

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
FIELDS = (
    "opened",
    "closed",
    "succeeded",
    "failed",
    "cancelled",
    "reopened",
    "handling_seconds",
    "working_seconds",
)


def _stored() -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {}
    for r in DailyStat.objects.all():
        key = (r.merchant_id, r.day, r.case_type, r.dim, r.key)
        values = {f: getattr(r, f) for f in FIELDS}
        values["overdue"] = r.overdue
        if r.dim == "total":
            values["handling_hist"] = {k: v for k, v in r.handling_hist.items() if v}
            values["working_hist"] = {k: v for k, v in r.working_hist.items() if v}
        out[key] = values
    return out


def _straight() -> dict[tuple[Any, ...], dict[str, Any]]:
    """The same figures the plain way: each case's opening from the case row, each closing and
    reopening from its event, the overdue flags from the scan's events."""
    cases = {c.pk: c for c in ExceptionCase.objects.select_related("order")}
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: Counter())

    def dims(c: ExceptionCase) -> list[tuple[str, str]]:
        d = [
            ("total", ""),
            ("source", c.source),
            ("channel", str(c.order.channel_id)),
            ("province", c.order.province),
            ("assignee", str(c.assignee_id or "")),
        ]
        if c.type == "T1":
            d += [("sku", s) for s in dict.fromkeys(f["data"]["sku"] for f in c.findings)]
        return d

    hists: dict[tuple[Any, ...], tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
    for c in cases.values():
        day = c.opened_at.astimezone(SHANGHAI).date()
        for dim, key in dims(c):
            out[(c.merchant_id, day, c.type, dim, key)]["opened"] += 1
    for e in CaseEvent.objects.filter(type__in=["resolved", "reopened", "sla_overdue"]):
        c = cases[e.case_id]
        day = e.occurred_at.astimezone(SHANGHAI).date()
        if e.type == "reopened":
            out[(c.merchant_id, day, c.type, "total", "")]["reopened"] += 1
            continue
        if e.type == "sla_overdue":
            out[(c.merchant_id, day, c.type, "step", e.data["step"])]["overdue"] += 1
            continue
        seconds = int((e.occurred_at - c.opened_at).total_seconds())
        working = DEFAULT_WORKING_TIME.seconds_between(c.opened_at, e.occurred_at)
        for dim, key in dims(c):
            row = out[(c.merchant_id, day, c.type, dim, key)]
            row["closed"] += 1
            row[e.data["outcome"]] += 1
            row["handling_seconds"] += seconds
            row["working_seconds"] += working
        h, w = hists[(c.merchant_id, day, c.type, "total", "")]
        h[str(histogram.bucket(seconds))] += 1
        w[str(histogram.bucket(working))] += 1
    # the warehouse's rows: each merchant's added up
    for key, counts in list(out.items()):
        out[(None, *key[1:])].update(counts)
    for key, (h, w) in list(hists.items()):
        hists.setdefault((None, *key[1:]), (Counter(), Counter()))
        hists[(None, *key[1:])][0].update(h)
        hists[(None, *key[1:])][1].update(w)
    result = {}
    for key, counts in out.items():
        values = {f: counts.get(f, 0) for f in FIELDS}
        values["overdue"] = counts.get("overdue", 0)
        if key[3] == "total":
            h, w = hists.get(key, (Counter(), Counter()))
            values["handling_hist"], values["working_hist"] = dict(h), dict(w)
        result[key] = values
    return result


def _without_step_sums(rows: dict[tuple[Any, ...], dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    # step rows also count the steps closed; compared apart
    return {k: v for k, v in rows.items() if k[3] != "step" or v["overdue"]}


def test_rebuilt_rollups_equal_a_straight_computation_from_cases_and_events():
    history = generate_history()
    assert CaseEvent.objects.filter(type="reopened").count() > 0
    assert CaseEvent.objects.filter(type="sla_overdue").count() > 0

    result = rollup_rebuild()

    assert result.first == history.start.astimezone(SHANGHAI).date()
    assert result.rows == DailyStat.objects.count()
    stored = _stored()
    expected = _straight()
    assert {k: v for k, v in stored.items() if k[3] != "step"} == {
        k: v for k, v in expected.items() if k[3] != "step"
    }
    assert {k: v["overdue"] for k, v in stored.items() if k[3] == "step" and v["overdue"]} == {
        k: v["overdue"] for k, v in expected.items() if k[3] == "step"
    }
    assert RollupState.objects.get().last_event_id == CaseEvent.objects.latest("pk").pk


def test_steps_closed_late_are_the_flagged_steps_and_the_last_step_closed_after_its_deadline():
    generate_history(seed=9)
    rollup_rebuild()

    late: Counter = Counter()
    closed: Counter = Counter()
    for e in CaseEvent.objects.filter(type="resolved", case__type="T2").select_related("case"):
        c = e.case
        day = e.occurred_at.astimezone(SHANGHAI).date()
        flagged = CaseEvent.objects.filter(
            case=c, type="sla_overdue", occurred_at__lte=e.occurred_at
        ).exists()
        closed[(c.merchant_id, day)] += 1
        late[(c.merchant_id, day)] += flagged or e.occurred_at > c.due_at
    rows = DailyStat.objects.filter(
        case_type="T2", dim="step", key="contact_buyer", steps_closed__gt=0, merchant__isnull=False
    )
    assert {(r.merchant_id, r.day): (r.steps_closed, r.steps_late) for r in rows} == {
        k: (closed[k], late[k]) for k in closed
    }


def _straight_step_times() -> dict[tuple[Any, ...], dict[str, Any]]:
    """The time spent in each step the plain way: for each closing, the case's events from its
    last opening or reopening; each step from the event that starts it to the next one or the
    closing; per step summed, in clock and working time, with the histograms."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}

    def row(key: tuple[Any, ...]) -> dict[str, Any]:
        return out.setdefault(
            key,
            {
                "handling_seconds": 0,
                "working_seconds": 0,
                "handling_hist": Counter(),
                "working_hist": Counter(),
            },
        )

    for c in ExceptionCase.objects.all():
        log = list(c.events.order_by("occurred_at", "pk"))
        for i, e in enumerate(log):
            if e.type != "resolved":
                continue
            begun = max(j for j in range(i) if log[j].type in ("opened", "reopened"))
            starts = [x for x in log[begun:i] if x.type in ("opened", "reopened", "step_started")]
            spent: dict[str, tuple[int, int]] = {}
            for here, after in zip(starts, [*starts[1:], e], strict=True):
                seconds = int((after.occurred_at - here.occurred_at).total_seconds())
                working = DEFAULT_WORKING_TIME.seconds_between(here.occurred_at, after.occurred_at)
                was = spent.get(here.data["step"], (0, 0))
                spent[here.data["step"]] = (was[0] + seconds, was[1] + working)
            day = e.occurred_at.astimezone(SHANGHAI).date()
            for step, (seconds, working) in spent.items():
                for merchant in (c.merchant_id, None):
                    r = row((merchant, day, c.type, "step", step))
                    r["handling_seconds"] += seconds
                    r["working_seconds"] += working
                    r["handling_hist"][str(histogram.bucket(seconds))] += 1
                    r["working_hist"][str(histogram.bucket(working))] += 1
    return {
        k: {**v, "handling_hist": dict(v["handling_hist"]), "working_hist": dict(v["working_hist"])}
        for k, v in out.items()
    }


def test_the_time_per_step_equals_a_straight_computation_from_the_events():
    generate_history(seed=11)
    # T1 cases whose merchant was told went through two steps; some cases closed twice
    assert CaseEvent.objects.filter(type="step_started", data__step="merchant_decision").count() > 3
    assert CaseEvent.objects.filter(type="reopened").count() > 0

    rollup_rebuild()

    stored = {
        (r.merchant_id, r.day, r.case_type, r.dim, r.key): {
            "handling_seconds": r.handling_seconds,
            "working_seconds": r.working_seconds,
            "handling_hist": r.handling_hist,
            "working_hist": r.working_hist,
        }
        for r in DailyStat.objects.filter(dim="step")
        if r.handling_hist
    }
    expected = _straight_step_times()
    assert {k[4] for k in expected} >= {"notify_merchant", "merchant_decision", "contact_buyer"}
    assert stored == expected


def test_the_catch_up_counts_new_events_and_running_it_twice_changes_nothing():
    history = generate_history(orders=24, days=2)
    rollup_rebuild()
    before = _stored()
    still_open = ExceptionCase.objects.filter(status="open").order_by("pk").first()
    assert still_open is not None
    agent = actor_for(Membership.objects.get(user__username="gen-agent").user)
    at = history.start + timedelta(days=20)
    case_transition(case_id=still_open.pk, action=ActionName.CANCEL, actor=agent, now=at, note="作废")

    first = rollup_catch_up(now=at)
    once = _stored()
    second = rollup_catch_up(now=at)

    day = at.astimezone(SHANGHAI).date()
    assert first.days == [day - timedelta(days=1), day]
    assert first.last_event_id == CaseEvent.objects.latest("pk").pk
    assert second.days == [day - timedelta(days=1), day]
    assert once == _stored()
    added = {k: v for k, v in once.items() if k not in before}
    total = added[(still_open.merchant_id, day, still_open.type, "total", "")]
    assert (total["closed"], total["cancelled"], total["opened"]) == (1, 1, 0)
    assert {k: v for k, v in once.items() if k in before} == before
    assert once == _straight_without_step_closings()


def _straight_without_step_closings() -> dict[tuple[Any, ...], dict[str, Any]]:
    stored = _stored()
    expected = _straight()
    # the step rows that count only steps closed are checked by the test above
    return {k: v for k, v in expected.items() if k[3] != "step"} | {
        k: v for k, v in stored.items() if k[3] == "step"
    }


def test_the_periodic_task_catches_up_and_records_when_it_ran(settings):
    from orderguard.analysis.tasks import rollup_periodic

    history = generate_history(orders=12, days=1)
    assert DailyStat.objects.count() == 0

    rollup_periodic.call_local()

    state = RollupState.objects.get()
    assert state.last_event_id == CaseEvent.objects.latest("pk").pk
    assert state.ran_at is not None
    opened = DailyStat.objects.filter(merchant__isnull=True, dim="total").values_list("opened", flat=True)
    assert sum(opened) == len(history.cases)


def test_a_closing_after_a_reopening_counts_the_steps_and_flags_of_its_own_stretch_only():
    from datetime import datetime

    from orderguard.analysis.tests.factories import finding
    from orderguard.cases import events
    from orderguard.cases.notices import stockout_notices_enqueue
    from orderguard.cases.services import OrderFindings, cases_triage
    from orderguard.core import bulk
    from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
    from orderguard.sla.services import PolicyBook
    from orderguard.tenancy.tests.factories import user_with_role

    def bj(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)

    channel = ChannelFactory()
    agent = actor_for(user_with_role("operator", username="stretch-op"))
    boss = actor_for(user_with_role("manager", username="stretch-boss"))
    order = OrderFactory(channel=channel)
    cases_triage(
        items=[OrderFindings(order=order, findings=[finding("T1")])],
        now=bj(9, 10),
        actor_label="system:test",
        policies=PolicyBook(),
    )
    case = ExceptionCase.objects.select_related("order__channel").get(order=order)
    # first stretch: told at 10:10, the merchant's decision flagged overdue, closed the next day
    stockout_notices_enqueue(
        cases=[case], warehouse_id=channel.warehouse_id, now=bj(9, 10, 10), actor_label="system:test"
    )
    case.refresh_from_db()
    bulk.insert([events.sla_alerted(case, at=bj(9, 15), level=2, recipients=[], due_at=case.due_at)])
    case_transition(case_id=case.pk, action=ActionName.START, actor=agent, now=bj(10, 9))
    case_transition(
        case_id=case.pk,
        action=ActionName.RESOLVE,
        actor=agent,
        now=bj(10, 9),
        outcome="succeeded",
        note="好了",
    )
    # second stretch: reopened a week later in the first step, closed an hour later
    case_transition(case_id=case.pk, action=ActionName.REOPEN, actor=boss, now=bj(16, 10), note="又缺了")
    case_transition(case_id=case.pk, action=ActionName.START, actor=agent, now=bj(16, 11))
    case_transition(
        case_id=case.pk,
        action=ActionName.RESOLVE,
        actor=agent,
        now=bj(16, 11),
        outcome="succeeded",
        note="好了",
    )

    rollup_rebuild()

    def steps(day: int) -> dict[str, tuple[int, int, int]]:
        return {
            r.key: (r.steps_closed, r.steps_late, sum(r.handling_hist.values()))
            for r in DailyStat.objects.filter(
                merchant_id=case.merchant_id, dim="step", day=bj(day, 0).date(), steps_closed__gt=0
            )
        }

    # the first closing: both steps, the decision late; the second: the first step only, on time
    assert steps(10) == {"notify_merchant": (1, 0, 1), "merchant_decision": (1, 1, 1)}
    assert steps(16) == {"notify_merchant": (1, 0, 1)}
