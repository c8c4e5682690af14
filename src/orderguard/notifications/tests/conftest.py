from __future__ import annotations

import pytest

from orderguard.notifications.channels.base import REGISTRY
from orderguard.notifications.tests.channels import TEST_KIND, TEST_TARGET, RecordingChannel


@pytest.fixture
def recording(monkeypatch):  # type: ignore[no-untyped-def]
    """The test channel kind registered; its record emptied."""
    monkeypatch.setitem(REGISTRY, TEST_KIND, TEST_TARGET)
    RecordingChannel.sent = []
    RecordingChannel.closed = 0
    RecordingChannel.behaviour = {}
    yield RecordingChannel
    RecordingChannel.behaviour = {}
