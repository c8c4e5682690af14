from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from orderguard.monitoring.health import details_visible_to, system_health

router = Router(tags=["health"])


class HealthComponent(Schema):
    name: str
    ok: bool
    detail: str


class HealthOut(Schema):
    ok: bool
    components: list[HealthComponent]


@router.get("", response=HealthOut, auth=None)
def health(request: HttpRequest) -> dict[str, object]:
    """Database and queue health (worker liveness comes from its last heartbeat)."""
    report = system_health(wait_for_worker=0)
    return report.as_dict(details=details_visible_to(request.user))
