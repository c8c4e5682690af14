"""Notifications API: channel endpoints and merchant contacts, failed messages and their retry,
and the caller's own inbox.

Endpoints: warehouse staff read all; managers and admins create and change any (others 403
``ROLE``); a merchant user reads, creates and changes its own merchant's only (another
merchant's is "not found"). Secrets in `config` are answered masked; a masked value sent back
keeps the stored secret. A configuration the channel refuses (an unknown kind, a wrong webhook
address, a missing field) is a 422 naming the field (``kind`` or ``config.<field>``).
Failed messages: staff see all, a merchant user its own merchant's; on-call, managers and
admins send one again. The inbox is the caller's own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from orderguard.api.auth import AUTH, actor
from orderguard.api.catalog import SLUG
from orderguard.api.errors import AUTHENTICATED, ApiError, NoQuery, reject_unknown_query, with_errors
from orderguard.api.orders import MAX_LIMIT, MAX_OFFSET
from orderguard.catalog.models import Warehouse
from orderguard.core.errors import NotFound
from orderguard.notifications.channels.base import ConfigError
from orderguard.notifications.endpoints import ChannelIn, channel_create, channel_update, config_masked
from orderguard.notifications.inbox import inbox_item_mark_read, inbox_items, inbox_mark_all_read
from orderguard.notifications.models import MerchantContact, NotificationChannel, OutboxMessage, Topic
from orderguard.notifications.selectors import channels_visible, outbox_failed
from orderguard.notifications.services import RetryRefused, outbox_message_retry
from orderguard.tenancy.access import Actor, visible
from orderguard.tenancy.models import Merchant, Role

router = Router(tags=["notifications"], auth=AUTH)
inbox_router = Router(tags=["inbox"], auth=AUTH)

CHANNEL_EDITORS = frozenset({Role.MANAGER, Role.ADMIN})
RETRY_ROLES = frozenset({Role.TECH_ONCALL, Role.MANAGER, Role.ADMIN})
BODY_ERRORS = (*AUTHENTICATED, 400, 404)
Code = Annotated[str, Field(min_length=1, max_length=50, pattern=SLUG)]
TopicName = Annotated[str, Field(min_length=1, max_length=30)]


class Page(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class ChannelOut(Schema):
    id: int
    kind: str
    name: str
    merchant: str | None = Field(description="The owning merchant's code")
    warehouse: str | None = Field(description="The owning warehouse's code")
    config: dict[str, Any] = Field(description="Secrets masked: **** and their last four characters")
    topics: list[str]
    enabled: bool
    rate_per_minute: int | None
    healthy: bool
    consecutive_failures: int
    last_ok_at: datetime | None
    last_failure_at: datetime | None
    last_error: str


class ChannelPageOut(Schema):
    total: int
    items: list[ChannelOut]


class ChannelCreateIn(Schema):
    kind: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    config: dict[str, Any] = Field(default_factory=dict)
    merchant: Code | None = None
    warehouse: Code | None = None
    topics: list[TopicName] = Field(default_factory=list, max_length=20)
    enabled: bool = True
    rate_per_minute: int | None = Field(None, ge=1, le=100_000)


class ChannelChangeIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    config: dict[str, Any] | None = None
    topics: list[TopicName] | None = Field(None, max_length=20)
    enabled: bool | None = None
    rate_per_minute: int | None = Field(None, ge=1, le=100_000)


class MerchantContactOut(Schema):
    id: int
    merchant: str
    topic: str
    channel: int
    address: str
    language: str
    enabled: bool
    reports: str = Field(description="topic `report`: all (weekly and monthly), weekly or monthly")


class ContactPageOut(Schema):
    total: int
    items: list[MerchantContactOut]


class MerchantContactIn(Schema):
    merchant: Code | None = None
    topic: TopicName
    channel: int
    address: str = Field("", max_length=300)
    language: str = Field("zh-hans", pattern=r"^(zh-hans|zh-hant|en)$")
    reports: str = Field(
        "all", pattern=r"^(all|weekly|monthly)$", description="topic `report`: which scheduled reports"
    )


class MessageOut(Schema):
    id: int
    merchant: str | None
    topic: str
    recipient: str
    channel: int | None = Field(description="The endpoint; null: the default email")
    idempotency_key: str
    status: str
    attempts: int
    last_error: str
    updated_at: datetime


class MessagePageOut(Schema):
    total: int
    items: list[MessageOut]


class InboxItemOut(Schema):
    id: int
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class InboxPageOut(Schema):
    total: int
    unread: int
    items: list[InboxItemOut]


class CountOut(Schema):
    marked: int


def _channel_out(c: NotificationChannel) -> dict[str, Any]:
    return {
        "id": c.pk,
        "kind": c.kind,
        "name": c.name,
        "merchant": c.merchant.code if c.merchant else None,
        "warehouse": c.warehouse.code if c.warehouse else None,
        "config": config_masked(c.config),
        "topics": list(c.topics or []),
        "enabled": c.enabled,
        "rate_per_minute": c.rate_per_minute,
        "healthy": c.healthy,
        "consecutive_failures": c.consecutive_failures,
        "last_ok_at": c.last_ok_at,
        "last_failure_at": c.last_failure_at,
        "last_error": c.last_error,
    }


def _config_refused(exc: ConfigError) -> ApiError:
    field, reason = next(iter(exc.errors.items()))
    name = field if field in ("kind", "warehouse", "merchant") else f"config.{field}"
    return ApiError(422, "CONFIG_INVALID", reason, name)


def _topics_checked(topics: list[str] | None, field: str = "topics") -> None:
    for topic in topics or []:
        if topic not in Topic.values:
            raise ApiError(422, "TOPIC_UNKNOWN", _("没有这个通知主题：%(topic)s") % {"topic": topic}, field)


def _editor(act: Actor) -> None:
    if act.is_staff_role and act.role not in CHANNEL_EDITORS:
        raise ApiError(403, "ROLE", _("只有仓库主管和管理员可以配置通知渠道"))


def _merchant_for(act: Actor, code: str | None) -> int | None:
    """The merchant a merchant user acts for (its own, named or not); for staff, the one named."""
    if code is None:
        return act.merchant_id
    qs = Merchant.objects.filter(code=code)
    if act.merchant_id is not None:
        qs = qs.filter(pk=act.merchant_id)
    pk = qs.values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound("not found", model="Merchant", id=code)
    return pk


@router.get(
    "/channels", response=with_errors({200: ChannelPageOut}, *AUTHENTICATED), summary="Channel endpoints"
)
def list_channels(request: HttpRequest, page: Query[Page]) -> dict[str, Any]:
    reject_unknown_query(request, Page)
    qs = channels_visible(actor=actor(request)).filter(is_default=False)
    return {
        "total": qs.count(),
        "items": [_channel_out(c) for c in qs[page.offset : page.offset + page.limit]],
    }


@router.post(
    "/channels", response=with_errors({201: ChannelOut}, *BODY_ERRORS), summary="Add a channel endpoint"
)
def create_channel(request: HttpRequest, body: ChannelCreateIn) -> Status:
    """A merchant user adds its own merchant's endpoints only (no warehouse); managers and
    admins any. Refused with 422 naming the field for a configuration the channel refuses."""
    act = actor(request)
    _editor(act)
    merchant_id = _merchant_for(act, body.merchant)
    warehouse_id = None
    if body.warehouse is not None:
        if act.merchant_id is not None:
            raise ApiError(403, "ROLE", _("商家用户只能配置自己的通知渠道"), "warehouse")
        warehouse_id = Warehouse.objects.filter(code=body.warehouse).values_list("pk", flat=True).first()
        if warehouse_id is None:
            raise NotFound("not found", model="Warehouse", id=body.warehouse)
    _topics_checked(body.topics)
    try:
        created = channel_create(
            data=ChannelIn(
                kind=body.kind,
                name=body.name,
                config=body.config,
                merchant_id=merchant_id,
                warehouse_id=warehouse_id,
                topics=body.topics,
                enabled=body.enabled,
                rate_per_minute=body.rate_per_minute,
            )
        )
    except ConfigError as exc:
        raise _config_refused(exc) from None
    return Status(201, _channel_out(created))


@router.patch(
    "/channels/{channel_id}",
    response=with_errors({200: ChannelOut}, *BODY_ERRORS),
    summary="Change a channel endpoint",
)
def change_channel(request: HttpRequest, channel_id: int, body: ChannelChangeIn) -> dict[str, Any]:
    """Only the fields sent change; a config value sent back masked keeps its secret."""
    act = actor(request)
    found = channels_visible(actor=act).filter(pk=channel_id, is_default=False).first()
    if found is None:
        raise NotFound("not found", model="NotificationChannel", id=channel_id)
    _editor(act)
    _topics_checked(body.topics)
    changes = body.model_dump(exclude_unset=True)
    try:
        changed = channel_update(channel_id=found.pk, changes=changes)
    except ConfigError as exc:
        raise _config_refused(exc) from None
    return _channel_out(channels_visible(actor=act).get(pk=changed.pk))


@router.get(
    "/contacts", response=with_errors({200: ContactPageOut}, *AUTHENTICATED), summary="Merchant contacts"
)
def list_contacts(request: HttpRequest, page: Query[Page]) -> dict[str, Any]:
    reject_unknown_query(request, Page)
    qs = visible(MerchantContact.objects.select_related("merchant"), actor(request)).order_by("pk")
    return {
        "total": qs.count(),
        "items": [
            {
                "id": c.pk,
                "merchant": c.merchant.code,
                "topic": c.topic,
                "channel": c.channel_id,
                "address": c.address,
                "language": c.language,
                "enabled": c.enabled,
                "reports": c.reports,
            }
            for c in qs[page.offset : page.offset + page.limit]
        ],
    }


@router.post(
    "/contacts",
    response=with_errors({201: MerchantContactOut}, *BODY_ERRORS),
    summary="Add a merchant contact",
)
def create_contact(request: HttpRequest, body: MerchantContactIn) -> Status:
    """Who at the merchant hears of `topic`, through which of the merchant's (or the shared)
    endpoints. A merchant user adds its own; managers and admins any merchant's."""
    act = actor(request)
    _editor(act)
    merchant_id = _merchant_for(act, body.merchant)
    if merchant_id is None:
        raise ApiError(422, "INVALID_INPUT", _("请指定商家"), "merchant")
    _topics_checked([body.topic], "topic")
    endpoint = (
        NotificationChannel.objects.filter(pk=body.channel, warehouse__isnull=True, is_default=False)
        .filter(merchant_id__in=[merchant_id])
        .first()
    ) or NotificationChannel.objects.filter(
        pk=body.channel, merchant__isnull=True, warehouse__isnull=True, is_default=False
    ).first()
    if endpoint is None:
        raise ApiError(422, "CHANNEL_UNKNOWN", _("没有这个通知渠道"), "channel")
    contact, _created = MerchantContact.objects.get_or_create(
        merchant_id=merchant_id,
        topic=body.topic,
        channel=endpoint,
        address=body.address,
        defaults={"language": body.language, "reports": body.reports},
    )
    merchant_code = Merchant.objects.values_list("code", flat=True).get(pk=merchant_id)
    return Status(
        201,
        {
            "id": contact.pk,
            "merchant": merchant_code,
            "topic": contact.topic,
            "channel": contact.channel_id,
            "address": contact.address,
            "language": contact.language,
            "enabled": contact.enabled,
            "reports": contact.reports,
        },
    )


