"""Incidents API (T4, D3, H4, B3): list and read incidents (a merchant user: those touching its
channels, read-only), acknowledge, assign, post an update (sent to the affected merchants and
the warehouse team), record a platform-support contact, resolve; enter an urgent order by hand
while a channel is down, and the reconciliation report with its conflicts settled."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from orderguard.api.auth import AUTH, actor
from orderguard.api.errors import AUTHENTICATED, ApiError, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_LIMIT, MAX_OFFSET, enum_param, object_id
from orderguard.core import clock
from orderguard.core.errors import NotFound
from orderguard.incidents.models import Incident, IncidentStatus, ManualOrder, ManualStatus
from orderguard.incidents.reconcile import (
    ManualIn,
    ManualLine,
    manual_order_enter,
    manual_orders,
    manual_settle,
)
from orderguard.incidents.services import (
    IncidentRefused,
    incident_acknowledge,
    incident_assign,
    incident_contact,
    incident_resolve,
    incident_update,
    visible_incidents,
)
from orderguard.orders.models import Channel
from orderguard.tenancy.access import Actor, user_id_for, usernames_as_seen_by, visible

router = Router(tags=["incidents"], auth=AUTH)
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=2000, pattern=NO_NUL)]


class IncidentSummaryOut(Schema):
    id: int
    kind: str = Field(
        description="channel_silent, channel_slow, import_errors, webhook_errors, database, "
        "queue, worker, outbox_backlog, disk, manual"
    )
    severity: str = Field(description="critical, major, minor")
    status: str = Field(description="open, acknowledged, resolved")
    title: str
    channel: str | None = Field(description="The channel's code; null for OrderGuard's own components")
    started_at: datetime
    opened_at: datetime
    due_at: datetime = Field(description="The triage deadline (S1: 30 minutes)")
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class IncidentEventOut(Schema):
    occurred_at: datetime
    type: str
    actor: str = Field(description="user:NAME or system:JOB; for a merchant user a role label")
    data: dict[str, Any]


class PlatformContactOut(Schema):
    occurred_at: datetime
    contact: str
    via: str
    ticket_ref: str
    notes: str


class IncidentOut(IncidentSummaryOut):
    detail: str
    assignee: str | None
    acknowledged_by: str | None
    resolved_by: str | None
    resolution: str
    merchants: list[str] = Field(
        description="Codes of the affected merchants (staff only; a merchant user: its own)"
    )
    orders: int = Field(description="How many orders the incident touches (visible to the caller)")
    events: list[IncidentEventOut]
    contacts: list[PlatformContactOut] = Field(description="Platform-support contacts (staff only)")


class IncidentPageOut(Schema):
    total: int
    items: list[IncidentSummaryOut]


class IncidentFilters(Schema):
    status: Annotated[IncidentStatus | None, enum_param(IncidentStatus)] = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class AckIn(Schema):
    model_config = {"extra": "forbid"}
    note: Text = ""


class UpdateIn(Schema):
    model_config = {"extra": "forbid"}
    note: Text = Field(min_length=1, description="What is being done; sent to the affected merchants")


class ResolveIn(Schema):
    model_config = {"extra": "forbid"}
    resolution: Text = Field(min_length=1)


class IncidentAssignIn(Schema):
    model_config = {"extra": "forbid"}
    assignee: str = Field(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")


class IncidentContactIn(Schema):
    model_config = {"extra": "forbid"}
    contact: str = Field(min_length=1, max_length=200, pattern=NO_NUL, description="Whom at the platform")
    via: str = Field(min_length=1, max_length=100, pattern=NO_NUL, description="Phone, ticket system, chat…")
    ticket_ref: str = Field("", max_length=100, pattern=NO_NUL)
    notes: Text = ""


class ManualLineIn(Schema):
    model_config = {"extra": "forbid"}
    sku: str = Field(max_length=100, pattern=NO_NUL)
    quantity: int = Field(ge=1, le=100000)


class ManualOrderIn(Schema):
    model_config = {"extra": "forbid"}
    channel: str = Field(min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    order_id: str = Field("", max_length=64, pattern=NO_NUL, description="The platform's order id when known")
    recipient_name: str = Field("", max_length=200, pattern=NO_NUL)
    recipient_phone: str = Field("", max_length=40, pattern=NO_NUL)
    province: str = Field("", max_length=50, pattern=NO_NUL)
    city: str = Field("", max_length=50, pattern=NO_NUL)
    district: str = Field("", max_length=50, pattern=NO_NUL)
    address: str = Field("", max_length=500, pattern=NO_NUL)
    buyer_note: str = Field("", max_length=500, pattern=NO_NUL)
    lines: list[ManualLineIn] = Field(default_factory=list, max_length=100)


class ManualOrderOut(Schema):
    id: int
    channel: str
    entered_id: str
    order_id: int
    platform_order_id: str = Field(description="The order's id now (the platform's once merged)")
    status: str = Field(description="pending, matched, conflict, separate")
    matched_by: str = Field(description='"platform_id", "phone_lines", "person" or ""')
    candidates: list[int] = Field(description="Order ids of a conflict")
    entered_at: datetime


class ReconciliationOut(Schema):
    counts: dict[str, int]
    items: list[ManualOrderOut]


class SettleIn(Schema):
    model_config = {"extra": "forbid"}
    choice: str = Field(
        min_length=1,
        max_length=20,
        pattern=r"^(separate|[0-9]+)$",
        description='An order id of the candidates, or "separate"',
    )


def _refused(exc: IncidentRefused) -> ApiError:
    status = {"ROLE": 403, "STATUS": 409, "DUPLICATE": 409, "NO_INCIDENT": 409}.get(exc.code, 422)
    return ApiError(status, exc.code, str(exc), exc.field)


def _summary(i: Incident) -> dict[str, Any]:
    return {
        "id": i.pk,
        "kind": i.kind,
        "severity": i.severity,
        "status": i.status,
        "title": i.title,
        "channel": i.channel.code if i.channel else None,
        "started_at": i.started_at,
        "opened_at": i.opened_at,
        "due_at": i.due_at,
        "acknowledged_at": i.acknowledged_at,
        "resolved_at": i.resolved_at,
    }


def _detail(i: Incident, act: Actor) -> dict[str, Any]:
    events = list(i.events.order_by("occurred_at", "pk"))
    people = {e.actor_label.removeprefix("user:") for e in events if e.actor_label.startswith("user:")}
    people |= {u.get_username() for u in (i.assignee, i.acknowledged_by, i.resolved_by) if u is not None}
    names = usernames_as_seen_by(actor=act, usernames=people)

    def who(user: Any) -> str | None:
        return names.get(user.get_username()) if user is not None else None

    out_events = []
    for e in events:
        data = dict(e.data)
        if not act.is_staff_role:
            for key in ("recipients", "assignee", "previous"):
                data.pop(key, None)
        label = e.actor_label
        out_events.append(
            {
                "occurred_at": e.occurred_at,
                "type": e.type,
                "actor": names.get(label.removeprefix("user:"), label)
                if label.startswith("user:")
                else label,
                "data": data,
            }
        )
    merchants = i.merchants.order_by("code")
    if act.merchant_id is not None:
        merchants = merchants.filter(pk=act.merchant_id)
    return {
        **_summary(i),
        "detail": i.detail if act.is_staff_role else "",
        "assignee": who(i.assignee),
        "acknowledged_by": who(i.acknowledged_by),
        "resolved_by": who(i.resolved_by),
        "resolution": i.resolution,
        "merchants": [m.code for m in merchants],
        "orders": visible(i.orders.all(), act).count(),
        "events": out_events,
        "contacts": [
            {
                "occurred_at": c.occurred_at,
                "contact": c.contact,
                "via": c.via,
                "ticket_ref": c.ticket_ref,
                "notes": c.notes,
            }
            for c in i.contacts.all()
        ]
        if act.is_staff_role
        else [],
    }


def _get(act: Actor, incident_id: int) -> Incident:
    found = (
        visible_incidents(act)
        .select_related("channel", "assignee", "acknowledged_by", "resolved_by")
        .filter(pk=incident_id)
        .first()
    )
    if found is None:
        raise NotFound("not found", model="Incident", id=incident_id)
    return found


def _manual(m: ManualOrder) -> dict[str, Any]:
    return {
        "id": m.pk,
        "channel": m.channel.code,
        "entered_id": m.entered_id,
        "order_id": m.order_id,
        "platform_order_id": m.order.platform_order_id,
        "status": m.status,
        "matched_by": m.matched_by,
        "candidates": list(m.candidates),
        "entered_at": m.entered_at,
    }


@router.get("", response=with_errors({200: IncidentPageOut}, *AUTHENTICATED), summary="List incidents")
def list_incidents(request: HttpRequest, filters: Query[IncidentFilters]) -> dict[str, Any]:
    """Newest first; a merchant user sees the incidents touching its channels."""
    reject_unknown_query(request, IncidentFilters)
    qs = visible_incidents(actor(request)).select_related("channel").order_by("-opened_at", "-pk")
    if filters.status:
        qs = qs.filter(status=filters.status.value)
    page = qs[filters.offset : filters.offset + filters.limit]
    return {"total": qs.count(), "items": [_summary(i) for i in page]}


# Before "/{incident_id}": fixed paths first.
@router.get(
    "/reconciliation",
    response=with_errors({200: ReconciliationOut}, *AUTHENTICATED),
    summary="Manual orders and their reconciliation",
)
def reconciliation(request: HttpRequest) -> dict[str, Any]:
    """Every order entered by hand during an outage (newest first, up to 500): matched with the
    platform's copy, still waiting for it, a conflict for a person, or kept separate."""
    reject_unknown_query(request, NoQuery)
    rows = list(manual_orders(actor(request))[:500])
    counts = {s: sum(1 for m in rows if m.status == s) for s in ManualStatus.values}
    return {"counts": counts, "items": [_manual(m) for m in rows]}


