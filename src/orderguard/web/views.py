from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache

from orderguard.cases.selectors import case_counts
from orderguard.tenancy.access import NoRole, actor_for


@never_cache
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Open cases by type and deadline state, of the merchants the user may see."""
    try:
        actor = actor_for(request.user)
    except NoRole:
        return render(request, "web/no_role.html", status=403)
    return render(request, "web/dashboard.html", {"counts": case_counts(actor=actor)})


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """The page of a sign-in refused by the lockout (django-axes' AXES_LOCKOUT_CALLABLE): 429,
    how long it lasts, and Retry-After. The username is not echoed back."""
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = int(cool_off.total_seconds() // 60)
    response = render(
        request,
        "web/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    add_never_cache_headers(response)
    return response
