"""Fixtures of the notification tests: real servers on 127.0.0.1 for every channel kind, and a
recording test channel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orderguard.notifications.channels.base import REGISTRY
from orderguard.notifications.testing.servers import RobotServer, SmtpServer
from orderguard.notifications.tests.channels import TEST_KIND, TEST_TARGET, RecordingChannel


@pytest.fixture
def robot_server() -> Iterator[RobotServer]:
    """WeCom, DingTalk, Feishu, Slack, Alibaba Cloud SMS and the JSON SMS gateway on one port;
    `robot_server.config_for(kind)` is a channel configuration it accepts."""
    with RobotServer() as server:
        yield server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1; `smtp_server.config()` is an EmailChannel configuration."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp_auth_server() -> Iterator[SmtpServer]:
    """The same, requiring no TLS but accepting AUTH LOGIN/PLAIN as ops / s3cret-pass."""
    with SmtpServer(username="ops", password="s3cret-pass") as server:
        yield server


@pytest.fixture
def recording(monkeypatch):  # type: ignore[no-untyped-def]
    """The test channel kind registered; its record emptied."""
    monkeypatch.setitem(REGISTRY, TEST_KIND, TEST_TARGET)
    RecordingChannel.sent = []
    RecordingChannel.closed = 0
    RecordingChannel.behaviour = {}
    yield RecordingChannel
    RecordingChannel.behaviour = {}
