"""Sign-in security: lockout after repeated failures, session expiry, disabled users, password rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.exceptions import AxesBackendRequestParameterRequired
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.utils import timezone, translation

from orderguard.tenancy.access import token_create
from orderguard.tenancy.tests.factories import user_with_role

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
WRONG = "wrong horse battery"
LOCKED_TEXT = "连续 5 次登录失败，该用户名从这个网络地址的登录已暂停 15 分钟（从最后一次失败算起）。"
UNAUTHENTICATED = {
    "ok": False,
    "error": {"code": "UNAUTHENTICATED", "message": "需要登录或有效的接口令牌", "field": ""},
}


def sign_in(client, username: str, password: str, address: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def attempts() -> list[tuple[str, str, int]]:
    return list(
        AccessAttempt.objects.order_by("pk").values_list("username", "ip_address", "failures_since_start")
    )


def lock(client, username: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        sign_in(client, username, WRONG)
    assert attempts() == [(username, "127.0.0.1", 5)]


def signed_in_user_id(client) -> str | None:  # type: ignore[no-untyped-def]
    return client.session.get("_auth_user_id")


# --- lockout --------------------------------------------------------------------------------


def test_four_wrong_passwords_show_the_form_again_and_the_fifth_locks(client):
    user_with_role("operator", username="ops")
    for failures in range(1, 5):
        response = sign_in(client, "ops", WRONG)
        assert response.status_code == 200
        assert "用户名或密码不正确。" in response.content.decode()
        assert attempts() == [("ops", "127.0.0.1", failures)]

    response = sign_in(client, "ops", WRONG)

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert LOCKED_TEXT in page
    assert "暂停期间即使密码正确也无法登录。忘记密码请联系管理员。" in page
    assert attempts() == [("ops", "127.0.0.1", 5)]
    assert signed_in_user_id(client) is None


def test_a_locked_out_user_cannot_sign_in_even_with_the_right_password(client):
    user_with_role("operator", username="ops")
    lock(client, "ops")
    locked_at = AccessAttempt.objects.get().attempt_time

    response = sign_in(client, "ops", PASSWORD)

    assert response.status_code == 429
    assert LOCKED_TEXT in response.content.decode()
    assert signed_in_user_id(client) is None
    assert AccessLog.objects.count() == 0
    # a try while locked neither counts nor extends the cool-off
    assert attempts() == [("ops", "127.0.0.1", 5)]
    assert AccessAttempt.objects.get().attempt_time == locked_at
    assert client.get("/").status_code == 302


def test_the_admin_sign_in_is_locked_too(client):
    user_with_role("admin", username="boss", is_staff=True, is_superuser=True)
    lock(client, "boss")

    response = client.post("/admin/login/", {"username": "boss", "password": PASSWORD})

    assert response.status_code == 429
    assert signed_in_user_id(client) is None


def test_the_lock_holds_until_the_cool_off_has_passed(client):
    user_with_role("operator", username="ops")
    lock(client, "ops")
    # the clock moves on by moving the failures into the past
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=14, seconds=50))
    assert sign_in(client, "ops", PASSWORD).status_code == 429
    assert signed_in_user_id(client) is None

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    response = sign_in(client, "ops", PASSWORD)

    assert (response.status_code, response["Location"]) == (302, "/")
    assert signed_in_user_id(client) == str(User.objects.get(username="ops").pk)
    assert attempts() == []


def test_the_lock_is_for_one_username_from_one_address(client):
    ops = user_with_role("operator", username="ops")
    agent = user_with_role("cs_agent", username="agent")
    lock(client, "ops")

    other_address = sign_in(client, "ops", PASSWORD, address="10.0.0.7")
    assert (other_address.status_code, other_address["Location"]) == (302, "/")
    assert signed_in_user_id(client) == str(ops.pk)
    client.post("/accounts/logout/")

    other_user = sign_in(client, "agent", PASSWORD)
    assert (other_user.status_code, other_user["Location"]) == (302, "/")
    assert signed_in_user_id(client) == str(agent.pk)
    assert attempts() == [("ops", "127.0.0.1", 5)]


def test_a_successful_sign_in_forgets_the_earlier_failures(client):
    user_with_role("operator", username="ops")
    for _ in range(4):
        sign_in(client, "ops", WRONG)
    assert sign_in(client, "ops", PASSWORD).status_code == 302
    assert attempts() == []
    client.post("/accounts/logout/")

    for _ in range(4):
        response = sign_in(client, "ops", WRONG)

    assert response.status_code == 200
    assert attempts() == [("ops", "127.0.0.1", 4)]


def test_the_failure_limit_and_cool_off_follow_the_settings(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
    user_with_role("operator", username="ops")
    assert sign_in(client, "ops", WRONG).status_code == 200

    response = sign_in(client, "ops", WRONG)

    assert response.status_code == 429
    assert response["Retry-After"] == "1800"
    assert (
        "连续 2 次登录失败，该用户名从这个网络地址的登录已暂停 30 分钟（从最后一次失败算起）。"
        in response.content.decode()
    )


def test_the_test_clients_login_must_pass_a_request_and_force_login_is_unaffected(client):
    """The lockout needs the request to know the address; Client.login() passes none."""
    user = user_with_role("operator", username="ops")
    with pytest.raises(AxesBackendRequestParameterRequired):
        client.login(username="ops", password=PASSWORD)

    assert client.login(request=RequestFactory().post("/accounts/login/"), username="ops", password=PASSWORD)
    assert client.get("/").status_code == 200
    client.logout()

    client.force_login(user)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/orders").status_code == 200


def test_api_tokens_are_not_touched_by_the_lockout(client):
    user = user_with_role("operator", username="ops")
    _, raw = token_create(user_id=user.pk, name="erp")
    lock(client, "ops")

    response = client.get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200


# --- sessions -------------------------------------------------------------------------------


def test_the_session_cookie_lasts_twelve_hours_and_scripts_cannot_read_it(client):
    user_with_role("operator", username="ops")
    before = timezone.now()

    response = sign_in(client, "ops", PASSWORD)

    after = timezone.now()
    cookie = response.cookies["sessionid"]
    assert (cookie["max-age"], cookie["httponly"], cookie["samesite"]) == (43200, True, "Lax")
    session = Session.objects.get(session_key=cookie.value)
    assert before + timedelta(hours=12) <= session.expire_date <= after + timedelta(hours=12)


def test_a_session_past_its_age_is_not_accepted(client):
    user_with_role("operator", username="ops")
    sign_in(client, "ops", PASSWORD)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/orders").status_code == 200

    # twelve hours later: the stored expiry is what the server checks, whatever the browser keeps
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    page = client.get("/")
    assert (page.status_code, page["Location"]) == (302, "/accounts/login/?next=/")
    api = client.get("/api/v1/orders")
    assert (api.status_code, api.json()) == (401, UNAUTHENTICATED)


def test_the_session_age_follows_the_setting(client, settings):
    settings.SESSION_COOKIE_AGE = 600
    user_with_role("operator", username="ops")

    response = sign_in(client, "ops", PASSWORD)

    assert response.cookies["sessionid"]["max-age"] == 600


def test_disabling_a_user_ends_its_sessions(client):
    user = user_with_role("operator", username="ops")
    sign_in(client, "ops", PASSWORD)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/orders").status_code == 200

    User.objects.filter(pk=user.pk).update(is_active=False)

    page = client.get("/")
    assert (page.status_code, page["Location"]) == (302, "/accounts/login/?next=/")
    api = client.get("/api/v1/orders")
    assert (api.status_code, api.json()) == (401, UNAUTHENTICATED)


def test_a_disabled_user_cannot_sign_in(client):
    user = user_with_role("operator", username="ops")
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = sign_in(client, "ops", PASSWORD)

    assert response.status_code == 200
    assert "用户名或密码不正确。" in response.content.decode()
    assert signed_in_user_id(client) is None


# --- password rules -------------------------------------------------------------------------


def refusals(password: str, user: User, language: str = "zh-hans") -> list[str]:
    with translation.override(language):
        try:
            validate_password(password, user)
        except ValidationError as error:
            return list(error.messages)
    return []


ZHANG_WEI = User(username="zhangwei", first_name="伟", last_name="张", email="zhangwei@example.com")


def test_a_short_password_is_refused_in_chinese():
    # Django 5.2's own zh_Hans catalog lacks this message: locale/zh_Hans supplies it
    assert refusals("Qx7#vb", ZHANG_WEI) == ["密码长度太短。密码必须包含至少 10 个字符。"]


def test_a_short_password_is_refused_in_traditional_chinese():
    assert refusals("Qx7#vb", ZHANG_WEI, "zh-hant") == ["密碼太短，必須至少 10 個字元。"]


def test_a_common_password_is_refused():
    assert refusals("password123", ZHANG_WEI) == ["这个密码太常见了。"]


def test_a_numeric_password_is_refused():
    assert refusals("8305716429", ZHANG_WEI) == ["密码只包含数字。"]


def test_a_password_like_the_username_is_refused():
    assert refusals("zhangwei2026", ZHANG_WEI) == ["密码跟 用户名 太相似了。"]


def test_a_long_uncommon_password_is_accepted():
    assert refusals("淡水河边的仓库七号门", ZHANG_WEI) == []