@router.post(
    "/reconciliation/{manual_id}/settle",
    response=with_errors({200: ManualOrderOut}, *AUTHENTICATED, 400, 404, 409),
    summary="Settle a reconciliation conflict",
)
def settle(
    request: HttpRequest, manual_id: Annotated[int, object_id("The manual order's id")], body: SettleIn
) -> dict[str, Any]:
    """Merge the manual order with one of its candidates, or keep it separate (staff)."""
    try:
        m = manual_settle(actor=actor(request), manual_id=manual_id, choice=body.choice, now=clock.now())
    except IncidentRefused as exc:
        raise _refused(exc) from None
    return _manual(m)


@router.post(
    "/manual-orders",
    response=with_errors({201: ManualOrderOut}, *AUTHENTICATED, 400, 404, 409),
    summary="Enter an urgent order by hand during an outage",
)
def manual_order(request: HttpRequest, body: ManualOrderIn) -> tuple[int, dict[str, Any]]:
    """While the channel has an active incident (else 409 `NO_INCIDENT`): the order goes through
    the whole flow flagged manual and is reconciled with the platform's copy when it arrives.
    Missing `recipient_name`, `recipient_phone`, `address` or lines: 422 naming the field."""
    act = actor(request)
    channel = visible(Channel.objects.all(), act).filter(code=body.channel).first()
    if channel is None:
        raise ApiError(404, "NOT_FOUND", "channel not found", "channel")
    try:
        order = manual_order_enter(
            actor=act,
            channel=channel,
            data=ManualIn(
                recipient_name=body.recipient_name,
                recipient_phone=body.recipient_phone,
                province=body.province,
                city=body.city,
                district=body.district,
                address=body.address,
                order_id=body.order_id,
                buyer_note=body.buyer_note,
                lines=[ManualLine(sku=li.sku, quantity=li.quantity) for li in body.lines],
            ),
            now=clock.now(),
        )
    except IncidentRefused as exc:
        raise _refused(exc) from None
    return 201, _manual(ManualOrder.objects.select_related("channel", "order").get(order=order))


