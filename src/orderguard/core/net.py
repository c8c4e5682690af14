"""The client's address, as trusted proxies report it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the outermost trusted
    proxy saw (X-Forwarded-For is read from the right: entries to its left are the client's
    own claims and can be forged)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    hops = [h.strip() for h in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if h.strip()]
    if len(hops) < count:
        return remote
    return hops[-count]


def axes_client_ip(request: HttpRequest) -> str:
    """For django-axes (AXES_CLIENT_IP_CALLABLE)."""
    return client_ip(request)
