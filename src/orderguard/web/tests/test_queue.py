"""The work queue page without a browser: order, scope, filters, pages, take and assign."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory, OrderLineFactory
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web import queue

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(i) for i in re.findall(r'<tr data-case="(\d+)"', response.content.decode())]


def test_the_queue_sends_a_stranger_to_the_sign_in_page(client):
    response = client.get("/queue/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/queue/")


def test_the_queue_lists_open_cases_soonest_due_first_and_is_not_cached(client):
    later = ExceptionCaseFactory(due_in=timedelta(hours=5))
    overdue = ExceptionCaseFactory(due_in=timedelta(minutes=-10))
    soon = ExceptionCaseFactory(due_in=timedelta(minutes=30))
    ExceptionCaseFactory(status="resolved", due_in=timedelta(hours=-9))
    client.force_login(user_with_role("operator"))

    response = client.get("/queue/")

    assert _ids(response) == [overdue.pk, soon.pk, later.pk]
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert re.findall(r'<span class="badge (\w+)">([^<]+)</span>', html) == [
        ("overdue", "已超时"),
        ("due_soon", "即将到期"),
        ("on_time", "按时"),
    ]


def test_the_deadline_is_shown_in_shanghai_time(client, settings):
    settings.TIME_ZONE = "UTC"
    case = ExceptionCaseFactory()
    ExceptionCase.objects.filter(pk=case.pk).update(due_at="2026-11-25T02:30:00Z")
    client.force_login(user_with_role("operator"))

    assert '">2026-11-25 10:30</time>' in client.get("/queue/").content.decode()


def test_a_merchant_user_sees_only_its_cases_and_no_take_or_assign(client):
    mine = ExceptionCaseFactory()
    ExceptionCaseFactory()
    client.force_login(user_with_role("merchant", merchant=mine.merchant))

    response = client.get("/queue/?merchant=" + ExceptionCase.objects.exclude(pk=mine.pk).get().merchant.code)

    assert _ids(response) == [mine.pk]
    html = response.content.decode()
    assert ("领取" in html, 'name="case_ids"' in html, "queue/assign" in html) == (False, False, False)


def test_a_merchant_user_reads_roles_not_staff_usernames(client):
    ann = user_with_role("cs_agent", username="ann")
    channel = ChannelFactory()
    taken = ExceptionCaseFactory(order=OrderFactory(channel=channel), assignee=ann)
    free = ExceptionCaseFactory(order=OrderFactory(channel=channel))
    merchant = user_with_role("merchant", merchant=channel.merchant)

    client.force_login(merchant)
    html = client.get("/queue/").content.decode()
    assert re.findall(r'<td class="assignee">([^<]*)</td>', html) == ["客服", "未指派"]
    assert ">ann<" not in html
    # a username in the filter tells a merchant user nothing: the filter is ignored
    assert _ids(client.get("/queue/?assignee=ann")) == [taken.pk, free.pk]
    assert _ids(client.get("/queue/?assignee=none")) == [free.pk]

    client.force_login(ann)
    html = client.get("/queue/").content.decode()
    assert re.findall(r'<td class="assignee">([^<]*)</td>', html) == ["ann", "未指派"]


def test_the_empty_queue_says_so(client):
    client.force_login(user_with_role("operator"))
    assert "没有符合条件的未结异常单。" in client.get("/queue/").content.decode()


def test_the_queue_filters_by_assignee_type_channel_and_source(client):
    ann = user_with_role("cs_agent", username="ann")
    bob = user_with_role("operator", username="bob")
    channel = ChannelFactory(code="tm1")
    mine = ExceptionCaseFactory(assignee=ann)
    bobs = ExceptionCaseFactory(assignee=bob, type="T3", source="D4")
    nobody = ExceptionCaseFactory(order=OrderFactory(channel=channel))
    client.force_login(ann)

    assert _ids(client.get("/queue/?assignee=me")) == [mine.pk]
    assert _ids(client.get("/queue/?assignee=none")) == [nobody.pk]
    assert _ids(client.get("/queue/?assignee=bob")) == [bobs.pk]
    assert _ids(client.get("/queue/?type=T3")) == [bobs.pk]
    assert _ids(client.get("/queue/?source=D4")) == [bobs.pk]
    assert _ids(client.get("/queue/?channel=tm1")) == [nobody.pk]
    assert _ids(client.get(f"/queue/?merchant={channel.merchant.code}")) == [nobody.pk]


def test_the_queue_filters_by_platform_province_and_sku_with_the_type(client):
    jd = ChannelFactory(platform="jd")
    zj_jd = ExceptionCaseFactory(order=OrderFactory(channel=jd, province="浙江省"))
    # two lines of the same SKU: the case is listed once
    t1 = ExceptionCaseFactory(type="T1", order=OrderFactory(channel=jd, province="广东省"))
    OrderLineFactory(order=t1.order, sku_code="SKU-X")
    OrderLineFactory(order=t1.order, sku_code="SKU-X")
    t2 = ExceptionCaseFactory(
        order=OrderFactory(channel=ChannelFactory(platform="taobao"), province="广东省")
    )
    OrderLineFactory(order=t2.order, sku_code="SKU-X")
    OrderLineFactory(order=zj_jd.order, sku_code="SKU-Y")
    client.force_login(user_with_role("operator"))

    assert sorted(_ids(client.get("/queue/?platform=jd"))) == sorted([zj_jd.pk, t1.pk])
    assert _ids(client.get("/queue/?platform=taobao")) == [t2.pk]
    assert sorted(_ids(client.get("/queue/?province=广东省"))) == sorted([t1.pk, t2.pk])
    assert sorted(_ids(client.get("/queue/?sku=SKU-X"))) == sorted([t1.pk, t2.pk])
    assert _ids(client.get("/queue/?sku=SKU-X&type=T1")) == [t1.pk]
    assert _ids(client.get("/queue/?platform=jd&province=广东省")) == [t1.pk]
    assert _ids(client.get("/queue/?province=广东省&type=T2")) == [t2.pk]


def test_an_unknown_province_or_sku_gives_the_empty_queue(client):
    case = ExceptionCaseFactory(order=OrderFactory(province="浙江省"))
    OrderLineFactory(order=case.order, sku_code="SKU-X")
    client.force_login(user_with_role("operator"))

    for query in ("province=火星", "sku=NOPE", "province=浙江", "sku=sku-x"):
        response = client.get(f"/queue/?{query}")
        assert response.status_code == 200
        assert _ids(response) == []
        assert "没有符合条件的未结异常单。" in response.content.decode()


def test_a_merchant_user_filtering_by_platform_province_or_sku_sees_only_its_cases(client):
    channel = ChannelFactory(platform="jd")
    mine = ExceptionCaseFactory(order=OrderFactory(channel=channel, province="广东省"))
    theirs = ExceptionCaseFactory(
        order=OrderFactory(channel=ChannelFactory(platform="jd"), province="广东省")
    )
    for case in (mine, theirs):
        OrderLineFactory(order=case.order, sku_code="SKU-X")
    client.force_login(user_with_role("merchant", merchant=channel.merchant))

    for query in ("platform=jd", "province=广东省", "sku=SKU-X"):
        assert _ids(client.get(f"/queue/?{query}&merchant={theirs.merchant.code}")) == [mine.pk]


def test_the_new_filters_keep_the_query_count_and_the_next_page(
    client, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    channel = ChannelFactory(platform="jd")
    cases = [
        ExceptionCaseFactory(
            due_in=timedelta(minutes=m), order=OrderFactory(channel=channel, province="广东省")
        )
        for m in (30, 10, 20)
    ]
    for case in cases:
        OrderLineFactory(order=case.order, sku_code="SKU-X")
    ExceptionCaseFactory(order=OrderFactory(channel=channel, province="浙江省"))
    client.force_login(user_with_role("operator"))

    with django_assert_max_num_queries(7):
        first = client.get("/queue/?platform=jd&province=广东省&sku=SKU-X")
    found = re.search(r'<a href="(\?[^"]+)" rel="next">', first.content.decode())
    assert found is not None
    second = client.get("/queue/" + found.group(1).replace("&amp;", "&"))

    assert _ids(first) + _ids(second) == [cases[1].pk, cases[2].pk, cases[0].pk]


def test_the_queue_pages_with_next_links_and_no_count(client, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    cases = [ExceptionCaseFactory(due_in=timedelta(minutes=m)) for m in (30, 10, 20, 10, 40)]
    ExceptionCase.objects.filter(pk=cases[4].pk).update(due_at=None)
    client.force_login(user_with_role("operator"))
    expected = [cases[1].pk, cases[3].pk, cases[2].pk, cases[0].pk, cases[4].pk]

    seen, url = [], "/queue/?type=T2"
    while url:
        response = client.get(url)
        seen += _ids(response)
        found = re.search(r'<a href="(\?[^"]+)" rel="next">', response.content.decode())
        url = "/queue/" + found.group(1).replace("&amp;", "&") if found else ""

    assert seen == expected
    with django_assert_max_num_queries(8) as captured:
        client.get("/queue/")
    assert not any("COUNT(" in q["sql"] for q in captured.captured_queries)


def test_the_queue_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    staff = [user_with_role("cs_agent") for _ in range(3)]
    for n in range(30):
        ExceptionCaseFactory(assignee=staff[n % 3], order=OrderFactory(channel=ChannelFactory()))
    client.force_login(staff[0])

    # session, user, membership, channels, merchants, cases, assignees
    with django_assert_max_num_queries(7):
        response = client.get("/queue/")
    assert len(_ids(response)) == 30


def test_taking_from_the_page_assigns_and_comes_back_with_a_message(client):
    ann = user_with_role("cs_agent", username="ann")
    case = ExceptionCaseFactory()
    client.force_login(ann)

    response = client.post(f"/queue/take/{case.pk}", {"next": "/queue/?type=T2"}, follow=True)

    assert response.redirect_chain == [("/queue/?type=T2", 302)]
    assert f"已领取异常单 {case.pk}" in response.content.decode()
    assert ExceptionCase.objects.get(pk=case.pk).assignee_id == ann.pk
    assert list(CaseEvent.objects.values_list("type", flat=True)) == ["assigned"]


def test_the_page_never_redirects_elsewhere(client):
    client.force_login(user_with_role("cs_agent"))
    case = ExceptionCaseFactory()

    response = client.post(f"/queue/take/{case.pk}", {"next": "https://evil.example/queue/"})

    assert response["Location"] == "/queue/"


def test_bulk_assigning_from_the_page(client):
    boss = user_with_role("manager", username="boss")
    bob = user_with_role("operator", username="bob")
    a, b, c = ExceptionCaseFactory(), ExceptionCaseFactory(), ExceptionCaseFactory()
    client.force_login(boss)

    response = client.post("/queue/assign", {"case_ids": [a.pk, c.pk], "assignee": bob.pk}, follow=True)

    assert "已将 2 张异常单指派给 bob" in response.content.decode()
    assert dict(ExceptionCase.objects.values_list("pk", "assignee_id")) == {
        a.pk: bob.pk,
        b.pk: None,
        c.pk: bob.pk,
    }


def test_a_refused_bulk_assignment_says_which_cases_and_changes_nothing(client):
    client.force_login(user_with_role("manager"))
    bob = user_with_role("operator", username="bob")
    a, closed = ExceptionCaseFactory(), ExceptionCaseFactory(status="resolved")

    response = client.post("/queue/assign", {"case_ids": [a.pk, closed.pk], "assignee": bob.pk}, follow=True)

    assert f"异常单已关闭：{closed.pk}" in response.content.decode()
    assert list(ExceptionCase.objects.values_list("assignee_id", flat=True)) == [None, None]
    assert CaseEvent.objects.count() == 0


def test_a_merchant_user_cannot_take_from_the_page(client):
    case = ExceptionCaseFactory()
    client.force_login(user_with_role("merchant", merchant=case.merchant))

    response = client.post(f"/queue/take/{case.pk}")

    assert response.status_code == 403
    assert "只有仓库员工可以处理异常单" in response.content.decode()
    assert (ExceptionCase.objects.get(pk=case.pk).assignee_id, CaseEvent.objects.count()) == (None, 0)


def test_a_page_post_without_the_csrf_token_is_refused_and_changes_nothing():
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("cs_agent"))
    case = ExceptionCaseFactory()

    response = client.post(f"/queue/take/{case.pk}")

    assert response.status_code == 403
    assert (ExceptionCase.objects.get(pk=case.pk).assignee_id, CaseEvent.objects.count()) == (None, 0)


def test_the_queue_forms_carry_the_csrf_token(client):
    client.force_login(user_with_role("cs_agent"))
    ExceptionCaseFactory()

    html = client.get("/queue/").content.decode()

    assert re.search(
        r'<form method="post" action="/queue/assign" id="queue-form">\s*<input type="hidden" name="csrfmiddlewaretoken"',
        html,
    )


def test_the_dashboard_links_to_the_queue(client):
    client.force_login(user_with_role("cs_agent"))
    html = client.get("/").content.decode()
    assert re.search(r'<a class="nav-link" href="/queue/" accesskey="q">工作队列</a>', html)
