"""D5 pages: the report form finds the order, lists several to choose from, refuses bad input
with a message and nothing created, and the report says which case it opened or joined."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from orderguard.cases.models import ExceptionCase
from orderguard.feedback.models import ServiceReport
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path
    mine = ChannelFactory(code="mine")
    a = OrderFactory(channel=mine, platform_order_id="TB1", phone_normalised="13800005678")
    b = OrderFactory(channel=mine, platform_order_id="TB2", phone_normalised="13900005678")
    agent = Client()
    agent.force_login(user_with_role("cs_agent"))
    return {"mine": mine, "a": a, "b": b, "agent": agent}


def test_an_ambiguous_phone_tail_lists_the_orders_and_the_chosen_one_gets_the_report(world):
    form = {"phone_tail": "5678", "channel": str(world["mine"].pk), "kind": "product", "text": "尺码发错"}
    listed = world["agent"].post("/feedback/new/", form)

    assert listed.status_code == 422
    assert "找到多个订单，请选择要反馈的订单" in listed.content.decode()
    assert [o.platform_order_id for o in listed.context["candidates"]] == ["TB2", "TB1"]
    assert ServiceReport.objects.count() == 0

    chosen = world["agent"].post("/feedback/new/", {**form, "order": str(world["b"].pk)})
    report = ServiceReport.objects.get()
    assert chosen.status_code == 302 and chosen["Location"] == f"/feedback/{report.pk}/"
    page = world["agent"].get(chosen["Location"]).content.decode()
    assert f"已创建异常单 #{report.case_id}" in page
    assert (report.order_id, report.case.type, report.case.source) == (world["b"].pk, "T3", "D5")

    again = world["agent"].post("/feedback/new/", {**form, "order": str(world["b"].pk), "text": "买家又来电"})
    second = ServiceReport.objects.exclude(pk=report.pk).get()
    assert f"已加入异常单 #{report.case_id}" in world["agent"].get(again["Location"]).content.decode()
    assert (second.case_id, second.case_created, ExceptionCase.objects.count()) == (report.case_id, False, 1)


def test_an_unknown_order_or_a_refused_file_creates_nothing(world):
    unknown = world["agent"].post(
        "/feedback/new/", {"platform_order_id": "NOPE", "kind": "other", "text": "x"}
    )
    bad_file = world["agent"].post(
        "/feedback/new/",
        {
            "platform_order_id": "TB1",
            "kind": "other",
            "text": "x",
            "attachments": SimpleUploadedFile(
                "x.exe", b"MZ\x90\x00", content_type="application/octet-stream"
            ),
        },
    )
    assert (unknown.status_code, unknown.context["error"]) == (404, "找不到该订单，没有提交任何内容")
    assert (bad_file.status_code, bad_file.context["error"]) == (
        422,
        "附件只能是图片（PNG、JPEG、GIF）或 PDF",
    )
    assert (ServiceReport.objects.count(), ExceptionCase.objects.count()) == (0, 0)


def test_a_merchant_user_reporting_on_another_merchants_order_is_told_it_is_not_found(world):
    other = OrderFactory(platform_order_id="JD9")
    shop = Client()
    shop.force_login(user_with_role("merchant", merchant=world["a"].merchant))

    by_id = shop.post("/feedback/new/", {"platform_order_id": "JD9", "kind": "other", "text": "x"})
    forged = shop.post("/feedback/new/", {"order": str(other.pk), "kind": "other", "text": "x"})

    assert (by_id.status_code, forged.status_code) == (404, 404)
    assert forged.context["error"] == "找不到该订单，没有提交任何内容"
    assert ServiceReport.objects.count() == 0


def _file(actor_user, order, kind, text, now):  # type: ignore[no-untyped-def]
    from orderguard.feedback.services import report_file
    from orderguard.tenancy.access import actor_for

    return report_file(
        actor=actor_for(actor_user), order_id=order.pk, kind=kind, special_kind="", text=text, now=now
    )


def test_the_report_list_shows_who_reported_what_and_the_case_and_merchants_see_only_theirs(
    world, django_assert_max_num_queries
):
    from datetime import UTC, datetime

    from orderguard.cases.services import case_transition
    from orderguard.tenancy.access import actor_for

    now = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    theirs = ChannelFactory(code="theirs")
    other = OrderFactory(channel=theirs, platform_order_id="JD9")
    agent = user_with_role("cs_agent", username="xiaomei")
    shop = user_with_role("merchant", merchant=world["mine"].merchant, username="shop")
    first = _file(agent, world["a"], "product", "尺码发错", now)
    joined = _file(shop, world["a"], "product", "买家又来电", now)
    elsewhere = _file(agent, other, "address", "门牌号缺失", now)
    case_transition(
        case_id=elsewhere.case.pk,
        action="resolve",
        actor=actor_for(user_with_role("manager")),
        now=now,
        note="已改地址",
        outcome="succeeded",
    )

    staff = Client()
    staff.force_login(agent)
    with django_assert_max_num_queries(12):
        page = staff.get("/feedback/")
    assert page.status_code == 200
    assert [r.pk for r, _kind, _who in page.context["rows"]] == [
        elsewhere.report.pk,
        joined.report.pk,
        first.report.pk,
    ]
    html = page.content.decode()
    assert f'href="/cases/{first.case.pk}/"' in html and "尺码发错" in html
    assert [who for _r, _kind, who in page.context["rows"]] == ["xiaomei", "shop", "xiaomei"]
    assert [(r.case_id, r.case_created) for r, _k, _w in page.context["rows"]] == [
        (elsewhere.case.pk, True),
        (first.case.pk, False),
        (first.case.pk, True),
    ]
    # filters: the kind, the case's state, the order id, the merchant
    assert [r.pk for r, _k, _w in staff.get("/feedback/?case_state=closed").context["rows"]] == [
        elsewhere.report.pk
    ]
    assert [r.pk for r, _k, _w in staff.get("/feedback/?case_state=open").context["rows"]] == [
        joined.report.pk,
        first.report.pk,
    ]
    assert [r.pk for r, _k, _w in staff.get("/feedback/?kind=address").context["rows"]] == [
        elsewhere.report.pk
    ]
    assert [r.pk for r, _k, _w in staff.get("/feedback/?order_id=jd").context["rows"]] == [
        elsewhere.report.pk
    ]
    mine = staff.get(f"/feedback/?merchant={world['mine'].merchant_id}").context["rows"]
    assert [r.pk for r, _k, _w in mine] == [joined.report.pk, first.report.pk]
    empty = staff.get("/feedback/?order_id=NOPE")
    assert empty.context["rows"] == [] and "没有符合条件的反馈。" in empty.content.decode()

    # a merchant user: its own orders' reports only, the staff reporter by role, no merchant filter
    merchant = Client()
    merchant.force_login(shop)
    seen = merchant.get(f"/feedback/?merchant={theirs.merchant_id}")
    assert [r.pk for r, _k, _w in seen.context["rows"]] == [joined.report.pk, first.report.pk]
    assert [who for _r, _k, who in seen.context["rows"]] == ["商家用户", "客服"]
    assert "xiaomei" not in seen.content.decode() and "JD9" not in seen.content.decode()


def test_the_report_list_is_empty_before_any_report_and_the_nav_links_to_it(world):
    page = world["agent"].get("/feedback/")
    html = page.content.decode()
    assert page.context["rows"] == [] and "还没有客服反馈。" in html
    assert 'href="/feedback/"' in html and 'href="/feedback/new/"' in html
