"""Each user reads the pages in the language they chose, on any browser."""

from __future__ import annotations

import pytest
from django.test import Client

from orderguard.tenancy.tests.factories import user_with_role
from orderguard.web.models import UserPreference

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str) -> None:
    response = client.post("/accounts/login/", {"username": username, "password": "correct horse battery"})
    assert response.status_code == 302


def _h1(client: Client, url: str = "/queue/") -> str:
    html = client.get(url).content.decode()
    return html.split('<h1 class="h3">', 1)[1].split("</h1>", 1)[0]


def test_the_pages_are_in_simplified_chinese_by_default(client):
    client.force_login(user_with_role("operator"))
    assert _h1(client) == "工作队列"


def test_a_user_switches_to_english_and_keeps_it_on_another_browser(client):
    user = user_with_role("operator", username="li")
    _sign_in(client, "li")
    response = client.post("/language/", {"language": "en", "next": "/queue/"})
    assert (response.status_code, response["Location"]) == (302, "/queue/")
    assert _h1(client) == "Work queue"
    assert UserPreference.objects.get(user=user).language == "en"

    elsewhere = Client(headers={"accept-language": "zh-CN"})
    _sign_in(elsewhere, "li")
    assert _h1(elsewhere) == "Work queue"


def test_traditional_chinese_is_offered_too(client):
    client.force_login(user_with_role("cs_agent"))
    client.post("/language/", {"language": "zh-hant", "next": "/queue/"})
    assert _h1(client) == "工作隊列"


def test_an_unknown_language_changes_nothing(client):
    user = user_with_role("operator")
    client.force_login(user)
    response = client.post("/language/", {"language": "xx", "next": "/queue/"})
    assert response.status_code == 302
    assert UserPreference.objects.filter(user=user).exists() is False
    assert "django_language" not in response.cookies
    assert _h1(client) == "工作队列"


def test_the_switch_never_sends_the_user_off_the_site(client):
    client.force_login(user_with_role("operator"))
    response = client.post("/language/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_before_sign_in_the_choice_is_a_cookie_for_the_sign_in_page(client):
    response = client.post("/language/", {"language": "en", "next": "/accounts/login/"})
    assert response.cookies["django_language"].value == "en"
    assert UserPreference.objects.count() == 0
    assert "Sign in" in client.get("/accounts/login/").content.decode()


def test_the_switch_needs_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("operator"))
    response = client.post("/language/", {"language": "en", "next": "/"})
    assert response.status_code == 403
    assert UserPreference.objects.count() == 0
