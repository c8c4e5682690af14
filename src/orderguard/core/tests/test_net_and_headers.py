"""Client address behind trusted proxies, and no caching of API answers."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from orderguard.core.net import client_ip


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.1"),  # no proxy trusted: the header is the client's own claim
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # what our proxy saw, not what the client wrote
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer hops than proxies: fall back to the socket
    ],
)
def test_the_client_address_is_read_through_the_trusted_proxies_only(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.django_db
def test_api_answers_are_never_cached_and_vary_by_credentials(client):
    response = client.get("/api/v1/health")
    assert "no-store" in response["Cache-Control"]
    assert {"Cookie", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}
