from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from orderguard.cases.disputes import disputes_for_actor
from orderguard.cases.selectors import (
    SUPERVISOR_ROLES,
    case_counts,
    case_load_by_person,
    cases_awaiting_merchant,
)
from orderguard.intake.selectors import channels_status
from orderguard.inventory.selectors import stock_alerts_open
from orderguard.notifications.selectors import outbox_summary
from orderguard.tenancy.access import Actor, NoRole, actor_for

# How many stock alerts the dashboard lists (the shortest first).
DASHBOARD_ALERTS_SHOWN = 10
# How many cases waiting on a merchant its dashboard lists (the soonest due first).
DASHBOARD_AWAITING_SHOWN = 20


def _dashboard_panels(actor: Actor) -> dict[str, Any]:
    alerts = stock_alerts_open(actor=actor)
    shown = list(alerts[: DASHBOARD_ALERTS_SHOWN + 1])
    counts = case_counts(actor=actor)
    # a merchant user's own to-do list; staff work these cases from the queue instead
    awaiting = (
        cases_awaiting_merchant(actor=actor, limit=DASHBOARD_AWAITING_SHOWN + 1)
        if not actor.is_staff_role
        else []
    )
    disputes = (
        list(disputes_for_actor(actor=actor, open_only=True)[:DASHBOARD_AWAITING_SHOWN])
        if not actor.is_staff_role
        else []
    )
    return {
        "disputes": disputes,
        "counts": counts,
        "chart": {
            "types": [str(r["label"]) for r in counts["rows"]],
            "on_time": [r["on_time"] for r in counts["rows"]],
            "due_soon": [r["due_soon"] for r in counts["rows"]],
            "overdue": [r["overdue"] for r in counts["rows"]],
        },
        "alerts": shown[:DASHBOARD_ALERTS_SHOWN],
        "alerts_more": len(shown) > DASHBOARD_ALERTS_SHOWN,
        "channels": channels_status(actor=actor),
        "awaiting": awaiting[:DASHBOARD_AWAITING_SHOWN],
        "awaiting_more": len(awaiting) > DASHBOARD_AWAITING_SHOWN,
        # S2: who holds what, for the warehouse's people
        "load": case_load_by_person(actor=actor, now=counts["at"])["rows"],
        "sees_load": actor.role in SUPERVISOR_ROLES,
        "is_staff": actor.is_staff_role,
        # failed notifications and unhealthy endpoints concern the warehouse's staff
        "outbox": outbox_summary() if actor.is_staff_role else None,
        "refresh_seconds": settings.OG_DASHBOARD_REFRESH_SECONDS,
    }


@never_cache
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Open cases by type and deadline state, open stock alerts and the channels' latest
    intake, of the merchants the user may see; the panels refresh themselves (htmx)."""
    try:
        actor = actor_for(request.user)
    except NoRole:
        return render(request, "web/no_role.html", status=403)
    labels = {"on_time": _("按时"), "due_soon": _("即将到期"), "overdue": _("已超时")}
    return render(request, "web/dashboard.html", {**_dashboard_panels(actor), "chart_labels": labels})


@never_cache
@login_required
def dashboard_panels(request: HttpRequest) -> HttpResponse:
    """The dashboard's panels alone, which the page fetches every few seconds."""
    try:
        actor = actor_for(request.user)
    except NoRole:
        return render(request, "web/no_role.html", status=403)
    return render(request, "web/_dashboard_panels.html", _dashboard_panels(actor))


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
