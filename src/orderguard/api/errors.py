"""One error shape for the whole API: ``{"ok": false, "error": {"code", "message", "field"}}``.

Views raise `ApiError`; domain errors (`NotFound`, `NoRole`) and Ninja's own validation
errors are mapped here, so no view builds an error body by hand. `code` is stable (clients map
it), `message` is translated text for people, `field` names the parameter, header or body part
at fault ("" when none). `ErrorOut` documents the shape in an operation's ``response``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from orderguard.cases.disputes import DisputeRefused, dispute_refusal_message
from orderguard.cases.errors import CaseActionNotAllowed
from orderguard.core.errors import NotFound
from orderguard.intake.errors import (
    CorrectionRefused,
    LinesRefused,
    correction_refusal_message,
    lines_refusal_message,
)
from orderguard.tenancy.access import NoRole


class ErrorDetail(Schema):
    code: str
    message: str
    field: str


class ErrorOut(Schema):
    """The body of every error answer of the API."""

    ok: bool
    error: ErrorDetail


def with_errors(ok: dict[int, Any], *statuses: int) -> dict[Any, Any]:
    """An operation's ``response``: its success bodies plus `ErrorOut` for each error status it
    can answer, so that the OpenAPI document lists every answer a client may get."""
    return {**ok, frozenset(statuses): ErrorOut} if statuses else dict(ok)


# What every authenticated operation can answer besides success: no or a bad credential (401),
# a user without a role (403), a parameter out of its declared range (422).
AUTHENTICATED = (401, 403, 422)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class NoQuery(Schema):
    """The query of an operation that takes no query parameter: any one sent is refused."""


def reject_unknown_query(request: HttpRequest, model: type[Schema]) -> None:
    """Refuse a query parameter the operation does not declare (a misspelt filter must not be
    ignored silently and answer with everything)."""
    for name in request.GET:
        if name not in model.model_fields:
            raise ApiError(422, "INVALID_INPUT", _("请求参数无效"), name)


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

    @api.exception_handler(CaseActionNotAllowed)
    def on_case_action_refused(request: HttpRequest, exc: CaseActionNotAllowed) -> HttpResponse:
        status, message, field = {
            CaseActionNotAllowed.ROLE: (403, _("只有仓库员工可以处理异常单"), ""),
            CaseActionNotAllowed.CASE_CLOSED: (409, _("异常单已关闭"), ""),
            CaseActionNotAllowed.ASSIGNEE_UNKNOWN: (422, _("没有这个用户"), "assignee"),
            CaseActionNotAllowed.ASSIGNEE_NOT_ELIGIBLE: (422, _("只能指派给在职的仓库员工"), "assignee"),
            CaseActionNotAllowed.ACTION_ROLE: (403, _("你的角色不能执行这个操作"), "action"),
            CaseActionNotAllowed.TRANSITION_NOT_ALLOWED: (409, _("异常单当前的状态不允许这个操作"), "action"),
            CaseActionNotAllowed.OUTCOME_INVALID: (
                422,
                _("解决时请选择处理结果：成功或失败；其他操作不填结果"),
                "outcome",
            ),
            CaseActionNotAllowed.NOTE_REQUIRED: (422, _("请填写说明"), "note"),
            CaseActionNotAllowed.NOTE_INVALID: (422, _("说明过长或含有不允许的字符"), "note"),
            CaseActionNotAllowed.OPEN_CASE_EXISTS: (
                409,
                _("该订单已有同类型的未结异常单，不能重新打开"),
                "action",
            ),
            CaseActionNotAllowed.REVEAL_NOT_ALLOWED: (403, _("你的角色不能查看收件人的完整信息"), ""),
            CaseActionNotAllowed.CONTACT_INVALID: (
                422,
                _("联系方式或联系结果无效，或两者不匹配"),
                str(exc.data.get("field", "")),
            ),
        }[exc.code]
        return respond(request, status, exc.code, message, field)

    @api.exception_handler(CorrectionRefused)
    def on_correction_refused(request: HttpRequest, exc: CorrectionRefused) -> HttpResponse:
        field = f"changes.{exc.fields[0]}" if exc.fields else ""
        status = {
            CorrectionRefused.ROLE: 403,
            CorrectionRefused.ORDER_CLOSED: 409,
            CorrectionRefused.ORDER_ANONYMISED: 409,
        }.get(exc.code, 422)
        return respond(request, status, exc.code, correction_refusal_message(exc), field)

    @api.exception_handler(LinesRefused)
    def on_lines_refused(request: HttpRequest, exc: LinesRefused) -> HttpResponse:
        status = {LinesRefused.ROLE: 403, LinesRefused.ORDER_CLOSED: 409, LinesRefused.ORDER_ANONYMISED: 409}
        return respond(request, status.get(exc.code, 422), exc.code, lines_refusal_message(exc), exc.field)

    @api.exception_handler(DisputeRefused)
    def on_dispute_refused(request: HttpRequest, exc: DisputeRefused) -> HttpResponse:
        status = {
            DisputeRefused.ROLE: 403,
            DisputeRefused.ALREADY_ANSWERED: 409,
            DisputeRefused.WITHDRAWN: 409,
            DisputeRefused.NO_DISPUTED_LINE: 409,
        }
        return respond(
            request,
            status.get(exc.code, 422),
            exc.code,
            dispute_refusal_message(exc),
            str(exc.data.get("field", "")),
        )

    @api.exception_handler(NoRole)
    def on_no_role(request: HttpRequest, exc: NoRole) -> HttpResponse:
        return respond(request, 403, "NO_ROLE", _("该账号没有分配角色，无权访问"))

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, 401, "UNAUTHENTICATED", _("需要登录或有效的接口令牌"))

    @api.exception_handler(RequestDataTooBig)
    def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, checked against Content-Length before reading
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return respond(
            request, 413, "BODY_TOO_LARGE", _("请求体超过 %(limit)d 字节的上限") % {"limit": limit}, "body"
        )

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # Ninja's own refusals; the one it raises for operations with a body is 400 for a body
        # that is not JSON at all (documented as 400 on those operations)
        if exc.status_code == 400:
            return respond(request, 400, "INVALID_JSON", _("请求内容不是有效的 JSON"), "body")
        return respond(request, exc.status_code, f"HTTP_{exc.status_code}", exc.message)

    @api.exception_handler(ValidationError)
    def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        loc = [
            str(part)
            for part in first.get("loc", ())
            if part not in ("body", "query", "path", "form", "file")
        ]
        return respond(request, 422, "INVALID_INPUT", str(first.get("msg", _("请求参数无效"))), ".".join(loc))