def _message_out(m: OutboxMessage) -> dict[str, Any]:
    return {
        "id": m.pk,
        "merchant": m.merchant.code if m.merchant else None,
        "topic": m.topic,
        "recipient": m.recipient,
        "channel": m.endpoint_id,
        "idempotency_key": m.idempotency_key,
        "status": m.status,
        "attempts": m.attempts,
        "last_error": m.last_error,
        "updated_at": m.updated_at,
    }


@router.get("/failed", response=with_errors({200: MessagePageOut}, *AUTHENTICATED), summary="Failed messages")
def list_failed(request: HttpRequest, page: Query[Page]) -> dict[str, Any]:
    reject_unknown_query(request, Page)
    qs = outbox_failed(actor=actor(request)).select_related("merchant")
    return {
        "total": qs.count(),
        "items": [_message_out(m) for m in qs[page.offset : page.offset + page.limit]],
    }


@router.post(
    "/messages/{message_id}/retry",
    response=with_errors({200: MessageOut}, *AUTHENTICATED, 404, 409),
    summary="Send a failed message again",
)
def retry_message(request: HttpRequest, message_id: int) -> dict[str, Any]:
    """Queue a failed message again, due now (on-call, managers, admins; others 403 ``ROLE``);
    a message that is not failed is 409 ``OUTBOX_NOT_FAILED``."""
    reject_unknown_query(request, NoQuery)
    act = actor(request)
    if act.role not in RETRY_ROLES:
        raise ApiError(403, "ROLE", _("你的角色不能重发通知"))
    if not OutboxMessage.objects.filter(pk=message_id).exists():
        raise NotFound("not found", model="OutboxMessage", id=message_id)
    try:
        outbox_message_retry(message_id=message_id)
    except RetryRefused as exc:
        raise ApiError(409, exc.code, _("这条通知不是发送失败的状态，不能重发")) from None
    return _message_out(OutboxMessage.objects.select_related("merchant").get(pk=message_id))


