"""API authentication: bearer tokens for integrations and merchants, the session for pages.
Both end in the same `Actor`, so both are scoped the same way."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from orderguard.tenancy.access import Actor, actor_for, token_user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        # tokens are ASCII ("og_" + URL-safe base64): anything else is no token, not a lookup
        if not token.isascii():
            return None
        user = token_user(token)
        if user is None:
            return None
        request.user = user  # type: ignore[assignment]
        return user


AUTH = [TokenAuth(), SessionAuth()]


def actor(request: HttpRequest) -> Actor:
    """The actor behind an authenticated request (raises NoRole → 403)."""
    return actor_for(request.auth)  # type: ignore[attr-defined]
