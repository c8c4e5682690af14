from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from orderguard.cases.selectors import case_counts


def dashboard(request: HttpRequest) -> HttpResponse:
    """Open cases by type and deadline state. (Sign-in and tenancy come with the web issue.)"""
    return render(request, "web/dashboard.html", {"counts": case_counts()})
