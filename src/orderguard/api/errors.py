"""One error shape for the whole API: ``{"ok": false, "error": {"code", "message", "field"}}``.

Views raise `ApiError`; domain errors (`NotFound`, `NoRole`) and Ninja's own validation
errors are mapped here, so no view builds an error body by hand. `code` is stable (clients map
it), `message` is translated text for people, `field` names the parameter, header or body part
at fault ("" when none). `ErrorOut` documents the shape in an operation's ``response``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, ValidationError

from orderguard.core.errors import NotFound
from orderguard.tenancy.access import NoRole


class ErrorDetail(Schema):
    code: str
    message: str
    field: str


class ErrorOut(Schema):
    """The body of every error answer of the API."""

    ok: bool
    error: ErrorDetail


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_body(code: str, message: str, field: str = "") -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "field": field}}


def install(api: NinjaAPI) -> None:
    """Register the handlers on `api`."""

    def respond(request: HttpRequest, status: int, code: str, message: str, field: str = "") -> HttpResponse:
        return api.create_response(request, error_body(code, message, field), status=status)

    @api.exception_handler(ApiError)
    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status, exc.code, exc.message, exc.field)

    @api.exception_handler(NotFound)
    def on_not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
        return respond(request, 404, "NOT_FOUND", _("找不到该对象"))

    @api.exception_handler(NoRole)
    def on_no_role(request: HttpRequest, exc: NoRole) -> HttpResponse:
        return respond(request, 403, "NO_ROLE", _("该账号没有分配角色，无权访问"))

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, 401, "UNAUTHENTICATED", _("需要登录或有效的接口令牌"))

    @api.exception_handler(ValidationError)
    def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
        return respond(request, 422, "INVALID_INPUT", str(first.get("msg", _("请求参数无效"))), ".".join(loc))
