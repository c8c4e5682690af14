"""The API's one error shape: ``{"ok": false, "error": {"code", "message", "field"}}``.

A router raises `ApiError(status, code, message, field)`; the handler `install_error_handler`
registers on the NinjaAPI renders it. `code` is stable (clients map it), `message` is
translated text for people, `field` names the parameter, header or body part at fault ("" when
none).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema


class ErrorDetail(Schema):
    code: str
    message: str
    field: str


class ErrorOut(Schema):
    """The body of every 4xx answer of the API."""

    ok: bool
    error: ErrorDetail


class ApiError(Exception):
    """An answer with status `status` (4xx) and the shared error body."""

    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, object]:
        return {"ok": False, "error": {"code": self.code, "message": self.message, "field": self.field}}


def install_error_handler(api: NinjaAPI) -> None:
    """Render every `ApiError` raised under `api` in the shared shape."""

    def handle(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return api.create_response(request, exc.as_dict(), status=exc.status)

    api.add_exception_handler(ApiError, handle)