def _inbox_item_out(i: Any) -> dict[str, Any]:
    return {
        "id": i.pk,
        "title": i.title,
        "body": i.body,
        "link": i.link,
        "created_at": i.created_at,
        "read_at": i.read_at,
    }


@inbox_router.get("", response=with_errors({200: InboxPageOut}, *AUTHENTICATED), summary="My inbox")
def list_inbox(request: HttpRequest, page: Query[Page]) -> dict[str, Any]:
    reject_unknown_query(request, Page)
    qs = inbox_items(actor=actor(request))
    return {
        "total": qs.count(),
        "unread": qs.filter(read_at__isnull=True).count(),
        "items": [_inbox_item_out(i) for i in qs[page.offset : page.offset + page.limit]],
    }


@inbox_router.post(
    "/{item_id}/read",
    response=with_errors({200: InboxItemOut}, *AUTHENTICATED, 404),
    summary="Mark an item read",
)
def read_inbox_item(request: HttpRequest, item_id: int) -> dict[str, Any]:
    return _inbox_item_out(inbox_item_mark_read(actor=actor(request), item_id=item_id))


@inbox_router.post(
    "/read-all", response=with_errors({200: CountOut}, *AUTHENTICATED), summary="Mark all read"
)
def read_inbox_all(request: HttpRequest) -> dict[str, Any]:
    return {"marked": inbox_mark_all_read(actor=actor(request))}
