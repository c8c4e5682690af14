"""The work queue's lists with closed cases (S3's drill-down): the status, closing-date and
outcome filters, their orders and pages, what a closed row shows, and refused filters."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from orderguard.cases import events
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.selectors import QueueCursor, QueueFilters, QueueOrder, cases_for_queue
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.core import bulk
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web import queue

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")


def bj(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BJ)


def _closed(closed_at: datetime, *, outcome: str = "succeeded", status: str = "", **kw) -> ExceptionCase:  # type: ignore[no-untyped-def]
    """A case closed at `closed_at` (resolved, or cancelled for the outcome "cancelled")."""
    return ExceptionCaseFactory(
        status=status or ("cancelled" if outcome == "cancelled" else "resolved"),
        outcome=outcome,
        opened_at=kw.pop("opened_at", closed_at - timedelta(hours=3)),
        closed_at=closed_at,
        due_at=None,
        warn_at=None,
        sla_next_at=None,
        **kw,
    )


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(i) for i in re.findall(r'<tr data-case="(\d+)"', response.content.decode())]


def _walk(client: Client, url: str) -> list[int]:
    """Every case the list shows, following its next links to the end."""
    seen: list[int] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += _ids(response)
        found = re.search(r'<a href="(\?[^"]+)" rel="next">', response.content.decode())
        url = "/queue/" + found.group(1).replace("&amp;", "&") if found else ""
    return seen


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(user_with_role("operator", username="olga"))
    return client


def test_the_default_queue_still_lists_only_open_cases(staff):
    open_case = ExceptionCaseFactory()
    _closed(bj(20))

    assert _ids(staff.get("/queue/")) == [open_case.pk]


def test_the_closed_list_shows_the_closed_cases_latest_closed_first_with_time_and_outcome(staff):
    ExceptionCaseFactory()
    early = _closed(bj(16, 9), outcome="failed")
    late = _closed(bj(18, 15, 30))
    cancelled = _closed(bj(17), outcome="cancelled")

    response = staff.get("/queue/?status=closed")

    assert _ids(response) == [late.pk, cancelled.pk, early.pk]
    html = response.content.decode()
    assert re.findall(r'<span class="badge outcome (\w+) [^"]*">([^<]+)</span>', html) == [
        ("succeeded", "成功"),
        ("cancelled", "取消"),
        ("failed", "失败"),
    ]
    assert '">2026-11-18 15:30</time>' in html
    assert "<th>关闭时间</th>" in html and "截止时间" not in html
    # no take, no bulk assignment for closed cases
    assert 'name="case_ids"' not in html and "领取" not in html and 'id="bulk-assign"' not in html
    assert 'id="queue-form"' not in html


def test_resolved_and_cancelled_each_list_their_own(staff):
    resolved = _closed(bj(16), outcome="failed")
    cancelled = _closed(bj(17), outcome="cancelled")

    assert _ids(staff.get("/queue/?status=resolved")) == [resolved.pk]
    assert _ids(staff.get("/queue/?status=cancelled")) == [cancelled.pk]


def test_all_lists_open_and_closed_latest_opened_first_with_take_only_on_open_ones(staff):
    older_open = ExceptionCaseFactory(opened_at=bj(15))
    closed = _closed(bj(17), opened_at=bj(16))
    newer_open = ExceptionCaseFactory(opened_at=bj(18))

    response = staff.get("/queue/?status=all")

    assert _ids(response) == [newer_open.pk, closed.pk, older_open.pk]
    html = response.content.decode()
    assert re.findall(r'name="case_ids" value="(\d+)"', html) == [str(newer_open.pk), str(older_open.pk)]
    assert re.findall(r'formaction="/queue/take/(\d+)"', html) == [str(newer_open.pk), str(older_open.pk)]
    assert "<th>截止／关闭时间</th>" in html


def test_the_outcome_filter_lists_closed_cases_of_that_outcome(staff):
    ExceptionCaseFactory()
    failed = _closed(bj(16), outcome="failed")
    _closed(bj(17), outcome="succeeded")

    assert _ids(staff.get("/queue/?outcome=failed")) == [failed.pk]
    assert _ids(staff.get("/queue/?status=all&outcome=failed")) == [failed.pk]
    # an open status with an outcome: no case is both
    assert _ids(staff.get("/queue/?status=open&outcome=failed")) == []


def test_the_closing_dates_are_local_days_both_included(staff, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    before = _closed(bj(15, 23, 59))
    first = _closed(bj(16, 0, 0))
    last = _closed(bj(22, 23, 59))
    after = _closed(bj(23, 0, 0))
    ExceptionCaseFactory()

    week = staff.get("/queue/?closed_from=2026-11-16&closed_to=2026-11-22")
    since = staff.get("/queue/?status=all&closed_from=2026-11-22")
    until = staff.get("/queue/?status=closed&closed_to=2026-11-15")

    assert _ids(week) == [last.pk, first.pk]
    assert _ids(since) == [after.pk, last.pk]
    assert _ids(until) == [before.pk]


def test_the_closed_list_pages_by_closing_time_without_repeating_or_missing_a_case(staff, monkeypatch):
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    # ties on the closing time are ordered by id, highest first
    cases = [_closed(bj(16 + n % 3, 10)) for n in range(7)]
    ExceptionCaseFactory()
    expected = [c.pk for c in sorted(cases, key=lambda c: (c.closed_at, c.pk), reverse=True)]

    seen = _walk(staff, "/queue/?status=closed")

    assert seen == expected
    assert len(set(seen)) == 7


def test_the_all_list_pages_by_opening_time_without_repeating_or_missing_a_case(staff, monkeypatch):
    monkeypatch.setattr(queue, "PAGE_SIZE", 3)
    cases = [ExceptionCaseFactory(opened_at=bj(16 + n % 2)) for n in range(4)]
    cases += [_closed(bj(20), opened_at=bj(16 + n % 2)) for n in range(4)]
    expected = [c.pk for c in sorted(cases, key=lambda c: (c.opened_at, c.pk), reverse=True)]

    assert _walk(staff, "/queue/?status=all") == expected


def test_the_selector_pages_the_closed_order_with_a_cursor_of_that_order():
    cases = [_closed(bj(16, 10)) for _ in range(3)]
    actor = actor_for(user_with_role("operator"))
    filters = QueueFilters(status="closed")

    first, cursor = cases_for_queue(actor=actor, filters=filters, limit=2)
    rest, end = cases_for_queue(actor=actor, filters=filters, after=cursor, limit=2)

    assert cursor == QueueCursor(at=bj(16, 10), pk=cases[1].pk, order=QueueOrder.CLOSED)
    assert [c.pk for c in first + rest] == [cases[2].pk, cases[1].pk, cases[0].pk]
    assert end is None
    with pytest.raises(ValueError):
        cases_for_queue(actor=actor, filters=QueueFilters(), after=cursor, limit=2)


def test_a_merchant_user_sees_only_its_own_closed_cases(staff):
    mine = _closed(bj(16))
    theirs = _closed(bj(17))
    client = Client()
    client.force_login(user_with_role("merchant", merchant=mine.merchant))

    for query in (
        "status=closed",
        "status=all",
        "outcome=succeeded",
        f"status=closed&merchant={theirs.merchant.code}",
    ):
        assert _ids(client.get(f"/queue/?{query}")) == [mine.pk]
    assert _ids(staff.get("/queue/?status=closed")) == [theirs.pk, mine.pk]


def test_an_empty_closed_list_says_so(staff):
    ExceptionCaseFactory()

    html = staff.get("/queue/?status=closed").content.decode()

    assert '<p class="empty" id="queue-empty">没有符合条件的已结异常单。</p>' in html
    assert "<table" not in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=archived", "状态"),
        ("outcome=maybe", "结果"),
        ("closed_from=2026-13-01", "关闭日期从"),
        ("after=x1-2", "分页位置"),
        # a time past what a date holds
        ("after=99999999999999999999-1", "分页位置"),
        ("status=closed&after=o99999999999999999999-1", "分页位置"),
        # a closed list's cursor on the open list, and an open list's on the closed one
        ("after=c1795000000000000-4", "分页位置"),
        ("status=closed&after=1795000000000000-4", "分页位置"),
        ("status=closed&step=nowhere", "经过环节"),
    ],
)
def test_a_bad_filter_or_cursor_is_refused_naming_it(staff, query, field):
    _closed(bj(16))
    ExceptionCaseFactory()

    response = staff.get(f"/queue/?{query}")

    assert response.status_code == 400
    html = response.content.decode()
    assert f"筛选条件无效：{field}。" in html
    assert _ids(response) == []


def test_a_closed_list_runs_a_fixed_number_of_queries(staff, django_assert_max_num_queries):
    for n in range(20):
        _closed(bj(16) + timedelta(minutes=n), assignee=user_with_role("cs_agent"))
    staff.get("/queue/")

    # session, user, membership, channels, merchants, cases, assignees
    with django_assert_max_num_queries(7) as captured:
        response = staff.get("/queue/?status=closed&closed_from=2026-11-16&closed_to=2026-11-22")
    assert len(_ids(response)) == 20
    assert not any("COUNT(" in q["sql"] for q in captured.captured_queries)


def test_a_closed_case_cannot_be_taken_from_a_forged_post(staff):
    case = _closed(bj(16))
    before = CaseEvent.objects.count()

    response = staff.post(f"/queue/take/{case.pk}", {"next": "/queue/?status=closed"})

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.assignee_id, CaseEvent.objects.count()) == (None, before)


def _through(case: ExceptionCase, *steps: str) -> ExceptionCase:
    """`case`'s opening in `steps[0]` and its moves to each later step, as events."""
    case.step = steps[0]
    written = [events.opened(case, at=case.opened_at, actor_label="system:test")]
    for n, step in enumerate(steps[1:], start=1):
        case.step = step
        written.append(
            events.step_started(case, at=case.opened_at + timedelta(minutes=n), actor_label="system:test")
        )
    case.save(update_fields=["step"])
    bulk.insert(written)
    return case


