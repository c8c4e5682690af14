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
