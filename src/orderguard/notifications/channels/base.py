"""The one interface every delivery channel implements (email, IM robots, SMS, in-app inbox).

The dispatcher turns an outbox row into an `Outgoing`, asks `channel_for(kind, config)` for the
adapter, and records the `SendResult` as an attempt. Adapters never raise for a failed send:
transport errors, HTTP errors and provider refusals all come back as a result with the reason,
and `retryable=False` when trying again cannot help (a bad secret, a webhook that does not
exist, a phone the gateway rejects), so the message fails at once with that reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message (email only; the other channels send the text)."""

    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A rendered message, ready for one channel."""

    key: str  # the outbox idempotency key: a resend carries the same key
    recipient: str  # an email address, a phone number, a user id; "" for a group robot
    subject: str
    text: str  # plain text, always present
    html: str = ""  # email HTML part
    markdown: str = ""  # IM robots' markdown card
    sms_template: str = ""  # SMS provider template code
    sms_params: Mapping[str, str] = field(default_factory=dict)  # SMS template variables
    attachments: tuple[Attachment, ...] = ()  # email attachments, stored with the outbox row


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    status_code: int | None = None  # HTTP status or SMTP reply code when there was one
    error: str = ""  # why it failed, for people: shown on the message and the channel
    retryable: bool = True  # False: a retry cannot succeed, fail the message now
    provider_id: str = ""  # the provider's id for the sent message, when it gives one


class Channel(Protocol):
    kind: ClassVar[str]

    def send(self, message: Outgoing) -> SendResult: ...

    def close(self) -> None: ...


class ConfigError(ValueError):
    """A channel configuration that cannot work; `errors` maps the config field to why."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


# kind -> "module:Class"; imported on first use so a kind's dependencies load only when used.
REGISTRY: dict[str, str] = {
    "email": "orderguard.notifications.channels.email:EmailChannel",
    "wecom": "orderguard.notifications.channels.robots:WeComChannel",
    "dingtalk": "orderguard.notifications.channels.robots:DingTalkChannel",
    "feishu": "orderguard.notifications.channels.robots:FeishuChannel",
    "slack": "orderguard.notifications.channels.robots:SlackChannel",
    "sms_aliyun": "orderguard.notifications.channels.sms:AliyunSmsChannel",
    "sms_json": "orderguard.notifications.channels.sms:JsonSmsChannel",
    "inbox": "orderguard.notifications.inbox:InboxChannel",
}


def channel_class(kind: str) -> Any:
    try:
        target = REGISTRY[kind]
    except KeyError:
        raise ConfigError({"kind": f"unknown channel kind {kind!r}"}) from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def channel_for(kind: str, config: Mapping[str, Any]) -> Channel:
    """The adapter for `kind` built from its stored configuration; raises ConfigError when the
    configuration cannot work (each class validates in its constructor)."""
    cls = channel_class(kind)
    channel: Channel = cls(config)
    return channel
