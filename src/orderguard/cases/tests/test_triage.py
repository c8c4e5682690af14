"""Triage (S1): one open case per (order, type), deadlines from policy, append-only log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from orderguard.cases.choices import CaseStatus
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.services import OrderFindings, cases_triage
from orderguard.core.choices import DetectionSource, ExceptionType, Severity
from orderguard.core.errors import AppendOnlyViolation
from orderguard.core.findings import Finding
from orderguard.orders.tests.factories import OrderFactory
from orderguard.sla.models import SlaPolicy
from orderguard.sla.services import PolicyBook

pytestmark = pytest.mark.django_db

NO_HOUSE = Finding(code="ADDRESS_NO_ROAD_OR_NUMBER", type=ExceptionType.RECIPIENT_ERROR, field="address")
BAD_PHONE = Finding(
    code="PHONE_BAD_LENGTH", type=ExceptionType.RECIPIENT_ERROR, field="recipient_phone", data={"digits": 10}
)
SHORT = Finding(
    code="STOCK_SHORT",
    type=ExceptionType.OUT_OF_STOCK,
    field="lines[1]",
    source=DetectionSource.STOCK_ALERT,
    data={"sku": "A", "wanted": 2, "free": 0},
)
MASKED = Finding(
    code="PHONE_MASKED",
    type=ExceptionType.RECIPIENT_ERROR,
    field="recipient_phone",
    severity=Severity.WARNING,
)


def _triage(now, *items):  # type: ignore[no-untyped-def]
    return cases_triage(items=list(items), now=now, actor_label="system:test", policies=PolicyBook())


def test_each_type_with_blocking_findings_opens_one_case_due_by_its_policy(channel, now):
    order = OrderFactory(channel=channel)

    result = _triage(now, OrderFindings(order=order, findings=[NO_HOUSE, BAD_PHONE, SHORT, MASKED]))

    cases = {c.type: c for c in ExceptionCase.objects.filter(order=order)}
    assert sorted(cases) == ["T1", "T2"]
    assert [c.pk for c in result.opened] == sorted(c.pk for c in cases.values())
    t1, t2 = cases["T1"], cases["T2"]
    assert (t1.step, t1.due_at, t1.warn_at, t1.source) == (
        "notify_merchant",
        now + timedelta(hours=1),
        now + timedelta(minutes=45),
        "D1",
    )
    assert (t2.step, t2.due_at, t2.source) == ("contact_buyer", now + timedelta(hours=2), "D2")
    assert [f["code"] for f in t2.findings] == ["ADDRESS_NO_ROAD_OR_NUMBER", "PHONE_BAD_LENGTH"]
    assert list(CaseEvent.objects.filter(case=t2).values_list("type", "actor_label", "data")) == [
        (
            "opened",
            "system:test",
            {
                "codes": ["ADDRESS_NO_ROAD_OR_NUMBER", "PHONE_BAD_LENGTH"],
                "source": "D2",
                "step": "contact_buyer",
                "due_at": (now + timedelta(hours=2)).isoformat(),
            },
        )
    ]


def test_a_warning_alone_opens_no_case(channel, now):
    order = OrderFactory(channel=channel)
    result = _triage(now, OrderFindings(order=order, findings=[MASKED]))
    assert result.opened == []
    assert ExceptionCase.objects.count() == 0


def test_deadlines_follow_the_edited_policy(channel, now):
    SlaPolicy.objects.filter(case_type="T2", step="contact_buyer").update(minutes=30, warn_percent=80)
    order = OrderFactory(channel=channel)
    _triage(now, OrderFindings(order=order, findings=[NO_HOUSE]))
    case = ExceptionCase.objects.get()
    assert (case.due_at, case.warn_at) == (now + timedelta(minutes=30), now + timedelta(minutes=24))


def test_the_same_findings_again_change_nothing(channel, now):
    order = OrderFactory(channel=channel)
    _triage(now, OrderFindings(order=order, findings=[NO_HOUSE]))

    result = _triage(now + timedelta(minutes=5), OrderFindings(order=order, findings=[NO_HOUSE]))

    assert (result.opened, result.updated, result.closed) == ([], [], [])
    assert ExceptionCase.objects.count() == 1
    assert list(CaseEvent.objects.values_list("type", flat=True)) == ["opened"]


def test_changed_findings_update_the_open_case_and_keep_its_deadline(channel, now):
    order = OrderFactory(channel=channel)
    _triage(now, OrderFindings(order=order, findings=[NO_HOUSE]))

    _triage(now + timedelta(minutes=5), OrderFindings(order=order, findings=[NO_HOUSE, BAD_PHONE]))

    case = ExceptionCase.objects.get()
    assert [f["code"] for f in case.findings] == ["ADDRESS_NO_ROAD_OR_NUMBER", "PHONE_BAD_LENGTH"]
    assert case.due_at == now + timedelta(hours=2)
    assert list(CaseEvent.objects.values_list("type", "data")) == [
        ("opened", CaseEvent.objects.first().data),
        (
            "findings_changed",
            {
                "before": ["ADDRESS_NO_ROAD_OR_NUMBER"],
                "after": ["ADDRESS_NO_ROAD_OR_NUMBER", "PHONE_BAD_LENGTH"],
            },
        ),
    ]


def test_a_case_whose_findings_went_away_resolves_itself(channel, now):
    order = OrderFactory(channel=channel)
    _triage(now, OrderFindings(order=order, findings=[NO_HOUSE]))

    result = _triage(now + timedelta(minutes=9), OrderFindings(order=order, findings=[]))

    case = ExceptionCase.objects.get()
    assert result.closed == [case]
    assert (case.status, case.outcome, case.resolution, case.closed_at) == (
        "resolved",
        "succeeded",
        "recheck_passed",
        now + timedelta(minutes=9),
    )
    assert list(CaseEvent.objects.values_list("type", flat=True)) == ["opened", "resolved"]


def test_an_order_no_longer_to_ship_cancels_its_automatic_cases_but_not_a_reported_one(channel, now):
    order = OrderFactory(channel=channel)
    _triage(now, OrderFindings(order=order, findings=[NO_HOUSE]))
    reported = ExceptionCase.objects.create(
        merchant=order.merchant, order=order, type="T5", source=DetectionSource.SERVICE_REPORT, opened_at=now
    )

    _triage(now, OrderFindings(order=order, not_ready=True))

    assert dict(ExceptionCase.objects.values_list("type", "status")) == {"T2": "cancelled", "T5": "open"}
    assert ExceptionCase.objects.get(type="T2").outcome == "cancelled"
    reported.refresh_from_db()
    assert reported.closed_at is None


def test_the_database_keeps_one_open_case_per_order_and_type(channel, now):
    order = OrderFactory(channel=channel)
    ExceptionCase.objects.create(merchant=order.merchant, order=order, type="T2", source="D2", opened_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExceptionCase.objects.create(
            merchant=order.merchant, order=order, type="T2", source="D2", opened_at=now
        )
    ExceptionCase.objects.filter(order=order).update(status=CaseStatus.RESOLVED)
    ExceptionCase.objects.create(merchant=order.merchant, order=order, type="T2", source="D2", opened_at=now)
    assert ExceptionCase.objects.filter(order=order, type="T2").count() == 2


def test_case_events_are_append_only(channel, now):
    order = OrderFactory(channel=channel)
    _triage(now, OrderFindings(order=order, findings=[NO_HOUSE]))
    event = CaseEvent.objects.get()

    event.actor_label = "someone else"
    with pytest.raises(AppendOnlyViolation):
        event.save()
    with pytest.raises(AppendOnlyViolation):
        CaseEvent.objects.filter(pk=event.pk).update(actor_label="x")
    with pytest.raises(AppendOnlyViolation):
        event.delete()
    with pytest.raises(AppendOnlyViolation):
        CaseEvent.objects.all().delete()
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE cases_caseevent SET actor_label = 'x'")
    assert list(CaseEvent.objects.values_list("actor_label", flat=True)) == ["system:test"]


def test_a_case_waiting_on_the_merchant_that_closes_itself_waits_on_no_one(channel, now):
    order = OrderFactory(channel=channel)
    _triage(now, OrderFindings(order=order, findings=[NO_HOUSE]))
    ExceptionCase.objects.filter(order=order).update(status=CaseStatus.WAITING, waiting_on="merchant")

    _triage(now + timedelta(minutes=5), OrderFindings(order=order, findings=[]))

    case = ExceptionCase.objects.get(order=order)
    assert (case.status, case.waiting_on, case.outcome, case.closed_at) == (
        "resolved",
        "",
        "succeeded",
        now + timedelta(minutes=5),
    )


def test_triage_never_writes_back_a_case_a_person_closed_meanwhile(channel, now):
    """The import's triage reads the open cases under a row lock; a case closed before it runs is
    not open any more, so a new finding neither reopens it nor undoes its outcome."""
    order = OrderFactory(channel=channel)
    _triage(now, OrderFindings(order=order, findings=[NO_HOUSE]))
    case = ExceptionCase.objects.get(order=order)
    ExceptionCase.objects.filter(pk=case.pk).update(
        status=CaseStatus.RESOLVED, outcome="failed", resolution="买家取消", closed_at=now
    )

    result = _triage(now + timedelta(minutes=5), OrderFindings(order=order, findings=[NO_HOUSE, BAD_PHONE]))

    case.refresh_from_db()
    assert (case.status, case.outcome, case.resolution) == ("resolved", "failed", "买家取消")
    # the new finding opens a new case instead
    assert [c.pk for c in result.opened] == [ExceptionCase.objects.exclude(pk=case.pk).get().pk]
