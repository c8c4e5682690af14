"""The dashboard's panels: open cases, stock alerts and channel status, scoped to the user."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.intake.models import ImportBatch
from orderguard.inventory.models import StockAlert
from orderguard.inventory.tests.factories import StockLevelFactory
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _alert(channel, *, sku: str, available: int, safety: int, inbound: int = 0):  # type: ignore[no-untyped-def]
    stock = StockLevelFactory(
        sku__merchant=channel.merchant,
        sku__code=sku,
        warehouse=channel.warehouse,
        on_hand=available,
        safety_stock=safety,
        inbound_quantity=inbound,
        inbound_eta=T0 + timedelta(days=2) if inbound else None,
    )
    return StockAlert.objects.create(
        merchant=channel.merchant, stock=stock, available=available, safety_stock=safety, opened_at=T0
    )


def _batch(channel, *, status: str, rows_failed: int = 0, minutes: int = 0) -> ImportBatch:  # type: ignore[no-untyped-def]
    return ImportBatch.objects.create(
        kind="orders",
        merchant=channel.merchant,
        channel=channel,
        status=status,
        rows_failed=rows_failed,
        started_at=T0 + timedelta(minutes=minutes),
    )


def _rows(html: str, table: str, attr: str) -> list[str]:
    body = re.search(rf'<table id="{table}".*?</table>', html, re.S)
    return re.findall(rf'data-{attr}="([^"]+)"', body.group(0)) if body else []


@pytest.fixture
def two_merchants():  # type: ignore[no-untyped-def]
    mine = ChannelFactory(code="mine", name="我的店")
    theirs = ChannelFactory(code="theirs", name="别家店")
    _alert(mine, sku="MINE-1", available=1, safety=5, inbound=20)
    _alert(theirs, sku="THEIRS-1", available=0, safety=3)
    _batch(mine, status="done", minutes=0)
    _batch(mine, status="done", rows_failed=2, minutes=5)  # the latest decides
    _batch(theirs, status="done", minutes=1)
    return mine, theirs


def test_staff_see_every_merchants_alerts_shortest_first_and_every_channel(client, two_merchants):
    client.force_login(user_with_role("manager"))
    html = client.get("/").content.decode()
    assert _rows(html, "stock-alerts", "sku") == ["THEIRS-1", "MINE-1"]
    # the failing channel first, then the healthy one
    assert _rows(html, "channel-status", "channel") == ["mine", "theirs"]
    assert _rows(html, "channel-status", "state") == ["failed", "ok"]
    assert "2 行有错误" in html


def test_a_merchant_user_sees_only_its_own_alerts_and_channels(client, two_merchants):
    mine, _theirs = two_merchants
    client.force_login(user_with_role("merchant", merchant=mine.merchant))
    for url in ("/", "/dashboard/panels"):
        html = client.get(url).content.decode()
        assert _rows(html, "stock-alerts", "sku") == ["MINE-1"], url
        assert _rows(html, "channel-status", "channel") == ["mine"], url
        assert "THEIRS-1" not in html and "别家店" not in html, url


def test_a_channel_without_orders_and_a_switched_off_one_are_idle(client):
    ChannelFactory(code="new")
    ChannelFactory(code="off", active=False)
    client.force_login(user_with_role("operator"))
    html = client.get("/dashboard/panels").content.decode()
    assert _rows(html, "channel-status", "state") == ["idle", "idle"]
    assert "尚无订单" in html and "已停用" in html


def test_empty_panels_say_so(client):
    client.force_login(user_with_role("operator"))
    html = client.get("/").content.decode()
    assert 'id="no-open-cases"' in html
    assert 'id="no-stock-alerts"' in html
    assert "还没有渠道。" in html


def test_the_panels_fragment_polls_itself_and_carries_the_chart_data(client, settings):
    settings.OG_DASHBOARD_REFRESH_SECONDS = 7
    channel = ChannelFactory()
    ExceptionCaseFactory(order=OrderFactory(channel=channel), due_in=timedelta(minutes=-5))
    client.force_login(user_with_role("cs_agent"))
    page = client.get("/").content.decode()
    assert 'hx-get="/dashboard/panels" hx-trigger="every 7s"' in page
    fragment = client.get("/dashboard/panels")
    html = fragment.content.decode()
    assert "<html" not in html and "no-store" in fragment["Cache-Control"]
    data = json.loads(
        re.search(r'<script id="cases-chart-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert data["overdue"] == [0, 1, 0, 0, 0] and data["on_time"] == [0, 0, 0, 0, 0]


def test_the_panels_cost_the_same_queries_whatever_the_number_of_rows(client, django_assert_num_queries):
    user = user_with_role("manager")
    client.force_login(user)
    for i in range(3):
        channel = ChannelFactory()
        _alert(channel, sku=f"S{i}", available=0, safety=2)
        _batch(channel, status="done")
        ExceptionCaseFactory(order=OrderFactory(channel=channel))
    client.get("/dashboard/panels")  # session and membership warm
    # session, user, membership, case counts, load per person, alerts, channels, failed messages,
    # unhealthy endpoints (the load's user names are one more query once someone holds a case)
    with django_assert_num_queries(9):
        assert client.get("/dashboard/panels").status_code == 200


def test_a_user_without_a_role_gets_no_panels(client):
    client.force_login(UserFactory())
    response = client.get("/dashboard/panels")
    assert response.status_code == 403
    assert "stock-alerts" not in response.content.decode()


def test_the_load_panel_shows_who_holds_what_most_urgent_first(client, two_merchants):
    """S2: open cases per person and deadline state, for managers; unassigned last; agents and
    merchants do not get it."""
    mine, theirs = two_merchants
    ann = user_with_role("cs_agent", username="ann")
    bob = user_with_role("cs_agent", username="bob")
    now = datetime.now(UTC)
    for due, who in ((-5, ann), (30, ann), (600, bob), (600, None)):
        ExceptionCaseFactory(
            order=OrderFactory(channel=mine), assignee=who, opened_at=now, due_in=timedelta(minutes=due)
        )
    paused = ExceptionCaseFactory(order=OrderFactory(channel=theirs), assignee=bob, status="waiting")
    type(paused).objects.filter(pk=paused.pk).update(due_at=None, warn_at=None, sla_paused_at=now)
    client.force_login(user_with_role("manager"))

    html = client.get("/dashboard/panels").content.decode()
    body = re.search(r'<table id="load-by-person".*?</table>', html, re.S).group(0)
    cells = [
        re.findall(r'<td class="num[^"]*">(\d+)</td>', row)
        for row in re.findall(r"<tr data-person=.*?</tr>", body, re.S)
    ]

    assert _rows(html, "load-by-person", "person") == ["ann", "bob", "-"]
    # open, due soon, overdue, paused
    assert cells == [["2", "1", "1", "0"], ["2", "0", "0", "1"], ["1", "0", "0", "0"]]
    for other in (user_with_role("merchant", merchant=mine.merchant), user_with_role("cs_agent")):
        client.force_login(other)
        assert 'id="load-title"' not in client.get("/dashboard/panels").content.decode()
