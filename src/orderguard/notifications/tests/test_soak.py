"""The SIGKILL soak, short: dispatcher processes killed at random while messages drain lose
nothing, and resend only within the at-least-once bound (H4.3; `make soak` runs 10,000
messages and 20 kills)."""

from __future__ import annotations

import pytest
from django.db import connection

from orderguard.notifications.channels.base import REGISTRY
from orderguard.notifications.soak import SOAK_KIND, soak_run

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_dispatchers_killed_while_2000_messages_drain_lose_none_and_resend_within_the_bound(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the soak's worker processes share a PostgreSQL database")
    # the soak registers its channel kind in this process: taken out again after the test
    monkeypatch.setitem(REGISTRY, SOAK_KIND, "orderguard.notifications.soak:SoakHttpChannel")

    report = soak_run(messages=2000, kills=5, workers=2, timeout=120)

    assert (report["kills"], report["lost"], report["unknown_keys"]) == (5, 0, 0)
    assert report["statuses"] == {"sent": 2000}
    assert report["received"] == 2000 + report["duplicates"]
    assert report["duplicates"] <= report["duplicate_bound"]
    assert report["ok"] is True
