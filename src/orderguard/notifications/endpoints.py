"""Channel endpoints: creating and changing them (validated by their adapter), masking their
secrets for people, and choosing who hears of a topic."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import IntegrityError, transaction

from orderguard.notifications.channels.base import ConfigError, channel_class, channel_for
from orderguard.notifications.models import MerchantContact, NotificationChannel

# Config fields whose value is a secret (a signing secret, a password, an access key).
SECRET_FIELD = re.compile(r"secret|password|token|(^|_)key(_|$)|sign", re.IGNORECASE)
MASK = "****"


def _mask_text(value: str) -> str:
    return MASK + value[-4:] if len(value) > 12 else MASK


def _mask_url(value: str) -> str:
    """A webhook address with its query values masked (WeCom's `key`, DingTalk's
    `access_token`) and a path token too long to be a name (Feishu's hook id, Slack's path)."""
    parts = urlsplit(value)
    query = urlencode(
        [(k, _mask_text(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*"
    )
    path = "/".join(_mask_text(p) if len(p) >= 16 else p for p in parts.path.split("/"))
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def _mask_value(key: str, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if SECRET_FIELD.search(key):
        return _mask_text(value)
    if value.startswith(("http://", "https://")):
        return _mask_url(value)
    return value


def config_masked(config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` as shown to people: secrets and webhook tokens replaced by **** and their last
    four characters."""
    return {k: _mask_value(k, v) for k, v in config.items()}


def config_merge(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The config to store when `new` comes back from a form or a client that was shown
    `config_masked(old)`: a value sent back masked keeps the stored secret."""
    return {
        k: (old[k] if k in old and v == _mask_value(k, old[k]) and v != old[k] else v) for k, v in new.items()
    }


def _validate(kind: str, config: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the field when `kind` cannot work with `config`."""
    adapter = channel_for(kind, config)
    # closing an adapter that never sent anything may not fail a change
    with contextlib.suppress(Exception):
        adapter.close()


@dataclass(frozen=True, slots=True)
class ChannelIn:
    kind: str
    name: str
    config: Mapping[str, Any]
    merchant_id: int | None = None
    warehouse_id: int | None = None
    topics: Sequence[str] = ()
    enabled: bool = True
    rate_per_minute: int | None = None


def channel_create(*, data: ChannelIn) -> NotificationChannel:
    """A new endpoint. Raises ConfigError (field -> reason) for an unknown kind, an owner of
    both kinds, or a config its adapter refuses (a wrong webhook address, a missing field)."""
    if data.merchant_id is not None and data.warehouse_id is not None:
        raise ConfigError({"warehouse": "an endpoint belongs to a merchant or a warehouse, not both"})
    _validate(data.kind, data.config)
    return NotificationChannel.objects.create(
        kind=data.kind,
        name=data.name,
        config=dict(data.config),
        merchant_id=data.merchant_id,
        warehouse_id=data.warehouse_id,
        topics=list(data.topics),
        enabled=data.enabled,
        rate_per_minute=data.rate_per_minute,
    )


@transaction.atomic
def channel_update(*, channel_id: int, changes: Mapping[str, Any]) -> NotificationChannel:
    """Change `name`, `config` (masked values keep their secret), `topics`, `enabled`,
    `rate_per_minute`. Raises ConfigError as `channel_create`."""
    endpoint = NotificationChannel.objects.select_for_update().get(pk=channel_id)
    if "config" in changes:
        endpoint.config = config_merge(endpoint.config, changes["config"])
        _validate(endpoint.kind, endpoint.config)
    for field in ("name", "enabled", "rate_per_minute"):
        if field in changes:
            setattr(endpoint, field, changes[field])
    if "topics" in changes:
        endpoint.topics = list(changes["topics"])
    endpoint.save()
    return endpoint


def default_email_endpoint() -> NotificationChannel:
    """The row standing for Django's EMAIL_* settings (messages without an endpoint); made on
    first use to hold its health."""
    found = NotificationChannel.objects.filter(is_default=True).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return NotificationChannel.objects.create(kind="email", name="email (EMAIL_*)", is_default=True)
    except IntegrityError:  # made by another worker at the same moment
        return NotificationChannel.objects.get(is_default=True)


def channel_kinds() -> list[str]:
    from orderguard.notifications.channels.base import REGISTRY

    return sorted(REGISTRY)


def kind_exists(kind: str) -> bool:
    try:
        channel_class(kind)
    except (ConfigError, ImportError, AttributeError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class Recipient:
    endpoint_id: int | None  # None: the default email
    address: str
    language: str
    suffix: str  # added to the notice's key so each recipient has its own row ("" for the first)


def recipients_for(
    *, topic: str, merchant_id: int | None = None, warehouse_id: int | None = None, fallback_email: str = ""
) -> list[Recipient]:
    """Who hears of `topic`: the merchant's enabled contacts for it, else `fallback_email` by
    the default email; for a warehouse (or no owner), `fallback_email` and every enabled
    warehouse or global endpoint subscribed to the topic (a group robot)."""
    out: list[Recipient] = []
    if merchant_id is not None:
        contacts = (
            MerchantContact.objects.filter(
                merchant_id=merchant_id, topic=topic, enabled=True, channel__enabled=True
            )
            .select_related("channel")
            .order_by("pk")
        )
        out = [Recipient(c.channel_id, c.address, c.language, f"c{c.pk}") for c in contacts]
        if not out and fallback_email:
            out = [Recipient(None, fallback_email, "zh-hans", "")]
        return out
    if fallback_email:
        out.append(Recipient(None, fallback_email, "zh-hans", ""))
    endpoints = (
        NotificationChannel.objects.filter(merchant__isnull=True, enabled=True, is_default=False).filter(
            warehouse_id=warehouse_id
        )
        if warehouse_id is not None
        else NotificationChannel.objects.none()
    )
    shared = NotificationChannel.objects.filter(
        merchant__isnull=True, warehouse__isnull=True, enabled=True, is_default=False
    )
    for ep in [*endpoints, *shared]:
        if topic in (ep.topics or []):
            out.append(Recipient(ep.pk, "", "zh-hans", f"e{ep.pk}"))
    return out
