"""`OrderIn`: the one normal form every intake adapter produces (file, webhook, API, manual).

Adapters fill these plain dataclasses; nothing here touches the database. Text fields hold the
value as received (trimmed, with export quirks such as ``="..."`` and a leading apostrophe
removed); checks, not adapters, decide whether a value is acceptable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class PlatformState(models.TextChoices):
    """What the platform's status means for the warehouse."""

    READY = "ready", _("待发货")  # paid, waiting for the seller to ship
    UNPAID = "unpaid", _("未付款")
    REFUNDING = "refunding", _("退款中")
    CLOSED = "closed", _("已关闭")
    SHIPPED = "shipped", _("已发货")


@dataclass(slots=True)
class AddressIn:
    """A recipient address as received: `raw` is the full text, the parts are filled when the
    platform sends them structured (Douyin ``post_addr``, Shopify ``shipping_address``) or when the
    layout has them as columns; the Taobao "省 市 区 详细地址(邮编)" text is split by its adapter."""

    raw: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    town: str = ""
    detail: str = ""
    postcode: str = ""
    country: str = "CN"


@dataclass(slots=True)
class LineIn:
    sku_code: str
    quantity: int
    title: str = ""
    # Attributes as ordered, keys and values as the platform wrote them: {"颜色分类": "红色", "尺码": "XL"}
    attributes: dict[str, str] = field(default_factory=dict)
    platform_line_id: str = ""
    # Where the line came from in its file, for error messages: (file name, row number).
    source_file: str = ""
    source_row: int = 0


@dataclass(slots=True)
class OrderIn:
    platform_order_id: str
    platform_status: str = ""  # the platform's own status text or code, kept verbatim
    state: PlatformState = PlatformState.READY
    created_at: datetime | None = None
    paid_at: datetime | None = None
    recipient_name: str = ""
    recipient_phone: str = ""
    # Expiry of a virtual (privacy) number, when the platform gives it.
    phone_expires_at: datetime | None = None
    address: AddressIn = field(default_factory=AddressIn)
    buyer_note: str = ""
    seller_note: str = ""
    # A courier named by a platform field (Jushuitan `shipment`, Douyin logistics), not the note.
    requested_courier: str = ""
    service_level: str = ""  # "" = standard; "express" when a platform field says so
    lines: list[LineIn] = field(default_factory=list)
    source_file: str = ""
    source_row: int = 0
    # Platform fields worth keeping that have no column of their own (tags, flags).
    extra: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A digest of everything that matters to the warehouse, so a re-import of an unchanged
        order is recognised without comparing field by field. Source positions are left out: the
        same order in another file is the same order."""
        a = self.address
        body = [
            self.platform_order_id,
            self.platform_status,
            self.state.value,
            self.created_at,
            self.paid_at,
            self.recipient_name,
            self.recipient_phone,
            self.phone_expires_at,
            [a.raw, a.province, a.city, a.district, a.town, a.detail, a.postcode, a.country],
            self.buyer_note,
            self.seller_note,
            self.requested_courier,
            self.service_level,
            [
                [ln.sku_code, ln.quantity, ln.title, sorted(ln.attributes.items()), ln.platform_line_id]
                for ln in self.lines
            ],
            sorted(self.extra.items()),
        ]
        raw = json.dumps(body, default=str, ensure_ascii=False)
        return hashlib.blake2b(raw.encode("utf-8"), digest_size=16).hexdigest()
