"""API authentication: bearer tokens for integrations and merchants, the session for pages.
Both end in the same `Actor`, so both are scoped the same way."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from orderguard.api.errors import ApiError
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


class CsrfSessionAuth(SessionAuth):
    """The signed-in session, for pages. A write must carry the CSRF token (form field or
    X-CSRFToken header): a session write without it is refused (403 ``CSRF_FAILED``, in the
    shared error shape) before the operation runs. A caller without a session gets 401, as
    with any missing credential."""

    def __init__(self) -> None:
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise ApiError(403, "CSRF_FAILED", _("请求缺少有效的 CSRF 令牌，请刷新页面后重试"))
        return user


# A bearer token first: integrations send no cookie and no CSRF token.
AUTH = [TokenAuth(), CsrfSessionAuth()]


def actor(request: HttpRequest) -> Actor:
    """The actor behind an authenticated request (raises NoRole → 403)."""
    return actor_for(request.auth)  # type: ignore[attr-defined]
