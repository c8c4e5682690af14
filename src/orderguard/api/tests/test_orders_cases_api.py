"""Orders and cases API: who may see what (tenancy), the error shape, masked recipients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderguard.cases import events
from orderguard.cases.models import CaseEvent, ExceptionCase
from orderguard.core import bulk
from orderguard.orders.models import Channel, Order, OrderLine
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import token_create
from orderguard.tenancy.models import ApiToken
from orderguard.tenancy.tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    """Two merchants, an order and an open case each."""
    a, b = ChannelFactory(code="shop-a"), ChannelFactory(code="shop-b")
    out = {}
    for name, channel in (("a", a), ("b", b)):
        order = OrderFactory(
            channel=channel,
            platform_order_id=f"P-{name}",
            recipient_name="张三丰",
            recipient_phone="13800138000",
            phone_normalised="13800138000",
            province="浙江省",
            city="杭州市",
            district="西湖区",
            address_detail="文三路90号501室",
            status="on_hold",
            findings=[
                {
                    "code": "PHONE_BAD_LENGTH",
                    "type": "T2",
                    "field": "recipient_phone",
                    "severity": "blocking",
                    "source": "D2",
                    "data": {"digits": 10},
                }
            ],
        )
        OrderLine.objects.create(order=order, line_no=1, sku_code="SKU-1", quantity=2)
        case = ExceptionCase.objects.create(
            merchant=channel.merchant,
            order=order,
            type="T2",
            source="D2",
            findings=order.findings,
            step="contact_buyer",
            opened_at=NOW,
            due_at=NOW + timedelta(hours=2),
        )
        CaseEvent.objects.create(
            case=case, type="opened", occurred_at=NOW, actor_label="system:intake", data={}
        )
        out[name] = {"channel": channel, "order": order, "case": case}
    return out


def bearer(user):  # type: ignore[no-untyped-def]
    _token, raw = token_create(user_id=user.pk, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_without_credentials_every_endpoint_answers_401_in_the_shared_shape(client, world):
    for url in ("/api/v1/orders", f"/api/v1/orders/{world['a']['order'].pk}", "/api/v1/cases"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json() == {
            "ok": False,
            "error": {"code": "UNAUTHENTICATED", "message": "需要登录或有效的接口令牌", "field": ""},
        }


def test_a_user_without_a_role_sees_nothing(client, world):
    response = client.get("/api/v1/orders", **bearer(UserFactory()))
    assert (response.status_code, response.json()["error"]["code"]) == (403, "NO_ROLE")


def test_a_merchant_sees_its_own_orders_and_cases_only(client, world):
    merchant_a = world["a"]["channel"].merchant
    headers = bearer(user_with_role("merchant", merchant=merchant_a))

    orders = client.get("/api/v1/orders", **headers).json()
    cases = client.get("/api/v1/cases", **headers).json()

    assert (orders["total"], [o["platform_order_id"] for o in orders["items"]]) == (1, ["P-a"])
    assert (cases["total"], [c["platform_order_id"] for c in cases["items"]]) == (1, ["P-a"])


def test_another_merchants_object_is_not_found_exactly_like_a_missing_one(client, world):
    headers = bearer(user_with_role("merchant", merchant=world["a"]["channel"].merchant))
    theirs_order = client.get(f"/api/v1/orders/{world['b']['order'].pk}", **headers)
    theirs_case = client.get(f"/api/v1/cases/{world['b']['case'].pk}", **headers)
    missing = client.get("/api/v1/orders/999999", **headers)

    assert theirs_order.status_code == theirs_case.status_code == missing.status_code == 404
    assert (
        theirs_order.json()
        == theirs_case.json()
        == missing.json()
        == {
            "ok": False,
            "error": {"code": "NOT_FOUND", "message": "找不到该对象", "field": ""},
        }
    )


def test_warehouse_staff_see_every_merchant(client, world):
    client.force_login(user_with_role("cs_agent"))
    orders = client.get("/api/v1/orders").json()
    assert sorted(o["platform_order_id"] for o in orders["items"]) == ["P-a", "P-b"]


def test_an_order_shows_its_recipient_masked_its_lines_and_findings_in_plain_words(client, world):
    client.force_login(user_with_role("operator"))
    order = world["a"]["order"]

    body = client.get(f"/api/v1/orders/{order.pk}").json()

    assert body["recipient"] == {
        "name": "张**",
        "phone": "138****8000",
        "country": "CN",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "****",
    }
    assert body["lines"] == [{"line_no": 1, "sku_code": "SKU-1", "title": "", "quantity": 2, "allocated": 0}]
    assert body["findings"] == [
        {
            "code": "PHONE_BAD_LENGTH",
            "type": "T2",
            "severity": "blocking",
            "field": "recipient_phone",
            "text": "手机号位数不对：10 位",
        }
    ]
    assert "13800138000" not in str(body) and "文三路" not in str(body)


def test_orders_are_found_by_platform_id_phone_tail_and_sku(client, world):
    client.force_login(user_with_role("operator"))
    for q, expected in (("P-a", ["P-a"]), ("8000", ["P-a", "P-b"]), ("SKU-1", ["P-a", "P-b"]), ("nope", [])):
        response = client.post("/api/v1/orders/search", {"q": q}, content_type="application/json")
        assert sorted(o["platform_order_id"] for o in response.json()["items"]) == expected, q


def test_a_search_in_a_url_never_looks_at_the_recipient(client, world):
    """A GET's query string ends up in access logs: phone digits and names are searched only
    in a POST body."""
    client.force_login(user_with_role("operator"))
    for q, expected in (("P-a", ["P-a"]), ("8000", []), ("SKU-1", ["P-a", "P-b"])):
        items = client.get("/api/v1/orders", {"q": q}).json()["items"]
        assert sorted(o["platform_order_id"] for o in items) == expected, q


def test_a_merchant_searching_by_phone_finds_only_its_own_orders(client, world):
    client.force_login(user_with_role("merchant", merchant=world["a"]["order"].merchant))
    response = client.post("/api/v1/orders/search", {"q": "8000"}, content_type="application/json")
    assert [o["platform_order_id"] for o in response.json()["items"]] == ["P-a"]


def test_a_search_body_with_an_unknown_key_is_refused(client, world):
    client.force_login(user_with_role("operator"))
    response = client.post(
        "/api/v1/orders/search", {"q": "8000", "merchant": "x"}, content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]["field"]) == (422, "merchant")


def test_a_case_comes_with_its_timeline(client, world):
    client.force_login(user_with_role("manager"))
    case = world["a"]["case"]

    body = client.get(f"/api/v1/cases/{case.pk}").json()

    assert (body["type"], body["status"], body["step"], body["platform_order_id"]) == (
        "T2",
        "open",
        "contact_buyer",
        "P-a",
    )
    assert body["events"] == [
        {"occurred_at": "2026-11-25T10:00:00Z", "type": "opened", "actor": "system:intake", "data": {}}
    ]


def test_an_unknown_filter_value_is_a_422_naming_the_field(client, world):
    client.force_login(user_with_role("operator"))
    response = client.get("/api/v1/cases", {"type": "T9"})
    assert (response.status_code, response.json()["error"]["code"], response.json()["error"]["field"]) == (
        422,
        "INVALID_INPUT",
        "type",
    )


def test_a_revoked_token_is_refused(client, world):
    user = user_with_role("operator")
    headers = bearer(user)
    ApiToken.objects.filter(user=user).update(revoked_at=NOW)
    assert client.get("/api/v1/orders", **headers).status_code == 401


def test_a_disabled_users_token_is_refused(client, world):
    user = user_with_role("operator")
    headers = bearer(user)
    user.is_active = False
    user.save()
    assert client.get("/api/v1/orders", **headers).status_code == 401


def test_users_of_a_merchant_the_warehouse_no_longer_serves_see_nothing(client, world):
    merchant = world["a"]["channel"].merchant
    headers = bearer(user_with_role("merchant", merchant=merchant))
    merchant.active = False
    merchant.save()

    response = client.get("/api/v1/orders", **headers)

    assert (response.status_code, response.json()["error"]["code"]) == (403, "NO_ROLE")


def test_a_tokens_last_use_is_recorded_at_most_every_five_minutes(client, world):
    user = user_with_role("operator")
    headers = bearer(user)
    client.get("/api/v1/orders", **headers)
    first = ApiToken.objects.get(user=user).last_used_at
    client.get("/api/v1/orders", **headers)
    assert ApiToken.objects.get(user=user).last_used_at == first is not None
    ApiToken.objects.filter(user=user).update(last_used_at=first - timedelta(minutes=6))
    client.get("/api/v1/orders", **headers)
    assert ApiToken.objects.get(user=user).last_used_at > first


def test_the_case_list_filters_by_platform_province_and_sku_as_the_queue_does(client, world):
    Channel.objects.filter(pk=world["b"]["channel"].pk).update(platform="jd")
    Order.objects.filter(pk=world["b"]["order"].pk).update(province="上海市")
    OrderLine.objects.create(order=world["b"]["order"], line_no=2, sku_code="SKU-2", quantity=1)
    # a second line of the same SKU lists the case once
    OrderLine.objects.create(order=world["a"]["order"], line_no=2, sku_code="SKU-1", quantity=1)
    client.force_login(user_with_role("operator"))

    def listed(**query: str) -> list[str]:
        body = client.get("/api/v1/cases", query).json()
        assert body["total"] == len(body["items"])
        return [c["platform_order_id"] for c in body["items"]]

    assert listed(platform="jd") == ["P-b"]
    assert listed(province="浙江省") == ["P-a"]
    assert listed(sku="SKU-1") == ["P-a", "P-b"]
    assert listed(sku="SKU-2", province="上海市", platform="jd") == ["P-b"]
    assert listed(sku="SKU-2", province="浙江省") == []


def test_the_case_list_filters_by_a_step_the_case_went_through(client, world):
    case_a, case_b = world["a"]["case"], world["b"]["case"]
    case_b.step = "restock"
    bulk.insert(
        [
            events.opened(case_a, at=NOW, actor_label="system:test"),
            events.step_started(case_b, at=NOW, actor_label="system:test"),
        ]
    )
    client.force_login(user_with_role("operator"))

    def listed(step: str) -> tuple[int, list[str]]:
        body = client.get("/api/v1/cases", {"step": step}).json()
        return body["total"], [c["platform_order_id"] for c in body["items"]]

    assert listed("restock") == (1, ["P-b"])
    assert listed("contact_buyer") == (1, ["P-a"])
    assert listed("merchant_decision") == (0, [])


def test_a_merchant_filtering_the_case_list_sees_only_its_own_cases(client, world):
    headers = bearer(user_with_role("merchant", merchant=world["a"]["channel"].merchant))

    body = client.get("/api/v1/cases", {"sku": "SKU-1", "province": "浙江省"}, **headers).json()

    assert [c["platform_order_id"] for c in body["items"]] == ["P-a"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"platform": "amazon"}, "platform"),
        ({"province": "浙\x00江"}, "province"),
        ({"sku": "S" * 101}, "sku"),
        ({"step": "nowhere"}, "step"),
        ({"step": "notify_merchant|restock"}, "step"),
    ],
)
def test_a_bad_platform_province_sku_or_step_filter_is_a_422_naming_it(client, world, query, field):
    client.force_login(user_with_role("operator"))

    response = client.get("/api/v1/cases", query)

    assert (response.status_code, response.json()["error"]["field"]) == (422, field)
