from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
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
