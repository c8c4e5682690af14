"""Probes and metrics for the platform running OrderGuard (no sign-in: they carry no tenant
data; /metrics can require a bearer token, OG_METRICS_TOKEN)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from orderguard.monitoring.health import details_visible_to, system_health
from orderguard.monitoring.metrics import OrderGuardCollector

_registry = CollectorRegistry(auto_describe=False)
_registry.register(OrderGuardCollector())


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: a liveness probe (restart it if not)."""
    return JsonResponse({"ok": True})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Database and queue answer: a readiness probe (send traffic only if so). Worker liveness
    is left out on purpose: a web process is ready to serve even while workers restart."""
    report = system_health(wait_for_worker=0)
    components = [c for c in report.components if c.name in ("database", "queue")]
    ok = all(c.ok for c in components)
    details = details_visible_to(request.user)
    body = {
        "ok": ok,
        "components": [
            {"name": c.name, "ok": c.ok, "detail": c.detail if details else ""} for c in components
        ],
    }
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse("unauthorized\n", status=401, content_type="text/plain")
    return HttpResponse(generate_latest(_registry), content_type=CONTENT_TYPE_LATEST)
