"""Pages without a browser: who gets in, and what nobody is shown."""

from __future__ import annotations

import pytest

from orderguard.tenancy.tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def test_the_dashboard_sends_a_stranger_to_the_sign_in_page(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")


def test_a_user_without_a_role_is_refused_with_a_plain_page(client):
    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 403
    assert "该账号没有分配角色，无权访问" in response.content.decode()


def test_pages_with_case_data_are_not_cached(client):
    client.force_login(user_with_role("operator"))
    response = client.get("/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_only_staff_are_shown_the_way_to_the_admin(client):
    from orderguard.tenancy.tests.factories import MerchantFactory

    client.force_login(user_with_role("merchant", merchant=MerchantFactory()))
    assert "/admin/" not in client.get("/").content.decode()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert 'href="/admin/"' in client.get("/").content.decode()