@router.get(
    "/{incident_id}", response=with_errors({200: IncidentOut}, *AUTHENTICATED, 404), summary="One incident"
)
def get_incident(
    request: HttpRequest, incident_id: Annotated[int, object_id("The incident's id")]
) -> dict[str, Any]:
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    return _detail(_get(act, incident_id), act)


def _write(request: HttpRequest, incident_id: int, do: Any) -> dict[str, Any]:
    act = actor(request)
    _get(act, incident_id)  # another merchant's: 404 before any role check
    try:
        do(act)
    except IncidentRefused as exc:
        raise _refused(exc) from None
    return _detail(_get(act, incident_id), act)


WRITE = with_errors({200: IncidentOut}, *AUTHENTICATED, 400, 404, 409)


@router.post("/{incident_id}/acknowledge", response=WRITE, summary="Acknowledge an incident")
def acknowledge(
    request: HttpRequest, incident_id: Annotated[int, object_id("The incident's id")], body: AckIn
) -> dict[str, Any]:
    """open → acknowledged (technical on-call, managers, admins); 409 `STATUS` otherwise."""
    return _write(
        request,
        incident_id,
        lambda act: incident_acknowledge(incident_id=incident_id, actor=act, now=clock.now(), note=body.note),
    )


@router.post("/{incident_id}/assign", response=WRITE, summary="Assign an incident")
def assign(
    request: HttpRequest, incident_id: Annotated[int, object_id("The incident's id")], body: IncidentAssignIn
) -> dict[str, Any]:
    def do(act: Actor) -> None:
        user_id = user_id_for(body.assignee)
        if user_id is None:
            raise IncidentRefused("ASSIGNEE_NOT_ELIGIBLE", "unknown user", field="assignee")
        incident_assign(incident_id=incident_id, assignee_id=user_id, actor=act, now=clock.now())

    return _write(request, incident_id, do)


