"""The merchant portal: a merchant user's dashboard lists the open cases that wait on it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web import views

pytestmark = pytest.mark.django_db


def _awaiting(html: str) -> list[int]:
    section = html.split('id="awaiting"', 1)
    if len(section) < 2:
        return []
    return [int(i) for i in re.findall(r'<tr data-case="(\d+)"', section[1].split("</table>", 1)[0])]


@pytest.fixture
def cases():  # type: ignore[no-untyped-def]
    """A merchant's cases: three that wait on it (a stock-out; two that staff set waiting on the
    merchant), four that do not; one of another merchant."""
    channel = ChannelFactory()

    def make(**kw):  # type: ignore[no-untyped-def]
        return ExceptionCaseFactory(order=OrderFactory(channel=channel), **kw)

    out = {
        "stockout": make(type="T1", step="notify_merchant", due_in=timedelta(hours=1)),
        "unreachable": make(type="T2", status="waiting", waiting_on="merchant", due_in=timedelta(minutes=20)),
        "product": make(type="T3", status="waiting", waiting_on="merchant", due_in=timedelta(hours=3)),
        "calling_buyer": make(type="T2", step="contact_buyer"),
        "waiting_on_buyer": make(type="T2", status="waiting", waiting_on="buyer"),
        "fault": make(type="T4", step="triage"),
        "closed_stockout": make(type="T1", step="notify_merchant", status="resolved"),
        "theirs": ExceptionCaseFactory(type="T1", step="notify_merchant"),
    }
    out["merchant"] = channel.merchant
    return out


def test_a_merchant_sees_the_cases_waiting_on_it_soonest_due_first(client, cases):
    client.force_login(user_with_role("merchant", merchant=cases["merchant"]))

    html = client.get("/").content.decode()

    assert "需要您处理" in html
    assert _awaiting(html) == [cases["unreachable"].pk, cases["stockout"].pk, cases["product"].pk]
    assert "商品缺货：请决定调拨、换货还是退款" in html
    assert "联系不上买家：请提供正确的收货信息" in html
    assert "商品与库存不符：请核对商品资料" in html
    order = cases["stockout"].order
    assert f'<a href="/orders/{order.pk}/">{order.platform_order_id}</a>' in html


def test_the_panels_refresh_keeps_the_section(client, cases):
    client.force_login(user_with_role("merchant", merchant=cases["merchant"]))
    html = client.get("/dashboard/panels").content.decode()
    assert len(_awaiting(html)) == 3


def test_nothing_waiting_says_so_and_what_would_come_here(client):
    client.force_login(user_with_role("merchant", merchant=ChannelFactory().merchant))
    html = client.get("/").content.decode()
    assert 'id="nothing-awaiting"' in html
    assert "目前没有等您处理的异常单。" in html


def test_staff_do_not_get_the_section(client, cases):
    client.force_login(user_with_role("manager"))
    html = client.get("/").content.decode()
    assert ("需要您处理" in html, 'id="awaiting"' in html) == (False, False)


def test_the_merchant_panels_cost_the_same_queries_whatever_the_number_of_cases(
    client, cases, django_assert_num_queries
):
    client.force_login(user_with_role("merchant", merchant=cases["merchant"]))
    client.get("/dashboard/panels")
    # session, user, membership, case counts, alerts, channels, cases waiting on the merchant
    # ... one of them the merchant's open SKU disputes (H3.2)
    with django_assert_num_queries(8):
        assert client.get("/dashboard/panels").status_code == 200


def test_a_long_list_shows_the_soonest_due_and_says_there_are_more(client, monkeypatch):
    monkeypatch.setattr(views, "DASHBOARD_AWAITING_SHOWN", 2)
    channel = ChannelFactory()
    made = [
        ExceptionCaseFactory(order=OrderFactory(channel=channel), type="T1", due_in=timedelta(minutes=m))
        for m in (30, 10, 20)
    ]
    client.force_login(user_with_role("merchant", merchant=channel.merchant))

    html = client.get("/").content.decode()

    assert _awaiting(html) == [made[1].pk, made[2].pk]
    assert "只列出最先到期的 2 张。" in html


def test_a_special_request_waiting_on_the_merchant_asks_it_to_read_the_case(client):
    channel = ChannelFactory()
    ExceptionCaseFactory(
        order=OrderFactory(channel=channel), type="T5", status="waiting", waiting_on="merchant"
    )
    client.force_login(user_with_role("merchant", merchant=channel.merchant))
    html = client.get("/").content.decode()
    assert "请查看异常单并回复仓库" in html and "请核对商品资料" not in html