def test_the_step_filter_lists_the_open_or_closed_cases_that_went_through_it(staff):
    waiting = _through(ExceptionCaseFactory(type="T1"), "notify_merchant", "merchant_decision")
    _through(ExceptionCaseFactory(type="T1"), "notify_merchant")
    decided = _through(_closed(bj(17), type="T1"), "notify_merchant", "merchant_decision")
    _through(_closed(bj(18), type="T1"), "notify_merchant")

    open_list = staff.get("/queue/?step=merchant_decision")
    closed_list = staff.get("/queue/?status=closed&step=merchant_decision")

    assert _ids(open_list) == [waiting.pk]
    assert _ids(closed_list) == [decided.pk]
    html = closed_list.content.decode()
    assert '<option value="merchant_decision" selected>等待商家决定</option>' in html
    assert '<label for="id_step">经过环节</label>' in html or "经过环节<select" in html


def test_the_step_select_speaks_the_users_language(staff):
    html = staff.get("/queue/?step=notify_merchant", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    hant = staff.get("/queue/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()

    assert '<option value="notify_merchant" selected>Notify the merchant</option>' in html
    assert "Step gone through" in html
    assert "經過環節" in hant


def test_the_step_filter_is_kept_from_page_to_page(staff, monkeypatch):
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    through = [_through(_closed(bj(16, 10 + n), type="T1"), "notify_merchant", "restock") for n in range(5)]
    for n in range(3):
        _through(_closed(bj(16, 10 + n), type="T1"), "notify_merchant")

    seen = _walk(staff, "/queue/?status=closed&step=restock")

    assert seen == [c.pk for c in reversed(through)]


def test_a_bad_step_is_refused_and_lists_nothing(staff):
    _through(_closed(bj(16), type="T1"), "notify_merchant")
    before = list(CaseEvent.objects.order_by("pk").values_list("pk", flat=True))

    response = staff.get("/queue/?status=closed&type=T1&step=nowhere")

    assert response.status_code == 400
    html = response.content.decode()
    assert "筛选条件无效：经过环节。" in html
    assert _ids(response) == []
    # the refused filters are shown as given, the others kept
    assert '<option value="T1" selected>' in html
    assert list(CaseEvent.objects.order_by("pk").values_list("pk", flat=True)) == before
