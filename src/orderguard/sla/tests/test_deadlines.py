"""The deadline engine (S1, S2, B1): deadlines on the warehouse's working time, clocks that
pause while waiting, and the scan that warns, flags overdue and escalates, once per level."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connections

from orderguard.cases.machine import ActionName
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import case_transition
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.notifications.models import OutboxMessage
from orderguard.orders.tests.factories import OrderFactory
from orderguard.sla.models import CalendarDay, SlaPolicy, WorkingCalendar
from orderguard.sla.services import PolicyBook, deadlines_scan
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.models import Membership
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
# Friday 2026-11-20, 10:00 in Shanghai: working time
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SH)


def sh(d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, d, hh, mm, tzinfo=SH)


@pytest.fixture
def people(db):  # type: ignore[no-untyped-def]
    lead = user_with_role("cs_agent", username="lead", email="lead@wh.example")
    ann = user_with_role("cs_agent", username="ann", email="ann@wh.example")
    Membership.objects.filter(user=ann).update(lead=lead)
    boss = user_with_role("manager", username="boss", email="boss@wh.example")
    return {"ann": ann, "lead": lead, "boss": boss}


def _case(**kw):  # type: ignore[no-untyped-def]
    """A T2 case opened at NOW with the engine's own deadline (contact_buyer: two working hours,
    warned at 75%)."""
    case = ExceptionCaseFactory(opened_at=NOW, **kw)
    deadline = PolicyBook().first_deadline(
        case_type="T2", start=NOW, warehouse_id=case.order.channel.warehouse_id
    )
    ExceptionCase.objects.filter(pk=case.pk).update(
        due_at=deadline.due_at, warn_at=deadline.warn_at, sla_next_at=deadline.next_at
    )
    case.refresh_from_db()
    return case


def _sent() -> list[tuple[str, str]]:
    return sorted(OutboxMessage.objects.values_list("recipient", "subject"))


def _alerts(case: ExceptionCase) -> list[tuple[str, int, list[str]]]:
    return [
        (e.type, e.data["level"], e.data["recipients"])
        for e in CaseEvent.objects.filter(case=case, type__in=["sla_warned", "sla_overdue", "escalated"])
    ]


def test_the_first_deadline_counts_working_time_of_the_warehouse_calendar(channel):
    book = PolicyBook()
    # default calendar: 09:00-18:00 on statutory working days
    friday_evening = sh(20, 17)
    assert book.first_deadline(
        case_type="T2", start=friday_evening, warehouse_id=channel.warehouse_id
    ).due_at == sh(23, 10)
    # an outage's triage is round the clock
    assert book.first_deadline(case_type="T4", start=friday_evening).due_at == friday_evening + timedelta(
        minutes=30
    )
    # a warehouse that works every day, 08:00-22:00, with Sunday the 22nd off for a stock-take
    calendar = WorkingCalendar.objects.create(
        warehouse=channel.warehouse,
        name="全周",
        day_starts="08:00",
        day_ends="22:00",
        follows_statutory=False,
        weekdays="1234567",
    )
    CalendarDay.objects.create(calendar=calendar, date="2026-11-22", working=False, note="盘点")
    book = PolicyBook()
    deadline = book.first_deadline(case_type="T2", start=sh(21, 21), warehouse_id=channel.warehouse_id)
    assert (deadline.due_at, deadline.warn_at) == (sh(23, 9), sh(23, 8, 30))


def test_the_scan_warns_flags_overdue_and_escalates_once_per_level(people):
    case = _case(assignee=people["ann"])
    assert (case.due_at, case.warn_at) == (sh(20, 12), sh(20, 11, 30))

    assert deadlines_scan(now=sh(20, 11, 29)).cases == 0
    warned = deadlines_scan(now=sh(20, 11, 30))
    again = deadlines_scan(now=sh(20, 11, 31))
    assert (dict(warned.alerted), warned.messages, again.cases) == ({1: 1}, 1, 0)
    deadlines_scan(now=sh(20, 12))  # overdue: the owner again
    deadlines_scan(now=sh(20, 13))  # an hour later: her team lead
    deadlines_scan(now=sh(20, 14))  # another hour: the managers
    deadlines_scan(now=sh(21, 14))  # nothing after the last level

    assert _alerts(case) == [
        ("sla_warned", 1, ["ann"]),
        ("sla_overdue", 2, ["ann"]),
        ("escalated", 3, ["lead"]),
        ("escalated", 4, ["boss"]),
    ]
    case.refresh_from_db()
    assert (case.sla_level, case.sla_next_at) == (4, None)
    assert [r for r, _s in _sent()] == [
        "ann@wh.example",
        "ann@wh.example",
        "boss@wh.example",
        "lead@wh.example",
    ]
    assert all(f"#{case.pk}" in subject for _r, subject in _sent())


def test_an_unowned_case_goes_to_the_managers_and_a_late_scan_sends_only_the_level_reached(people):
    case = _case()

    result = deadlines_scan(now=sh(20, 14, 5))  # the worker was down past two escalation steps

    assert dict(result.alerted) == {4: 1}
    assert _alerts(case) == [("escalated", 4, ["boss"])]
    assert _sent() == [("boss@wh.example", OutboxMessage.objects.get().subject)]


def test_waiting_on_the_buyer_pauses_the_clock_and_resuming_gives_back_the_time_left(people):
    ann = actor_for(people["ann"])
    case = _case(assignee=people["ann"])

    case_transition(case_id=case.pk, action=ActionName.WAIT_BUYER, actor=ann, now=sh(20, 11), note="已发短信")
    case.refresh_from_db()
    assert (case.due_at, case.sla_next_at, case.sla_remaining_seconds) == (None, None, 3600)
    assert deadlines_scan(now=sh(23, 17)).cases == 0  # paused: no alert however late

    # the buyer answers on Monday at 17:30: half an hour today, half an hour on Tuesday
    case_transition(case_id=case.pk, action=ActionName.RESUME, actor=ann, now=sh(23, 17, 30))
    case.refresh_from_db()
    assert (case.due_at, case.warn_at, case.sla_next_at) == (
        sh(24, 9, 30),
        sh(23, 18) - timedelta(0),
        sh(23, 18),
    )
    assert [e.data.get("clock") for e in CaseEvent.objects.filter(case=case, type="status_changed")] == [
        "paused",
        "resumed",
    ]


def test_a_policy_that_does_not_pause_keeps_the_clock_running(people):
    SlaPolicy.objects.filter(case_type="T2", step="contact_buyer").update(pause_while_waiting=False)
    case = _case(assignee=people["ann"])

    case_transition(
        case_id=case.pk, action=ActionName.WAIT_BUYER, actor=actor_for(people["ann"]), now=sh(20, 11)
    )

    case.refresh_from_db()
    assert (case.due_at, case.sla_paused_at) == (sh(20, 12), None)
    assert dict(deadlines_scan(now=sh(20, 12)).alerted) == {2: 1}


def test_a_closed_case_has_no_alerts_to_come(people):
    case = _case(assignee=people["ann"])

    case_transition(
        case_id=case.pk,
        action=ActionName.RESOLVE,
        actor=actor_for(people["ann"]),
        now=sh(20, 11),
        outcome="succeeded",
        note="已改好",
    )

    case.refresh_from_db()
    assert case.sla_next_at is None
    assert deadlines_scan(now=sh(21, 11)).cases == 0
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_send_each_level_once(people):
    for _ in range(40):
        _case(assignee=people["ann"])
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            deadlines_scan(now=sh(20, 12), limit=7)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert [t.is_alive() for t in threads] == [False, False]
    assert failures == []
    # each case went straight to overdue once: one event, one message
    assert CaseEvent.objects.filter(type="sla_overdue").count() == 40
    assert CaseEvent.objects.filter(type="sla_warned").count() == 0
    assert OutboxMessage.objects.count() == 40
    assert set(ExceptionCase.objects.values_list("sla_level", flat=True)) == {2}


def test_triage_opens_a_case_with_its_first_alert_due(channel):
    from orderguard.cases.services import OrderFindings, cases_triage
    from orderguard.core.choices import ExceptionType, Severity
    from orderguard.core.findings import Finding

    order = OrderFactory(channel=channel)
    finding = Finding(
        code="ADDRESS_NO_ROAD_OR_NUMBER",
        type=ExceptionType.RECIPIENT_ERROR,
        field="address",
        severity=Severity.BLOCKING,
    )
    cases_triage(
        items=[OrderFindings(order=order, findings=[finding])],
        now=NOW,
        actor_label="test",
        policies=PolicyBook(),
    )

    case = ExceptionCase.objects.get()
    assert (case.sla_level, case.sla_next_at, case.warn_at, case.due_at) == (
        0,
        sh(20, 11, 30),
        sh(20, 11, 30),
        sh(20, 12),
    )


def test_the_case_page_and_the_queue_show_a_paused_clock(people, client):
    case = _case(assignee=people["ann"])
    case_transition(
        case_id=case.pk,
        action=ActionName.WAIT_BUYER,
        actor=actor_for(people["ann"]),
        now=sh(20, 11),
        note="已发短信",
    )
    client.force_login(people["ann"])

    page = client.get(f"/cases/{case.pk}/").content.decode()
    queue = client.get("/queue/").content.decode()

    assert 'id="clock-paused"' in page and "剩余 1:00" in page
    assert "badge paused" in queue


def test_reminders_also_ring_the_bell_when_the_inbox_is_on(people):
    """S2: with the in-app inbox switched on, each reminder is also an item under the bell,
    rendered from the topic's template and linking to the case."""
    from orderguard.notifications.models import InboxItem, NotificationChannel
    from orderguard.notifications.services import outbox_dispatch

    NotificationChannel.objects.create(kind="inbox", name="站内消息")
    case = _case(assignee=people["ann"])

    deadlines_scan(now=sh(20, 12))
    outbox_dispatch(now=sh(20, 12))

    item = InboxItem.objects.get(user=people["ann"])
    assert (item.title, item.link) == (f"【已超时】异常单 #{case.pk}", f"/cases/{case.pk}/")
    assert OutboxMessage.objects.filter(recipient="ann@wh.example", subject=item.title).count() == 1
