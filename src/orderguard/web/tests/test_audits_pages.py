"""D4 pages without a browser: the empty state, a day without orders, staff only."""

from __future__ import annotations

import pytest
from django.test import Client

from orderguard.audits.models import DailyAudit
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _client(role: str, merchant=None) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user_with_role(role, merchant=merchant))
    return client


def test_drawing_a_day_without_orders_records_an_empty_audit_and_says_so():
    channel = ChannelFactory()
    manager = _client("manager")
    assert "还没有抽检记录" in manager.get("/audits/").content.decode()

    response = manager.post("/audits/draw", {"warehouse": str(channel.warehouse_id), "day": "2026-11-01"})

    audit = DailyAudit.objects.get()
    assert response["Location"] == f"/audits/{audit.pk}/"
    page = manager.get(response["Location"]).content.decode()
    assert "当天没有订单，已记录抽检 0 笔" in page
    assert "当天没有订单，没有抽检。" in page
    assert (audit.population, audit.drawn) == (0, 0)
    listing = manager.get("/audits/").content.decode()
    assert "当天没有订单" in listing


def test_a_share_outside_0_to_100_is_refused_on_the_page():
    channel = ChannelFactory()
    manager = _client("manager")
    response = manager.post(
        "/audits/plan",
        {"warehouse": str(channel.warehouse_id), "share_percent": "150", "min_count": "1", "max_count": "5"},
        follow=True,
    )
    assert "抽检比例必须在 0 到 100% 之间" in response.content.decode()
    assert not channel.warehouse.__class__.objects.filter(audit_plan__isnull=False).exists()


def test_merchant_users_are_refused_the_audits():
    channel = ChannelFactory()
    shop = _client("merchant", merchant=channel.merchant)
    assert shop.get("/audits/").status_code == 403
    assert shop.post("/audits/draw", {"warehouse": str(channel.warehouse_id)}).status_code == 403
    assert DailyAudit.objects.count() == 0
