"""Signs of trouble that the platform itself puts on an order (D2).

Adapters keep them in `OrderIn.extra`; an order carrying one must not ship as if nothing were
wrong:

- ``item_count_mismatch`` (Taobao: 宝贝总数量 differs from the item report's lines: a line is
  missing from the export) → ITEMS_INCOMPLETE, T3;
- ``modified_sku`` (Taobao 修改后的sku: the buyer changed the item after ordering; the lines in
  the export may be the old ones) → SKU_CHANGED_ON_PLATFORM, T3;
- ``platform_anomaly`` (Taobao 异常信息: the platform flags the order) → PLATFORM_ANOMALY, T5
  (any other anomaly, REQUIREMENTS.md T5);
- ``receiver_encrypted`` with ``encrypted_fields`` (Douyin sends the name, phone and street
  address as ciphertext until the platform decrypts them) → RECIPIENT_ENCRYPTED, a T2 warning;
  the fields it names are not judged as a name, phone or street (`encrypted_fields`).
"""

from __future__ import annotations

from typing import Any

from orderguard.core.choices import ExceptionType, Severity
from orderguard.core.findings import Finding
from orderguard.orders.schema import OrderIn

ITEMS_INCOMPLETE = "ITEMS_INCOMPLETE"
SKU_CHANGED_ON_PLATFORM = "SKU_CHANGED_ON_PLATFORM"
PLATFORM_ANOMALY = "PLATFORM_ANOMALY"
RECIPIENT_ENCRYPTED = "RECIPIENT_ENCRYPTED"
# The recipient fields an adapter may name as ciphertext.
ENCRYPTABLE = ("recipient_name", "recipient_phone", "address.detail")

_TEXT_MAX = 100


def _short(value: Any) -> str:
    text = str(value).strip()
    return text if len(text) <= _TEXT_MAX else text[: _TEXT_MAX - 1] + "…"


def encrypted_fields(extra: Any) -> frozenset[str]:
    """The recipient fields the platform sent encrypted (empty when none or unreadable)."""
    if not isinstance(extra, dict) or not extra.get("receiver_encrypted"):
        return frozenset()
    named = extra.get("encrypted_fields")
    if not isinstance(named, list):
        return frozenset(ENCRYPTABLE)
    return frozenset(f for f in named if f in ENCRYPTABLE)


def check_platform_flags(order: OrderIn) -> list[Finding]:
    extra = order.extra
    if not extra:
        return []
    findings = []
    encrypted = encrypted_fields(extra)
    if encrypted:
        findings.append(
            Finding(
                code=RECIPIENT_ENCRYPTED,
                type=ExceptionType.RECIPIENT_ERROR,
                field="recipient",
                severity=Severity.WARNING,
                data={"fields": [f for f in ENCRYPTABLE if f in encrypted]},
            )
        )
    mismatch = extra.get("item_count_mismatch")
    if isinstance(mismatch, dict):
        findings.append(
            Finding(
                code=ITEMS_INCOMPLETE,
                type=ExceptionType.PRODUCT_ERROR,
                field="lines",
                data={"expected": mismatch.get("expected"), "found": mismatch.get("found")},
            )
        )
    if extra.get("modified_sku"):
        findings.append(
            Finding(
                code=SKU_CHANGED_ON_PLATFORM,
                type=ExceptionType.PRODUCT_ERROR,
                field="lines",
                data={"modified": _short(extra["modified_sku"])},
            )
        )
    if extra.get("platform_anomaly"):
        findings.append(
            Finding(
                code=PLATFORM_ANOMALY,
                type=ExceptionType.SPECIAL_REQUEST,
                field="platform",
                data={"text": _short(extra["platform_anomaly"])},
            )
        )
    return findings
