"""Incidents in the admin: on-call, managers and admins read them with their timeline and
platform contacts; nobody adds, changes or deletes one there."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderguard.incidents.models import Incident, IncidentEvent
from orderguard.incidents.services import Signal, incident_contact, incident_signal
from orderguard.incidents.tests.helpers import BUSY
from orderguard.orders.tests.factories import ChannelFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.services import user_create

pytestmark = pytest.mark.django_db


def test_the_incident_admin_shows_the_timeline_and_changes_nothing(client):
    channel = ChannelFactory(code="tb-yoyo")
    incident, _opened = incident_signal(
        signal=Signal(kind="channel_silent", title="渠道 tb-yoyo 停止来单", detail="", channel_id=channel.pk),
        now=BUSY,
    )
    oncall, _password = user_create(username="oncall", role="tech_oncall")
    incident_contact(
        incident_id=incident.pk,
        actor=actor_for(oncall),
        contact="平台技术支持",
        via="工单系统",
        ticket_ref="TOP-1",
        notes="",
        now=BUSY + timedelta(minutes=3),
    )
    client.force_login(oncall)

    listed = client.get("/admin/incidents/incident/")
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/")

    assert listed.status_code == 200 and "渠道 tb-yoyo 停止来单" in listed.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "TOP-1" in html and 'name="_save"' not in html
    before = (list(Incident.objects.values_list("pk", "status", "title")), IncidentEvent.objects.count())
    refused = [
        client.post(f"/admin/incidents/incident/{incident.pk}/change/", {"title": "x", "status": "resolved"}),
        client.post(f"/admin/incidents/incident/{incident.pk}/delete/", {"post": "yes"}),
        client.post("/admin/incidents/incident/add/", {"title": "x"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert (
        list(Incident.objects.values_list("pk", "status", "title")),
        IncidentEvent.objects.count(),
    ) == before