@router.post("/{incident_id}/updates", response=WRITE, summary="Post a progress update")
def update(
    request: HttpRequest, incident_id: Annotated[int, object_id("The incident's id")], body: UpdateIn
) -> dict[str, Any]:
    """On the timeline, and sent to the affected merchants and the warehouse team (outbox)."""
    return _write(
        request,
        incident_id,
        lambda act: incident_update(incident_id=incident_id, actor=act, text=body.note, now=clock.now()),
    )


@router.post("/{incident_id}/contacts", response=WRITE, summary="Record a platform-support contact")
def contact(
    request: HttpRequest, incident_id: Annotated[int, object_id("The incident's id")], body: IncidentContactIn
) -> dict[str, Any]:
    return _write(
        request,
        incident_id,
        lambda act: incident_contact(
            incident_id=incident_id,
            actor=act,
            contact=body.contact,
            via=body.via,
            ticket_ref=body.ticket_ref,
            notes=body.notes,
            now=clock.now(),
        ),
    )


@router.post("/{incident_id}/resolve", response=WRITE, summary="Resolve an incident")
def resolve(
    request: HttpRequest, incident_id: Annotated[int, object_id("The incident's id")], body: ResolveIn
) -> dict[str, Any]:
    """→ resolved: who and when; its T4 cases resolved; merchants and the warehouse told."""
    return _write(
        request,
        incident_id,
        lambda act: incident_resolve(
            incident_id=incident_id, actor=act, text=body.resolution, now=clock.now()
        ),
    )
