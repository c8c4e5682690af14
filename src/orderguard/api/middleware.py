"""The API's edge: what Django answers before any operation runs, in the API's error shape."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from orderguard.api.errors import error_body
from orderguard.intake.uploads import upload_max_bytes

API_PREFIX = "/api/v1/"
UPLOAD_PATHS = frozenset({"/api/v1/imports"})


class ApiEdgeMiddleware:
    """Two things no operation can do itself, for paths under /api/v1/:

    - an upload larger than ``IMPORT_MAX_UPLOAD_BYTES`` is refused (413 ``BODY_TOO_LARGE``) on
      its Content-Length, before any byte of it is read or stored (under WSGI the body is never
      read past Content-Length, so that is the whole bound);
    - a path that names no operation (404) or an operation asked with a method it does not take
      (405) is answered in the API's one error shape, not with Django's HTML page or Ninja's
      plain text; a 405 keeps its ``Allow`` header. Answers the API made itself are JSON
      already and pass untouched.

    Placed after LocaleMiddleware (messages in the caller's language) and before anything that
    reads the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in UPLOAD_PATHS:
            limit = upload_max_bytes()
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                body = error_body(
                    "BODY_TOO_LARGE",
                    _("上传的文件合计超过 %(max)d MiB，未导入任何内容") % {"max": limit // (1024 * 1024)},
                    "files",
                )
                return _json(body, 413)
        response = self.get_response(request)
        if (
            response.status_code in (404, 405)
            and request.path.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _reshaped(request, response)
        return response


def _reshaped(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    # Ninja builds Allow from a set: sorted, so it reads the same on every request
    allowed = ", ".join(sorted(m.strip() for m in response.get("Allow", "").split(",") if m.strip()))
    if response.status_code == 404:
        body = error_body("NOT_FOUND", _("没有这个接口：请查看 /api/v1/docs 中的接口列表"))
    else:
        body = error_body(
            "METHOD_NOT_ALLOWED",
            _("该接口不接受 %(method)s 请求，可用的方法：%(allowed)s")
            % {"method": (request.method or "")[:20], "allowed": allowed},
        )
    shaped = _json(body, response.status_code)
    if allowed:
        shaped["Allow"] = allowed
    return shaped


def _json(body: dict[str, object], status: int) -> HttpResponse:
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")
