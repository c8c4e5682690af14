"""A test-only channel kind: records what it is asked to send, and fails as told."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from orderguard.notifications.channels.base import ConfigError, Outgoing, SendResult

TEST_KIND = "test_recording"
TEST_TARGET = "orderguard.notifications.tests.channels:RecordingChannel"


class RecordingChannel:
    """Config: `url` (required, http(s)://), `fail` (an error to answer with), `status`,
    `retryable`. `sent` holds every Outgoing of every instance; `closed` counts closes."""

    kind: ClassVar[str] = TEST_KIND
    sent: ClassVar[list[Outgoing]] = []
    closed: ClassVar[int] = 0
    behaviour: ClassVar[dict[str, Any]] = {}  # changed by tests while a run is not going
    _lock = threading.Lock()

    def __init__(self, config: Mapping[str, Any]) -> None:
        url = config.get("url", "")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError({"url": "a webhook address starting with http:// or https://"})
        self.config = dict(config)

    def send(self, message: Outgoing) -> SendResult:
        fail = self.behaviour.get("fail", self.config.get("fail"))
        with self._lock:
            RecordingChannel.sent.append(message)
        if fail:
            return SendResult(
                ok=False,
                status_code=self.config.get("status", 500),
                error=str(fail),
                retryable=self.config.get("retryable", True),
            )
        return SendResult(ok=True, status_code=200, provider_id=f"p-{len(self.sent)}")

    def close(self) -> None:
        with self._lock:
            RecordingChannel.closed += 1
