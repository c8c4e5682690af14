"""The orders pages without a browser: scope, search kept out of URLs, pages, one order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.orders.models import OrderEvent, OrderLine
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.tests.factories import UserFactory, user_with_role
from orderguard.web import orders as orders_view

pytestmark = pytest.mark.django_db
PAID = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PHONE_FINDING = {
    "code": "PHONE_BAD_LENGTH",
    "type": "T2",
    "field": "recipient_phone",
    "severity": "blocking",
    "source": "D2",
    "data": {"digits": 10},
}


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(i) for i in re.findall(r'<tr data-order="(\d+)"', response.content.decode())]


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    """A merchant's order with a full recipient, a line, a finding; and another merchant's."""
    channel = ChannelFactory(code="shop-a", name="甲店")
    order = OrderFactory(
        channel=channel,
        platform_order_id="TB1001",
        recipient_name="张三丰",
        recipient_phone="13800138000",
        phone_normalised="13800138000",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address_detail="文三路90号501室",
        status="on_hold",
        findings=[PHONE_FINDING],
        paid_at=PAID,
    )
    OrderLine.objects.create(
        order=order, line_no=1, sku_code="SKU-1", title="T恤", quantity=2, allocated_quantity=1
    )
    other = OrderFactory(
        channel=ChannelFactory(code="shop-b"),
        platform_order_id="TB1002",
        recipient_name="张三丰",
        phone_normalised="13900138000",
        paid_at=PAID,
    )
    return {"order": order, "other": other, "merchant": channel.merchant}


def _search(client, q: str, **filters: str):  # type: ignore[no-untyped-def]
    return client.post("/orders/", {"q": q, **filters})


def test_the_orders_page_sends_a_stranger_to_the_sign_in_page(client):
    response = client.get("/orders/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/orders/")


def test_a_merchant_user_lists_only_its_orders_masked_and_not_cached(client, shop):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))

    response = client.get("/orders/")

    assert _ids(response) == [shop["order"].pk]
    html = response.content.decode()
    assert ("张**" in html, "138****8000" in html) == (True, True)
    assert ("张三丰" in html, "13800138000" in html, "TB1002" in html) == (False, False, False)
    assert "no-store" in response["Cache-Control"]


def test_a_search_is_posted_and_its_text_never_reaches_a_url(client, shop):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))

    posted = _search(client, "张三丰", status="on_hold")

    assert posted.status_code == 303
    location = posted["Location"]
    assert "张三丰" not in location and "%E5%BC%A0" not in location
    params = parse_qs(urlsplit(location).query)
    assert (urlsplit(location).path, sorted(params)) == ("/orders/", ["s", "status"])
    response = client.get(location)
    assert _ids(response) == [shop["order"].pk]
    # the next-page and first-page links carry the token, never the text
    assert "张三丰" not in re.sub(r'<input type="search"[^>]*>', "", response.content.decode())


@pytest.mark.parametrize("q", ["TB1001", "TB10", "8000", "张三丰", "SKU-1"])
def test_each_kind_of_search_finds_the_merchants_order_and_not_the_others(client, shop, q):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))
    assert _ids(client.get(_search(client, q)["Location"])) == [shop["order"].pk]


def test_staff_search_every_merchant(client, shop):
    client.force_login(user_with_role("operator"))
    response = client.get(_search(client, "张三丰")["Location"])
    assert sorted(_ids(response)) == sorted([shop["order"].pk, shop["other"].pk])
    assert "<th>商家</th>" in response.content.decode()


def test_filters_without_search_text_are_plain_get_parameters(client, shop):
    client.force_login(user_with_role("operator"))
    posted = _search(client, "  ", channel="shop-b")
    assert posted["Location"] == "/orders/?channel=shop-b"
    assert _ids(client.get(posted["Location"])) == [shop["other"].pk]


def test_a_search_token_of_another_session_finds_nothing_and_says_the_search_expired(client, shop):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))
    location = _search(client, "张三丰")["Location"]
    client.logout()
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))

    response = client.get(location)

    assert "这次搜索已过期，请重新输入搜索内容。" in response.content.decode()
    assert _ids(response) == [shop["order"].pk]  # the unsearched list


def test_a_session_keeps_only_its_latest_searches(client, shop, monkeypatch):
    monkeypatch.setattr(orders_view, "SEARCHES_KEPT", 2)
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))
    first = _search(client, "TB1001")["Location"]
    _search(client, "8000")
    _search(client, "SKU-1")
    assert list(client.session[orders_view.SESSION_KEY].values()) == ["8000", "SKU-1"]
    assert "这次搜索已过期" in client.get(first).content.decode()


def test_an_empty_search_says_what_to_try(client, shop):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))
    html = client.get(_search(client, "TB1002")["Location"]).content.decode()
    assert _ids_from(html) == []
    assert "没有符合条件的订单。" in html and "收货人电话的后四位" in html


def _ids_from(html: str) -> list[str]:
    return re.findall(r'<tr data-order="(\d+)"', html)


def test_no_orders_at_all_says_where_they_come_from(client):
    client.force_login(user_with_role("operator"))
    assert "还没有订单。订单会在导入文件或平台推送后出现在这里。" in client.get("/orders/").content.decode()


def test_the_list_pages_with_next_links_and_a_fixed_number_of_queries_without_count(
    client, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(orders_view, "PAGE_SIZE", 2)
    channel = ChannelFactory()
    made = [OrderFactory(channel=channel, paid_at=PAID + timedelta(minutes=m)) for m in (5, 1, 3, 2, 4)]
    client.force_login(user_with_role("operator"))

    seen, url = [], "/orders/?status=received"
    while url:
        response = client.get(url)
        seen += _ids(response)
        found = re.search(r'<a href="(\?[^"]+)" rel="next">', response.content.decode())
        url = "/orders/" + found.group(1).replace("&amp;", "&") if found else ""

    assert seen == [made[i].pk for i in (0, 4, 2, 3, 1)]
    # session, user, membership, channels, the page (orders with channel and merchant)
    with django_assert_num_queries(5) as captured:
        client.get("/orders/")
    assert not any("COUNT(" in q["sql"] for q in captured.captured_queries)


def test_a_page_of_search_results_takes_the_same_queries_as_many_results(client, django_assert_num_queries):
    channel = ChannelFactory()
    for n in range(30):
        order = OrderFactory(channel=ChannelFactory() if n % 2 else channel)
        OrderLine.objects.create(order=order, line_no=1, sku_code="SKU-X", quantity=1)
    client.force_login(user_with_role("operator"))
    location = _search(client, "SKU-X")["Location"]

    # session, user, membership, channels, the page
    with django_assert_num_queries(5):
        response = client.get(location)
    assert len(_ids(response)) == 30


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=archived", "状态"),
        ("channel=nowhere", "店铺"),
        # another merchant's shop is no choice for a merchant user
        ("channel=shop-b", "店铺"),
        ("s=not%20a%20token", "搜索"),
        ("s=" + "a" * 33, "搜索"),
        ("after=x-1", "分页位置"),
        ("after=1", "分页位置"),
        # a key past a 64-bit integer, a time past what a date holds
        ("after=1-1234567890123456789", "分页位置"),
        ("after=123456789012345678-1", "分页位置"),
        ("status=archived&after=x-1", "状态, 分页位置"),
    ],
)
def test_a_bad_filter_or_cursor_is_refused_naming_it_and_lists_nothing(client, shop, query, field):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))

    response = client.get(f"/orders/?{query}")

    assert response.status_code == 400
    html = response.content.decode()
    assert f"筛选条件无效：{field}。请修改后重新筛选。" in html
    assert (_ids(response), "TB1002" in html, "没有符合条件的订单。" in html) == ([], False, False)
    assert "no-store" in response["Cache-Control"]


def test_a_refused_filter_keeps_the_valid_ones_as_given(client, shop):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))
    location = _search(client, "张三丰")["Location"]

    response = client.get(f"{location}&status=on_hold&channel=nowhere")

    assert response.status_code == 400
    html = response.content.decode()
    assert "筛选条件无效：店铺。" in html
    assert '<option value="on_hold" selected>' in html
    assert 'name="q" id="id_q" value="张三丰"' in html
    assert _ids(response) == []


@pytest.mark.parametrize(
    ("posted", "field"),
    [
        ({"q": "张" * 101}, "搜索"),
        ({"q": "TB\x001001"}, "搜索"),
        ({"q": "TB1001", "status": "archived"}, "状态"),
        ({"q": "TB1001", "channel": "shop-b"}, "店铺"),
    ],
)
def test_a_bad_posted_search_is_refused_naming_it_and_remembers_nothing(client, shop, posted, field):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))

    response = client.post("/orders/", posted)

    assert response.status_code == 400
    html = response.content.decode()
    assert f"筛选条件无效：{field}。" in html
    assert _ids(response) == []
    assert orders_view.SESSION_KEY not in client.session
    # what was typed stays in the box, to be corrected (in the page, never in a URL)
    assert f'name="q" id="id_q" value="{posted["q"]}"' in html


def test_a_refused_filter_is_named_in_english(client, shop):
    client.force_login(user_with_role("operator"))

    response = client.get("/orders/?status=archived&after=x-1", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Invalid filters: Status, Page position. Please correct them and filter again." in html
    assert _ids(response) == []


def test_valid_filters_list_a_merchant_users_own_orders(client, shop):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))

    response = client.get("/orders/?status=on_hold&channel=shop-a")

    assert response.status_code == 200
    assert _ids(response) == [shop["order"].pk]
    assert "筛选条件无效" not in response.content.decode()


def test_an_order_shows_its_masked_recipient_lines_findings_cases_and_log(client, shop):
    order = shop["order"]
    case = ExceptionCaseFactory(order=order)
    OrderEvent.objects.create(
        order=order,
        type="imported",
        occurred_at=PAID,
        actor_label="system:intake",
        data={"batch": 1, "status": "on_hold", "codes": ["PHONE_BAD_LENGTH"]},
    )
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))

    response = client.get(f"/orders/{order.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="recipient-name">([^<]*)<', html).group(1) == "张**"
    assert re.search(r'id="recipient-phone">([^<]*)<', html).group(1) == "138****8000"
    assert re.search(r'id="recipient-address">([^<]*)<', html).group(1) == "浙江省 杭州市 西湖区 ****"
    assert ("张三丰" in html, "13800138000" in html, "文三路" in html) == (False, False, False)
    assert "手机号位数不对：10 位" in html
    assert re.findall(r'<tr data-line="1">(.*?)</tr>', html) == [
        '<td class="num">1</td><td>SKU-1</td><td>T恤</td><td class="num">2</td><td class="num overdue">1</td>'
    ]
    assert f'<tr data-case="{case.pk}">' in html
    assert re.findall(r'<li class="list-group-item" data-type="(\w+)">', html) == ["imported"]
    assert "状态：异常挂起" in html and "1 个问题" in html and "· 系统</span>" in html


def test_a_merchant_reads_who_changed_its_order_as_a_role_staff_as_a_username(client, shop):
    order = shop["order"]
    user_with_role("operator", username="ann")
    OrderEvent.objects.create(order=order, type="imported", occurred_at=PAID, actor_label="user:ann", data={})

    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))
    html = client.get(f"/orders/{order.pk}/").content.decode()
    assert "· 仓库操作员</span>" in html and "ann" not in html

    client.force_login(user_with_role("manager"))
    assert "· ann</span>" in client.get(f"/orders/{order.pk}/").content.decode()


def test_another_merchants_order_is_not_found(client, shop):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))
    response = client.get(f"/orders/{shop['other'].pk}/")
    assert response.status_code == 404
    assert "找不到该订单" in response.content.decode() and "TB1002" not in response.content.decode()


def test_an_order_page_takes_a_fixed_number_of_queries(client, shop, django_assert_num_queries):
    for _ in range(3):
        ExceptionCaseFactory(order=shop["order"], status="resolved")
    client.force_login(user_with_role("operator"))
    # session, user, membership, order (channel, merchant), lines, cases, events, and the
    # order's SKUs under a stock alert (its lines have none here, so one query), and its lines
    # under an open SKU dispute (T3 badge)
    with django_assert_num_queries(9):
        assert client.get(f"/orders/{shop['order'].pk}/").status_code == 200


@pytest.mark.parametrize(
    ("caller", "status"),
    [("anonymous", 302), ("no_role", 403), ("merchant", 303), ("operator", 303), ("admin", 303)],
)
def test_posting_a_search_answers_each_caller_as_decided(client, shop, caller, status):
    if caller == "no_role":
        client.force_login(UserFactory())
    elif caller == "merchant":
        client.force_login(user_with_role("merchant", merchant=shop["merchant"]))
    elif caller != "anonymous":
        client.force_login(user_with_role(caller))

    response = _search(client, "TB1001")

    assert response.status_code == status
    assert orders_view.SESSION_KEY not in client.session or status == 303


def test_a_search_does_not_keep_the_sign_in_alive(client, shop):
    client.force_login(user_with_role("merchant", merchant=shop["merchant"]))
    key = client.session.session_key
    signed_in_until = timezone.now().replace(microsecond=0) + timedelta(hours=3)
    Session.objects.filter(session_key=key).update(expire_date=signed_in_until)

    _search(client, "TB1001")
    _search(client, "8000")

    assert Session.objects.get(session_key=key).expire_date == signed_in_until
    assert list(client.session[orders_view.SESSION_KEY].values()) == ["TB1001", "8000"]
