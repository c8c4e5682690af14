"""The queue and the dashboard counts in the shapes that stay fast at a million cases: checked
against a straight count and a straight sort of the same generated cases."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.contrib.auth.models import User
from django.db import models

from orderguard.bench import generate_cases
from orderguard.cases.choices import OPEN_STATUSES
from orderguard.cases.models import OPEN_STATUS_VALUES, ExceptionCase
from orderguard.cases.selectors import QueueCursor, QueueFilters, case_counts, cases_for_queue
from orderguard.core.choices import ExceptionType
from orderguard.tenancy.access import Actor, actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated() -> dict[str, Actor]:
    generate_cases(600, analyze=False)
    # a few more cases without a deadline, so that pages cross from dated to undated ones
    ExceptionCase.objects.filter(status__in=OPEN_STATUSES).filter(pk__in=_every_ninth_open()).update(
        due_at=None, warn_at=None
    )
    return {
        "staff": actor_for(User.objects.get(username="bench-staff-0")),
        "merchant": actor_for(User.objects.get(username="bench-merchant")),
    }


def _every_ninth_open() -> list[int]:
    ids = ExceptionCase.objects.filter(status__in=OPEN_STATUSES).order_by("pk").values_list("pk", flat=True)
    return list(ids)[::9]


def _straight_counts(actor: Actor, now: datetime) -> dict[str, tuple[int, int, int, int]]:
    """(on time, due soon, overdue, total) per type, counted case by case in Python."""
    out = {t: [0, 0, 0, 0] for t in ExceptionType.values}
    for c in ExceptionCase.objects.all():
        if c.status not in OPEN_STATUSES or (actor.merchant_id and c.merchant_id != actor.merchant_id):
            continue
        row = out[c.type]
        if c.due_at is not None and c.due_at < now:
            row[2] += 1
        elif c.due_at is not None and c.warn_at is not None and c.warn_at <= now:
            row[1] += 1
        else:
            row[0] += 1
        row[3] += 1
    return {t: (r[0], r[1], r[2], r[3]) for t, r in out.items()}


def _straight_queue(actor: Actor, keep: object = None) -> list[int]:
    cases = [
        c
        for c in ExceptionCase.objects.select_related("order__channel", "assignee")
        if c.status in OPEN_STATUSES
        and (actor.merchant_id is None or c.merchant_id == actor.merchant_id)
        and (keep is None or keep(c))  # type: ignore[operator]
    ]
    dated = sorted((c for c in cases if c.due_at is not None), key=lambda c: (c.due_at, c.pk))
    return [c.pk for c in dated] + sorted(c.pk for c in cases if c.due_at is None)


def _walk(actor: Actor, filters: QueueFilters, limit: int) -> list[int]:
    seen: list[int] = []
    after: QueueCursor | None = None
    while True:
        page, after = cases_for_queue(actor=actor, filters=filters, after=after, limit=limit)
        seen += [c.pk for c in page]
        if after is None:
            return seen


def test_the_partial_indexes_are_over_exactly_the_open_statuses():
    assert tuple(sorted(OPEN_STATUSES)) == OPEN_STATUS_VALUES
    partial = [i for i in ExceptionCase._meta.indexes if i.condition is not None]
    assert [i.name for i in partial] == [
        "case_open_due_idx",
        "case_open_merchant_due_idx",
        "case_open_assignee_due_idx",
        "case_open_counts_idx",
        "case_open_person_counts_idx",
        "case_open_contact_auto_idx",
        "case_open_sla_next_idx",
        "case_closed_idx",
        "case_closed_merchant_idx",
        "case_closed_outcome_idx",
    ]
    open_case = models.Q(status__in=OPEN_STATUS_VALUES)
    assert all(i.condition == open_case for i in partial[:5])
    assert partial[5].condition == open_case & models.Q(contact_auto_at__isnull=False)
    assert partial[6].condition == open_case & models.Q(sla_next_at__isnull=False)
    # the closed lists filter on `closed_at IS NOT NULL` as written (`_queue_filtered`)
    assert all(i.condition == models.Q(closed_at__isnull=False) for i in partial[7:])


def test_in_literals_writes_the_values_into_the_sql_and_refuses_anything_else():
    sql = str(ExceptionCase.objects.filter(status__in_literals=OPEN_STATUS_VALUES).query)
    assert "\"status\" IN ('in_progress', 'open', 'waiting')" in sql

    with pytest.raises(ValueError):
        str(ExceptionCase.objects.filter(status__in_literals=["open", "x') OR 1=1 --"]).query)
    assert ExceptionCase.objects.filter(status__in_literals=["resolved"]).count() == 0


def test_the_dashboard_counts_equal_a_straight_count_for_staff_and_merchant(
    generated, django_assert_num_queries
):
    now = ExceptionCase.objects.filter(status="open").order_by("due_at").values_list("due_at", flat=True)[40]
    for actor in generated.values():
        with django_assert_num_queries(1):
            counts = case_counts(actor=actor, now=now)

        got = {r["type"]: (r["on_time"], r["due_soon"], r["overdue"], r["total"]) for r in counts["rows"]}
        assert got == _straight_counts(actor, now)
        assert counts["total"] == sum(v[3] for v in got.values())
    assert counts["total"] < case_counts(actor=generated["staff"], now=now)["total"]


def test_the_dashboard_counts_follow_cases_opening_changing_and_closing(generated):
    staff = generated["staff"]
    now = ExceptionCase.objects.filter(status="open").order_by("due_at").values_list("due_at", flat=True)[40]
    closing = ExceptionCase.objects.filter(status="open").exclude(due_at=None).order_by("pk").first()
    assert closing is not None
    ExceptionCase.objects.filter(pk=closing.pk).update(status="resolved")
    reopening = ExceptionCase.objects.filter(status="cancelled").order_by("pk").first()
    assert reopening is not None
    ExceptionCase.objects.filter(pk=reopening.pk).update(status="waiting", due_at=now, warn_at=now)
    changing = (
        ExceptionCase.objects.filter(status="in_progress", type="T1")
        .annotate(n=models.Count("order__cases"))
        .filter(n=1)
        .first()
    )
    assert changing is not None
    ExceptionCase.objects.filter(pk=changing.pk).update(type="T4")

    counts = case_counts(actor=staff, now=now)

    got = {r["type"]: (r["on_time"], r["due_soon"], r["overdue"], r["total"]) for r in counts["rows"]}
    assert got == _straight_counts(staff, now)


@pytest.mark.parametrize(
    ("who", "filters", "keep"),
    [
        ("staff", QueueFilters(), None),
        ("staff", QueueFilters(case_type="T3"), lambda c: c.type == "T3"),
        ("staff", QueueFilters(channel_code="bm-a-jd"), lambda c: c.order.channel.code == "bm-a-jd"),
        ("staff", QueueFilters(merchant_code="bm-b"), lambda c: c.merchant.code == "bm-b"),
        (
            "staff",
            QueueFilters(assignee="bench-staff-3"),
            lambda c: c.assignee_id and c.assignee.username == "bench-staff-3",
        ),
        ("staff", QueueFilters(assignee="none"), lambda c: c.assignee_id is None),
        ("staff", QueueFilters(status="waiting"), lambda c: c.status == "waiting"),
        ("merchant", QueueFilters(), None),
        ("merchant", QueueFilters(merchant_code="bm-b"), None),
    ],
)
def test_walking_the_queue_page_by_page_gives_every_open_case_once_in_order(generated, who, filters, keep):
    actor = generated[who]

    assert _walk(actor, filters, limit=17) == _straight_queue(actor, keep)


def test_walking_the_queue_as_me_gives_my_cases(generated):
    staff = generated["staff"]

    walked = _walk(staff, QueueFilters(assignee="me"), limit=2)

    assert walked == _straight_queue(staff, lambda c: c.assignee_id == staff.user_id)
    assert len(walked) > 2


def test_a_queue_page_is_one_query_and_two_where_the_dated_cases_end(generated, django_assert_num_queries):
    staff = generated["staff"]
    expected = _straight_queue(staff)
    last_dated = (
        ExceptionCase.objects.filter(status__in=OPEN_STATUSES)
        .exclude(due_at=None)
        .order_by("-due_at", "-pk")[0]
    )
    boundary = QueueCursor(at=last_dated.due_at, pk=last_dated.pk)
    before = expected.index(last_dated.pk)

    with django_assert_num_queries(1):
        cases_for_queue(actor=staff, filters=QueueFilters(), limit=20)
    with django_assert_num_queries(1):
        cases_for_queue(actor=staff, filters=QueueFilters(), after=QueueCursor(at=None, pk=0), limit=20)
    with django_assert_num_queries(2):
        page, _next = cases_for_queue(actor=staff, filters=QueueFilters(), after=boundary, limit=5)

    assert [c.pk for c in page] == expected[before + 1 : before + 6]
