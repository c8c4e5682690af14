"""The HTTP side shared by the robot and SMS adapters.

One `httpx.Client` per channel instance: connections are kept alive between sends (a
dispatcher that reuses its channel sends over one warm connection), every phase has a
timeout, no redirects are followed (a webhook that redirects is misconfigured), and the
environment's proxy variables are not read: a proxy is used only when the channel's `proxy`
field names one. `request()` never raises: a transport failure comes back as a retryable
`SendResult`, an answer as the `httpx.Response` for the adapter to read.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx

from orderguard.notifications.channels.base import SendResult

# Both sides of a webhook write a request and its body separately; without NODELAY a send can
# wait for a delayed ACK (40 ms on Linux), which caps a channel at a few dozen messages/s.
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def http_client(
    *, timeout: float, proxy: str = "", transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The channel's client; `transport` replaces the network (tests of code that uses channels)."""
    transport = transport or httpx.HTTPTransport(
        retries=0,  # the outbox retries, with back-off and a record of every attempt
        socket_options=_SOCKET_OPTIONS,
        proxy=proxy or None,
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=20, keepalive_expiry=30),
    )
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "OrderGuard-notifications/1"},
    )


def request(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response | SendResult:
    """Send one request; a timeout or a connection that fails or drops is a retryable result."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        return SendResult(ok=False, error=f"timeout: {type(exc).__name__}", retryable=True)
    except httpx.TransportError as exc:
        # refused, reset, closed without an answer (RemoteProtocolError), TLS failure
        return SendResult(ok=False, error=f"connection failed: {type(exc).__name__}: {exc}"[:500])
    except httpx.InvalidURL as exc:
        return SendResult(ok=False, error=f"invalid URL: {exc}", retryable=False)


def status_retryable(status: int) -> bool:
    """5xx, 429 (rate limited) and 408 may pass on their own; any other 4xx will not."""
    return status >= 500 or status in (408, 425, 429)


def json_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def http_failure(response: httpx.Response, detail: str = "") -> SendResult:
    """A non-2xx answer: its status, a short excerpt of what the server said, retryable or not."""
    said = detail or response.text.strip()[:300]
    return SendResult(
        ok=False,
        status_code=response.status_code,
        error=f"HTTP {response.status_code}" + (f": {said}" if said else ""),
        retryable=status_retryable(response.status_code),
    )
